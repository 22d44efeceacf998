//! The contrôle side of the service, shared by the screens and the JSON API: justificatifs
//! received over HTTP (streamed to disk, then the same checks and filing as `parafe justificatif
//! deposer`), the checklists of a participant and of an opération, the search of pieces, and
//! audit packs made in the background then downloaded. Every filing, export and download is
//! journaled. A référent reaches his own participants only; another PLIE's rows answer 404.

use super::{App, Erreur};
use crate::auth::Acteur;
use crate::db::exports::{self, EtatExport, Export};
use crate::db::participants::Participant;
use crate::db::personnel::{self, Referent};
use crate::db::referentiel;
use crate::justificatif::etat::{
    charger, evaluer, Dossier, DossierError, DossierParticipant, EtatExigence, Filtre, Ligne,
    OperationInfo, Periode, Piece,
};
use crate::justificatif::examen::{Reception, Recu, Refus};
use crate::justificatif::{self, Catalogue, DepotError, JustificatifDepose};
use crate::pack::{self, suivi, PackError};
use crate::roles::RolePersonnel;
use axum::body::Bytes;
use axum::extract::multipart::{Field, Multipart};
use chrono::NaiveDate;
use parafe_core::model::{JournalEvent, PlieId, Sha256Digest};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The catalogue of justificatifs in force for the PLIE.
pub fn catalogue(app: &App, plie: &PlieId) -> Result<Catalogue, Erreur> {
    Ok(Catalogue::charger(&app.config.data_dir, plie)?)
}

fn dossier_erreur(e: DossierError) -> Erreur {
    match e {
        DossierError::Sql(e) => e.into(),
        autre => Erreur::Introuvable(autre.to_string()),
    }
}

/// The PLIE's opérations, by code.
pub async fn operations(app: &App, plie: &PlieId) -> Result<Vec<OperationInfo>, Erreur> {
    Ok(referentiel::operations(&app.db, plie.as_str())
        .await?
        .into_iter()
        .map(OperationInfo::from)
        .collect())
}

/// The référents the caller may search by: all of the PLIE, or himself.
pub async fn referents(app: &App, acteur: &Acteur) -> Result<Vec<Referent>, Erreur> {
    Ok(personnel::referents(&app.db, acteur.plie.as_str(), acteur.portefeuille()).await?)
}

// ---------------------------------------------------------------------------------------------
// Upload

/// What an upload form says besides the file; empty fields count as absent.
#[derive(Debug, Default, Clone)]
pub struct ChampsDepot {
    pub operation: Option<String>,
    pub participant: Option<String>,
    pub genre: Option<String>,
    pub etape: Option<String>,
    pub date_piece: Option<String>,
    /// The CSRF token of a browser form (checked by the screens).
    pub csrf: Option<String>,
    /// The fields a screen's form adds around the piece ([`recevoir_avec`]), by name.
    pub autres: std::collections::BTreeMap<String, String>,
}

