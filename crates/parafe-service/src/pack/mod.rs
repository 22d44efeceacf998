//! The audit pack: one ZIP that answers a contrôle, verifiable without parafe.
//!
//! [`exporter`] lays the pack out from the database ([`plan`]), composes and seals its index
//! ([`index`]) while the pieces stream from the evidence store into the ZIP ([`ecriture`]), adds
//! the journal excerpt with its anchor ([`extrait`]), the certificates, the manifests and the
//! controller's README ([`lisezmoi`]), and journals the export. [`verifier`] checks a pack.

pub mod ecriture;
pub mod extrait;
pub mod index;
pub mod lisezmoi;
pub mod plan;
pub mod suivi;
pub mod verifier;

use crate::justificatif::etat::{charger, DossierError, Filtre, Periode};
use crate::justificatif::Catalogue;
use chrono::{Datelike, Timelike, Utc};
use der::EncodePem;
use ecriture::{Ecrivain, Morceau};
use parafe_core::model::{JournalEvent, PlieId, Sha256Digest};
use parafe_seal::{Keys, SealKey, Tsa};
use parafe_store::{s3, StoreError, Vault};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Version of the pack layout, written in the manifest.
pub const FORMAT: &str = "parafe-pack/1";
/// Files that describe the others and are not listed in the manifest.
pub const MANIFESTES: [&str; 4] = [
    "manifeste.json",
    "manifeste.csv",
    "manifeste.sha256",
    "manifeste.json.tsr",
];

/// A new export reference: `pack-` and 80 random bits, short enough for the index's header.
pub fn nouvelle_reference() -> String {
    use rand::RngCore;
    let mut octets = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut octets);
    format!("pack-{}", crate::db::base32(&octets))
}

/// What is asked for.
#[derive(Debug, Clone, Serialize)]
pub struct DemandePack {
    pub plie: PlieId,
    /// Code of the opération.
    pub operation: String,
    pub periode: Periode,
    /// One participant only (pseudonymous reference).
    pub participant: Option<String>,
    /// A référent's portfolio only (his staff id): a référent never exports another's
    /// participants.
    pub portefeuille: Option<i64>,
    /// Sensitive pieces (health, disability, justice) included: only when asked for.
    pub donnees_sensibles: bool,
    /// Who asks, as the journal names them (`personnel-12`, `ligne-de-commande`).
    pub acteur: String,
    /// Public reference of the export.
    pub reference: String,
    /// The day due dates are judged against (the service's clock).
    pub aujourdhui: chrono::NaiveDate,
}

/// Everything an export reads from.
pub struct Sources<'a> {
    pub db: &'a sqlx::AnyPool,
    pub vault: &'a Vault,
    pub keys: &'a Keys,
    /// The seal of the PLIE the pack is made for: it seals the indexes and is handed over.
    pub cachet: &'a SealKey,
    pub tsa: &'a Tsa,
    pub catalogue: &'a Catalogue,
    /// Store requests in flight.
    pub concurrence: usize,
}

/// Called after each file written: (done, total).
pub type Progression = Arc<dyn Fn(usize, usize) + Send + Sync>;

