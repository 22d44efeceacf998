//! Bilans BRSA: the plan the schedule keeps (which bilan, for whom, due which day:
//! `bilan_prevu`), and the documents of the bilan workflow, opened from it when the référent
//! writes one (`document.bilan`).

use super::documents::EtatLu;
use super::Pool;
use chrono::{DateTime, NaiveDate, Utc};
use parafe_core::document::Etat;
use serde::Serialize;

/// The live (not cancelled) bilan document of a planned bilan, joined on the partial unique
/// index `document_bilan`.
pub const DOCUMENT_DU_BILAN: &str = "LEFT JOIN document d ON d.participant_id = b.participant_id
    AND d.bilan = b.bilan AND d.bilan IS NOT NULL AND d.etat <> 'annule'";

/// A planned bilan, with its document once the référent has opened it.
#[derive(Serialize, sqlx::FromRow)]
pub struct Prevu {
    #[serde(skip)]
    pub participant_id: i64,
    /// Which bilan: the month after the CER start, or `sortie`.
    pub bilan: String,
    #[sqlx(try_from = "super::Lu<NaiveDate>")]
    pub echeance: NaiveDate,
    #[serde(skip)]
    pub document_id: Option<i64>,
    /// The document's reference, once opened.
    #[sqlx(rename = "ref")]
    #[serde(rename = "document")]
    pub reference: Option<String>,
    pub etat: Option<EtatLu>,
}

impl Prevu {
    /// The document's state; `None` while the bilan has not been opened.
    pub fn etat(&self) -> Option<Etat> {
        self.etat.as_ref().map(|e| e.0)
    }

    /// Still to write: not opened, or a draft.
    pub fn brouillon(&self) -> bool {
        matches!(self.etat(), None | Some(Etat::Brouillon))
    }
}

const COLONNES_PREVU: &str =
    "b.participant_id, b.bilan, b.echeance, d.id AS document_id, d.ref, d.etat";

/// The plan of a PLIE.
pub async fn prevus(tx: &mut sqlx::AnyConnection, plie: &str) -> Result<Vec<Prevu>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES_PREVU} FROM bilan_prevu b JOIN participant p ON p.id = b.participant_id
         {DOCUMENT_DU_BILAN} WHERE p.plie = $1"
    ))
    .bind(plie)
    .fetch_all(&mut *tx)
    .await
}

/// The plan of one participant, in due order.
pub async fn du_participant(db: &Pool, participant_id: i64) -> Result<Vec<Prevu>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES_PREVU} FROM bilan_prevu b {DOCUMENT_DU_BILAN}
         WHERE b.participant_id = $1 ORDER BY b.echeance"
    ))
    .bind(participant_id)
    .fetch_all(db)
    .await
}

/// Plans bilans, many rows per statement (scheduling a whole PLIE is one pass, not one round
/// trip per bilan). Their documents come when the référent opens them (`schedule::rediger`).
pub async fn prevoir(
    tx: &mut sqlx::AnyConnection,
    nouveaux: &[NouveauBilan],
) -> Result<(), sqlx::Error> {
    const LIAISONS: usize = 3;
    let dialecte = super::Dialecte::de(tx);
    let lots = nouveaux
        .chunks(super::PARAMETRES_PAR_REQUETE / LIAISONS)
        .map(|lot| {
            let mut requete = crate::db::Requete::new(
                dialecte,
                "INSERT INTO bilan_prevu (participant_id, bilan, echeance) ",
            );
            requete.push_values(lot, |mut ligne, b| {
                ligne
                    .push_bind(b.participant_id)
                    .push_bind(&b.bilan)
                    .push_bind(super::jour(b.due));
            });
            requete
        });
    super::executer_en_serie(tx, lots).await
}