/// Why an upload is refused: the piece itself, or the request.
#[derive(Debug, thiserror::Error)]
pub enum DepotRefuse {
    #[error(transparent)]
    Piece(#[from] Refus),
    #[error(transparent)]
    Demande(#[from] Erreur),
}

impl From<sqlx::Error> for DepotRefuse {
    fn from(e: sqlx::Error) -> DepotRefuse {
        DepotRefuse::Demande(e.into())
    }
}

impl From<DepotError> for DepotRefuse {
    fn from(e: DepotError) -> DepotRefuse {
        let message = e.to_string();
        DepotRefuse::Demande(match e {
            DepotError::Refus(r) => return DepotRefuse::Piece(r),
            DepotError::OperationInconnue(_) => Erreur::invalide("operation", message),
            DepotError::ParticipantInconnu(_) => Erreur::Introuvable(message),
            DepotError::CompteInactif => Erreur::Interdit(message),
            DepotError::GenreInconnu { .. } => Erreur::invalide("genre", message),
            DepotError::Doublon { .. } => Erreur::Conflit(message),
            DepotError::Coffre(parafe_store::StoreError::Input(_)) => {
                Erreur::invalide("fichier", message)
            }
            DepotError::Coffre(e) => e.into(),
            DepotError::Sql(e) => e.into(),
        })
    }
}

/// Longest text field of an upload form.
const CHAMP_MAX: usize = 4096;

fn illisible(e: axum::extract::multipart::MultipartError) -> DepotRefuse {
    Erreur::invalide(
        "fichier",
        format!("envoi illisible ou interrompu : {}", e.body_text()),
    )
    .into()
}

/// A text field of the form, bounded.
async fn texte(nom: &str, mut champ: Field<'_>) -> Result<String, DepotRefuse> {
    let mut octets = Vec::new();
    while let Some(morceau) = champ.chunk().await.map_err(illisible)? {
        if octets.len() + morceau.len() > CHAMP_MAX {
            return Err(Erreur::invalide(nom, "valeur trop longue").into());
        }
        octets.extend_from_slice(&morceau);
    }
    let s = String::from_utf8(octets).map_err(|_| Erreur::invalide(nom, "texte illisible"))?;
    Ok(s.trim().to_owned())
}

/// The file field, streamed into a temporary file under `<data-dir>/depots/` by a blocking
/// thread (counted, hashed, cut off past `limite`): an upload never sits in memory.
async fn fichier(
    app: &App,
    mut champ: Field<'_>,
    nom: String,
    limite: u64,
) -> Result<Recu, DepotRefuse> {
    let dir = app.config.data_dir.join("depots");
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let reception = tokio::task::spawn_blocking(move || {
        let mut r = Reception::new(&dir, &nom, limite)?;
        while let Some(morceau) = rx.blocking_recv() {
            r.ecrire(&morceau)?;
        }
        r.terminer()
    });
    let mut lecture = Ok(());
    loop {
        match champ.chunk().await {
            Ok(Some(morceau)) => {
                // The receiving side stopped: its refusal (too big) is the answer.
                if tx.send(morceau).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                lecture = Err(illisible(e));
                break;
            }
        }
    }
    drop(tx);
    let recu = reception.await.map_err(Erreur::from)?;
    match (recu, lecture) {
        (Err(refus), _) => Err(refus.into()),
        (Ok(_), Err(e)) => Err(e),
        (Ok(recu), Ok(())) => Ok(recu),
    }
}

/// Reads a `multipart/form-data` upload: the text fields, and the file (field `fichier`).
pub async fn recevoir(
    app: &App,
    limite: u64,
    multipart: Multipart,
) -> Result<(ChampsDepot, Option<Recu>), DepotRefuse> {
    recevoir_avec(app, limite, multipart, &[]).await
}

/// [`recevoir`], with the fields `autres` of a form that files a piece along with something
/// else (an exit and its proof), kept in [`ChampsDepot::autres`].
pub async fn recevoir_avec(
    app: &App,
    limite: u64,
    mut multipart: Multipart,
    autres: &[&str],
) -> Result<(ChampsDepot, Option<Recu>), DepotRefuse> {
    let mut champs = ChampsDepot::default();
    let mut recu = None;
    while let Some(champ) = multipart.next_field().await.map_err(illisible)? {
        let nom = champ.name().unwrap_or_default().to_owned();
        if nom == "fichier" {
            let nom_fichier =
                crate::justificatif::nom_de_fichier(champ.file_name().unwrap_or_default());
            // A form sent without choosing a file: an empty part without a name.
            if nom_fichier.is_empty() {
                continue;
            }
            if recu.is_some() {
                return Err(Erreur::invalide("fichier", "une seule pièce par dépôt").into());
            }
            recu = Some(fichier(app, champ, nom_fichier, limite).await?);
            continue;
        }
        let valeur = texte(&nom, champ).await?;
        let valeur = (!valeur.is_empty()).then_some(valeur);
        match nom.as_str() {
            "operation" => champs.operation = valeur,
            "participant" => champs.participant = valeur,
            "genre" => champs.genre = valeur,
            "etape" => champs.etape = valeur,
            "date_piece" => champs.date_piece = valeur,
            "csrf" => champs.csrf = valeur,
            autre if autres.contains(&autre) => {
                if let Some(v) = valeur {
                    champs.autres.insert(autre.to_owned(), v);
                }
            }
            autre => {
                return Err(Erreur::invalide(
                    autre,
                    "champ inconnu ; champs possibles : operation, participant, genre, etape, date_piece, fichier",
                )
                .into())
            }
        }
    }
    Ok((champs, recu))
}

/// Files a received piece for a participant (a référent: one of his) or for the opération
/// (staff of the animation team only). The opération defaults to the participant's.
pub async fn deposer(
    app: &App,
    acteur: &Acteur,
    catalogue: &Catalogue,
    champs: ChampsDepot,
    recu: Option<Recu>,
) -> Result<JustificatifDepose, DepotRefuse> {
    let participant = match &champs.participant {
        Some(r) => Some(super::participants::participant(app, acteur, r).await?),
        None if acteur.role == RolePersonnel::Referent => {
            return Err(Erreur::invalide(
                "participant",
                "un référent dépose les pièces de ses participants : choisissez le participant",
            )
            .into())
        }
        None => None,
    };
    let operation = match (champs.operation, &participant) {
        (Some(o), _) => o,
        (None, Some(p)) => match p.fiche.operation_id {
            Some(id) => referentiel::operation(&app.db, acteur.plie.as_str(), id)
                .await?
                .map(|o| o.code)
                .ok_or_else(|| Erreur::invalide("operation", "indiquez l'opération"))?,
            None => return Err(Erreur::invalide("operation", "indiquez l'opération").into()),
        },
        (None, None) => return Err(Erreur::invalide("operation", "indiquez l'opération").into()),
    };
    let genre = champs
        .genre
        .ok_or_else(|| Erreur::invalide("genre", "choisissez le type de pièce"))?;
    let date_piece = jour_de("date_piece", &champs.date_piece)?;
    let recu = recu.ok_or_else(|| Erreur::invalide("fichier", "choisissez la pièce à déposer"))?;
    let demande = justificatif::DemandeDepot {
        plie: acteur.plie.clone(),
        operation,
        participant: participant.map(|p| p.reference),
        genre,
        etape: champs.etape,
        date_piece,
        depose_par: acteur.personnel_id,
        portefeuille: acteur.portefeuille(),
    };
    Ok(justificatif::deposer(&app.db, &app.vault, catalogue, &demande, recu).await?)
}

/// A justificatif to download: its name, type and stream from the evidence store.
pub struct PieceLue {
    pub nom: String,
    pub type_mime: String,
    pub taille: Option<i64>,
    pub corps: aws_sdk_s3::primitives::ByteStream,
}

/// Opens a justificatif (a référent: of his participants) and journals the download.
pub async fn lire_justificatif(app: &App, acteur: &Acteur, id: i64) -> Result<PieceLue, Erreur> {
    let crate::db::justificatifs::Fichier {
        nom_fichier: nom,
        type_mime,
        sha256: sha,
        taille,
    } = crate::db::justificatifs::fichier(&app.db, acteur.plie.as_str(), id, acteur.portefeuille())
        .await?
        .ok_or_else(|| Erreur::Introuvable(format!("aucun justificatif n° {id}")))?;
    let sha = Sha256Digest::from_hex(&sha)
        .ok_or_else(|| Erreur::Interne(format!("empreinte invalide du justificatif {id}")))?;
    let s3 = app.vault.s3();
    let sortie = s3
        .client()
        .get_object()
        .bucket(s3.bucket())
        .key(parafe_store::s3::object_key(acteur.plie.as_str(), &sha))
        .send()
        .await
        .map_err(|e| {
            if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                Erreur::Conflit(
                    "la pièce attend encore son envoi au coffre : réessayez plus tard".into(),
                )
            } else {
                Erreur::Coffre(parafe_store::StoreError::S3(
                    parafe_store::s3::S3Failure::Unreachable(
                        aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                    ),
                ))
            }
        })?;
    let evenement = JournalEvent::DocumentDownloaded {
        actor: acteur.pseudonyme(),
    };
    app.vault.record(&acteur.plie, evenement, vec![sha]).await?;
    Ok(PieceLue {
        nom,
        type_mime,
        taille: Some(taille),
        corps: sortie.body,
    })
}

// ---------------------------------------------------------------------------------------------
// Checklists

/// A participant's checklist: the opération, his pieces, and each expected piece's state.
#[derive(Debug, Serialize)]
pub struct EtatParticipant {
    pub operation: OperationInfo,
    pub participant: DossierParticipant,
    /// Each line names, by index, the pieces of `participant.pieces` that satisfy it.
    pub lignes: Vec<Ligne>,
    pub au: NaiveDate,
}

/// The checklist of a participant of the caller's reach, as of the service's today.
pub async fn etat_participant(
    app: &App,
    acteur: &Acteur,
    reference: &str,
) -> Result<EtatParticipant, Erreur> {
    let p = super::participants::participant(app, acteur, reference).await?;
    pieces_attendues(app, acteur, &p).await?.ok_or_else(|| {
        Erreur::Conflit(format!(
            "le participant « {reference} » n'est rattaché à aucune opération"
        ))
    })
}

/// What the PLIE's catalogue expects of a participant and where each expected piece stands, as
/// of the service's today: the one reading of the requirements that his page, his checklist and
/// the API share (the pack and `parafe justificatif etat` evaluate the same catalogue with
/// [`evaluer`]). `None`: he belongs to no opération, so nothing is expected of him yet.
pub async fn pieces_attendues(
    app: &App,
    acteur: &Acteur,
    p: &Participant,
) -> Result<Option<EtatParticipant>, Erreur> {
    let plie = acteur.plie.as_str();
    let operation = match p.fiche.operation_id {
        Some(id) => referentiel::operation(&app.db, plie, id).await?,
        None => None,
    };
    let Some(operation) = operation else {
        return Ok(None);
    };
    let catalogue = catalogue(app, &acteur.plie)?;
    let filtre = Filtre {
        participant: Some(p.reference.clone()),
        referent_id: acteur.portefeuille(),
    };
    let mut dossier = charger(&app.db, plie, &operation.code, &filtre, &catalogue)
        .await
        .map_err(dossier_erreur)?;
    let participant = dossier.participants.pop().ok_or_else(|| {
        Erreur::Introuvable(format!(
            "aucun participant « {} » dans votre portefeuille",
            p.reference
        ))
    })?;
    let au = app.horloge.aujourdhui();
    let lignes = evaluer(
        &catalogue,
        Some(&participant),
        &participant.pieces,
        &Periode::toute(),
        au,
    );
    Ok(Some(EtatParticipant {
        operation: dossier.operation,
        participant,
        lignes,
        au,
    }))
}

/// How many lines of a checklist are in each state.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Compte {
    pub presentes: usize,
    pub manquantes: usize,
    pub en_retard: usize,
    pub a_venir: usize,
}

