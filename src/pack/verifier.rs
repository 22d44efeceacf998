//! `parafe verify pack.zip`: checks a pack offline, as a controller would. Every file against
//! the manifest (and the manifests against each other), the manifest's timestamp, the seal of
//! every sealed PDF, the journal excerpt link by link up to its anchor, the anchor's timestamp,
//! and that each piece was filed in the journal under its hash. Each problem names the file.

use super::{LigneManifeste, Manifeste, FORMAT, MANIFESTES};
use crate::journal::anchor::{anchor_hash, merkle_root, Anchor};
use crate::journal::chain::entry_hash;
use crate::model::{JournalEntry, JournalEvent, Sha256Digest};
use der::DecodePem;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
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
}

fn lire_entree(zip: &mut zip::ZipArchive<std::fs::File>, nom: &str) -> Result<Vec<u8>, String> {
    let mut f = zip
        .by_name(nom)
        .map_err(|e| format!("absent du pack ({e})"))?;
    let mut out = Vec::with_capacity(f.size().min(64 << 20) as usize);
    f.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// SHA-256 and size of an entry, streamed.
fn empreinte(
    zip: &mut zip::ZipArchive<std::fs::File>,
    nom: &str,
) -> Result<(Sha256Digest, u64), String> {
    let mut f = zip
        .by_name(nom)
        .map_err(|e| format!("absent du pack ({e})"))?;
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
    let json = lire_entree(&mut zip, "manifeste.json")
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
    let confiance_du_pack = lire_entree(&mut zip, "certificats/autorites.pem")
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
    for i in 0..zip.len() {
        let nom = zip
            .by_index(i)
            .map(|f| f.name().to_owned())
            .unwrap_or_default();
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
    // The CSV and sha256sum manifests must say the same as the JSON one.
    match lire_entree(&mut zip, "manifeste.sha256") {
        Ok(texte) => {
            let attendu: String = manifeste
                .fichiers
                .iter()
                .map(|f| format!("{}  {}\n", f.sha256, f.chemin))
                .collect();
            if texte != attendu.as_bytes() {
                probleme(
                    "manifeste.sha256",
                    "ne correspond pas à manifeste.json".into(),
                );
            }
        }
        Err(e) => probleme("manifeste.sha256", e),
    }
    match lire_entree(&mut zip, "manifeste.csv") {
        Ok(texte) => {
            let mut lecteur = csv::Reader::from_reader(texte.as_slice());
            let lignes: Vec<(String, String)> = lecteur
                .records()
                .filter_map(Result::ok)
                .map(|r| {
                    (
                        r.get(0).unwrap_or("").to_owned(),
                        r.get(1).unwrap_or("").to_owned(),
                    )
                })
                .collect();
            let attendu: Vec<(String, String)> = manifeste
                .fichiers
                .iter()
                .map(|f| (f.chemin.clone(), f.sha256.clone()))
                .collect();
            if lignes != attendu {
                probleme("manifeste.csv", "ne correspond pas à manifeste.json".into());
            }
        }
        Err(e) => probleme("manifeste.csv", e),
    }
    match lire_entree(&mut zip, "manifeste.json.tsr") {
        Ok(jeton) => {
            if let Err(e) =
                crate::seal::tsa::verify_token(&jeton, &Sha256Digest::of(&json), &confiance)
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
        let octets = match lire_entree(&mut zip, &f.chemin) {
            Ok(o) => o,
            Err(e) => {
                probleme(&f.chemin, e);
                continue;
            }
        };
        match crate::seal::verify(&octets, &confiance) {
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
            let plie = crate::model::PlieId::new(&manifeste.plie).ok();
            let ancre: Option<Anchor> = match lire_entree(&mut zip, &j.ancre) {
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
                if anchor_hash(a) != a.hash {
                    probleme(
                        &j.ancre,
                        "ancre modifiée : son empreinte recalculée diffère".into(),
                    );
                } else if merkle_root(&a.heads) != a.root {
                    probleme(
                        &j.ancre,
                        "racine de Merkle des têtes de chaîne incorrecte".into(),
                    );
                }
                match lire_entree(&mut zip, &j.jeton) {
                    Ok(der) if der != a.token.der => {
                        probleme(&j.jeton, "ce jeton n'est pas celui de l'ancre".into())
                    }
                    Ok(der) => {
                        if let Err(e) = crate::seal::tsa::verify_token(&der, &a.root, &confiance) {
                            probleme(&j.jeton, format!("horodatage de l'ancre invalide : {e}"));
                        }
                    }
                    Err(e) => probleme(&j.jeton, e),
                }
            }
            match lire_entree(&mut zip, &j.extrait) {
                Err(e) => probleme(&j.extrait, e),
                Ok(texte) => {
                    let mut precedente: Option<JournalEntry> = None;
                    for (i, ligne) in texte
                        .split(|&b| b == b'\n')
                        .filter(|l| !l.is_empty())
                        .enumerate()
                    {
                        let ici = format!("{} (ligne {})", j.extrait, i + 1);
                        let entree: JournalEntry = match serde_json::from_slice(ligne) {
                            Ok(e) => e,
                            Err(e) => {
                                probleme(&ici, format!("entrée illisible ({e})"));
                                precedente = None;
                                continue;
                            }
                        };
                        if entry_hash(&entree) != entree.hash {
                            probleme(
                                &ici,
                                format!(
                                    "entrée n° {} modifiée : son empreinte recalculée diffère",
                                    entree.seq
                                ),
                            );
                        }
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
                                let rompu =
                                    j.segments_rompus.iter().find(|s| s.segment == *segment);
                                match rompu.map(|s| (s, lire_entree(&mut zip, &s.fichier))) {
                                    None => probleme(&ici, format!("le constat de rupture nomme le segment {segment:06}, absent du pack")),
                                    Some((s, Err(e))) => probleme(&s.fichier, e),
                                    Some((s, Ok(octets))) if entree.objects.first() != Some(&Sha256Digest::of(&octets)) => probleme(
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
                                            crate::model::heure_de_paris(entree.at),
                                            s.fichier
                                        ));
                                    }
                                }
                                true
                            }
                            _ => false,
                        };
                        match &precedente {
                            _ if constat => {}
                            None if entree.seq != j.premiere_entree => probleme(
                                &ici,
                                format!(
                                    "l'extrait devait commencer à l'entrée n° {}",
                                    j.premiere_entree
                                ),
                            ),
                            Some(p) if entree.seq != p.seq + 1 => probleme(
                                &ici,
                                format!(
                                    "entrée n° {} après la n° {} : entrées manquantes ou déplacées",
                                    entree.seq, p.seq
                                ),
                            ),
                            Some(p) if entree.prev != p.hash => probleme(
                                &ici,
                                format!("chaînage rompu à l'entrée n° {}", entree.seq),
                            ),
                            _ => {}
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
