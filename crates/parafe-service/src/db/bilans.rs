//! Bilans BRSA: the documents of the bilan workflow that the schedule creates, moves and
//! reminds of, one per participant and due month (`document.bilan`).

use super::Pool;
use chrono::{DateTime, NaiveDate, Utc};
use parafe_core::document::Etat;
use serde::Serialize;

/// A bilan already scheduled (not cancelled).
#[derive(sqlx::FromRow)]
pub struct BilanExistant {
    pub id: i64,
    pub participant_id: i64,
    /// Which bilan: the month after the CER start, or `sortie`.
    pub bilan: String,
    #[sqlx(try_from = "String")]
    pub etat: Etat,
    pub echeance: Option<NaiveDate>,
}

pub async fn existants(
    tx: &mut sqlx::SqliteConnection,
    plie: &str,
    workflow: &str,
) -> Result<Vec<BilanExistant>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, participant_id, bilan, etat, echeance FROM document
         WHERE plie = ? AND workflow = ? AND bilan IS NOT NULL AND etat <> 'annule'",
    )
    .bind(plie)
    .bind(workflow)
    .fetch_all(&mut *tx)
    .await
}

/// Moves a draft bilan to a new due day (its CER start changed).
pub async fn deplacer(
    tx: &mut sqlx::SqliteConnection,
    id: i64,
    due: NaiveDate,
    cer_debut: NaiveDate,
    le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE document SET echeance = ?, modifie_le = ?,
           donnees = json_set(donnees, '$.date', ?, '$.cer.debut', ?) WHERE id = ?",
    )
    .bind(super::jour(due))
    .bind(super::instant(le))
    .bind(super::jour(due))
    .bind(super::jour(cer_debut))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A bilan to create as a draft.
pub struct NouveauBilan {
    pub participant_id: i64,
    pub operation_id: Option<i64>,
    pub bilan: String,
    pub due: NaiveDate,
    /// The document's data (JSON).
    pub donnees: String,
}

/// Creates draft bilans, many rows per statement (scheduling a whole PLIE is one pass, not one
/// round trip per bilan), then gives each its participant's référent, when he has one, as
/// signer from the start, in one statement.
pub async fn creer(
    tx: &mut sqlx::SqliteConnection,
    plie: &str,
    workflow: &str,
    modele: &str,
    nouveaux: &[NouveauBilan],
    le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    const LIAISONS: usize = 11;
    let le = super::instant(le);
    let brouillon = format!("'{}'", Etat::Brouillon.code());
    // The documents this call creates are those after the last one now: the transaction holds
    // SQLite's only writer lock from its first write on, and a commit by another between this
    // read and that write would make the write fail (its snapshot is stale), not interleave.
    let avant: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) FROM document")
        .fetch_one(&mut *tx)
        .await?;
    let documents = nouveaux
        .chunks(super::PARAMETRES_PAR_REQUETE / LIAISONS)
        .map(|lot| {
            let mut requete = sqlx::QueryBuilder::new(
                "INSERT INTO document (plie, ref, workflow, modele, participant_id, operation_id,
                   etat, donnees, bilan, echeance, cree_le, modifie_le) ",
            );
            requete.push_values(lot, |mut ligne, b| {
                ligne
                    .push_bind(plie)
                    .push_bind(super::nouvelle_ref("d"))
                    .push_bind(workflow)
                    .push_bind(modele)
                    .push_bind(b.participant_id)
                    .push_bind(b.operation_id)
                    .push(&brouillon)
                    .push_bind(&b.donnees)
                    .push_bind(&b.bilan)
                    .push_bind(super::jour(b.due))
                    .push_bind(&le)
                    .push_bind(&le);
            });
            requete
        });
    super::executer_en_serie(tx, documents).await?;
    sqlx::query(
        "INSERT INTO signataire (document_id, rang, role, nom, email, methode, personnel_id)
         SELECT d.id, 0, 'referent', r.prenom || ' ' || upper(r.nom), r.email, 'tablette', r.id
         FROM document d JOIN participant p ON p.id = d.participant_id
         JOIN personnel r ON r.id = p.referent_id AND r.plie = d.plie
         WHERE d.id > ? AND d.plie = ? AND d.workflow = ? AND d.bilan IS NOT NULL",
    )
    .bind(avant)
    .bind(plie)
    .bind(workflow)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A bilan in a list of due or overdue ones.
#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct BilanDu {
    pub document: String,
    pub participant: String,
    pub nom: String,
    pub prenom: String,
    pub bilan: String,
    pub echeance: NaiveDate,
    #[sqlx(try_from = "String")]
    pub etat: Etat,
}

/// Bilans not signed yet due before `aujourdhui`, for a portfolio (`None`: the whole PLIE).
pub async fn en_retard(
    db: &Pool,
    plie: &str,
    workflow: &str,
    portefeuille: Option<i64>,
    aujourdhui: NaiveDate,
) -> Result<Vec<BilanDu>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.ref AS document, p.ref AS participant, p.nom, p.prenom, d.bilan, d.echeance, d.etat
         FROM document d JOIN participant p ON p.id = d.participant_id
         WHERE d.plie = ? AND d.workflow = ? AND d.etat IN ('brouillon', 'envoye', 'partiellement_signe')
           AND d.echeance < ? AND (? IS NULL OR p.referent_id = ?)
         ORDER BY d.echeance, p.nom",
    )
    .bind(plie)
    .bind(workflow)
    .bind(super::jour(aujourdhui))
    .bind(portefeuille)
    .bind(portefeuille)
    .fetch_all(db)
    .await
}

/// A draft bilan whose référent is to be reminded of it.
#[derive(sqlx::FromRow)]
pub struct ARappeler {
    pub plie: String,
    pub reference: String,
    pub echeance: NaiveDate,
    /// The référent's e-mail.
    pub email: String,
    /// `Prénom NOM` of the participant.
    pub participant: String,
}

/// Draft bilans due between `aujourdhui` and `jusqua` whose reminder `rappel` (its rank in the
/// workflow) is not queued yet (its task key is `rappel:<ref>:<rang>`).
pub async fn a_rappeler(
    tx: &mut sqlx::SqliteConnection,
    workflow: &str,
    aujourdhui: NaiveDate,
    jusqua: NaiveDate,
    rappel: usize,
) -> Result<Vec<ARappeler>, sqlx::Error> {
    sqlx::query_as(
        "SELECT d.plie, d.ref AS reference, d.echeance, r.email,
                p.prenom || ' ' || upper(p.nom) AS participant
         FROM document d JOIN participant p ON p.id = d.participant_id
         JOIN personnel r ON r.id = p.referent_id
         WHERE d.workflow = ? AND d.etat = 'brouillon' AND d.echeance <= ? AND d.echeance >= ?
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.cle = 'rappel:' || d.ref || ':' || ?)",
    )
    .bind(workflow)
    .bind(super::jour(jusqua))
    .bind(super::jour(aujourdhui))
    .bind(rappel as i64)
    .fetch_all(&mut *tx)
    .await
}
