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
        "INSERT INTO jeton_api (sha256, personnel_id, libelle, cree_le) VALUES ($1, $2, $3, $4)",
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
         WHERE j.sha256 = $1 AND p.actif = 1 AND (j.expire_le IS NULL OR j.expire_le > $2)",
    )
    .bind(empreinte)
    .bind(super::instant(maintenant))
    .fetch_optional(db)
    .await
}

/// Makes a token expire at `le`.
pub async fn expirer(db: &Pool, empreinte: &str, le: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE jeton_api SET expire_le = $1 WHERE sha256 = $2")
        .bind(super::instant(le))
        .bind(empreinte)
        .execute(db)
        .await?;
    Ok(())
}

/// An API token as listed (the token itself is shown once, at creation).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct JetonApi {
    pub sha256: String,
    pub libelle: String,
    pub titulaire: String,
    #[sqlx(try_from = "String")]
    pub role: RolePersonnel,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub cree_le: DateTime<Utc>,
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub expire_le: Option<DateTime<Utc>>,
}

pub async fn liste(db: &Pool, plie: &str) -> Result<Vec<JetonApi>, sqlx::Error> {
    sqlx::query_as(
        "SELECT j.sha256, j.libelle, p.prenom || ' ' || upper(p.nom) AS titulaire, p.role, j.cree_le, j.expire_le
         FROM jeton_api j JOIN personnel p ON p.id = j.personnel_id
         WHERE p.plie = $1 ORDER BY j.cree_le DESC",
    )
    .bind(plie)
    .fetch_all(db)
    .await
}

/// Revokes a token of the PLIE's accounts (another PLIE's stays).
pub async fn revoquer(db: &Pool, plie: &str, sha256: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM jeton_api WHERE sha256 = $1
         AND personnel_id IN (SELECT id FROM personnel WHERE plie = $2)",
    )
    .bind(sha256)
    .bind(plie)
    .execute(db)
    .await?;
    Ok(())
}
