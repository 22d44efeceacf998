//! Kiosk sessions (a sheet opened on a tablet) and the sends of their tablets.

use super::Pool;
use chrono::{DateTime, Utc};

super::etat_stocke! {
    /// Where a kiosk session stands.
    EtatKiosque, "de feuille d'émargement", {
        Ouvert = "ouvert",
        Clos = "clos",
        Quitte = "quitte",
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Kiosque {
    pub id: i64,
    pub plie: String,
    #[sqlx(rename = "ref")]
    pub reference: String,
    pub document_id: i64,
    pub ouvert_par: i64,
    pub etat: EtatKiosque,
}

const COLONNES: &str = "id, plie, ref, document_id, ouvert_par, etat";

/// Records a sheet opened on a tablet; returns its id.
pub async fn ouvrir(
    tx: &mut sqlx::AnyConnection,
    plie: &str,
    reference: &str,
    document_id: i64,
    tablette: &str,
    ouvert_par: i64,
    le: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO kiosque (plie, ref, document_id, tablette, ouvert_par, ouvert_le)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(plie)
    .bind(reference)
    .bind(document_id)
    .bind(tablette)
    .bind(ouvert_par)
    .bind(le)
    .fetch_one(&mut *tx)
    .await
}

/// A kiosk session of the PLIE by reference; a référent (`ouvert_par`) sees those he opened.
pub async fn par_ref(
    db: &Pool,
    plie: &str,
    reference: &str,
    ouvert_par: Option<i64>,
) -> Result<Option<Kiosque>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM kiosque WHERE ref = $1 AND plie = $2 AND ($3 IS NULL OR ouvert_par = $4)"
    ))
    .bind(reference)
    .bind(plie)
    .bind(ouvert_par)
    .bind(ouvert_par)
    .fetch_optional(db)
    .await
}

pub async fn par_id(db: &Pool, id: i64) -> Result<Option<Kiosque>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLONNES} FROM kiosque WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The kiosk session of a document, if it has one.
pub async fn du_document(db: &Pool, document_id: i64) -> Result<Option<Kiosque>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM kiosque WHERE document_id = $1"
    ))
    .bind(document_id)
    .fetch_optional(db)
    .await
}

/// The staff member who opened the sheet of a document, if it is a référent (his portfolio
/// is the sheet's).
pub async fn referent_du_document(db: &Pool, document_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT p.id FROM kiosque k JOIN personnel p ON p.id = k.ouvert_par
         WHERE k.document_id = $1 AND p.role = 'referent'",
    )
    .bind(document_id)
    .fetch_optional(db)
    .await
}

pub async fn clore(tx: &mut sqlx::AnyConnection, id: i64, le: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE kiosque SET etat = $1, clos_le = $2 WHERE id = $3")
        .bind(EtatKiosque::Clos.code())
        .bind(le)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The signer a tablet's send (by its key) was recorded for, if it was.
pub async fn envoi(db: &Pool, kiosque: i64, cle: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT signataire_id FROM kiosque_envoi WHERE kiosque_id = $1 AND cle = $2")
        .bind(kiosque)
        .bind(cle)
        .fetch_optional(db)
        .await
}

/// Records a tablet's send key and the signer it concerns, once, with the tablet's own clock.
pub async fn noter_envoi<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    kiosque: i64,
    cle: &str,
    signataire: i64,
    recu_le: DateTime<Utc>,
    capture_le: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO kiosque_envoi (kiosque_id, cle, signataire_id, recu_le, capture_le)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(kiosque)
    .bind(cle)
    .bind(signataire)
    .bind(super::instant(recu_le))
    .bind(capture_le)
    .execute(db)
    .await?;
    Ok(())
}