impl Compte {
    pub fn de(lignes: &[Ligne]) -> Compte {
        let mut c = Compte::default();
        for l in lignes {
            match l.etat {
                EtatExigence::Present => c.presentes += 1,
                EtatExigence::Manquant => c.manquantes += 1,
                EtatExigence::Tardif => c.en_retard += 1,
                EtatExigence::AVenir => c.a_venir += 1,
            }
        }
        c
    }
}

#[derive(Debug, Serialize)]
pub struct LigneParticipant {
    #[serde(rename = "ref")]
    pub reference: String,
    pub identifiant: String,
    pub nom: String,
    pub prenom: String,
    pub date_entree: Option<NaiveDate>,
    pub date_sortie: Option<NaiveDate>,
    pub compte: Compte,
    /// The lines missing or late.
    pub manques: Vec<Ligne>,
}

/// The checklist of an opération: its own pieces, then each participant of the caller's reach.
#[derive(Debug, Serialize)]
pub struct EtatOperation {
    pub operation: OperationInfo,
    pub au: NaiveDate,
    pub lignes_operation: Vec<Ligne>,
    pub pieces_operation: Vec<Piece>,
    pub compte: Compte,
    pub participants: Vec<LigneParticipant>,
}

pub async fn etat_operation(
    app: &App,
    acteur: &Acteur,
    code: &str,
) -> Result<EtatOperation, Erreur> {
    let catalogue = catalogue(app, &acteur.plie)?;
    let filtre = Filtre {
        participant: None,
        referent_id: acteur.portefeuille(),
    };
    let dossier = charger(&app.db, acteur.plie.as_str(), code, &filtre, &catalogue)
        .await
        .map_err(dossier_erreur)?;
    let au = app.horloge.aujourdhui();
    let periode = Periode::toute();
    let lignes_operation = evaluer(&catalogue, None, &dossier.pieces, &periode, au);
    let mut compte = Compte::de(&lignes_operation);
    let participants = dossier
        .participants
        .iter()
        .map(|p| {
            let lignes = evaluer(&catalogue, Some(p), &p.pieces, &periode, au);
            let c = Compte::de(&lignes);
            compte.presentes += c.presentes;
            compte.manquantes += c.manquantes;
            compte.en_retard += c.en_retard;
            compte.a_venir += c.a_venir;
            LigneParticipant {
                reference: p.reference.clone(),
                identifiant: p.identifiant.clone(),
                nom: p.nom.clone(),
                prenom: p.prenom.clone(),
                date_entree: p.date_entree,
                date_sortie: p.date_sortie,
                compte: c,
                manques: lignes
                    .into_iter()
                    .filter(|l| l.etat.est_un_manque())
                    .collect(),
            }
        })
        .collect();
    Ok(EtatOperation {
        operation: dossier.operation,
        au,
        lignes_operation,
        pieces_operation: dossier.pieces,
        compte,
        participants,
    })
}

