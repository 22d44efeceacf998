//! `parafe verify pack.zip`: checks a pack offline, as a controller would. Every file against
//! the manifest (and the manifests against each other), the manifest's timestamp, the seal of
//! every sealed PDF, the journal excerpt link by link up to its anchor, the anchor's timestamp,
//! and that each piece was filed in the journal under its hash. Each problem names the file.

use super::{LigneManifeste, Manifeste, FORMAT, MANIFESTES};
use crate::justificatif::examen::taille_lisible;
use der::DecodePem;
use parafe_core::model::{JournalEntry, JournalEvent, Sha256Digest};
use parafe_journal::anchor::Anchor;
use parafe_journal::chain::entry_hash;
use parafe_journal::verify::{anchor_problem, Suite};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, Read};
use std::path::Path;
use x509_cert::Certificate;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Probleme {
    pub fichier: String,
    pub probleme: String,
}

/// Which certificates the seals and timestamps were judged against.
#[derive(Debug, Clone, serde::Serialize)]
pub enum Confiance {
    /// Those of the verifier's configuration.
    Configuree(usize),
    /// None configured: those of the pack itself, whose fingerprint must be compared with the
    /// one the PLIE publishes.
    DuPack { empreintes: Vec<String> },
}

#[derive(Debug, serde::Serialize)]
pub struct Rapport {
    pub fichiers: usize,
    pub documents_scelles: usize,
    pub justificatifs: usize,
    pub entrees_journal: usize,
    pub confiance: Confiance,
    pub problemes: Vec<Probleme>,
    /// Breaks of the journal an operator recorded, as the excerpt tells them.
    pub ruptures_constatees: Vec<String>,
}

impl Rapport {
    pub fn valide(&self) -> bool {
        self.problemes.is_empty()
    }
}

/// The pack cannot be read at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum PackIllisible {
    #[error("{0} n'est pas un ZIP lisible : {1}")]
    Zip(String, String),
    #[error("{0} : {1}")]
    Manifeste(String, String),
    #[error("{0} : « {1} » {2} ; le pack est refusé sans être lu")]
    Entree(String, String, String),
}

type Zip = zip::ZipArchive<std::fs::File>;

/// No entry of a parafe pack inflates more than this many times (PDFs, images and e-mails are
/// already compressed, text a few times); a ZIP bomb (2 Mo that inflate to 2 Gio) does, and is
/// refused before a byte of it is inflated. Small entries are not judged by their ratio.
const RAPPORT_MAX: u64 = 200;
const RAPPORT_DES: u64 = 16 << 20;
/// No entry of a pack is larger (the largest are scanned justificatifs).
const ENTREE_MAX: u64 = 4 << 30;
/// Entries read whole (the manifest, a broken journal segment, the anchor, its token, the
/// certificates).
const MANIFESTE_MAX: u64 = 64 << 20;
const PETIT_MAX: u64 = 1 << 20;
/// One entry of the journal excerpt.
const LIGNE_MAX: u64 = 1 << 20;

/// An entry, read no further than the size its headers declare: one more byte is an error.
fn ouvrir<'a>(zip: &'a mut Zip, nom: &str) -> Result<(impl Read + 'a, u64), String> {
    let f = zip
        .by_name(nom)
        .map_err(|e| format!("absent du pack ({e})"))?;
    let taille = f.size();
    Ok((
        Borne {
            lecteur: f,
            reste: taille,
        },
        taille,
    ))
}

/// A reader that fails past `reste` bytes.
struct Borne<R> {
    lecteur: R,
    reste: u64,
}

impl<R: Read> Read for Borne<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(
            usize::try_from(self.reste)
                .unwrap_or(usize::MAX)
                .saturating_add(1),
        );
        let lu = self.lecteur.read(&mut buf[..n])?;
        self.reste = self.reste.checked_sub(lu as u64).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "plus long que sa taille déclarée : pack forgé",
            )
        })?;
        Ok(lu)
    }
}

/// An entry read whole, when it declares at most `max` bytes.
fn lire_entree(zip: &mut Zip, nom: &str, max: u64) -> Result<Vec<u8>, String> {
    let (mut f, taille) = ouvrir(zip, nom)?;
    if taille > max {
        return Err(format!(
            "{} une fois décompressé, au-delà des {} admis pour ce fichier",
            taille_lisible(taille),
            taille_lisible(max)
        ));
    }
    let mut out = Vec::with_capacity(taille as usize);
    f.read_to_end(&mut out)
        .map_err(|e| format!("illisible ({e})"))?;
    Ok(out)
}

