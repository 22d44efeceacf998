//! Single-use account links (the `lien_compte` table): activation of a new account, password
//! reset. A link's token is kept as its SHA-256, drawn when the e-mail carrying it is sent.

use super::Pool;
use chrono::{DateTime, Utc};

/// An unused, unexpired link of an active account.
#[derive(sqlx::FromRow)]
pub struct Lien {
    pub personnel_id: i64,
    /// `activation` or `reinitialisation`.
    pub genre: String,
    pub plie: String,
}

pub async fn valide(
    db: &Pool,
    empreinte: &str,
    maintenant: DateTime<Utc>,
) -> Result<Option<Lien>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.personnel_id, l.genre, p.plie FROM lien_compte l JOIN personnel p ON p.id = l.personnel_id
         WHERE l.sha256 = $1 AND l.utilise_le IS NULL AND l.expire_le > $2 AND p.actif = 1",
    )
    .bind(empreinte)
    .bind(super::instant(maintenant))
    .fetch_optional(db)
    .await
}

/// Creates a link for an account, the earlier unused links of the same kind used up; returns
/// its row.
pub async fn creer(
    tx: &mut sqlx::AnyConnection,
    personnel_id: i64,
    genre: &str,
    le: DateTime<Utc>,
    expire_le: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "UPDATE lien_compte SET utilise_le = $1 WHERE personnel_id = $2 AND genre = $3 AND utilise_le IS NULL",
    )
    .bind(super::instant(le))
    .bind(personnel_id)
    .bind(genre)
    .execute(&mut *tx)
    .await?;
    sqlx::query_scalar(
        "INSERT INTO lien_compte (personnel_id, genre, cree_le, expire_le) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(personnel_id)
    .bind(genre)
    .bind(super::instant(le))
    .bind(super::instant(expire_le))
    // To its end, not `fetch_one`: see `crate::db` on `RETURNING`.
    .fetch_all(&mut *tx)
    .await?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)
}

/// Uses a link up; false if it was already used.
pub async fn utiliser<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    empreinte: &str,
    le: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query(
        "UPDATE lien_compte SET utilise_le = $1 WHERE sha256 = $2 AND utilise_le IS NULL",
    )
    .bind(super::instant(le))
    .bind(empreinte)
    .execute(db)
    .await?;
    Ok(fait.rows_affected() == 1)
}
