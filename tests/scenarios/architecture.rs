//! Between crates, Cargo forbids an import that reaches back up; inside each crate, this test
//! forbids an import cycle between modules. `cargo test --test scenarios -- architecture` names every cycle found, with
//! the imports that close it.
//!
//! A module is a source file (`db/personnel.rs` is `db::personnel`); it depends on every module
//! it names by a `crate::`, `super::` or `self::` path (in a `use` or inline). Its own submodules
//! are part of it: a parent declaring and re-exporting its children is no cycle.

use crate::support::repo;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// module → the modules it imports, each with the files that do.
type Graphe = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

#[test]
fn aucun_cycle_entre_les_modules_d_un_crate() {
    let mut racines = vec![repo().join("src")];
    if let Ok(crates) = std::fs::read_dir(repo().join("crates")) {
        racines.extend(crates.flatten().map(|c| c.path().join("src")));
    }
    let mut rapport = String::new();
    for racine in racines.iter().filter(|r| r.is_dir()) {
        let graphe = graphe(racine);
        for cycle in cycles(&graphe) {
            rapport.push_str(&format!("\ncycle dans {} : {cycle:?}\n", racine.display()));
            for a in &cycle {
                for (b, par) in &graphe[a] {
                    if cycle.contains(b) {
                        rapport.push_str(&format!("  {a} → {b} (importé par {par:?})\n"));
                    }
                }
            }
        }
    }
    assert!(rapport.is_empty(), "imports en boucle :{rapport}");
}

/// Every `.rs` file under `racine`, by module path (`""` for the crate root).
fn modules(racine: &Path) -> BTreeMap<String, PathBuf> {
    let mut modules = BTreeMap::new();
    let mut dossiers = vec![racine.to_path_buf()];
    while let Some(dossier) = dossiers.pop() {
        for entree in std::fs::read_dir(&dossier).unwrap().flatten() {
            let chemin = entree.path();
            if chemin.is_dir() {
                dossiers.push(chemin);
                continue;
            }
            if chemin.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relatif = chemin.strip_prefix(racine).unwrap().with_extension("");
            let mut parties: Vec<String> = relatif
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parties.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parties.pop();
            }
            modules.insert(parties.join("::"), chemin);
        }
    }
    modules
}

fn graphe(racine: &Path) -> Graphe {
    let modules = modules(racine);
    // The longest module a path names: `crate::db::personnel::lister` → `db::personnel`.
    let module_de = |chemin: &[String]| {
        (1..=chemin.len())
            .rev()
            .map(|n| chemin[..n].join("::"))
            .find(|m| modules.contains_key(m))
    };
    let mut graphe = Graphe::new();
    for (module, fichier) in &modules {
        if module.is_empty() {
            continue;
        }
        let texte = sans_commentaires(&std::fs::read_to_string(fichier).unwrap());
        let soi: Vec<String> = module.split("::").map(str::to_owned).collect();
        for chemin in chemins(&texte) {
            let absolu = match chemin.first().map(String::as_str) {
                Some("crate") => chemin[1..].to_vec(),
                Some("self") => [soi.clone(), chemin[1..].to_vec()].concat(),
                Some("super") => {
                    let hauts = chemin.iter().take_while(|s| *s == "super").count();
                    let base = &soi[..soi.len().saturating_sub(hauts)];
                    [base.to_vec(), chemin[hauts..].to_vec()].concat()
                }
                _ => continue,
            };
            let Some(cible) = module_de(&absolu) else {
                continue;
            };
            if cible == *module || cible.starts_with(&format!("{module}::")) {
                continue;
            }
            graphe
                .entry(module.clone())
                .or_default()
                .entry(cible)
                .or_default()
                .insert(fichier.strip_prefix(racine).unwrap().display().to_string());
        }
    }
    graphe
}