// ---------------------------------------------------------------------------------------------
// Search

/// What the assistant searches by, as a form or a query string sends it: every field is
/// optional, an empty one counts as absent.
#[derive(Debug, Default, Clone, serde::Deserialize, Serialize)]
#[serde(default)]
pub struct Recherche {
    /// Opération code (default: the PLIE's first).
    pub operation: Option<String>,
    /// Part of a name, first name, or reference.
    pub participant: Option<String>,
    /// Staff id of a référent.
    pub referent: Option<String>,
    /// Period (`AAAA-MM-JJ`, both days included).
    pub du: Option<String>,
    pub au: Option<String>,
    /// Template name or catalogue type.
    pub genre: Option<String>,
    /// A document state (`depose`, `envoye`…), or a checklist state: `manquant`, `tardif`,
    /// `a_venir`.
    pub etat: Option<String>,
}

fn rempli(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// An optional day of a form (`AAAA-MM-JJ`); empty counts as absent.
pub fn jour_de(champ: &str, v: &Option<String>) -> Result<Option<NaiveDate>, Erreur> {
    rempli(v)
        .map(|s| {
            crate::db::parse_jour(s).ok_or_else(|| {
                Erreur::invalide(champ, format!("« {s} » : date AAAA-MM-JJ attendue"))
            })
        })
        .transpose()
}

/// The states a search may ask for, and how they read.
pub const ETATS_RECHERCHE: [(&str, &str); 12] = [
    ("manquant", "pièce attendue manquante"),
    ("tardif", "pièce arrivée en retard"),
    ("a_venir", "pièce attendue, pas encore due"),
    ("brouillon", "document en brouillon"),
    ("envoye", "document envoyé pour signature"),
    ("partiellement_signe", "document signé en partie"),
    ("signe", "document signé"),
    ("scelle", "document scellé"),
    ("depose", "au coffre (document ou justificatif)"),
    ("delivre", "document scellé et remis"),
    ("refuse", "document refusé"),
    ("expire", "document expiré"),
];

fn etat_de_liste(etat: &str) -> Option<EtatExigence> {
    [
        EtatExigence::Manquant,
        EtatExigence::Tardif,
        EtatExigence::AVenir,
    ]
    .into_iter()
    .find(|e| e.code() == etat)
}

/// A participant as a search result names them.
#[derive(Debug, Clone, Serialize)]
pub struct Qui {
    #[serde(rename = "ref")]
    pub reference: String,
    pub identifiant: String,
    pub nom: String,
    pub prenom: String,
    pub referent: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PieceTrouvee {
    /// `None`: a piece of the opération itself.
    pub participant: Option<Qui>,
    #[serde(flatten)]
    pub piece: Piece,
    pub libelle_etat: String,
    /// Where the evidence stands, in words.
    pub preuve: String,
}

#[derive(Debug, Serialize)]
pub struct ManqueTrouve {
    pub participant: Option<Qui>,
    #[serde(flatten)]
    pub ligne: Ligne,
    pub libelle_etat: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Resultats {
    pub operation: Option<OperationInfo>,
    pub pieces: Vec<PieceTrouvee>,
    pub manques: Vec<ManqueTrouve>,
    /// More matched than shown.
    pub tronque: bool,
}

/// Rows shown at most, of each kind.
const RESULTATS_MAX: usize = 500;

fn libelle_etat_piece(piece: &Piece) -> String {
    if !piece.est_document() {
        return "justificatif déposé".into();
    }
    parafe_core::document::Etat::parse(&piece.etat)
        .map(|e| e.libelle().to_owned())
        .unwrap_or_else(|| piece.etat.clone())
}

/// Where a piece's evidence stands, as the results say it.
pub fn preuve(piece: &Piece) -> String {
    match (piece.disponible, piece.seq) {
        (true, Some(seq)) => format!("au coffre, dépôt inscrit au journal (entrée n° {seq})"),
        (true, None) => "au coffre".into(),
        (false, _) => "pas encore au coffre : le document n'est pas scellé".into(),
    }
}

fn normaliser(s: &str) -> String {
    crate::pack::plan::ascii(s).to_lowercase()
}

/// Searches the pieces (and, for checklist states, the expected pieces) of an opération.
pub async fn rechercher(app: &App, acteur: &Acteur, r: &Recherche) -> Result<Resultats, Erreur> {
    let plie = acteur.plie.as_str();
    let du = jour_de("du", &r.du)?;
    let au_periode = jour_de("au", &r.au)?;
    let referent = rempli(&r.referent)
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| Erreur::invalide("referent", "référent inconnu"))
        })
        .transpose()?;
    let etat_demande = rempli(&r.etat);
    if let Some(e) = etat_demande {
        if !ETATS_RECHERCHE.iter().any(|(code, _)| *code == e) {
            return Err(Erreur::invalide("etat", format!("état « {e} » inconnu")));
        }
    }
    let code = match rempli(&r.operation) {
        Some(c) => c.to_owned(),
        None => match operations(app, &acteur.plie).await?.into_iter().next() {
            Some(o) => o.code,
            None => {
                return Ok(Resultats {
                    operation: None,
                    pieces: Vec::new(),
                    manques: Vec::new(),
                    tronque: false,
                })
            }
        },
    };
    let catalogue = catalogue(app, &acteur.plie)?;
    // A référent searches his own portfolio, whoever he names.
    let referent_id = match (acteur.portefeuille(), referent) {
        (Some(moi), Some(autre)) if moi != autre => Some(-1),
        (Some(moi), _) => Some(moi),
        (None, autre) => autre,
    };
    let filtre = Filtre {
        participant: None,
        referent_id,
    };
    let dossier: Dossier = charger(&app.db, plie, &code, &filtre, &catalogue)
        .await
        .map_err(dossier_erreur)?;
    let noms: std::collections::HashMap<i64, String> = referents(app, acteur)
        .await?
        .into_iter()
        .map(|x| (x.id, format!("{} {}", x.prenom, x.nom.to_uppercase())))
        .collect();
    let periode = Periode {
        du: du.unwrap_or(NaiveDate::MIN),
        au: au_periode.unwrap_or(NaiveDate::MAX),
    };
    let au = app.horloge.aujourdhui();
    let cherche = rempli(&r.participant)
        .map(normaliser)
        .filter(|q| !q.is_empty());
    let etat_liste = etat_demande.and_then(etat_de_liste);
    let genre = rempli(&r.genre);
    let exigence_du_genre = |exigence: &str| {
        genre.is_none_or(|g| {
            catalogue.exigences.iter().any(|e| {
                e.id == exigence
                    && (e.documents.iter().any(|d| d == g) || e.une_parmi.iter().any(|d| d == g))
            })
        })
    };
    let lit = crate::documents::lecture_des_modeles(app, acteur);
    let piece_retenue = |piece: &Piece| {
        (!piece.est_document() || lit(&piece.genre))
            && piece
                .date
                .or(piece.depose_le)
                .is_some_and(|d| periode.contient(d))
            && genre.is_none_or(|g| piece.genre == g)
            && etat_demande.is_none_or(|e| e == piece.etat)
    };
    let manque_retenu = |l: &Ligne| match etat_liste {
        Some(e) => l.etat == e,
        None => etat_demande.is_none() && l.etat.est_un_manque(),
    };

    let mut resultats = Resultats {
        operation: Some(dossier.operation.clone()),
        pieces: Vec::new(),
        manques: Vec::new(),
        tronque: false,
    };
    let mut pieces = Vec::new();
    let mut manques = Vec::new();
    // The opération's own pieces, when no participant nor référent narrows the search.
    if cherche.is_none() && referent_id.is_none() {
        for piece in dossier.pieces.iter().filter(|p| piece_retenue(p)) {
            pieces.push((None, piece.clone()));
        }
        let lignes = evaluer(&catalogue, None, &dossier.pieces, &periode, au);
        for l in lignes
            .into_iter()
            .filter(|l| manque_retenu(l) && exigence_du_genre(&l.exigence))
        {
            manques.push((None, l));
        }
    }
    for p in &dossier.participants {
        if let Some(q) = &cherche {
            let texte = normaliser(&format!(
                "{} {} {} {}",
                p.nom, p.prenom, p.identifiant, p.reference
            ));
            if !texte.contains(q.as_str()) {
                continue;
            }
        }
        if !p.suivi_pendant(&periode) {
            continue;
        }
        let qui = Qui {
            reference: p.reference.clone(),
            identifiant: p.identifiant.clone(),
            nom: p.nom.clone(),
            prenom: p.prenom.clone(),
            referent: p.referent_id.and_then(|id| noms.get(&id).cloned()),
        };
        if etat_liste.is_none() {
            for piece in p.pieces.iter().filter(|x| piece_retenue(x)) {
                pieces.push((Some(qui.clone()), piece.clone()));
            }
        }
        let lignes = evaluer(&catalogue, Some(p), &p.pieces, &periode, au);
        for l in lignes
            .into_iter()
            .filter(|l| manque_retenu(l) && exigence_du_genre(&l.exigence))
        {
            manques.push((Some(qui.clone()), l));
        }
    }
    if etat_liste.is_some() {
        pieces.clear();
    }
    resultats.tronque = pieces.len() > RESULTATS_MAX || manques.len() > RESULTATS_MAX;
    resultats.pieces = pieces
        .into_iter()
        .take(RESULTATS_MAX)
        .map(|(participant, piece)| PieceTrouvee {
            libelle_etat: libelle_etat_piece(&piece),
            preuve: preuve(&piece),
            participant,
            piece,
        })
        .collect();
    resultats.manques = manques
        .into_iter()
        .take(RESULTATS_MAX)
        .map(|(participant, ligne)| ManqueTrouve {
            libelle_etat: ligne.etat.libelle(),
            participant,
            ligne,
        })
        .collect();
    Ok(resultats)
}

