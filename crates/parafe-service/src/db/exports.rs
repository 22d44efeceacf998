//! The `export` table: each audit pack asked for, its progress while it is made in the
//! background, and where it lies when done. Every query filters by PLIE (but [`interrompre`],
//! at start).

use super::Pool;
use chrono::{DateTime, Utc};

super::etat_stocke! {
    /// Where an export stands.
    EtatExport, "d'export", {
        Attente = "attente",
        EnCours = "en_cours",
        Fini = "fini",
        Echec = "echec",
    }
}

impl EtatExport {
    /// The state as a person reads it.
    pub fn libelle(self) -> &'static str {
        match self {
            EtatExport::Attente => "en attente de son tour",
            EtatExport::EnCours => "en préparation",
            EtatExport::Fini => "prêt à télécharger",
            EtatExport::Echec => "échoué",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Export {
    pub id: i64,
    pub plie: String,
    #[sqlx(rename = "ref")]
    pub reference: String,
    pub demandeur: Option<i64>,
    pub parametres: String,
    pub etat: EtatExport,
    pub progression: i64,
    pub total: i64,
    pub chemin: Option<String>,
    pub sha256: Option<String>,
    pub taille: Option<i64>,
    pub manifeste_sha256: Option<String>,
    pub erreur: Option<String>,
    #[sqlx(try_from = "super::Lu<DateTime<Utc>>")]
    pub cree_le: DateTime<Utc>,
    #[sqlx(try_from = "super::Lu<Option<DateTime<Utc>>>")]
    pub fini_le: Option<DateTime<Utc>>,
}

const COLONNES: &str = "id, plie, ref, demandeur, parametres, etat, progression, total, chemin,
    sha256, taille, manifeste_sha256, erreur, cree_le, fini_le";

/// What a new export is.
pub struct NouvelExport<'a> {
    pub plie: &'a str,
    pub reference: &'a str,
    /// None: the command line.
    pub demandeur: Option<i64>,
    /// The code of the opération.
    pub operation: &'a str,
    /// JSON: period, participant, sensitive data…
    pub parametres: &'a str,
}

/// Records a new export, waiting to start; returns its id (`RowNotFound` when the PLIE has
/// no such opération).
pub async fn creer(db: &Pool, e: &NouvelExport<'_>, le: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO export (plie, ref, demandeur, operation_id, parametres, etat, cree_le)
         SELECT $1, $2, $3, id, $4, $5, $6 FROM operation WHERE plie = $7 AND code = $8
         RETURNING id",
    )
    .bind(e.plie)
    .bind(e.reference)
    .bind(e.demandeur)
    .bind(e.parametres)
    .bind(EtatExport::Attente.code())
    .bind(super::instant(le))
    .bind(e.plie)
    .bind(e.operation)
    // To its end, not `fetch_optional`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)
}

pub async fn avancer(db: &Pool, id: i64, faits: usize, total: usize) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE export SET etat = $1, progression = $2, total = $3 WHERE id = $4")
        .bind(EtatExport::EnCours.code())
        .bind(faits as i64)
        .bind(total as i64)
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

/// A finished pack: how many files, where its ZIP lies, the hashes of the ZIP and manifest.
pub struct Fin<'a> {
    pub fichiers: i64,
    pub chemin: &'a str,
    pub sha256: &'a str,
    pub taille: i64,
    pub manifeste_sha256: &'a str,
}

pub async fn finir(
    db: &Pool,
    id: i64,
    fin: &Fin<'_>,
    le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE export SET etat = $1, progression = $2, total = $3, chemin = $4, sha256 = $5,
            taille = $6, manifeste_sha256 = $7, fini_le = $8 WHERE id = $9",
    )
    .bind(EtatExport::Fini.code())
    .bind(fin.fichiers)
    .bind(fin.fichiers)
    .bind(fin.chemin)
    .bind(fin.sha256)
    .bind(fin.taille)
    .bind(fin.manifeste_sha256)
    .bind(super::instant(le))
    .bind(id)
    .execute(db)
    .await
    .map(|_| ())
}

pub async fn echouer(
    db: &Pool,
    id: i64,
    erreur: &str,
    le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE export SET etat = $1, erreur = $2, fini_le = $3 WHERE id = $4")
        .bind(EtatExport::Echec.code())
        .bind(erreur)
        .bind(super::instant(le))
        .bind(id)
        .execute(db)
        .await
        .map(|_| ())
}

/// An export of the PLIE, by reference.
pub async fn par_ref(
    db: &Pool,
    plie: &str,
    reference: &str,
) -> Result<Option<Export>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM export WHERE plie = $1 AND ref = $2"
    ))
    .bind(plie)
    .bind(reference)
    .fetch_optional(db)
    .await
}

/// The PLIE's exports (those asked by `demandeur` only, when given), latest first.
pub async fn liste(
    db: &Pool,
    plie: &str,
    demandeur: Option<i64>,
    limite: i64,
) -> Result<Vec<Export>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM export WHERE plie = $1 AND ($2 IS NULL OR demandeur = $3)
         ORDER BY cree_le DESC, id DESC LIMIT $4"
    ))
    .bind(plie)
    .bind(demandeur)
    .bind(demandeur)
    .bind(limite)
    .fetch_all(db)
    .await
}

/// At the service's start: the exports it was making when it stopped will not finish.
pub async fn interrompre(db: &Pool, le: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    sqlx::query(
        "UPDATE export SET etat = $1, fini_le = $2,
            erreur = 'interrompu par l''arrêt du service : demandez un nouveau pack'
         WHERE etat IN ($3, $4) AND demandeur IS NOT NULL",
    )
    .bind(EtatExport::Echec.code())
    .bind(super::instant(le))
    .bind(EtatExport::Attente.code())
    .bind(EtatExport::EnCours.code())
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// Exports asked over HTTP still waiting or under way, every PLIE's (a cluster's check of
/// which instance is making them).
pub async fn inacheves(db: &Pool) -> Result<Vec<Export>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLONNES} FROM export WHERE etat IN ($1, $2) AND demandeur IS NOT NULL"
    ))
    .bind(EtatExport::Attente.code())
    .bind(EtatExport::EnCours.code())
    .fetch_all(db)
    .await
}

/// Fails one export that will not finish, unless it finished meanwhile.
pub async fn abandonner(
    db: &Pool,
    id: i64,
    erreur: &str,
    le: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    sqlx::query(
        "UPDATE export SET etat = $1, erreur = $2, fini_le = $3 WHERE id = $4 AND etat IN ($5, $6)",
    )
    .bind(EtatExport::Echec.code())
    .bind(erreur)
    .bind(super::instant(le))
    .bind(id)
    .bind(EtatExport::Attente.code())
    .bind(EtatExport::EnCours.code())
    .execute(db)
    .await
    .map(|r| r.rows_affected() > 0)
}
