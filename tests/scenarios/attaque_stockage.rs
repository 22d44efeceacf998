//! Attacks on storage and evidence (issue 15, items 1, 18 and 22): a full disk under the
//! service, two processes writing one journal, the same piece filed for two participants under
//! a clock set by `PARAFE_HORLOGE`. Everything through the service's HTTP API and the CLI, on
//! real filesystems.

use crate::pack::{deposer_http, pdf_simple};
use crate::service::{participant_ref, segments_du_journal, Plie, Reglages, Service, EXTRACTION};
use crate::support::{parafe, text};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs of `mo` MiB mounted at `point` for the test (the tests run as root), unmounted when
/// dropped, even when the test fails.
struct Tmpfs {
    point: PathBuf,
}

impl Tmpfs {
    fn monter(point: &Path, mo: u32) -> Tmpfs {
        std::fs::create_dir_all(point).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mo}m"), "tmpfs"])
            .arg(point)
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "mount -t tmpfs (les essais tournent en root) : {}",
            text(&out.stderr)
        );
        Tmpfs {
            point: point.to_path_buf(),
        }
    }

    /// Fills what is left of the filesystem by growing one file; returns its path. Called again
    /// before each write, as a refused write may free the pages it had taken.
    fn remplir(&self) -> PathBuf {
        let chemin = self.point.join("remplissage");
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&chemin)
            .unwrap();
        for taille in [1 << 20, 4096, 1] {
            let bloc = vec![0u8; taille];
            while f.write_all(&bloc).is_ok() {}
        }
        chemin
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a process of a failed test may still hold a file there.
        let _ = Command::new("umount").arg("-l").arg(&self.point).status();
    }
}