// ---------------------------------------------------------------------------------------------
// Audit packs in the background

/// An audit pack asked for from a screen or the API.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemandeExport {
    pub operation: String,
    pub du: NaiveDate,
    pub au: NaiveDate,
    #[serde(default)]
    pub participant: Option<String>,
    /// Health, disability, justice pieces: only when asked for.
    #[serde(default)]
    pub donnees_sensibles: bool,
}

/// Packs made at once by this service: one; the others wait their turn (`attente`). A pack
/// keeps both cores and a couple of hundred MB busy.
fn tour() -> &'static tokio::sync::Semaphore {
    static TOUR: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    TOUR.get_or_init(|| tokio::sync::Semaphore::new(1))
}

/// Where a cluster keeps its finished packs in the store's bucket (working objects, not a
/// PLIE's: those keys never start with `_`), for any instance to serve.
const PREFIXE_EXPORTS: &str = "_exports/";

fn cle_export(plie: &PlieId, reference: &str) -> String {
    format!("{PREFIXE_EXPORTS}{}/{reference}.zip", plie.as_str())
}

/// Where the pack is written: for good by a single service, on the way to the store in a
/// cluster.
fn chemin_export(app: &App, plie: &PlieId, reference: &str) -> PathBuf {
    app.config
        .data_dir
        .join("exports")
        .join(plie.as_str())
        .join(format!("{reference}.zip"))
}

