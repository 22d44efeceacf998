//! Staff members: référents, assistants, coordinateurs, admins.

use super::Pool;
use crate::roles::RolePersonnel;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Personnel {
    pub id: i64,
    pub plie: String,
    pub email: String,
    pub nom: String,
    pub prenom: String,
    #[sqlx(try_from = "String")]
    pub role: RolePersonnel,
    pub structure: String,
}

const COLONNES: &str = "id, plie, email, nom, prenom, role, structure";

pub struct NouveauPersonnel<'a> {
    pub plie: &'a str,
    pub email: &'a str,
    pub nom: &'a str,
    pub prenom: &'a str,
    pub role: RolePersonnel,
    pub structure: &'a str,
    pub identifiant_externe: Option<&'a str>,
}

/// Creates a staff member, or updates the one with the same e-mail in the same PLIE.
/// An e-mail already used in another PLIE is refused (it is the login).
pub async fn enregistrer<'c, E: sqlx::SqliteExecutor<'c>>(
    db: E,
    p: &NouveauPersonnel<'_>,
    le: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO personnel (plie, email, nom, prenom, role, structure, identifiant_externe, cree_le)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (email) DO UPDATE SET nom = excluded.nom, prenom = excluded.prenom,
           structure = excluded.structure,
           identifiant_externe = coalesce(excluded.identifiant_externe, personnel.identifiant_externe)
         WHERE personnel.plie = excluded.plie
         RETURNING id",
    )
    .bind(p.plie)
    .bind(p.email)
    .bind(p.nom)
    .bind(p.prenom)
    .bind(p.role.code())
    .bind(p.structure)
    .bind(p.identifiant_externe)
    .bind(le)
    // To its end, not `fetch_optional`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await
    .map(|mut ids| ids.pop())
}

/// Creates a référent of the PLIE (an import's), or renames the référent of the PLIE who has
/// this e-mail; `None` when the e-mail is another account's (another role, another PLIE), which
/// an import never touches.
pub async fn enregistrer_referent<'c, E: sqlx::SqliteExecutor<'c>>(
    db: E,
    plie: &str,
    email: &str,
    nom: &str,
    prenom: &str,
    le: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO personnel (plie, email, nom, prenom, role, cree_le)
         VALUES (?, ?, ?, ?, 'referent', ?)
         ON CONFLICT (email) DO UPDATE SET nom = excluded.nom, prenom = excluded.prenom
         WHERE personnel.plie = excluded.plie AND personnel.role = 'referent'
         RETURNING id",
    )
    .bind(plie)
    .bind(email)
    .bind(nom)
    .bind(prenom)
    .bind(le)
    // To its end, not `fetch_optional`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await
    .map(|mut ids| ids.pop())
}

pub async fn par_id(db: &Pool, plie: &str, id: i64) -> Result<Option<Personnel>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM personnel WHERE plie = ? AND id = ?"
    ))
    .bind(plie)
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn par_email(db: &Pool, email: &str) -> Result<Option<Personnel>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLONNES} FROM personnel WHERE email = ?"))
        .bind(email)
        .fetch_optional(db)
        .await
}

/// Gives an account another role (the administrator's `parafe serve` setup says which).
pub async fn changer_role(db: &Pool, id: i64, role: RolePersonnel) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE personnel SET role = ? WHERE id = ?")
        .bind(role.code())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