/// Moves a planned bilan to a new due day (its CER start changed), and its draft with it.
pub async fn deplacer(
    tx: &mut sqlx::AnyConnection,
    b: &Prevu,
    due: NaiveDate,
    cer_debut: NaiveDate,
    le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE bilan_prevu SET echeance = $1 WHERE participant_id = $2 AND bilan = $3")
        .bind(super::jour(due))
        .bind(b.participant_id)
        .bind(&b.bilan)
        .execute(&mut *tx)
        .await?;
    if let Some(id) = b.document_id {
        sqlx::query(
            "UPDATE document SET echeance = $1, modifie_le = $2,
               donnees = json_set(donnees, '$.date', $3, '$.cer.debut', $4) WHERE id = $5",
        )
        .bind(super::jour(due))
        .bind(super::instant(le))
        .bind(super::jour(due))
        .bind(super::jour(cer_debut))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Takes a bilan out of the plan (a month removed, an early exit); its draft, if opened, is
/// cancelled by the caller.
pub async fn retirer(tx: &mut sqlx::AnyConnection, b: &Prevu) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM bilan_prevu WHERE participant_id = $1 AND bilan = $2")
        .bind(b.participant_id)
        .bind(&b.bilan)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The due days of the bilans BRSA planned for the opération's participants and not opened
/// yet, by participant: they are due even before their document exists.
pub async fn a_rediger_de_l_operation(
    db: &Pool,
    plie: &str,
    operation_id: i64,
) -> Result<Vec<(i64, NaiveDate)>, sqlx::Error> {
    let prevus: Vec<(i64, super::Lu<NaiveDate>)> = sqlx::query_as(&format!(
        "SELECT b.participant_id, b.echeance FROM bilan_prevu b
         JOIN participant p ON p.id = b.participant_id {}
         WHERE p.plie = $1 AND p.operation_id = $2 AND d.id IS NULL ORDER BY b.echeance",
        DOCUMENT_DU_BILAN
    ))
    .bind(plie)
    .bind(operation_id)
    .fetch_all(db)
    .await?;
    Ok(prevus.into_iter().map(|(p, e)| (p, e.0)).collect())
}

/// A bilan to plan.
pub struct NouveauBilan {
    pub participant_id: i64,
    pub bilan: String,
    pub due: NaiveDate,
}

/// A bilan in a list of due or overdue ones.
#[derive(Serialize, sqlx::FromRow)]
pub struct BilanDu {
    /// Its document, once opened.
    pub document: Option<String>,
    pub participant: String,
    pub nom: String,
    pub prenom: String,
    pub bilan: String,
    #[sqlx(try_from = "super::Lu<NaiveDate>")]
    pub echeance: NaiveDate,
    /// The document's state; absent while the bilan has not been opened.
    pub etat: Option<EtatLu>,
}

/// Bilans not signed yet due before `aujourdhui`, for a portfolio (`None`: the whole PLIE).
pub async fn en_retard(
    db: &Pool,
    plie: &str,
    portefeuille: Option<i64>,
    aujourdhui: NaiveDate,
) -> Result<Vec<BilanDu>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT d.ref AS document, p.ref AS participant, p.nom, p.prenom, b.bilan, b.echeance, d.etat
         FROM bilan_prevu b JOIN participant p ON p.id = b.participant_id {DOCUMENT_DU_BILAN}
         WHERE p.plie = $1 AND (d.id IS NULL OR d.etat IN ('brouillon', 'envoye', 'partiellement_signe'))
           AND b.echeance < $2 AND ($3 IS NULL OR p.referent_id = $4)
         ORDER BY b.echeance, p.nom"
    ))
    .bind(plie)
    .bind(super::jour(aujourdhui))
    .bind(portefeuille)
    .bind(portefeuille)
    .fetch_all(db)
    .await
}

/// A bilan still to write whose référent is to be reminded of it.
#[derive(sqlx::FromRow)]
pub struct ARappeler {
    pub plie: String,
    /// The participant's reference.
    pub participant_ref: String,
    pub bilan: String,
    #[sqlx(try_from = "super::Lu<NaiveDate>")]
    pub echeance: NaiveDate,
    /// The référent's e-mail.
    pub email: String,
    /// `Prénom NOM` of the participant.
    pub participant: String,
}

/// Bilans not opened or still drafts, due between `aujourdhui` and `jusqua`, whose reminder
/// `rappel` (its rank in the workflow) is not queued yet (its task key is
/// `rappel:<participant>:<bilan>:<rang>`).
pub async fn a_rappeler(
    tx: &mut sqlx::AnyConnection,
    aujourdhui: NaiveDate,
    jusqua: NaiveDate,
    rappel: usize,
) -> Result<Vec<ARappeler>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT p.plie, p.ref AS participant_ref, b.bilan, b.echeance, r.email,
                p.prenom || ' ' || upper(p.nom) AS participant
         FROM bilan_prevu b JOIN participant p ON p.id = b.participant_id
         JOIN personnel r ON r.id = p.referent_id {DOCUMENT_DU_BILAN}
         WHERE (d.id IS NULL OR d.etat = 'brouillon') AND b.echeance <= $1 AND b.echeance >= $2
           AND NOT EXISTS (SELECT 1 FROM outbox o
                           WHERE o.cle = 'rappel:' || p.ref || ':' || b.bilan || ':' || $3)"
    ))
    .bind(super::jour(jusqua))
    .bind(super::jour(aujourdhui))
    .bind(rappel as i64)
    .fetch_all(&mut *tx)
    .await
}