#[derive(Debug, Clone, Serialize)]
pub struct Resultat {
    pub chemin: PathBuf,
    pub fichiers: usize,
    pub pieces: usize,
    pub participants: usize,
    pub manques: Vec<plan::Manque>,
    pub exclues: usize,
    pub sha256: Sha256Digest,
    pub taille: u64,
    pub manifeste_sha256: Sha256Digest,
    /// Journal entry of the export.
    pub seq: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Dossier(#[from] DossierError),
    #[error("lecture de la base impossible : {0}")]
    Sql(#[from] sqlx::Error),
    #[error("coffre : {0}")]
    Coffre(#[from] StoreError),
    #[error(
        "la pièce {chemin} ({sha256}) est absente du coffre{attente} : le pack n'est pas fait"
    )]
    Absent {
        chemin: String,
        sha256: String,
        attente: &'static str,
    },
    #[error("lecture de {chemin} dans le coffre impossible : {message}")]
    Lecture { chemin: String, message: String },
    #[error("la pièce {chemin} est altérée dans le coffre : empreinte {trouve} au lieu de {attendu} ; le pack n'est pas fait, lancez `parafe verify --store`")]
    Altere {
        chemin: String,
        attendu: Sha256Digest,
        trouve: Sha256Digest,
    },
    #[error("écriture de {} impossible : {source}", chemin.display())]
    Ecriture {
        chemin: PathBuf,
        source: std::io::Error,
    },
    #[error("index du pack : {0}")]
    Index(String),
    #[error("horodatage : {0}")]
    Horodatage(String),
    #[error("journal : {0}")]
    Journal(String),
    /// A task of the export (reading, composing, writing) panicked or was cancelled.
    #[error("tâche interrompue : {0}")]
    Interrompue(#[from] tokio::task::JoinError),
    #[error("sérialisation JSON : {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Interne(String),
}

impl PackError {
    /// Whether the request itself is wrong (unknown opération or participant).
    pub fn est_demande(&self) -> bool {
        matches!(
            self,
            PackError::Dossier(
                DossierError::OperationInconnue(_) | DossierError::ParticipantInconnu(_)
            )
        )
    }
}

fn ecriture(chemin: &Path) -> impl FnOnce(std::io::Error) -> PackError + '_ {
    move |source| PackError::Ecriture {
        chemin: chemin.to_path_buf(),
        source,
    }
}

/// A piece read from the store: whole when small, else its stream.
enum Lu {
    Entier(Vec<Morceau>),
    Flux(aws_sdk_s3::primitives::ByteStream),
}

/// Pieces up to this size are read ahead whole (at most `FENETRE × concurrence` of them: 64 MB
/// with the defaults); larger ones stream when their turn comes.
const LU_D_AVANCE: i64 = 1 << 20;

/// Reads a piece; a whole one is hashed here, on the runtime's threads, and checked against its
/// key (`attendu`): a piece altered in the store stops the pack.
async fn lire(
    s3: s3::S3,
    requetes: Arc<tokio::sync::Semaphore>,
    attendu: Sha256Digest,
    cle: String,
    chemin: String,
) -> Result<Lu, PackError> {
    // As many requests in flight as the plain read would make; the answers wait their turn.
    let _permis = requetes
        .acquire_owned()
        .await
        .map_err(|e| PackError::Interne(e.to_string()))?;
    let reponse = s3
        .client()
        .get_object()
        .bucket(s3.bucket())
        .key(&cle)
        .send()
        .await;
    let sortie = match reponse {
        Ok(s) => s,
        Err(e) => {
            let absent = e.as_service_error().is_some_and(|s| s.is_no_such_key());
            return Err(if absent {
                PackError::Absent {
                    chemin,
                    sha256: attendu.to_hex(),
                    attente: " (en attente d'envoi ? `parafe store queue --flush`)",
                }
            } else {
                PackError::Lecture {
                    chemin,
                    message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                }
            });
        }
    };
    if sortie.content_length().unwrap_or(i64::MAX) > LU_D_AVANCE {
        return Ok(Lu::Flux(sortie.body));
    }
    // The store's buffers, kept as they are, go to the writer thread in one message.
    let mut corps = sortie.body;
    let mut morceaux: Vec<Morceau> = Vec::new();
    let mut hasher = Sha256::new();
    while let Some(m) = corps.next().await {
        let m = m.map_err(|e| PackError::Lecture {
            chemin: chemin.clone(),
            message: e.to_string(),
        })?;
        hasher.update(&m);
        morceaux.push(Box::new(m));
    }
    verifier_empreinte(&chemin, attendu, hasher)?;
    Ok(Lu::Entier(morceaux))
}

/// A piece's hash once all of it is read, checked against its key: an altered piece stops the
/// pack.
fn verifier_empreinte(
    chemin: &str,
    attendu: Sha256Digest,
    hasher: Sha256,
) -> Result<Sha256Digest, PackError> {
    let trouve = Sha256Digest(hasher.finalize().into());
    if trouve == attendu {
        Ok(trouve)
    } else {
        Err(PackError::Altere {
            chemin: chemin.to_owned(),
            attendu,
            trouve,
        })
    }
}

fn zip_date(t: chrono::DateTime<Utc>) -> zip::DateTime {
    let p = t.with_timezone(&chrono_tz::Europe::Paris);
    zip::DateTime::from_date_and_time(
        p.year().clamp(1980, 2107) as u16,
        p.month() as u8,
        p.day() as u8,
        p.hour() as u8,
        p.minute() as u8,
        p.second() as u8,
    )
    .unwrap_or_default()
}

fn pem(certs: &[x509_cert::Certificate]) -> Result<Vec<u8>, PackError> {
    let mut out = String::new();
    for c in certs {
        out.push_str(
            &c.to_pem(der::pem::LineEnding::LF)
                .map_err(|e| PackError::Interne(e.to_string()))?,
        );
    }
    Ok(out.into_bytes())
}

fn ajouter_sans_doublon(
    liste: &mut Vec<x509_cert::Certificate>,
    certs: impl IntoIterator<Item = x509_cert::Certificate>,
) {
    for c in certs {
        if !liste.contains(&c) {
            liste.push(c);
        }
    }
}

/// Builds the pack of `demande` into `sortie` (written beside it under a temporary name, renamed
/// when complete), then journals the export.
pub async fn exporter(
    sources: &Sources<'_>,
    demande: &DemandePack,
    sortie: &Path,
    progression: Option<Progression>,
) -> Result<Resultat, PackError> {
    let plie = &demande.plie;
    let debut = std::time::Instant::now();
    let filtre = Filtre {
        participant: demande.participant.clone(),
        referent_id: demande.portefeuille,
    };
    let dossier = charger(
        sources.db,
        plie.as_str(),
        &demande.operation,
        &filtre,
        sources.catalogue,
    )
    .await?;
    let nom_plie = crate::db::referentiel::nom_plie(sources.db, plie.as_str())
        .await?
        .unwrap_or_else(|| plie.to_string());
    let plan = plan::planifier(
        &dossier,
        sources.catalogue,
        &demande.periode,
        demande.aujourdhui,
        demande.donnees_sensibles,
    );
    // From here on, only the opération and the PLIE's card: the pieces live on in the plan.
    let dossier = crate::justificatif::Dossier {
        participants: Vec::new(),
        pieces: Vec::new(),
        ..dossier
    };
    let genere_le = sources.vault.horloge().maintenant();
    tracing::info!(
        "pack {} : plan de {} pièces prêt en {:.1} s",
        demande.reference,
        plan.entrees.len(),
        debut.elapsed().as_secs_f64()
    );

    // The anchor that covers the last filing, made now if the last one is older.
    let journal = sources.vault.journal();
    let seqs: Vec<Option<i64>> = plan.entrees.iter().map(|e| e.seq).collect();
    let ancre = if plan.entrees.is_empty() {
        None
    } else {
        let derniere = seqs.iter().flatten().copied().max().unwrap_or(0).max(1) as u64;
        // Another instance may have written the chain's last entries and its last anchor.
        let existante = journal
            .refresh(plie)
            .and_then(|()| extrait::ancre_couvrant(journal.dir(), plie, derniere))
            .map_err(|e| PackError::Journal(e.to_string()))?;
        match existante {
            Some(a) => Some(a),
            None => Some(sources.vault.anchor(sources.tsa).await?),
        }
    };
    let bornes = match &ancre {
        Some(a) => {
            let fin = extrait::tete(a, plie).ok_or_else(|| {
                PackError::Journal(format!(
                    "l'ancre n° {} ne couvre pas le PLIE {plie}",
                    a.number
                ))
            })?;
            // A piece whose filing entry is unknown: the excerpt starts at the beginning.
            let debut = if seqs.iter().any(Option::is_none) {
                1
            } else {
                seqs.iter().flatten().copied().min().unwrap_or(1).max(1) as u64
            };
            Some((debut, fin))
        }
        None => None,
    };

    let dir = sortie
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(ecriture(dir))?;
    let nom = sortie
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pack.zip".into());
    let partiel = dir.join(format!(".{nom}.{}.partiel", std::process::id()));
    let resultat = ecrire_pack(
        sources,
        demande,
        &dossier,
        &plan,
        ancre.as_ref(),
        bornes,
        genere_le,
        &nom_plie,
        &partiel,
        progression,
    )
    .await;
    let (ecrits, empreinte, manifeste_sha256) = match resultat {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&partiel);
            return Err(e);
        }
    };
    std::fs::rename(&partiel, sortie).map_err(ecriture(sortie))?;
    let chemin = sortie.to_path_buf();
    let (sha256, taille) = tokio::task::spawn_blocking(move || {
        Ok::<_, std::io::Error>((
            match empreinte {
                Some(sha) => sha,
                None => parafe_journal::chain::hash_file(&chemin)?,
            },
            std::fs::metadata(&chemin)?.len(),
        ))
    })
    .await?
    .map_err(ecriture(sortie))?;
    tracing::info!(
        "pack {} : empreinte du ZIP à {:.1} s",
        demande.reference,
        debut.elapsed().as_secs_f64()
    );
    let entree = sources
        .vault
        .record(
            plie,
            JournalEvent::ExportMade {
                actor: demande.acteur.clone(),
                operation: demande.operation.clone(),
            },
            vec![manifeste_sha256, sha256],
        )
        .await?;
    Ok(Resultat {
        chemin: sortie.to_path_buf(),
        fichiers: ecrits,
        pieces: plan.entrees.len(),
        participants: plan.participants.len(),
        manques: plan.manques,
        exclues: plan.exclues,
        sha256,
        taille,
        manifeste_sha256,
        seq: entree.seq,
    })
}