fn verifier_coffre(data: &Path) {
    let out = parafe(&["verify", "--store", "--data-dir", &data.to_string_lossy()]);
    assert!(
        out.status.success(),
        "verify --store : {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The names of the justificatifs in a participant's dossier, sorted.
fn justificatifs(service: &Service, jeton: &str, participant: &str) -> Vec<String> {
    let v = service.ok(
        "GET",
        &format!("/api/participants/{participant}/justificatifs"),
        jeton,
        None,
    );
    let mut noms: Vec<String> = v["participant"]["pieces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["source"] == "justificatif")
        .filter_map(|p| Some(p["nom_fichier"].as_str()?.to_owned()))
        .collect();
    noms.sort();
    noms
}

/// True when `quoi` was acknowledged (2xx); otherwise it must be a refusal for lack of space
/// or storage: 507 or 503 with a French message, never 500.
fn acquitte_ou_refuse(quoi: &str, status: StatusCode, v: &Value) -> bool {
    if status.is_success() {
        return true;
    }
    assert!(
        status == StatusCode::INSUFFICIENT_STORAGE || status == StatusCode::SERVICE_UNAVAILABLE,
        "{quoi} sur un disque plein : {status} {v}"
    );
    let message = v["erreur"].as_str().unwrap_or_default();
    assert!(
        message.contains("rien n'a été enregistré"),
        "{quoi} : message à l'utilisateur « {message} »"
    );
    false
}

#[test]
fn disque_plein_rien_n_est_acquitte_qui_ne_soit_durable() {
    let point = tempfile::tempdir().unwrap();
    let disque = Tmpfs::monter(point.path(), 64);
    let data = point.path().join("data");
    let Plie {
        dir: _dir,
        smtp: _smtp,
        mut service,
        coordinateur,
        referent,
        ..
    } = Plie::pret_dans(
        tempfile::tempdir().unwrap(),
        &data,
        None,
        Reglages::default(),
    );
    let (samira, reference, version) = service.contrat_sur_tablette(&referent, "Benali");
    let signer = |rang: i64| service.signer_en_presence(&referent, &reference, &version, rang);
    let (status, v) = signer(0);
    assert_eq!(status, StatusCode::OK, "{v}");
    service.attendre_outbox_vide(&referent);
    let entete = EXTRACTION.lines().next().unwrap();
    let nouvelle = format!(
        "{entete}\nP-2025-0499;Madame;Roux;Claire;03/03/1990;claire.roux@exemple.fr;;34000;Montpellier;34;t.garnier@plie.fr;Garnier;Thomas;202500417;CCAS;;10/02/2025;Non;;;\n"
    );
    let piece = pdf_simple("Contrat de travail CDI", None);
    let deposer = || {
        deposer_http(
            &service,
            &referent,
            &[("participant", &samira), ("genre", "contrat-travail")],
            ("contrat-cdi.pdf", &piece),
        )
    };

    // The disk fills up. A write is refused in French (507/503), or acknowledged only if it
    // found room on disk (SQLite rewrites its WAL in place, a journal line may fit in the last
    // page of its segment): then it must stay acknowledged. Refilled before each request, as a
    // refused write frees what it had taken.
    let remplissage = disque.remplir();
    let (mut importe, mut signe, mut depose, mut refus) = (false, false, false, 0);
    for essai in 0..6 {
        if !importe {
            let (status, v) = service.importer(&coordinateur, &nouvelle);
            importe = acquitte_ou_refuse(&format!("import n° {essai}"), status, &v);
            refus += usize::from(!importe);
            disque.remplir();
        }
        if !signe {
            let (status, v) = signer(1);
            signe = acquitte_ou_refuse(&format!("signature finale n° {essai}"), status, &v);
            refus += usize::from(!signe);
            disque.remplir();
        }
        if !depose {
            let (status, v) = deposer();
            depose = acquitte_ou_refuse(&format!("dépôt n° {essai}"), status, &v);
            refus += usize::from(!depose);
            disque.remplir();
        }
    }
    assert!(
        refus >= 6,
        "un disque plein n'a refusé que {refus} écritures"
    );
    // Every connection answers the same: nothing half-committed anywhere.
    let attendu = if signe {
        "signe"
    } else {
        "partiellement_signe"
    };
    for _ in 0..8 {
        let v = service.ok(
            "GET",
            &format!("/api/documents/{reference}"),
            &referent,
            None,
        );
        assert_eq!(v["document"]["etat"], attendu, "{v}");
        let v = service.ok(
            "GET",
            "/api/participants?recherche=Roux",
            &coordinateur,
            None,
        );
        assert_eq!(
            v["participants"].as_array().map(Vec::len),
            Some(usize::from(importe)),
            "{v}"
        );
        // An acknowledged piece is in the dossier at once, not only after a commit that failed.
        assert_eq!(
            justificatifs(&service, &referent, &samira).len(),
            usize::from(depose),
            "dépôt acquitté : {depose}"
        );
    }

    // Space is back: what was refused succeeds, with no restart.
    std::fs::remove_file(&remplissage).unwrap();
    if !importe {
        let (status, v) = service.importer(&coordinateur, &nouvelle);
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["participants"], 1, "{v}");
    }
    if !signe {
        let (status, v) = signer(1);
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["document"]["etat"], "signe", "{v}");
    }
    if !depose {
        let (status, v) = deposer();
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    service.attendre_etat(&referent, &reference, "delivre");
    service.attendre_outbox_vide(&referent);

    // Whatever was acknowledged survives a brutal restart, and the store verifies.
    service.redemarrer();
    let v = service.ok(
        "GET",
        "/api/participants?recherche=Roux",
        &coordinateur,
        None,
    );
    assert_eq!(v["participants"].as_array().map(Vec::len), Some(1), "{v}");
    let v = service.ok(
        "GET",
        &format!("/api/documents/{reference}"),
        &referent,
        None,
    );
    assert_eq!(v["document"]["etat"], "delivre", "{v}");
    assert_eq!(
        justificatifs(&service, &referent, &samira),
        ["contrat-cdi.pdf"]
    );
    service.tuer();
    verifier_coffre(&data);
}

#[test]
fn base_pleine_un_depot_acquitte_est_en_base() {
    // The database's own filesystem fills up: PostgreSQL's is the cluster's, not in `data`.
    if crate::service::base_postgres() {
        return;
    }
    let point = tempfile::tempdir().unwrap();
    let data = point.path().join("data");
    // Only the database runs out of space: the received pieces, the store, the journal, the
    // versions and the keys each have a filesystem with room. Every filing then reaches the
    // row, the last write, whose commit needs a page of WAL the disk no longer has.
    let base = Tmpfs::monter(&data, 16);
    let _autres: Vec<Tmpfs> = ["depots", "store", "journal", "versions", "cles"]
        .iter()
        .map(|d| Tmpfs::monter(&data.join(d), 16))
        .collect();
    let Plie {
        dir: _dir,
        smtp: _smtp,
        mut service,
        referent,
        ..
    } = Plie::pret_dans(
        tempfile::tempdir().unwrap(),
        &data,
        None,
        Reglages::default(),
    );
    let samira = participant_ref(&service, &referent, "Benali");
    service.attendre_outbox_vide(&referent);
    let remplissage = base.remplir();
    let (mut acquittes, mut refus) = (Vec::new(), 0);
    for i in 0..4 {
        let nom = format!("bulletin-{i}.pdf");
        let (status, v) = deposer_http(
            &service,
            &referent,
            &[("participant", &samira), ("genre", "bulletin-salaire")],
            (
                &nom,
                &pdf_simple(&format!("Bulletin de salaire n° {i}"), None),
            ),
        );
        if acquitte_ou_refuse(&format!("dépôt n° {i} sur une base pleine"), status, &v) {
            acquittes.push(nom);
        } else {
            refus += 1;
        }
        // Reading needs no room: the dossier holds exactly what was acknowledged.
        assert_eq!(justificatifs(&service, &referent, &samira), acquittes);
        base.remplir();
    }
    assert!(refus > 0, "une base pleine a tout acquitté : {acquittes:?}");

    std::fs::remove_file(&remplissage).unwrap();
    service.redemarrer();
    assert_eq!(justificatifs(&service, &referent, &samira), acquittes);
    service.tuer();
    verifier_coffre(&data);
}

/// The PLIE's journal segments, in order, as lines.
fn lignes_du_journal(data: &Path) -> Vec<String> {
    segments_du_journal(data)
        .iter()
        .flat_map(|p| {
            let texte = std::fs::read_to_string(p).unwrap();
            assert!(
                texte.is_empty() || texte.ends_with('\n'),
                "{} finit par une ligne partielle : {:?}",
                p.display(),
                texte.lines().last()
            );
            texte.lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn journal_plein_ni_ligne_partielle_ni_tete_fausse() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Only the journal runs out of space: the database and the store still write.
    let journal = Tmpfs::monter(&data.join("journal"), 1);
    let Plie {
        dir: _dir,
        service,
        referent,
        ..
    } = Plie::pret_dans(dir, &data, None, Reglages::default());
    let samira = participant_ref(&service, &referent, "Benali");
    service.attendre_outbox_vide(&referent);
    let deposer = |i: usize| {
        deposer_http(
            &service,
            &referent,
            &[("participant", &samira), ("genre", "bulletin-salaire")],
            (
                &format!("bulletin-{i}.pdf"),
                &pdf_simple(&format!("Bulletin de salaire n° {i}"), None),
            ),
        )
    };
    let remplissage = journal.remplir();
    // The last page of the open segment still has room for a few lines: file until it is full.
    let mut refus = None;
    for i in 0..40 {
        let (status, v) = deposer(i);
        if status != StatusCode::CREATED {
            refus = Some((i, status, v));
            break;
        }
    }
    let (refuse, status, v) = refus.expect("le journal plein finit par refuser un dépôt");
    assert!(!acquitte_ou_refuse(
        "dépôt sur un journal plein",
        status,
        &v
    ));
    let avant = lignes_du_journal(&data);
    assert!(
        !justificatifs(&service, &referent, &samira).contains(&format!("bulletin-{refuse}.pdf")),
        "la pièce refusée n'est pas au dossier"
    );

    // Space is back: the refused piece and the next ones follow on the same chain.
    std::fs::remove_file(&remplissage).unwrap();
    for i in [refuse, refuse + 1] {
        let (status, v) = deposer(i);
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    let apres = lignes_du_journal(&data);
    assert_eq!(
        apres.len(),
        avant.len() + 2,
        "une entrée par dépôt acquitté"
    );
    for (i, ligne) in apres.iter().enumerate() {
        let entree: Value = serde_json::from_str(ligne)
            .unwrap_or_else(|e| panic!("ligne {} illisible ({e}) : {ligne}", i + 1));
        assert_eq!(entree["seq"], i as u64 + 1, "{ligne}");
    }
    drop(service);
    verifier_coffre(&data);
}

#[test]
fn une_meme_piece_pour_deux_participants_deux_entrees_datees_par_l_horloge_du_service() {
    let Plie {
        dir: _dir,
        service,
        coordinateur,
        referent,
        ..
    } = Plie::pret(Some("2025-06-20T08:00:00Z"));
    // Both left on 10 June 2025 for a job: the proof is due within 28 days.
    let sorties: String = EXTRACTION
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("{l}\n"),
            _ => format!(
                "{};10/06/2025;Emploi durable\n",
                l.strip_suffix(";;").unwrap()
            ),
        })
        .collect();
    let (status, v) = service.importer(&coordinateur, &sorties);
    assert_eq!(status, StatusCode::OK, "{v}");
    let samira = participant_ref(&service, &referent, "Benali");
    let karim = participant_ref(&service, &referent, "Durand");
    // The same scan of a work contract, filed for each of them.
    let contrat = pdf_simple("Contrat de travail CDI, deux signataires", None);
    let mut seqs = Vec::new();
    for participant in [&samira, &karim] {
        let (status, v) = deposer_http(
            &service,
            &referent,
            &[("participant", participant), ("genre", "contrat-travail")],
            ("contrat-cdi.pdf", &contrat),
        );
        assert_eq!(status, StatusCode::CREATED, "{v}");
        seqs.push(v["justificatif"]["seq"].as_u64().unwrap());
    }
    assert_ne!(
        seqs[0], seqs[1],
        "chaque dépôt a sa propre entrée au journal"
    );

    // Each entry names its own participant, the same object, and the service's day.
    let entrees: Vec<Value> = lignes_du_journal(&service.data)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (seq, participant) in seqs.iter().zip([&samira, &karim]) {
        let entree = entrees
            .iter()
            .find(|e| e["seq"] == *seq)
            .unwrap_or_else(|| panic!("entrée n° {seq} absente du journal"));
        assert_eq!(entree["event"]["type"], "document_filed", "{entree}");
        assert_eq!(
            entree["event"]["participant"],
            json!(participant),
            "{entree}"
        );
        assert_eq!(
            entree["objects"][0],
            json!(crate::support::sha256_hex(&contrat))
        );
        assert!(
            entree["at"].as_str().unwrap().starts_with("2025-06-20"),
            "daté par l'horloge du service : {entree}"
        );
    }
    // Filed on time, by the service's clock: present, not late.
    for participant in [&samira, &karim] {
        let v = service.ok(
            "GET",
            &format!("/api/participants/{participant}/justificatifs"),
            &referent,
            None,
        );
        let sortie = v["lignes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["exigence"] == "preuve-sortie")
            .cloned()
            .unwrap_or_default();
        assert_eq!(sortie["etat"], "present", "{sortie}");
        let piece = &v["participant"]["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["source"] == "justificatif")
            .cloned()
            .unwrap_or_default();
        assert_eq!(piece["depose_le"], "2025-06-20", "{piece}");
    }
    verifier_coffre(&service.data);
}

/// `parafe justificatif deposer` from the command line, on the service's data directory.
fn deposer_en_ligne_de_commande(data: &Path, participant: &str, fichier: &Path) -> (bool, String) {
    let out = parafe(&[
        "justificatif",
        "deposer",
        &fichier.to_string_lossy(),
        "--operation",
        "202500417",
        "--participant",
        participant,
        "--genre",
        "bulletin-salaire",
        "--par",
        "t.garnier@plie.fr",
        "--data-dir",
        &data.to_string_lossy(),
    ]);
    (out.status.success(), text(&out.stdout) + &text(&out.stderr))
}

/// `parafe serve` that must refuse to start: its exit and what it said.
fn demarrage_refuse(data: &Path) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parafe"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let debut = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if debut.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("parafe serve a démarré sur un journal rompu");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "parafe serve a démarré sur un journal rompu"
    );
    text(&out.stdout) + &text(&out.stderr)
}

#[test]
fn deux_ecrivains_un_journal_puis_rupture_constatee() {
    use parafe::journal::chain::entry_hash;
    use parafe::model::{JournalEntry, JournalEvent};
    let Plie {
        dir,
        mut service,
        referent,
        ..
    } = Plie::pret(None);
    let data = service.data.clone();
    let samira = participant_ref(&service, &referent, "Benali");
    // The service and the command line file pieces at the same time, on the same journal.
    let pieces = dir.path().join("pieces");
    std::fs::create_dir_all(&pieces).unwrap();
    let cli = std::thread::scope(|s| {
        let en_ligne = s.spawn(|| {
            (0..6)
                .map(|i| {
                    let fichier = pieces.join(format!("bulletin-cli-{i}.pdf"));
                    std::fs::write(&fichier, pdf_simple(&format!("Bulletin cli {i}"), None))
                        .unwrap();
                    deposer_en_ligne_de_commande(&data, &samira, &fichier)
                })
                .collect::<Vec<_>>()
        });
        for i in 0..12 {
            let (status, v) = deposer_http(
                &service,
                &referent,
                &[("participant", &samira), ("genre", "bulletin-salaire")],
                (
                    &format!("bulletin-api-{i}.pdf"),
                    &pdf_simple(&format!("Bulletin api {i}"), None),
                ),
            );
            assert_eq!(status, StatusCode::CREATED, "{v}");
        }
        en_ligne.join().unwrap()
    });
    for (ok, sortie) in &cli {
        assert!(ok, "parafe justificatif deposer : {sortie}");
    }
    verifier_coffre(&data);
    let lignes = lignes_du_journal(&data);
    let deposes = lignes
        .iter()
        .filter(|l| l.contains("\"type\":\"document_filed\""))
        .count();
    assert_eq!(deposes, 18, "un dépôt, une entrée");

    // An entry written beside the last one, from the same predecessor: the chain is broken.
    let derniere: JournalEntry = serde_json::from_str(lignes.last().unwrap()).unwrap();
    let mut doublon = JournalEntry {
        event: JournalEvent::DocumentViewed {
            actor: "autre-ecrivain".into(),
        },
        objects: Vec::new(),
        ..derniere.clone()
    };
    doublon.hash = entry_hash(&doublon);
    let segment = data.join("journal/plie-test/000001.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap();
    writeln!(f, "{}", serde_json::to_string(&doublon).unwrap()).unwrap();
    drop(f);
    service.tuer();

    // Refused at start, with its place; refused to the command line too.
    let refus = demarrage_refuse(&data);
    let place = format!(
        "segment 000001, ligne {} (entrée n° {})",
        lignes.len() + 1,
        derniere.seq
    );
    assert!(
        refus.contains(&place) && refus.contains("parafe store constater-rupture"),
        "{refus}"
    );
    let fichier = pieces.join("bulletin-refuse.pdf");
    std::fs::write(&fichier, pdf_simple("Bulletin refusé", None)).unwrap();
    let (ok, sortie) = deposer_en_ligne_de_commande(&data, &samira, &fichier);
    assert!(!ok && sortie.contains(&place), "{sortie}");

    // The documented way out: record the break, the chain goes on, the proof stays.
    let out = parafe(&[
        "store",
        "constater-rupture",
        "--plie",
        "plie-test",
        "--motif",
        "une entrée écrite à côté de la dernière",
        "--data-dir",
        &data.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    service.redemarrer();
    let (status, v) = deposer_http(
        &service,
        &referent,
        &[("participant", &samira), ("genre", "bulletin-salaire")],
        ("bulletin-apres.pdf", &pdf_simple("Bulletin après", None)),
    );
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let out = parafe(&["verify", "--store", "--data-dir", &data.to_string_lossy()]);
    let rapport = text(&out.stdout) + &text(&out.stderr);
    assert!(out.status.success(), "{rapport}");
    assert!(
        rapport.contains("rupture constatée") && rapport.contains(&place),
        "{rapport}"
    );
    // An audit pack of the opération goes through the break and says so.
    let pack = dir.path().join("pack.zip");
    let out = parafe(&[
        "pack",
        "--operation",
        "202500417",
        "--from",
        "2025-01-01",
        "--to",
        "2030-12-31",
        "-o",
        &pack.to_string_lossy(),
        "--data-dir",
        &data.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let out = parafe(&[
        "verify",
        &pack.to_string_lossy(),
        "--data-dir",
        &data.to_string_lossy(),
    ]);
    let rapport = text(&out.stdout) + &text(&out.stderr);
    assert!(out.status.success(), "{rapport}");
    assert!(rapport.contains("rupture constatée"), "{rapport}");
}
