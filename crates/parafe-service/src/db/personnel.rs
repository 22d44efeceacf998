//! Staff members: référents, assistants, coordinateurs, admins.

use super::Pool;
use crate::roles::RolePersonnel;
use chrono::{DateTime, Utc};
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
pub async fn enregistrer<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    p: &NouveauPersonnel<'_>,
    le: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO personnel (plie, email, nom, prenom, role, structure, identifiant_externe, cree_le)
         VALUES ($1, lower($2), $3, $4, $5, $6, $7, $8)
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
pub async fn enregistrer_referent<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    plie: &str,
    email: &str,
    nom: &str,
    prenom: &str,
    le: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO personnel (plie, email, nom, prenom, role, cree_le)
         VALUES ($1, lower($2), $3, $4, 'referent', $5)
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

/// What [`enregistrer_referent`] would do with this e-mail, read without writing (an import's
/// preview): `None` for a new address (a référent created), `Some(true)` for a référent of
/// `plie` (renamed), `Some(false)` for another account (another role, another PLIE: refused).
pub async fn referent_importable(
    db: &Pool,
    plie: &str,
    email: &str,
) -> Result<Option<bool>, sqlx::Error> {
    let meme: Option<i64> = sqlx::query_scalar(
        "SELECT CASE WHEN plie = $1 AND role = 'referent' THEN 1 ELSE 0 END FROM personnel
         WHERE email = lower($2)",
    )
    .bind(plie)
    .bind(email)
    .fetch_optional(db)
    .await?;
    Ok(meme.map(|m| m == 1))
}

pub async fn par_id(db: &Pool, plie: &str, id: i64) -> Result<Option<Personnel>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM personnel WHERE plie = $1 AND id = $2"
    ))
    .bind(plie)
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn par_email(db: &Pool, email: &str) -> Result<Option<Personnel>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM personnel WHERE email = lower($1)"
    ))
    .bind(email)
    .fetch_optional(db)
    .await
}

/// The addresses of the PLIE's active coordinateurs.
pub async fn emails_coordinateurs(db: &Pool, plie: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT email FROM personnel WHERE plie = $1 AND role = 'coordinateur' AND actif = 1",
    )
    .bind(plie)
    .fetch_all(db)
    .await
}

/// Gives an account another role (the administrator's `parafe serve` setup says which).
pub async fn changer_role(db: &Pool, id: i64, role: RolePersonnel) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE personnel SET role = $1 WHERE id = $2")
        .bind(role.code())
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// What a login checks of an active account: its password hash and its lock.
#[derive(sqlx::FromRow)]
pub struct Identifiants {
    pub mot_de_passe: Option<String>,
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub verrouille_jusqua: Option<DateTime<Utc>>,
}