/// Why writing stopped: the writer thread (its error comes from `terminer`), or another error.
enum Arret {
    Ecrivain,
    Erreur(PackError),
}

impl From<PackError> for Arret {
    fn from(e: PackError) -> Arret {
        Arret::Erreur(e)
    }
}

impl From<()> for Arret {
    fn from((): ()) -> Arret {
        Arret::Ecrivain
    }
}

/// Stops the writer; the error to report (the writer's own when it is the one that stopped).
async fn arreter(zip: Ecrivain, arret: Arret) -> PackError {
    let fin = zip.terminer().await;
    match (arret, fin) {
        (Arret::Erreur(e), _) | (Arret::Ecrivain, Err(e)) => e,
        (Arret::Ecrivain, Ok(_)) => PackError::Interne("écriture du ZIP interrompue".into()),
    }
}

/// A volume of the index (its path and bytes), composed and sealed, or why it could not be.
type IndexScelle = Result<(String, Vec<u8>), PackError>;

/// Composes one volume of the index on the render threads, then lets Typst forget it: its
/// memoized layout (twenty pages) would otherwise stay in its cache beside the next one.
fn composer(
    modele: &'static str,
    donnees: serde_json::Value,
    genere_le: chrono::DateTime<Utc>,
) -> tokio::task::JoinHandle<Result<parafe_core::model::RenderedPdf, PackError>> {
    tokio::task::spawn_blocking(move || {
        let options = parafe_template::render::RenderOptions {
            generated_at: genere_le,
            ..Default::default()
        };
        parafe_template::render::render_pooled(modele, &donnees, &options, 0)
            .map_err(|e| PackError::Index(e.to_string()))
    })
}