/// Records the export and starts it in the background; its state answers at once.
pub async fn lancer_export(app: &App, acteur: &Acteur, d: DemandeExport) -> Result<Export, Erreur> {
    if d.donnees_sensibles && !super::questionnaire::lit_les_reponses_sensibles(acteur) {
        return Err(Erreur::Interdit(
            "les pièces sensibles (santé, handicap, justice, questionnaire FSE) ne sont jointes \
             au pack que par un coordinateur : demandez-lui ce pack, ou préparez-le sans elles"
                .into(),
        ));
    }
    if d.au < d.du {
        return Err(Erreur::invalide(
            "au",
            "la fin de la période précède son début",
        ));
    }
    referentiel::operation_par_code(&app.db, acteur.plie.as_str(), &d.operation)
        .await?
        .ok_or_else(|| Erreur::Introuvable(format!("opération « {} » inconnue", d.operation)))?;
    let participant = match d.participant.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => Some(
            super::participants::participant(app, acteur, r)
                .await?
                .reference,
        ),
        _ => None,
    };
    let demande = pack::DemandePack {
        plie: acteur.plie.clone(),
        operation: d.operation,
        periode: Periode { du: d.du, au: d.au },
        participant,
        portefeuille: acteur.portefeuille(),
        donnees_sensibles: d.donnees_sensibles,
        acteur: acteur.pseudonyme(),
        reference: pack::nouvelle_reference(),
        aujourdhui: app.horloge.aujourdhui(),
    };
    let maintenant = app.horloge.maintenant();
    let id = suivi::creer_par(
        &app.db,
        &demande,
        Some(acteur.personnel_id),
        app.config.instance(),
        maintenant,
    )
    .await?;
    let export = exports::par_ref(&app.db, acteur.plie.as_str(), &demande.reference)
        .await?
        .ok_or_else(|| Erreur::Interne("export disparu".into()))?;
    tokio::spawn(faire_export(app.clone(), id, demande));
    Ok(export)
}

async fn faire_export(app: App, id: i64, demande: pack::DemandePack) {
    let _tour = tour().acquire().await;
    let resultat = exporter(&app, id, &demande).await;
    let maintenant = app.horloge.maintenant();
    let fin = match &resultat {
        Ok(r) => suivi::finir(&app.db, id, r, maintenant).await,
        Err(e) => {
            tracing::warn!("pack {} : {e}", demande.reference);
            exports::echouer(&app.db, id, &e.to_string(), maintenant).await
        }
    };
    if let Err(e) = fin {
        tracing::error!("pack {} : état non enregistré : {e}", demande.reference);
    }
}