pub async fn identifiants(db: &Pool, id: i64) -> Result<Option<Identifiants>, sqlx::Error> {
    sqlx::query_as(
        "SELECT mot_de_passe, verrouille_jusqua FROM personnel WHERE id = $1 AND actif = 1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A right password: the failures are forgotten, the lock lifted.
pub async fn connexion_reussie(db: &Pool, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE personnel SET echecs = 0, verrouille_jusqua = NULL WHERE id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// A wrong password: returns the failures in a row so far.
pub async fn connexion_echouee(db: &Pool, id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("UPDATE personnel SET echecs = echecs + 1 WHERE id = $1 RETURNING echecs")
        .bind(id)
        // To its end, not `fetch_one`: see `crate::db` on `RETURNING`.
        .fetch_all(db)
        .await?
        .pop()
        .ok_or(sqlx::Error::RowNotFound)
}

/// Locks an account until `jusqua`, its failures counted afresh.
pub async fn verrouiller(db: &Pool, id: i64, jusqua: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE personnel SET echecs = 0, verrouille_jusqua = $1 WHERE id = $2")
        .bind(super::instant(jusqua))
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Whether the PLIE has this staff member, active.
pub async fn est_actif(db: &Pool, plie: &str, id: i64) -> Result<bool, sqlx::Error> {
    let actif: Option<i64> =
        sqlx::query_scalar("SELECT actif FROM personnel WHERE plie = $1 AND id = $2")
            .bind(plie)
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(actif == Some(1))
}

/// Whether another account than `id` has this e-mail (the login).
pub async fn email_pris<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    email: &str,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let autre: Option<i64> =
        sqlx::query_scalar("SELECT id FROM personnel WHERE email = lower($1) AND id <> $2")
            .bind(email)
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(autre.is_some())
}

/// The name and e-mail the person gives when activating an account.
pub async fn changer_identite<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
    prenom: &str,
    nom: &str,
    email: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE personnel SET prenom = $1, nom = $2, email = lower($3) WHERE id = $4")
        .bind(prenom)
        .bind(nom)
        .bind(email)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// A new password hash (PHC string); the account is unlocked.
pub async fn changer_mot_de_passe<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    id: i64,
    phc: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE personnel SET mot_de_passe = $1, echecs = 0, verrouille_jusqua = NULL WHERE id = $2",
    )
    .bind(phc)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Whether the PLIE has an active administrator who chose a password.
pub async fn a_un_administrateur(db: &Pool, plie: &str) -> Result<bool, sqlx::Error> {
    let admins: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM personnel WHERE plie = $1 AND role = 'admin' AND actif = 1
         AND mot_de_passe IS NOT NULL",
    )
    .bind(plie)
    .fetch_one(db)
    .await?;
    Ok(admins > 0)
}

/// A staff account as the administration screen lists it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Compte {
    pub id: i64,
    pub email: String,
    pub nom: String,
    pub prenom: String,
    #[sqlx(try_from = "String")]
    pub role: RolePersonnel,
    pub structure: String,
    #[sqlx(try_from = "super::Lu<bool>")]
    pub actif: bool,
    /// Whether the person chose a password (activated the account).
    #[sqlx(try_from = "super::Lu<bool>")]
    pub active: bool,
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub verrouille_jusqua: Option<DateTime<Utc>>,
}

pub async fn comptes(db: &Pool, plie: &str) -> Result<Vec<Compte>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, nom, prenom, role, structure, actif = 1 AS actif,
           mot_de_passe IS NOT NULL AS active, verrouille_jusqua
         FROM personnel WHERE plie = $1 ORDER BY actif DESC, nom, prenom",
    )
    .bind(plie)
    .fetch_all(db)
    .await
}

/// Disables or re-enables an account of the PLIE; false if the PLIE has no such account.
pub async fn changer_actif<'c, E: sqlx::AnyExecutor<'c>>(
    db: E,
    plie: &str,
    id: i64,
    actif: bool,
) -> Result<bool, sqlx::Error> {
    let fait = sqlx::query("UPDATE personnel SET actif = $1 WHERE id = $2 AND plie = $3")
        .bind(i64::from(actif))
        .bind(id)
        .bind(plie)
        .execute(db)
        .await?;
    Ok(fait.rows_affected() == 1)
}

/// The staff member of the PLIE with this e-mail (the login), whether active or not.
pub async fn id_par_email(db: &Pool, plie: &str, email: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM personnel WHERE plie = $1 AND email = lower($2)")
        .bind(plie)
        .bind(email)
        .fetch_optional(db)
        .await
}

/// A référent of the PLIE, as the search offers them.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Referent {
    pub id: i64,
    pub nom: String,
    pub prenom: String,
}

/// The PLIE's référents, or only the one of this portfolio.
pub async fn referents(
    db: &Pool,
    plie: &str,
    portefeuille: Option<i64>,
) -> Result<Vec<Referent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, nom, prenom FROM personnel WHERE plie = $1 AND role = 'referent'
         AND ($2 IS NULL OR id = $2) ORDER BY nom, prenom",
    )
    .bind(plie)
    .bind(portefeuille)
    .fetch_all(db)
    .await
}