/// Seals a composed index like the documents, so that every PDF of the pack carries a seal.
async fn sceller(
    sources: &Sources<'_>,
    composition: tokio::task::JoinHandle<Result<parafe_core::model::RenderedPdf, PackError>>,
) -> Result<Vec<u8>, PackError> {
    let rendu = composition.await??;
    parafe_seal::seal(&rendu, sources.cachet, sources.keys, sources.tsa)
        .await
        .map(|s| s.bytes().to_vec())
        .map_err(|e| PackError::Index(e.to_string()))
}

/// Composes and seals the volumes of the index one at a time while the pieces stream, and hands
/// each to the writer: memory holds one volume, whatever the size of the pack.
async fn composer_indexes(
    sources: &Sources<'_>,
    demande: &DemandePack,
    dossier: &crate::justificatif::Dossier,
    plan: &plan::Plan,
    nom_plie: &str,
    genere_le: chrono::DateTime<Utc>,
    sortie: tokio::sync::mpsc::Sender<IndexScelle>,
) {
    let version = &sources.catalogue.version;
    for v in 0..index::volumes(plan.participants.len()) {
        let donnees = index::donnees(demande, dossier, plan, nom_plie, version, genere_le, v);
        let scelle = sceller(sources, composer("index-pack", donnees, genere_le))
            .await
            .map(|octets| (index::nom_volume(v), octets));
        let arret = scelle.is_err();
        // A refused send: the writer stopped, and says why.
        if sortie.send(scelle).await.is_err() || arret {
            return;
        }
    }
}

/// Pieces read ahead of the writer: up to this many times the store requests in flight, so
/// that one slow answer does not stall the others.
const FENETRE: usize = 4;

