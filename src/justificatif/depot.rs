//! Filing a justificatif: every check first (who, which dossier, which type, the bytes
//! themselves), and only then the evidence store, the journal and the row. A refusal leaves the
//! store, the journal and the database as they were.

use super::catalogue::Catalogue;
use super::examen::{Format, Recu, Refus};
use crate::model::{EvidenceMetadata, PlieId};
use crate::store::{Content, StoreError, Vault};
use chrono::NaiveDate;
use serde::Serialize;

/// What the person filing says about the piece.
#[derive(Debug, Clone)]
pub struct DemandeDepot {
    pub plie: PlieId,
    /// Code of the opération (« 202500417 »).
    pub operation: String,
    /// Pseudonymous reference of the participant; `None` for a piece of the opération itself.
    pub participant: Option<String>,
    /// Catalogue type.
    pub genre: String,
    pub etape: Option<String>,
    pub date_piece: Option<NaiveDate>,
    /// Staff member filing it.
    pub depose_par: i64,
    /// A référent files only for his own participants.
    pub portefeuille: Option<i64>,
}

/// A justificatif filed.
#[derive(Debug, Clone, Serialize)]
pub struct JustificatifDepose {
    pub id: i64,
    pub sha256: String,
    pub taille: u64,
    pub type_mime: &'static str,
    pub genre: String,
    /// Journal entry of the filing.
    pub seq: u64,
    /// The store was unreachable: the piece waits in the durable queue (it is accepted).
    pub en_attente: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DepotError {
    /// The piece itself is refused.
    #[error(transparent)]
    Refus(#[from] Refus),
    #[error("opération « {0} » inconnue dans ce PLIE")]
    OperationInconnue(String),
    #[error("participant « {0} » inconnu dans votre portefeuille")]
    ParticipantInconnu(String),
    #[error("le compte qui dépose la pièce est inconnu ou désactivé dans ce PLIE")]
    CompteInactif,
    #[error("type de justificatif « {genre} » inconnu ; types possibles : {possibles}")]
    GenreInconnu { genre: String, possibles: String },
    #[error("« {nom} » est déjà déposée dans ce dossier (le {le}) : rien n'a été ajouté")]
    Doublon { nom: String, le: String },
    #[error("dépôt au coffre impossible : {0}")]
    Coffre(#[from] StoreError),
    #[error("enregistrement en base impossible : {0}")]
    Sql(#[from] sqlx::Error),
}

impl DepotError {
    /// Whether the person can fix it (refused piece, wrong request) rather than retry later.
    pub fn est_refus(&self) -> bool {
        match self {
            DepotError::Coffre(StoreError::Input(_)) => true,
            DepotError::Coffre(_) | DepotError::Sql(_) => false,
            DepotError::Refus(Refus::Stockage { .. }) => false,
            _ => true,
        }
    }
}

/// Checks and files a received piece. Nothing is filed unless every check passes; if the row
/// cannot be written after the filing, filing the same bytes again completes it (the store
/// answers with the first filing).
pub async fn deposer(
    db: &sqlx::SqlitePool,
    vault: &Vault,
    catalogue: &Catalogue,
    demande: &DemandeDepot,
    recu: Recu,
) -> Result<JustificatifDepose, DepotError> {
    let plie = demande.plie.as_str();
    let operation: i64 = sqlx::query_scalar("SELECT id FROM operation WHERE plie = ? AND code = ?")
        .bind(plie)
        .bind(&demande.operation)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| DepotError::OperationInconnue(demande.operation.clone()))?;
    let participant: Option<i64> = match &demande.participant {
        None => None,
        Some(reference) => Some(
            sqlx::query_scalar(
                "SELECT id FROM participant WHERE plie = ? AND ref = ?
                 AND (? IS NULL OR referent_id = ?)",
            )
            .bind(plie)
            .bind(reference)
            .bind(demande.portefeuille)
            .bind(demande.portefeuille)
            .fetch_optional(db)
            .await?
            .ok_or_else(|| DepotError::ParticipantInconnu(reference.clone()))?,
        ),
    };
    let actif: Option<i64> =
        sqlx::query_scalar("SELECT actif FROM personnel WHERE plie = ? AND id = ?")
            .bind(plie)
            .bind(demande.depose_par)
            .fetch_optional(db)
            .await?;
    if actif != Some(1) {
        return Err(DepotError::CompteInactif);
    }
    let genre = catalogue
        .genre(&demande.genre)
        .ok_or_else(|| DepotError::GenreInconnu {
            genre: demande.genre.clone(),
            possibles: catalogue
                .genres
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        })?;

    let format = recu.examiner()?;
    if !genre.formats.contains(&format) {
        return Err(Refus::FormatNonPermis {
            nom: recu.nom.clone(),
            libelle: genre.libelle.clone(),
            format,
            permis: genre
                .formats
                .iter()
                .map(Format::to_string)
                .collect::<Vec<_>>()
                .join(" ou "),
        }
        .into());
    }
    let sha256 = recu.sha256.to_hex();
    let deja: Option<String> = sqlx::query_scalar(
        "SELECT depose_le FROM justificatif WHERE plie = ? AND operation_id = ?
         AND coalesce(participant_id, 0) = coalesce(?, 0) AND sha256 = ?",
    )
    .bind(plie)
    .bind(operation)
    .bind(participant)
    .bind(&sha256)
    .fetch_optional(db)
    .await?;
    if let Some(le) = deja {
        let le = crate::db::parse_instant(&le)
            .map(crate::model::heure_de_paris)
            .unwrap_or(le);
        return Err(DepotError::Doublon {
            nom: recu.nom.clone(),
            le,
        });
    }

    let metadata = EvidenceMetadata {
        content_type: format.mime().into(),
        original_name: recu.nom.clone(),
        operation: demande.operation.clone(),
        participant: demande.participant.clone(),
        kind: "justificatif".into(),
    };
    let filed = vault
        .file(
            &demande.plie,
            metadata,
            Content::File(recu.chemin().to_path_buf()),
        )
        .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO justificatif (plie, operation_id, participant_id, etape, genre,
            catalogue_version, nom_fichier, type_mime, sha256, taille, date_piece, depose_par,
            depose_le, depose_seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(plie)
    .bind(operation)
    .bind(participant)
    .bind(&demande.etape)
    .bind(&demande.genre)
    .bind(&catalogue.version)
    .bind(&recu.nom)
    .bind(format.mime())
    .bind(&sha256)
    .bind(recu.taille as i64)
    .bind(demande.date_piece.map(crate::db::jour))
    .bind(demande.depose_par)
    .bind(crate::db::instant(vault.horloge().maintenant()))
    .bind(filed.seq as i64)
    // To its end, not `fetch_one`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)?;
    Ok(JustificatifDepose {
        id,
        sha256,
        taille: recu.taille,
        type_mime: format.mime(),
        genre: demande.genre.clone(),
        seq: filed.seq,
        en_attente: filed.queued,
    })
}