/// SHA-256 and size of an entry, streamed.
fn empreinte(zip: &mut Zip, nom: &str) -> Result<(Sha256Digest, u64), String> {
    let (mut f, _) = ouvrir(zip, nom)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut taille = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A corrupted entry fails its CRC here.
            Err(e) => return Err(format!("illisible ({e})")),
        };
        hasher.update(&buf[..n]);
        taille += n as u64;
    }
    Ok((Sha256Digest(hasher.finalize().into()), taille))
}

/// Refuses, before anything is inflated, an entry that declares more than a pack holds, or
/// that inflates like a ZIP bomb.
fn tailles_declarees(zip: &mut Zip, pack: &str) -> Result<(), PackIllisible> {
    for i in 0..zip.len() {
        let f = zip
            .by_index_raw(i)
            .map_err(|e| PackIllisible::Zip(pack.to_owned(), e.to_string()))?;
        let (taille, compresse) = (f.size(), f.compressed_size());
        let refus =
            |raison: String| PackIllisible::Entree(pack.to_owned(), f.name().to_owned(), raison);
        if taille > ENTREE_MAX {
            return Err(refus(format!(
                "annonce {} une fois décompressé, plus qu'aucune pièce d'un pack ({} au plus)",
                taille_lisible(taille),
                taille_lisible(ENTREE_MAX)
            )));
        }
        if taille > RAPPORT_DES && taille / compresse.max(1) > RAPPORT_MAX {
            return Err(refus(format!(
                "se décompresserait en {} pour {} dans le ZIP ({} fois plus) : bombe de décompression probable",
                taille_lisible(taille),
                taille_lisible(compresse),
                taille / compresse.max(1)
            )));
        }
    }
    Ok(())
}

fn certificats(pem: &[u8]) -> Vec<Certificate> {
    let texte = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let mut reste = texte.as_ref();
    while let Some(debut) = reste.find("-----BEGIN CERTIFICATE-----") {
        let Some(fin) = reste[debut..].find("-----END CERTIFICATE-----") else {
            break;
        };
        let bloc = &reste[debut..debut + fin + "-----END CERTIFICATE-----".len()];
        if let Ok(c) = Certificate::from_pem(bloc.as_bytes()) {
            out.push(c);
        }
        reste = &reste[debut + fin + 1..];
    }
    out
}