/// Writes the pieces in the plan's order, read ahead from the store, and each volume of the
/// index as soon as it is sealed, between two pieces: neither waits for the other.
async fn ecrire_pieces(
    sources: &Sources<'_>,
    plie: &PlieId,
    plan: &plan::Plan,
    zip: &Ecrivain,
    mut indexes: tokio::sync::mpsc::Receiver<IndexScelle>,
    mut avancer: impl FnMut(usize),
) -> Result<(), Arret> {
    let concurrence = sources.concurrence.max(1);
    let requetes = Arc::new(tokio::sync::Semaphore::new(concurrence));
    let mut en_attente = VecDeque::new();
    let mut suivantes = plan.entrees.iter();
    loop {
        while en_attente.len() < FENETRE * concurrence {
            let Some(e) = suivantes.next() else {
                break;
            };
            let attendu = Sha256Digest::from_hex(&e.sha256).ok_or_else(|| {
                PackError::Interne(format!("empreinte invalide en base pour {}", e.chemin))
            })?;
            let tache = tokio::spawn(lire(
                sources.vault.s3().clone(),
                requetes.clone(),
                attendu,
                s3::object_key(plie.as_str(), &attendu),
                e.chemin.clone(),
            ));
            en_attente.push_back((e, attendu, tache));
        }
        while let Ok(volume) = indexes.try_recv() {
            let (chemin, octets) = volume?;
            zip.fichier(&chemin, false, octets).await?;
            avancer(1);
        }
        let Some((e, attendu, tache)) = en_attente.pop_front() else {
            break;
        };
        let lu = tache.await.map_err(PackError::from)??;
        let compresser = e.chemin.ends_with(".eml");
        match lu {
            Lu::Entier(morceaux) => {
                zip.piece(&e.chemin, compresser, morceaux, Some(attendu))
                    .await?
            }
            Lu::Flux(mut corps) => {
                let taille = e.taille.map(|t| t as u64);
                zip.ouvrir_entree(&e.chemin, compresser, taille, Some(attendu))
                    .await?;
                while let Some(m) = corps.next().await {
                    let m = m.map_err(|err| PackError::Lecture {
                        chemin: e.chemin.clone(),
                        message: err.to_string(),
                    })?;
                    zip.ecrire(Box::new(m)).await?;
                }
                zip.fermer_entree().await?;
            }
        }
        avancer(1);
    }
    // The volumes still being composed.
    while let Some(volume) = indexes.recv().await {
        let (chemin, octets) = volume?;
        zip.fichier(&chemin, false, octets).await?;
        avancer(1);
    }
    Ok(())
}

/// One line of the manifest.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct LigneManifeste {
    pub chemin: String,
    pub sha256: String,
    pub taille: u64,
    /// `document`, `justificatif`, `index`, `journal`, `ancre`, `horodatage`, `certificat`,
    /// `lisezmoi`.
    pub nature: String,
    pub genre: Option<String>,
    pub participant: Option<String>,
    /// The participant's identifier in the parcours software, beside the pseudonym: what a
    /// controller matches against the parcours extraction.
    #[serde(default)]
    pub identifiant: Option<String>,
    pub date: Option<String>,
    /// Journal entry that filed the piece.
    pub seq: Option<u64>,
}