/// Makes the pack, its progress written to the `export` row twice a second.
async fn exporter(
    app: &App,
    id: i64,
    demande: &pack::DemandePack,
) -> Result<pack::Resultat, PackError> {
    let catalogue = Catalogue::charger(&app.config.data_dir, &demande.plie)
        .map_err(|e| PackError::Interne(e.to_string()))?;
    let cachet = app
        .cachet(demande.plie.as_str())
        .await
        .map_err(|e| PackError::Interne(e.to_string()))?;
    let sources = pack::Sources {
        db: &app.db,
        vault: &app.vault,
        keys: &app.keys,
        cachet: &cachet,
        tsa: &app.tsa,
        catalogue: &catalogue,
        concurrence: app.vault.config().concurrency,
    };
    let sortie = chemin_export(app, &demande.plie, &demande.reference);
    let avance = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let a = avance.clone();
    let progression: pack::Progression = Arc::new(move |faits, total| {
        a.0.store(faits, Ordering::Relaxed);
        a.1.store(total, Ordering::Relaxed);
    });
    exports::avancer(&app.db, id, 0, 0).await?;
    let export = pack::exporter(&sources, demande, &sortie, Some(progression));
    tokio::pin!(export);
    let mut tic = tokio::time::interval(std::time::Duration::from_millis(500));
    let mut resultat = loop {
        tokio::select! {
            r = &mut export => break r?,
            _ = tic.tick() => {
                let (faits, total) = (avance.0.load(Ordering::Relaxed), avance.1.load(Ordering::Relaxed));
                if let Err(e) = exports::avancer(&app.db, id, faits, total).await {
                    tracing::warn!("pack {} : progression non enregistrée : {e}", demande.reference);
                }
            }
        }
    };
    if app.config.instance().is_some() {
        resultat.chemin = deposer_pack(app, demande, &resultat).await?;
    }
    Ok(resultat)
}

/// A cluster's finished pack goes to the store, streamed from its file, before it is said
/// finished; the local file was only the way there. Returns the pack's key, its `chemin`.
async fn deposer_pack(
    app: &App,
    demande: &pack::DemandePack,
    r: &pack::Resultat,
) -> Result<PathBuf, PackError> {
    let cle = cle_export(&demande.plie, &demande.reference);
    let envoi = app
        .vault
        .keep_working(
            &cle,
            parafe_store::Content::File(r.chemin.clone()),
            &r.sha256,
            r.taille,
            "application/zip",
        )
        .await;
    if let Err(e) = tokio::fs::remove_file(&r.chemin).await {
        tracing::warn!(
            "pack {} : fichier local non effacé : {e}",
            demande.reference
        );
    }
    envoi?;
    Ok(PathBuf::from(cle))
}

// In a cluster, an export is made by the instance that received its request: if that instance
// dies, nobody finishes it. Each instance holds, for its whole life, a PostgreSQL session lock
// named after it, on a connection of its own: PostgreSQL frees it when the process ends or its
// connection is cut. An unfinished export whose instance's lock is free will never finish: it
// is failed (the person asks for a new pack) by the instance that restarts under that name, or
// by any instance asked about it.

fn cle_presence(instance: &str) -> String {
    format!("instance:{instance}")
}

/// The connection holding this instance's lock: kept until the process ends.
static PRESENCE: OnceLock<std::sync::Mutex<sqlx::AnyConnection>> = OnceLock::new();

