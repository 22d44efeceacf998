//! Filing a justificatif: every check first (who, which dossier, which type, the bytes
//! themselves), and only then the evidence store, the journal and the row. A refusal leaves the
//! store, the journal and the database as they were.

use super::catalogue::Catalogue;
use super::examen::{Format, Recu, Refus};
use crate::db::{justificatifs, participants, personnel, referentiel};
use chrono::NaiveDate;
use parafe_core::model::{EvidenceMetadata, PlieId};
use parafe_store::{Content, StoreError, Vault};
use serde::Serialize;

/// What the person filing says about the piece.
#[derive(Debug, Clone)]
pub struct DemandeDepot {
    pub plie: PlieId,
    /// Code of the opération (« 202500417 »).
    pub operation: String,
    /// The participant, by reference or parcours identifier; `None` for a piece of the
    /// opération itself.
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
    db: &sqlx::AnyPool,
    vault: &Vault,
    catalogue: &Catalogue,
    demande: &DemandeDepot,
    recu: Recu,
) -> Result<JustificatifDepose, DepotError> {
    let plie = demande.plie.as_str();
    let operation = referentiel::operation_par_code(db, plie, &demande.operation)
        .await?
        .ok_or_else(|| DepotError::OperationInconnue(demande.operation.clone()))?;
    let regle = operation.regle_de_conservation(vault);
    let operation = operation.id;
    let participant = match &demande.participant {
        None => None,
        Some(cle) => Some(
            participants::a_portee(db, plie, demande.portefeuille, cle)
                .await?
                .ok_or_else(|| DepotError::ParticipantInconnu(cle.clone()))?,
        ),
    };
    if !personnel::est_actif(db, plie, demande.depose_par).await? {
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
    let participant_id = participant.as_ref().map(|p| p.id);
    if let Some(le) =
        justificatifs::deja_depose(db, plie, operation, participant_id, &sha256).await?
    {
        return Err(DepotError::Doublon {
            nom: recu.nom.clone(),
            le: parafe_core::model::heure_de_paris(le),
        });
    }

    let metadata = EvidenceMetadata {
        content_type: format.mime().into(),
        original_name: recu.nom.clone(),
        operation: demande.operation.clone(),
        participant: participant.map(|p| p.reference),
        kind: "justificatif".into(),
    };
    let filed = vault
        .file(
            &demande.plie,
            metadata,
            Content::File(recu.chemin().to_path_buf()),
            regle.as_ref(),
        )
        .await?;
    let id = justificatifs::enregistrer(
        db,
        &justificatifs::NouveauJustificatif {
            plie,
            operation_id: operation,
            participant_id,
            etape: demande.etape.as_deref(),
            genre: &demande.genre,
            catalogue_version: &catalogue.version,
            nom_fichier: &recu.nom,
            type_mime: format.mime(),
            sha256: &sha256,
            taille: recu.taille,
            date_piece: demande.date_piece,
            depose_par: demande.depose_par,
            depose_le: vault.horloge().maintenant(),
            depose_seq: filed.seq,
        },
    )
    .await?;
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
