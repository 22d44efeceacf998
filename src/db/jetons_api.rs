//! API tokens of staff members (the `jeton_api` table): each known by its SHA-256.

use super::Pool;
use crate::roles::RolePersonnel;
use chrono::{DateTime, Utc};

pub async fn creer(
    db: &Pool,
    empreinte: &str,
    personnel_id: i64,
    libelle: &str,
    le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO jeton_api (sha256, personnel_id, libelle, cree_le) VALUES (?, ?, ?, ?)",
    )
    .bind(empreinte)
    .bind(personnel_id)
    .bind(libelle)
    .bind(super::instant(le))
    .execute(db)
    .await?;
    Ok(())
}

/// The active account holding an unexpired token of this SHA-256.
#[derive(sqlx::FromRow)]
pub struct Titulaire {
    pub id: i64,
    pub plie: String,
    #[sqlx(try_from = "String")]
    pub role: RolePersonnel,
}

pub async fn titulaire(
    db: &Pool,
    empreinte: &str,
    maintenant: DateTime<Utc>,
) -> Result<Option<Titulaire>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id, p.plie, p.role FROM jeton_api j JOIN personnel p ON p.id = j.personnel_id
         WHERE j.sha256 = ? AND p.actif = 1 AND (j.expire_le IS NULL OR j.expire_le > ?)",
    )
    .bind(empreinte)
    .bind(super::instant(maintenant))
    .fetch_optional(db)
    .await
}