/// Verifies the pack at `chemin`. `confiance`: the certificates the verifier trusts; when
/// empty, those the pack carries are used and their fingerprints reported.
pub fn verifier(chemin: &Path, confiance: &[Certificate]) -> Result<Rapport, PackIllisible> {
    let nom_pack = chemin.display().to_string();
    let fichier = std::fs::File::open(chemin)
        .map_err(|e| PackIllisible::Zip(nom_pack.clone(), e.to_string()))?;
    let mut zip = zip::ZipArchive::new(fichier)
        .map_err(|e| PackIllisible::Zip(nom_pack.clone(), e.to_string()))?;
    tailles_declarees(&mut zip, &nom_pack)?;
    let json = lire_entree(&mut zip, "manifeste.json", MANIFESTE_MAX)
        .map_err(|e| PackIllisible::Manifeste("manifeste.json".into(), e))?;
    let manifeste: Manifeste = serde_json::from_slice(&json).map_err(|e| {
        PackIllisible::Manifeste("manifeste.json".into(), format!("illisible ({e})"))
    })?;
    if manifeste.format != FORMAT {
        return Err(PackIllisible::Manifeste(
            "manifeste.json".into(),
            format!(
                "format « {} » inconnu (attendu : {FORMAT})",
                manifeste.format
            ),
        ));
    }
    let mut problemes = Vec::new();
    let mut probleme = |fichier: &str, p: String| {
        problemes.push(Probleme {
            fichier: fichier.to_owned(),
            probleme: p,
        })
    };

    // Trust: the verifier's, else the pack's own authorities.
    let confiance_du_pack = lire_entree(&mut zip, "certificats/autorites.pem", PETIT_MAX)
        .map(|p| certificats(&p))
        .unwrap_or_default();
    let (confiance, source): (Vec<Certificate>, Confiance) = if confiance.is_empty() {
        let empreintes = confiance_du_pack
            .iter()
            .filter_map(|c| der::Encode::to_der(c).ok())
            .map(|d| hex::encode(Sha256::digest(d)))
            .collect();
        (confiance_du_pack, Confiance::DuPack { empreintes })
    } else {
        (confiance.to_vec(), Confiance::Configuree(confiance.len()))
    };

    // 1. Every file against the manifest; nothing else in the ZIP.
    let listes: HashSet<&str> = manifeste
        .fichiers
        .iter()
        .map(|f| f.chemin.as_str())
        .collect();
    let noms: Vec<String> = zip.file_names().map(str::to_owned).collect();
    for nom in noms {
        if !listes.contains(nom.as_str())
            && !MANIFESTES.contains(&nom.as_str())
            && !nom.ends_with('/')
        {
            probleme(
                &nom,
                "fichier absent du manifeste (ajouté au pack ?)".into(),
            );
        }
    }
    let mut bons: HashMap<&str, Sha256Digest> = HashMap::new();
    for f in &manifeste.fichiers {
        match empreinte(&mut zip, &f.chemin) {
            Ok((sha, taille)) if sha.to_hex() == f.sha256 && taille == f.taille => {
                bons.insert(f.chemin.as_str(), sha);
            }
            Ok((sha, _)) => probleme(
                &f.chemin,
                format!(
                    "modifié : empreinte {sha} au lieu de {} (manifeste)",
                    f.sha256
                ),
            ),
            Err(e) => probleme(&f.chemin, e),
        }
    }
    // The CSV and sha256sum manifests must say the same as the JSON one, read line by line.
    let lignes_sha256 = manifeste
        .fichiers
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.chemin));
    match ouvrir(&mut zip, "manifeste.sha256")
        .and_then(|(f, _)| meme_texte(f, lignes_sha256).map_err(|e| format!("illisible ({e})")))
    {
        Ok(true) => {}
        Ok(false) => probleme(
            "manifeste.sha256",
            "ne correspond pas à manifeste.json".into(),
        ),
        Err(e) => probleme("manifeste.sha256", e),
    }
    match ouvrir(&mut zip, "manifeste.csv") {
        Ok((f, _)) => {
            let mut lecteur = csv::Reader::from_reader(f);
            let mut attendu = manifeste.fichiers.iter();
            let mut pareil = true;
            for r in lecteur.records() {
                let Ok(r) = r else {
                    pareil = false;
                    break;
                };
                pareil &= attendu.next().is_some_and(|f| {
                    r.get(0) == Some(f.chemin.as_str()) && r.get(1) == Some(f.sha256.as_str())
                });
                if !pareil {
                    break;
                }
            }
            if !pareil || attendu.next().is_some() {
                probleme("manifeste.csv", "ne correspond pas à manifeste.json".into());
            }
        }
        Err(e) => probleme("manifeste.csv", e),
    }
    match lire_entree(&mut zip, "manifeste.json.tsr", PETIT_MAX) {
        Ok(jeton) => {
            if let Err(e) =
                parafe_seal::tsa::verify_token(&jeton, &Sha256Digest::of(&json), &confiance)
            {
                probleme(
                    "manifeste.json.tsr",
                    format!("horodatage du manifeste invalide : {e}"),
                );
            }
        }
        Err(e) => probleme("manifeste.json.tsr", e),
    }

    // 2. The seal of every sealed PDF (documents and index).
    let mut documents_scelles = 0;
    for f in manifeste.fichiers.iter().filter(|f| {
        (f.nature == "document" || f.nature == "index") && bons.contains_key(f.chemin.as_str())
    }) {
        // Inflated into a temporary file and verified from it by ranges: never whole in memory.
        let copie = ouvrir(&mut zip, &f.chemin).and_then(|(mut entree, _)| {
            let mut copie = tempfile::tempfile().map_err(|e| e.to_string())?;
            io::copy(&mut entree, &mut copie).map_err(|e| format!("illisible ({e})"))?;
            Ok(copie)
        });
        let copie = match copie {
            Ok(c) => c,
            Err(e) => {
                probleme(&f.chemin, e);
                continue;
            }
        };
        match parafe_seal::verify::verify_from(copie, &confiance) {
            Ok(r) if r.valid => documents_scelles += 1,
            Ok(r) => {
                let mut raisons = r.problems.clone();
                for s in &r.signatures {
                    raisons.extend(s.problems.iter().map(|p| format!("« {} » : {p}", s.field)));
                }
                probleme(
                    &f.chemin,
                    format!("cachet invalide : {}", raisons.join(" ; ")),
                );
            }
            Err(e) => probleme(&f.chemin, format!("cachet illisible : {e}")),
        }
    }

    // 3. The journal excerpt, link by link, its head in the anchor, the anchor's timestamp.
    let pieces: Vec<&LigneManifeste> = manifeste
        .fichiers
        .iter()
        .filter(|f| f.nature == "document" || f.nature == "justificatif")
        .collect();
    let justificatifs = pieces.iter().filter(|f| f.nature == "justificatif").count();
    let mut entrees_journal = 0;
    let mut deposes: HashMap<String, HashSet<u64>> = HashMap::new();
    let mut ruptures_constatees = Vec::new();
    match &manifeste.journal {
        None if !pieces.is_empty() => probleme(
            "manifeste.json",
            "aucun extrait du journal pour les pièces du pack".into(),
        ),
        None => {}
        Some(j) => {
            let plie = parafe_core::model::PlieId::new(&manifeste.plie).ok();
            let ancre: Option<Anchor> = match lire_entree(&mut zip, &j.ancre, PETIT_MAX) {
                Ok(o) => match serde_json::from_slice(&o) {
                    Ok(a) => Some(a),
                    Err(e) => {
                        probleme(&j.ancre, format!("ancre illisible ({e})"));
                        None
                    }
                },
                Err(e) => {
                    probleme(&j.ancre, e);
                    None
                }
            };
            if let Some(a) = &ancre {
                if let Some(p) = anchor_problem(a) {
                    probleme(&j.ancre, p.into());
                }
                match lire_entree(&mut zip, &j.jeton, PETIT_MAX) {
                    Ok(der) if der != a.token.der => {
                        probleme(&j.jeton, "ce jeton n'est pas celui de l'ancre".into())
                    }
                    Ok(der) => {
                        if let Err(e) = parafe_seal::tsa::verify_token(&der, &a.root, &confiance) {
                            probleme(&j.jeton, format!("horodatage de l'ancre invalide : {e}"));
                        }
                    }
                    Err(e) => probleme(&j.jeton, e),
                }
            }
            // Read before the excerpt is streamed, which holds the archive.
            let rompus: Vec<_> = j
                .segments_rompus
                .iter()
                .map(|s| (s, lire_entree(&mut zip, &s.fichier, MANIFESTE_MAX)))
                .collect();
            match ouvrir(&mut zip, &j.extrait) {
                Err(e) => probleme(&j.extrait, e),
                Ok((f, _)) => {
                    let mut suite = Suite::starting_at(j.premiere_entree);
                    let mut precedente: Option<JournalEntry> = None;
                    let mut lignes = io::BufReader::new(f);
                    let mut ligne = Vec::new();
                    for i in 0.. {
                        ligne.clear();
                        let ici = format!("{} (ligne {})", j.extrait, i + 1);
                        match (&mut lignes).take(LIGNE_MAX).read_until(b'\n', &mut ligne) {
                            Ok(0) => break,
                            Ok(n) if n as u64 == LIGNE_MAX && !ligne.ends_with(b"\n") => {
                                probleme(
                                    &ici,
                                    format!("ligne de plus de {}", taille_lisible(LIGNE_MAX)),
                                );
                                break;
                            }
                            Ok(_) => {}
                            Err(e) => {
                                probleme(&ici, format!("illisible ({e})"));
                                break;
                            }
                        }
                        let contenu = ligne.strip_suffix(b"\n").unwrap_or(&ligne);
                        if contenu.is_empty() {
                            continue;
                        }
                        let entree: JournalEntry = match serde_json::from_slice(contenu) {
                            Ok(e) => e,
                            Err(e) => {
                                probleme(&ici, format!("entrée illisible : {e}"));
                                continue;
                            }
                        };
                        let ici =
                            format!("{} (ligne {}, entrée n° {})", j.extrait, i + 1, entree.seq);
                        // A recorded break: the chain starts again from the record, which names
                        // the broken segment, given whole in the pack.
                        let constat = match &entree.event {
                            JournalEvent::ChainBreakRecorded {
                                segment,
                                line,
                                problem,
                                reason,
                                ..
                            } => {
                                match rompus.iter().find(|(s, _)| s.segment == *segment) {
                                    None => probleme(&ici, format!("le constat de rupture nomme le segment {segment:06}, absent du pack")),
                                    Some((s, Err(e))) => probleme(&s.fichier, e.clone()),
                                    Some((s, Ok(octets))) if entree.objects.first() != Some(&Sha256Digest::of(octets)) => probleme(
                                        &s.fichier,
                                        "ce n'est pas le segment que nomme le constat de rupture (empreinte différente)".into(),
                                    ),
                                    Some((s, Ok(octets))) => {
                                        for e in octets
                                            .split(|&b| b == b'\n')
                                            .filter_map(|l| serde_json::from_slice::<JournalEntry>(l).ok())
                                            .filter(|e| entry_hash(e) == e.hash && matches!(e.event, JournalEvent::DocumentFiled { .. }))
                                        {
                                            for o in &e.objects {
                                                deposes.entry(o.to_hex()).or_default().insert(e.seq);
                                            }
                                        }
                                        ruptures_constatees.push(format!(
                                            "segment {segment:06} du journal rompu à la ligne {line} ({problem}) ; rupture constatée à l'entrée n° {} le {} : « {reason} » ; segment donné tel quel : {}",
                                            entree.seq,
                                            parafe_core::model::heure_de_paris(entree.at),
                                            s.fichier
                                        ));
                                    }
                                }
                                true
                            }
                            _ => false,
                        };
                        if let Some(p) = suite.check(&entree, constat) {
                            probleme(&ici, p);
                        }
                        if let JournalEvent::DocumentFiled { .. } = entree.event {
                            for o in &entree.objects {
                                deposes.entry(o.to_hex()).or_default().insert(entree.seq);
                            }
                        }
                        entrees_journal += 1;
                        precedente = Some(entree);
                    }
                    match (&precedente, &ancre, &plie) {
                        (Some(derniere), Some(a), Some(plie)) => {
                            let tete = a.heads.iter().find(|h| &h.plie == plie);
                            match tete {
                                Some(h) if h.seq == derniere.seq && h.hash == derniere.hash && derniere.seq == j.derniere_entree => {}
                                Some(h) => probleme(&j.extrait, format!(
                                    "la dernière entrée (n° {}) n'est pas la tête horodatée par l'ancre (n° {}) : journal réécrit ou tronqué",
                                    derniere.seq, h.seq
                                )),
                                None => probleme(&j.ancre, format!("l'ancre ne couvre pas le PLIE « {plie} »")),
                            }
                        }
                        (None, _, _) => probleme(&j.extrait, "extrait vide".into()),
                        _ => {}
                    }
                }
            }
        }
    }
    // 4. Each piece filed in the journal, under its hash, at the entry the manifest names.
    if manifeste.journal.is_some() {
        for f in &pieces {
            let ok = deposes
                .get(&f.sha256)
                .is_some_and(|seqs| f.seq.is_none_or(|s| seqs.contains(&s)));
            if !ok {
                probleme(&f.chemin, "aucune entrée « document_filed » de l'extrait du journal ne porte son empreinte".into());
            }
        }
    }
    problemes.sort_by(|a, b| a.fichier.cmp(&b.fichier));
    Ok(Rapport {
        fichiers: manifeste.fichiers.len(),
        documents_scelles,
        justificatifs,
        entrees_journal,
        confiance: source,
        problemes,
        ruptures_constatees,
    })
}

/// True when `texte` reads exactly as the concatenation of `lignes`, compared as it streams.
fn meme_texte(mut texte: impl Read, lignes: impl Iterator<Item = String>) -> io::Result<bool> {
    let mut lu = Vec::new();
    for ligne in lignes {
        lu.clear();
        (&mut texte).take(ligne.len() as u64).read_to_end(&mut lu)?;
        if lu != ligne.as_bytes() {
            return Ok(false);
        }
    }
    Ok(texte.read(&mut [0u8; 1])? == 0)
}
