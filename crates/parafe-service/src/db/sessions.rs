//! Staff sessions (the `session` table): each known by the SHA-256 of its cookie's secret.

use super::Pool;
use crate::roles::RolePersonnel;
use chrono::{DateTime, Utc};

pub struct NouvelleSession<'a> {
    pub empreinte: &'a str,
    pub personnel_id: i64,
    pub csrf: &'a str,
    pub le: DateTime<Utc>,
    pub expire_le: DateTime<Utc>,
    pub ip: &'a str,
    pub agent: &'a str,
}

pub async fn ouvrir(db: &Pool, s: &NouvelleSession<'_>) -> Result<(), sqlx::Error> {
    let le = super::instant(s.le);
    sqlx::query(
        "INSERT INTO session (sha256, personnel_id, csrf, cree_le, vu_le, expire_le, ip, agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(s.empreinte)
    .bind(s.personnel_id)
    .bind(s.csrf)
    .bind(&le)
    .bind(&le)
    .bind(super::instant(s.expire_le))
    .bind(s.ip)
    .bind(s.agent)
    .execute(db)
    .await?;
    Ok(())
}

/// A live session with the account that holds it.
#[derive(sqlx::FromRow)]
pub struct SessionActive {
    pub personnel_id: i64,
    pub plie: String,
    #[sqlx(try_from = "String")]
    pub role: RolePersonnel,
    pub prenom: String,
    pub nom: String,
    pub email: String,
    pub csrf: String,
    pub kiosque_id: Option<i64>,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub vu_le: DateTime<Utc>,
}

/// The session of this secret's SHA-256, if the account is active, the session not expired
/// and seen after `vu_apres`.
pub async fn active(
    db: &Pool,
    empreinte: &str,
    maintenant: DateTime<Utc>,
    vu_apres: DateTime<Utc>,
) -> Result<Option<SessionActive>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.id AS personnel_id, p.plie, p.role, p.prenom, p.nom, p.email, s.csrf,
                s.kiosque_id, s.vu_le
             FROM session s JOIN personnel p ON p.id = s.personnel_id
             WHERE s.sha256 = $1 AND p.actif = 1 AND s.expire_le > $2 AND s.vu_le > $3",
    )
    .bind(empreinte)
    .bind(super::instant(maintenant))
    .bind(super::instant(vu_apres))
    .fetch_optional(db)
    .await
}

pub async fn vue(db: &Pool, empreinte: &str, le: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE session SET vu_le = $1 WHERE sha256 = $2")
        .bind(super::instant(le))
        .bind(empreinte)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn fermer(db: &Pool, empreinte: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM session WHERE sha256 = $1")
        .bind(empreinte)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends every session of a staff member.
pub async fn fermer_toutes<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    personnel_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM session WHERE personnel_id = $1")
        .bind(personnel_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Locks a session on a kiosk sheet, or unlocks it (`None`).
pub async fn verrouiller<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    empreinte: &str,
    kiosque: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE session SET kiosque_id = $1 WHERE sha256 = $2")
        .bind(kiosque)
        .bind(empreinte)
        .execute(db)
        .await?;
    Ok(())
}