/// Takes this instance's lock. Its previous process may take a moment to be seen gone; past
/// that, another process answers under the same name, which would confuse both.
async fn prendre_la_presence(app: &App, instance: &str) -> Result<(), Erreur> {
    let mut conn = app.db.acquire().await?.detach();
    for _ in 0..20 {
        let pris: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
            .bind(cle_presence(instance))
            .fetch_one(&mut conn)
            .await?;
        if pris {
            let _ = PRESENCE.set(std::sync::Mutex::new(conn));
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(Erreur::Conflit(format!(
        "une autre instance nommée « {instance} » est en service sur cette base : chaque \
         instance de la grappe a son propre nom ([grappe] instance)"
    )))
}

/// Whether the instance named `instance` runs (holds its lock).
async fn presente(app: &App, instance: &str) -> Result<bool, Erreur> {
    let mut conn = app.db.acquire().await?;
    let libre: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
        .bind(cle_presence(instance))
        .fetch_one(&mut *conn)
        .await?;
    if libre {
        let rendu = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
            .bind(cle_presence(instance))
            .execute(&mut *conn)
            .await;
        if rendu.is_err() {
            // Back in the pool with the lock, it would keep the dead instance alive.
            let _ = conn.close().await;
        }
        rendu?;
    }
    Ok(!libre)
}

/// The instance that makes an export, as its parameters name it (none: a single service).
fn instance_de(e: &Export) -> Option<String> {
    serde_json::from_str::<Value>(&e.parametres)
        .ok()
        .and_then(|p| p["instance"].as_str().map(str::to_owned))
}

fn inacheve(e: &Export) -> bool {
    matches!(e.etat, EtatExport::Attente | EtatExport::EnCours) && e.demandeur.is_some()
}

fn motif_abandon(instance: &str) -> String {
    format!(
        "interrompu : l'instance « {instance} » qui le préparait s'est arrêtée ; demandez un \
         nouveau pack"
    )
}

/// At the service's start: the exports it was making when it stopped will not finish. In a
/// cluster: those this instance made in its previous life (or before the cluster), and those
/// of instances gone.
pub async fn interrompre_exports(app: &App) -> Result<u64, Erreur> {
    let maintenant = app.horloge.maintenant();
    let Some(moi) = app.config.instance() else {
        return Ok(exports::interrompre(&app.db, maintenant).await?);
    };
    prendre_la_presence(app, moi).await?;
    let mut n = 0;
    for e in exports::inacheves(&app.db).await? {
        let abandon = match instance_de(&e) {
            Some(autre) if autre != moi => !presente(app, &autre).await?,
            _ => true,
        };
        let motif = motif_abandon(instance_de(&e).as_deref().unwrap_or(moi));
        if abandon && exports::abandonner(&app.db, e.id, &motif, maintenant).await? {
            n += 1;
        }
    }
    Ok(n)
}

/// An export as it stands: one of another instance, gone, is failed now (its maker would
/// never finish it).
async fn a_jour(app: &App, e: Export) -> Result<Export, Erreur> {
    let Some(moi) = app.config.instance() else {
        return Ok(e);
    };
    let autre = match instance_de(&e) {
        Some(autre) if inacheve(&e) && autre != moi => autre,
        _ => return Ok(e),
    };
    if presente(app, &autre).await? {
        return Ok(e);
    }
    let maintenant = app.horloge.maintenant();
    exports::abandonner(&app.db, e.id, &motif_abandon(&autre), maintenant).await?;
    Ok(exports::par_ref(&app.db, &e.plie, &e.reference)
        .await?
        .unwrap_or(e))
}

/// An export of the caller's reach (a référent: his own), else 404.
pub async fn export_de(app: &App, acteur: &Acteur, reference: &str) -> Result<Export, Erreur> {
    let e = exports::par_ref(&app.db, acteur.plie.as_str(), reference)
        .await?
        .filter(|e| {
            acteur
                .portefeuille()
                .is_none_or(|moi| e.demandeur == Some(moi))
        })
        .ok_or_else(|| Erreur::Introuvable(format!("aucun pack « {reference} »")))?;
    a_jour(app, e).await
}

/// The exports of the caller's reach, latest first.
pub async fn exports(app: &App, acteur: &Acteur) -> Result<Vec<Export>, Erreur> {
    let mut liste = Vec::new();
    for e in exports::liste(&app.db, acteur.plie.as_str(), acteur.portefeuille(), 50).await? {
        liste.push(a_jour(app, e).await?);
    }
    Ok(liste)
}

/// How an export answers (API, and the progress the screen polls).
pub fn vue_export(e: &Export) -> Value {
    let parametres: Value = serde_json::from_str(&e.parametres).unwrap_or(Value::Null);
    let pourcent = if e.etat == EtatExport::Fini {
        100
    } else if e.total > 0 {
        (e.progression * 100 / e.total).clamp(0, 99)
    } else {
        0
    };
    json!({
        "ref": e.reference,
        "etat": e.etat,
        "libelle_etat": e.etat.libelle(),
        "parametres": parametres,
        "progression": e.progression,
        "total": e.total,
        "pourcent": pourcent,
        "sha256": e.sha256,
        "taille": e.taille,
        "manifeste_sha256": e.manifeste_sha256,
        "erreur": e.erreur,
        "cree_le": crate::db::instant(e.cree_le),
        "fini_le": e.fini_le.map(crate::db::instant),
        "telechargement": (e.etat == EtatExport::Fini).then(|| format!("/api/exports/{}/zip", e.reference)),
    })
}

/// A finished pack to download.
pub struct PackPret {
    pub nom: String,
    pub taille: u64,
    /// From its file, or streamed from the store (a cluster's).
    pub corps: std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
}

/// Opens a finished pack and journals its download (who, the export, the ZIP's hash).
pub async fn telecharger_export(
    app: &App,
    acteur: &Acteur,
    reference: &str,
) -> Result<PackPret, Erreur> {
    let e = export_de(app, acteur, reference).await?;
    if e.etat != EtatExport::Fini {
        return Err(Erreur::Conflit(format!(
            "le pack {reference} n'est pas prêt ({})",
            e.etat.libelle()
        )));
    }
    let sha = e
        .sha256
        .as_deref()
        .and_then(Sha256Digest::from_hex)
        .ok_or_else(|| Erreur::Interne(format!("empreinte du pack {reference} absente")))?;
    let chemin = e
        .chemin
        .ok_or_else(|| Erreur::Interne(format!("chemin du pack {reference} absent")))?;
    let parti = || {
        Erreur::Introuvable(format!(
            "le fichier du pack {reference} n'est plus sur le serveur : demandez un nouveau pack"
        ))
    };
    let (corps, taille): (std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>, u64) =
        if chemin.starts_with(PREFIXE_EXPORTS) {
            let (flux, taille) = app.vault.working(&chemin).await?.ok_or_else(parti)?;
            (Box::pin(flux.into_async_read()), taille)
        } else {
            let fichier = tokio::fs::File::open(&chemin).await.map_err(|_| parti())?;
            let taille = fichier
                .metadata()
                .await
                .map_err(Erreur::fichier(format!("pack {reference}")))?
                .len();
            (Box::pin(fichier), taille)
        };
    let evenement = JournalEvent::ExportDownloaded {
        actor: acteur.pseudonyme(),
        export: e.reference.clone(),
    };
    app.vault.record(&acteur.plie, evenement, vec![sha]).await?;
    let operation = serde_json::from_str::<Value>(&e.parametres)
        .ok()
        .and_then(|p| p["operation"].as_str().map(str::to_owned))
        .unwrap_or_default();
    Ok(PackPret {
        nom: format!("pack-audit-{operation}-{}.zip", e.reference),
        taille,
        corps,
    })
}