/// The text without `//` comments (doc comments name modules they do not import).
fn sans_commentaires(texte: &str) -> String {
    texte
        .lines()
        .map(|l| l.split_once("//").map_or(l, |(avant, _)| avant))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path starting with `crate::`, `self::` or `super::`, with `use` groups expanded:
/// `use crate::db::{self, personnel::Ligne}` gives `crate::db` and `crate::db::personnel::Ligne`.
fn chemins(texte: &str) -> Vec<Vec<String>> {
    let octets: Vec<char> = texte.chars().collect();
    let mut chemins = Vec::new();
    let mut i = 0;
    while i < octets.len() {
        let debut_de_mot = i == 0 || !(octets[i - 1].is_alphanumeric() || octets[i - 1] == '_');
        let mot = identifiant(&octets, i);
        let n = mot.chars().count();
        let suivi_de_chemin =
            octets.get(i + n) == Some(&':') && octets.get(i + n + 1) == Some(&':');
        if debut_de_mot && suivi_de_chemin && matches!(mot.as_str(), "crate" | "self" | "super") {
            i = chemin(&octets, i, Vec::new(), &mut chemins);
        } else {
            i += n.max(1);
        }
    }
    chemins
}

fn identifiant(octets: &[char], i: usize) -> String {
    octets[i..]
        .iter()
        .take_while(|c| c.is_alphanumeric() || **c == '_')
        .collect()
}

/// Reads one path (or `use` tree) at `i` under `prefixe`; returns where it ends.
fn chemin(
    octets: &[char],
    mut i: usize,
    mut prefixe: Vec<String>,
    chemins: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        while octets.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if octets.get(i) == Some(&'{') {
            i += 1;
            loop {
                while octets
                    .get(i)
                    .is_some_and(|c| c.is_whitespace() || *c == ',')
                {
                    i += 1;
                }
                match octets.get(i) {
                    None => return i,
                    Some('}') => return i + 1,
                    _ => i = chemin(octets, i, prefixe.clone(), chemins),
                }
            }
        }
        let mot = identifiant(octets, i);
        if mot.is_empty() {
            chemins.push(prefixe);
            return i;
        }
        i += mot.chars().count();
        // `self` inside a group is the group's own path.
        if mot != "self" || prefixe.is_empty() {
            prefixe.push(mot);
        }
        if octets.get(i) == Some(&':') && octets.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            chemins.push(prefixe);
            return i;
        }
    }
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(graphe: &Graphe) -> Vec<Vec<String>> {
    struct Etat<'a> {
        graphe: &'a Graphe,
        index: BTreeMap<&'a str, usize>,
        bas: BTreeMap<&'a str, usize>,
        pile: Vec<&'a str>,
        sur_pile: BTreeSet<&'a str>,
        cycles: Vec<Vec<String>>,
    }
    fn visiter<'a>(e: &mut Etat<'a>, v: &'a str) {
        let n = e.index.len();
        e.index.insert(v, n);
        e.bas.insert(v, n);
        e.pile.push(v);
        e.sur_pile.insert(v);
        for w in e.graphe.get(v).into_iter().flat_map(|s| s.keys()) {
            if !e.index.contains_key(w.as_str()) {
                visiter(e, w);
                let b = e.bas[v].min(e.bas[w.as_str()]);
                e.bas.insert(v, b);
            } else if e.sur_pile.contains(w.as_str()) {
                let b = e.bas[v].min(e.index[w.as_str()]);
                e.bas.insert(v, b);
            }
        }
        if e.bas[v] == e.index[v] {
            let mut composante = Vec::new();
            while let Some(w) = e.pile.pop() {
                e.sur_pile.remove(w);
                composante.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if composante.len() > 1 {
                composante.sort();
                e.cycles.push(composante);
            }
        }
    }
    let mut e = Etat {
        graphe,
        index: BTreeMap::new(),
        bas: BTreeMap::new(),
        pile: Vec::new(),
        sur_pile: BTreeSet::new(),
        cycles: Vec::new(),
    };
    for v in graphe.keys() {
        if !e.index.contains_key(v.as_str()) {
            visiter(&mut e, v);
        }
    }
    e.cycles
}