/// `manifeste.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Manifeste {
    pub format: String,
    pub reference: String,
    pub plie: String,
    pub operation: String,
    pub du: String,
    pub au: String,
    pub participant: Option<String>,
    pub donnees_sensibles: bool,
    pub catalogue: String,
    pub genere_le: String,
    pub manquants: Vec<serde_json::Value>,
    /// Each participant of the pack: his pseudonym, his identifier in the parcours software
    /// (what a controller matches against the parcours extraction) and his folder.
    #[serde(default)]
    pub participants: Vec<ParticipantManifeste>,
    pub journal: Option<JournalManifeste>,
    /// Last: the manifest is written a file a line after the rest.
    pub fichiers: Vec<LigneManifeste>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ParticipantManifeste {
    pub participant: String,
    pub identifiant: String,
    pub dossier: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct JournalManifeste {
    pub extrait: String,
    pub premiere_entree: u64,
    pub derniere_entree: u64,
    pub ancre: String,
    pub jeton: String,
    /// Broken segments the excerpt goes past, whose break an operator recorded: given whole,
    /// as the record in the excerpt names them by their SHA-256.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments_rompus: Vec<SegmentRompu>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SegmentRompu {
    pub segment: u64,
    pub fichier: String,
    pub sha256: String,
}

#[allow(clippy::too_many_arguments)]
async fn ecrire_pack(
    sources: &Sources<'_>,
    demande: &DemandePack,
    dossier: &crate::justificatif::Dossier,
    plan: &plan::Plan,
    ancre: Option<&parafe_journal::Anchor>,
    bornes: Option<(u64, u64)>,
    genere_le: chrono::DateTime<Utc>,
    nom_plie: &str,
    partiel: &Path,
    progression: Option<Progression>,
) -> Result<(usize, Option<Sha256Digest>, Sha256Digest), PackError> {
    let plie = &demande.plie;
    let zip = Ecrivain::ouvrir(partiel, zip_date(genere_le))?;
    let debut = std::time::Instant::now();
    // Any send refused means the writer stopped: its error is the one to report.
    macro_rules! ecrire {
        ($e:expr) => {
            if $e.await.is_err() {
                return Err(match zip.terminer().await {
                    Err(e) => e,
                    Ok(_) => PackError::Interne("écriture du ZIP interrompue".into()),
                });
            }
        };
    }
    let nom_extrait = format!("journal/{plie}-extrait.jsonl");
    let (nom_ancre, nom_jeton) = match ancre {
        Some(a) => (
            format!("journal/ancre-{:06}.json", a.number),
            format!("journal/ancre-{:06}.tsr", a.number),
        ),
        None => (String::new(), String::new()),
    };
    let volumes = index::volumes(plan.participants.len());
    let total = plan.entrees.len() + volumes + 8 + usize::from(ancre.is_some()) * 3;
    let mut faits = 0usize;
    let avancer = |faits: &mut usize, n: usize| {
        *faits += n;
        if let Some(p) = &progression {
            p(*faits, total);
        }
    };

    // Certificates: the trust anchors (the seal's and the timestamp authority's), the seal's
    // chain, the timestamp authority's.
    let mut autorites = sources.keys.trust.clone();
    ajouter_sans_doublon(&mut autorites, sources.tsa.trust().iter().cloned());
    let mut horodatage = Vec::new();
    ajouter_sans_doublon(&mut horodatage, sources.tsa.local_chain().iter().cloned());
    if let Some(a) = ancre {
        ajouter_sans_doublon(
            &mut horodatage,
            parafe_seal::tsa::token_certificates(&a.token.der),
        );
    }
    let lisez = lisezmoi::texte(&lisezmoi::Contexte {
        plie: plie.as_str(),
        operation: &dossier.operation.code,
        intitule: &dossier.operation.intitule,
        du: demande.periode.du.format("%d/%m/%Y").to_string(),
        au: demande.periode.au.format("%d/%m/%Y").to_string(),
        reference: &demande.reference,
        genere_le,
        pieces: plan.entrees.len(),
        participants: plan.participants.len(),
        extrait: ancre.map(|_| nom_extrait.as_str()),
        ancre: ancre.map(|a| (nom_ancre.as_str(), nom_jeton.as_str(), a.root.to_hex())),
        cachet: &sources.cachet.chain,
        horodatage: &horodatage,
        crls: &sources.keys.crls,
    });
    ecrire!(zip.fichier("LISEZMOI.txt", true, lisez.into_bytes()));
    ecrire!(zip.fichier("certificats/autorites.pem", true, pem(&autorites)?));
    ecrire!(zip.fichier("certificats/cachet.pem", true, pem(&sources.cachet.chain)?));
    ecrire!(zip.fichier("certificats/horodatage.pem", true, pem(&horodatage)?));
    avancer(&mut faits, 4);

    // The pieces, read ahead from the store, and the volumes of the index, composed and sealed
    // meanwhile, each written as soon as it is ready.
    let (tx_index, rx_index) = tokio::sync::mpsc::channel(1);
    let indexes = composer_indexes(
        sources, demande, dossier, plan, nom_plie, genere_le, tx_index,
    );
    let pieces = ecrire_pieces(sources, plie, plan, &zip, rx_index, |n| {
        avancer(&mut faits, n)
    });
    let ((), ecrites) = tokio::join!(indexes, pieces);
    if let Err(arret) = ecrites {
        return Err(arreter(zip, arret).await);
    }

    tracing::info!(
        "pack {} : {} pièces lues et écrites en {:.1} s",
        demande.reference,
        plan.entrees.len(),
        debut.elapsed().as_secs_f64()
    );
    // The journal excerpt, streamed from the segments in chunks, and its anchor.
    let mut journal = None;
    if let (Some(a), Some((debut, fin))) = (ancre, bornes) {
        let chain_dir = sources.vault.journal().chain_dir(plie);
        let dir = chain_dir.clone();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
        let lecture = tokio::task::spawn_blocking(move || {
            let mut lot = Vec::with_capacity(256 * 1024);
            let parcours = extrait::parcourir(&dir, debut, fin, |ligne| {
                lot.extend_from_slice(ligne);
                if lot.len() >= 256 * 1024 {
                    let plein = std::mem::replace(&mut lot, Vec::with_capacity(256 * 1024));
                    tx.blocking_send(plein)
                        .map_err(|_| std::io::Error::other("écriture interrompue"))?;
                }
                Ok(())
            })?;
            if !lot.is_empty() {
                let _ = tx.blocking_send(lot);
            }
            Ok::<_, std::io::Error>(parcours)
        });
        ecrire!(zip.ouvrir_entree(&nom_extrait, true, None, None));
        while let Some(lot) = rx.recv().await {
            ecrire!(zip.ecrire(Box::new(lot)));
        }
        ecrire!(zip.fermer_entree());
        let parcours = lecture
            .await?
            .map_err(|e| PackError::Journal(e.to_string()))?;
        // Past a recorded break the numbers start again from the record: the excerpt must
        // then end at the anchored head; without one, every entry in between must be there.
        let complet = match parcours.rompus.is_empty() {
            true => parcours.lues == fin + 1 - debut,
            false => parcours.derniere == Some(fin),
        };
        if !complet {
            return Err(PackError::Journal(format!(
                "le journal du PLIE {plie} n'a pas les entrées n° {debut} à {fin} ({} lues)",
                parcours.lues
            )));
        }
        let mut segments_rompus = Vec::new();
        for segment in parcours.rompus {
            let fichier = format!("journal/{plie}-segment-{segment:06}-rompu.jsonl");
            let chemin = parafe_journal::chain::segment_path(&chain_dir, segment);
            let octets = tokio::fs::read(&chemin)
                .await
                .map_err(|e| PackError::Journal(format!("{} : {e}", chemin.display())))?;
            let sha256 = Sha256Digest::of(&octets).to_hex();
            ecrire!(zip.fichier(&fichier, true, octets));
            segments_rompus.push(SegmentRompu {
                segment,
                fichier,
                sha256,
            });
        }
        let json = serde_json::to_vec_pretty(a)?;
        ecrire!(zip.fichier(&nom_ancre, true, json));
        ecrire!(zip.fichier(&nom_jeton, false, a.token.der.clone()));
        avancer(&mut faits, 3);
        journal = Some(JournalManifeste {
            extrait: nom_extrait.clone(),
            premiere_entree: parcours.premiere.unwrap_or(debut),
            derniere_entree: fin,
            ancre: nom_ancre.clone(),
            jeton: nom_jeton.clone(),
            segments_rompus,
        });
    }

    tracing::info!(
        "pack {} : extrait du journal à {:.1} s",
        demande.reference,
        debut.elapsed().as_secs_f64()
    );
    // The manifests: every file written so far, with its hash as written.
    let manifestes =
        ecrire_manifestes(sources, demande, plan, &zip, volumes, journal, genere_le).await;
    let manifeste_sha256 = match manifestes {
        Ok(sha) => sha,
        Err(arret) => return Err(arreter(zip, arret).await),
    };
    let ferme = zip.terminer().await?;
    tracing::info!(
        "pack {} : ZIP fermé à {:.1} s",
        demande.reference,
        debut.elapsed().as_secs_f64()
    );
    let reste = total.saturating_sub(faits);
    avancer(&mut faits, reste);
    Ok((ferme.fichiers, ferme.sha256, manifeste_sha256))
}

/// Writes `manifeste.json`, `manifeste.csv`, `manifeste.sha256` (every file written so far, with
/// its hash as written) and the timestamp of the JSON one; returns the SHA-256 of the JSON one.
/// Each streams into the ZIP a line per file, never whole in memory: the JSON one is the
/// manifest without its files (its last field), then one file a line.
async fn ecrire_manifestes(
    sources: &Sources<'_>,
    demande: &DemandePack,
    plan: &plan::Plan,
    zip: &Ecrivain,
    volumes: usize,
    journal: Option<JournalManifeste>,
    genere_le: chrono::DateTime<Utc>,
) -> Result<Sha256Digest, Arret> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    zip.releve(tx).await?;
    let ecrits = rx
        .await
        .map_err(|_| PackError::Interne("relevé du ZIP perdu".into()))?;
    let par_chemin: std::collections::HashMap<&str, &plan::Entree> = plan
        .entrees
        .iter()
        .map(|e| (e.chemin.as_str(), e))
        .collect();
    let noms_volumes: Vec<String> = (0..volumes).map(index::nom_volume).collect();
    let indexes: std::collections::HashSet<&str> =
        noms_volumes.iter().map(String::as_str).collect();
    let extrait = journal.as_ref().map(|j| j.extrait.clone());
    let nature = |chemin: &str| -> &'static str {
        match chemin {
            "LISEZMOI.txt" => "lisezmoi",
            c if indexes.contains(c) => "index",
            c if c.starts_with("certificats/") => "certificat",
            c if extrait.as_deref() == Some(c) || c.ends_with("-rompu.jsonl") => "journal",
            c if c.ends_with(".tsr") => "horodatage",
            c if c.starts_with("journal/") => "ancre",
            _ => "autre",
        }
    };
    let ligne = |w: &ecriture::Ecrit| match par_chemin.get(w.chemin.as_str()) {
        Some(e) => LigneManifeste {
            chemin: w.chemin.clone(),
            sha256: w.sha256.to_hex(),
            taille: w.taille,
            nature: e.nature.into(),
            genre: Some(e.genre.clone()),
            participant: e.participant.clone(),
            identifiant: e.identifiant.clone(),
            date: e.date.map(|d| d.format("%Y-%m-%d").to_string()),
            seq: e.seq.map(|s| s as u64),
        },
        None => LigneManifeste {
            chemin: w.chemin.clone(),
            sha256: w.sha256.to_hex(),
            taille: w.taille,
            nature: nature(&w.chemin).into(),
            genre: None,
            participant: None,
            identifiant: None,
            date: None,
            seq: None,
        },
    };
    let interne = |e: &dyn std::fmt::Display| PackError::Interne(e.to_string());

    let entete = Manifeste {
        format: FORMAT.into(),
        reference: demande.reference.clone(),
        plie: demande.plie.to_string(),
        operation: demande.operation.clone(),
        du: demande.periode.du.format("%Y-%m-%d").to_string(),
        au: demande.periode.au.format("%Y-%m-%d").to_string(),
        participant: demande.participant.clone(),
        donnees_sensibles: demande.donnees_sensibles,
        catalogue: sources.catalogue.version.clone(),
        genere_le: crate::db::instant(genere_le),
        manquants: plan
            .manques
            .iter()
            .map(|m| serde_json::to_value(m).unwrap_or_default())
            .collect(),
        participants: plan
            .participants
            .iter()
            .map(|p| ParticipantManifeste {
                participant: p.reference.clone(),
                identifiant: p.identifiant.clone(),
                dossier: p.dossier.clone(),
            })
            .collect(),
        journal,
        fichiers: Vec::new(),
    };
    let entete = serde_json::to_vec_pretty(&entete).map_err(PackError::from)?;
    let entete = entete
        .strip_suffix(b"[]\n}")
        .ok_or_else(|| interne(&"en-tête du manifeste inattendu"))?;
    let mut json = zip.en_flux("manifeste.json", true).await?;
    json.ecrire(entete).await?;
    json.ecrire(b"[").await?;
    for (i, w) in ecrits.iter().enumerate() {
        json.ecrire(if i == 0 { b"\n    " } else { b",\n    " })
            .await?;
        let l = serde_json::to_vec(&ligne(w)).map_err(PackError::from)?;
        json.ecrire(&l).await?;
    }
    json.ecrire(b"\n  ]\n}\n").await?;
    let manifeste_sha256 = json.fermer().await?;

    let mut csv = zip.en_flux("manifeste.csv", true).await?;
    csv.ecrire(b"chemin,sha256,taille,nature,genre,participant,identifiant,date,seq\n")
        .await?;
    for lot in ecrits.chunks(1000) {
        let mut w = csv::Writer::from_writer(Vec::new());
        for f in lot.iter().map(ligne) {
            // Paths are ASCII under fixed folders (plan.rs): never changed by the spreadsheet
            // neutralisation, they stay the exact names `manifeste.sha256` gives `sha256sum -c`.
            parafe_core::tableur::ecrire_ligne(
                &mut w,
                [
                    f.chemin.as_str(),
                    &f.sha256,
                    &f.taille.to_string(),
                    &f.nature,
                    f.genre.as_deref().unwrap_or(""),
                    f.participant.as_deref().unwrap_or(""),
                    f.identifiant.as_deref().unwrap_or(""),
                    f.date.as_deref().unwrap_or(""),
                    &f.seq.map(|s| s.to_string()).unwrap_or_default(),
                ],
            )
            .map_err(|e| interne(&e))?;
        }
        csv.ecrire(&w.into_inner().map_err(|e| interne(&e))?)
            .await?;
    }
    csv.fermer().await?;

    let mut somme = zip.en_flux("manifeste.sha256", true).await?;
    for w in &ecrits {
        somme
            .ecrire(format!("{}  {}\n", w.sha256.to_hex(), w.chemin).as_bytes())
            .await?;
    }
    somme.fermer().await?;

    let jeton = sources
        .tsa
        .timestamp(&manifeste_sha256)
        .await
        .map_err(|e| PackError::Horodatage(e.to_string()))?;
    zip.fichier("manifeste.json.tsr", false, jeton.der).await?;
    Ok(manifeste_sha256)
}
