//! Phone tokens (`jeton_telephone`): what the référent's screen shows to have one signer sign one
//! document on his own phone, by their SHA-256; and the wrong short codes typed, to lock whoever
//! tries them at random (`essai_code_telephone`).

use chrono::{DateTime, Utc};

/// A phone token as stored (never the token nor its short code).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JetonTelephone {
    pub id: i64,
    pub document_id: i64,
    pub signataire_id: i64,
    pub personnel_id: i64,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub cree_le: DateTime<Utc>,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub expire_le: DateTime<Utc>,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub battement_le: DateTime<Utc>,
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub ouvert_le: Option<DateTime<Utc>>,
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub utilise_le: Option<DateTime<Utc>>,
}

const COLONNES: &str = "id, document_id, signataire_id, personnel_id, cree_le, expire_le,
    battement_le, ouvert_le, utilise_le";

/// A new token for a signer; the ones shown before for him and not used stop working.
#[allow(clippy::too_many_arguments)]
pub async fn creer(
    tx: &mut sqlx::AnyConnection,
    document_id: i64,
    signataire_id: i64,
    personnel_id: i64,
    jeton_sha256: &str,
    code_sha256: &str,
    le: DateTime<Utc>,
    expire_le: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query("DELETE FROM jeton_telephone WHERE signataire_id = $1 AND utilise_le IS NULL")
        .bind(signataire_id)
        .execute(&mut *tx)
        .await?;
    let le = super::instant(le);
    sqlx::query_scalar(
        "INSERT INTO jeton_telephone (document_id, signataire_id, personnel_id, jeton_sha256,
           code_sha256, cree_le, expire_le, battement_le)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6) RETURNING id",
    )
    .bind(document_id)
    .bind(signataire_id)
    .bind(personnel_id)
    .bind(jeton_sha256)
    .bind(code_sha256)
    .bind(&le)
    .bind(super::instant(expire_le))
    .fetch_all(&mut *tx)
    .await?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)
}

/// The token whose SHA-256 is given: the one in the QR code, or the one drawn for its short code.
pub async fn par_jeton<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    sha256: &str,
) -> Result<Option<JetonTelephone>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM jeton_telephone WHERE jeton_sha256 = $1 OR jeton_code_sha256 = $1"
    ))
    .bind(sha256)
    .fetch_optional(db)
    .await
}

/// The unused token whose short code has this SHA-256.
pub async fn par_code<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    code_sha256: &str,
) -> Result<Option<JetonTelephone>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM jeton_telephone WHERE code_sha256 = $1 AND utilise_le IS NULL
         ORDER BY id DESC"
    ))
    .bind(code_sha256)
    .fetch_optional(db)
    .await
}

/// A token the référent's page shows, by its row: only to the staff member who displayed it.
pub async fn du_personnel<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
    document_id: i64,
    personnel_id: i64,
) -> Result<Option<JetonTelephone>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM jeton_telephone
         WHERE id = $1 AND document_id = $2 AND personnel_id = $3"
    ))
    .bind(id)
    .bind(document_id)
    .bind(personnel_id)
    .fetch_optional(db)
    .await
}

/// The short code is spent: the phone now holds the token drawn for it (`jeton_sha256`). False
/// if another request spent it first.
pub async fn echanger_code<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
    code_sha256: &str,
    jeton_sha256: &str,
) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query(
        "UPDATE jeton_telephone SET jeton_code_sha256 = $1, code_sha256 = NULL
         WHERE id = $2 AND code_sha256 = $3 AND utilise_le IS NULL",
    )
    .bind(jeton_sha256)
    .bind(id)
    .bind(code_sha256)
    .execute(db)
    .await?;
    Ok(fait.rows_affected() == 1)
}

/// The first opening on the phone (what the référent's page reports).
pub async fn ouvrir<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
    le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE jeton_telephone SET ouvert_le = $1 WHERE id = $2 AND ouvert_le IS NULL")
        .bind(super::instant(le))
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// The référent's page is still showing the token: its heartbeat moves to `le`, unless the token
/// is used, expired, or its heartbeat already lapsed (before `vivant_depuis`).
pub async fn battre<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
    le: DateTime<Utc>,
    vivant_depuis: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let le = super::instant(le);
    let fait = sqlx::query(
        "UPDATE jeton_telephone SET battement_le = $1
         WHERE id = $2 AND utilise_le IS NULL AND expire_le > $1 AND battement_le > $3",
    )
    .bind(&le)
    .bind(id)
    .bind(super::instant(vivant_depuis))
    .execute(db)
    .await?;
    Ok(fait.rows_affected() == 1)
}

/// Spends the token in the signature's transaction, if it is still alive at `le`: unused,
/// unexpired, its heartbeat after `vivant_depuis`. False otherwise (a concurrent request won).
pub async fn utiliser(
    tx: &mut sqlx::AnyConnection,
    id: i64,
    le: DateTime<Utc>,
    vivant_depuis: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let le = super::instant(le);
    let fait = sqlx::query(
        "UPDATE jeton_telephone SET utilise_le = $1, code_sha256 = NULL
         WHERE id = $2 AND utilise_le IS NULL AND expire_le > $1 AND battement_le > $3",
    )
    .bind(&le)
    .bind(id)
    .bind(super::instant(vivant_depuis))
    .execute(&mut *tx)
    .await?;
    Ok(fait.rows_affected() == 1)
}

/// Counts a short code typed from `adresse` (the address's SHA-256) before it is compared, and
/// forgets those typed before `oubli`. Returns the attempt's row, the attempts from this address
/// and from everywhere since `oubli`, this one included.
pub async fn compter_essai<'c, E>(
    db: E,
    adresse: &str,
    le: DateTime<Utc>,
    oubli: DateTime<Utc>,
) -> Result<(i64, i64, i64), sqlx::Error>
where
    E: sqlx::AnyExecutor<'c> + Copy,
{
    let oubli = super::instant(oubli);
    sqlx::query("DELETE FROM essai_code_telephone WHERE le <= $1")
        .bind(&oubli)
        .execute(db)
        .await?;
    // Counted after the insertion that commits it: however many arrive at once, the k-th one
    // sees at least k attempts.
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO essai_code_telephone (adresse, le) VALUES ($1, $2) RETURNING id",
    )
    .bind(adresse)
    .bind(super::instant(le))
    .fetch_all(db)
    .await?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)?;
    let (par_adresse, partout): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM essai_code_telephone WHERE adresse = $1 AND le > $2),
                (SELECT count(*) FROM essai_code_telephone WHERE le > $2)",
    )
    .bind(adresse)
    .bind(&oubli)
    .fetch_one(db)
    .await?;
    Ok((id, par_adresse, partout))
}

/// A right code gives its attempt back.
pub async fn rendre_essai<'c, E: sqlx::AnyExecutor<'c>>(db: E, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM essai_code_telephone WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
