//! The `export` table: each pack asked for, its progress while it is made in the background,
//! and where it lies when done. Every query filters by PLIE (but [`interrompre`], at start).

use super::{DemandePack, Resultat};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Export {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub plie: String,
    #[sqlx(rename = "ref")]
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(skip)]
    pub demandeur: Option<i64>,
    pub parametres: String,
    pub etat: String,
    pub progression: i64,
    pub total: i64,
    #[serde(skip)]
    pub chemin: Option<String>,
    pub sha256: Option<String>,
    pub taille: Option<i64>,
    pub manifeste_sha256: Option<String>,
    pub erreur: Option<String>,
    pub cree_le: String,
    pub fini_le: Option<String>,
}

const COLONNES: &str = "id, plie, ref, demandeur, parametres, etat, progression, total, chemin,
    sha256, taille, manifeste_sha256, erreur, cree_le, fini_le";

/// Records a new export, waiting to start; returns its id.
pub async fn creer(
    db: &sqlx::SqlitePool,
    demande: &DemandePack,
    demandeur: Option<i64>,
    maintenant: &str,
) -> Result<i64, sqlx::Error> {
    let parametres = serde_json::json!({
        "operation": demande.operation,
        "du": demande.periode.du,
        "au": demande.periode.au,
        "participant": demande.participant,
        "portefeuille": demande.portefeuille,
        "donnees_sensibles": demande.donnees_sensibles,
    });
    sqlx::query_scalar(
        "INSERT INTO export (plie, ref, demandeur, operation_id, parametres, etat, cree_le)
         SELECT ?, ?, ?, id, ?, 'attente', ? FROM operation WHERE plie = ? AND code = ?
         RETURNING id",
    )
    .bind(demande.plie.as_str())
    .bind(&demande.reference)
    .bind(demandeur)
    .bind(parametres.to_string())
    .bind(maintenant)
    .bind(demande.plie.as_str())
    .bind(&demande.operation)
    // To its end, not `fetch_optional`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)
}

pub async fn avancer(
    db: &sqlx::SqlitePool,
    id: i64,
    faits: usize,
    total: usize,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE export SET etat = 'en_cours', progression = ?, total = ? WHERE id = ?")
        .bind(faits as i64)
        .bind(total as i64)
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

pub async fn finir(
    db: &sqlx::SqlitePool,
    id: i64,
    resultat: &Resultat,
    maintenant: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE export SET etat = 'fini', progression = ?, total = ?, chemin = ?, sha256 = ?,
            taille = ?, manifeste_sha256 = ?, fini_le = ? WHERE id = ?",
    )
    .bind(resultat.fichiers as i64)
    .bind(resultat.fichiers as i64)
    .bind(resultat.chemin.display().to_string())
    .bind(resultat.sha256.to_hex())
    .bind(resultat.taille as i64)
    .bind(resultat.manifeste_sha256.to_hex())
    .bind(maintenant)
    .bind(id)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn echouer(
    db: &sqlx::SqlitePool,
    id: i64,
    erreur: &str,
    maintenant: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE export SET etat = 'echec', erreur = ?, fini_le = ? WHERE id = ?")
        .bind(erreur)
        .bind(maintenant)
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

/// An export of the PLIE, by reference.
pub async fn par_ref(
    db: &sqlx::SqlitePool,
    plie: &str,
    reference: &str,
) -> Result<Option<Export>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM export WHERE plie = ? AND ref = ?"
    ))
    .bind(plie)
    .bind(reference)
    .fetch_optional(db)
    .await
}

/// The PLIE's exports (those asked by `demandeur` only, when given), latest first.
pub async fn liste(
    db: &sqlx::SqlitePool,
    plie: &str,
    demandeur: Option<i64>,
    limite: i64,
) -> Result<Vec<Export>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM export WHERE plie = ? AND (? IS NULL OR demandeur = ?)
         ORDER BY cree_le DESC, id DESC LIMIT ?"
    ))
    .bind(plie)
    .bind(demandeur)
    .bind(demandeur)
    .bind(limite)
    .fetch_all(db)
    .await
}

/// A state as a person reads it.
pub fn libelle(etat: &str) -> &'static str {
    match etat {
        "attente" => "en attente de son tour",
        "en_cours" => "en préparation",
        "fini" => "prêt à télécharger",
        _ => "échoué",
    }
}

/// At the service's start: the exports it was making when it stopped will not finish.
pub async fn interrompre(db: &sqlx::SqlitePool, maintenant: &str) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE export SET etat = 'echec', fini_le = ?,
            erreur = 'interrompu par l''arrêt du service : demandez un nouveau pack'
         WHERE etat IN ('attente', 'en_cours') AND demandeur IS NOT NULL",
    )
    .bind(maintenant)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}
