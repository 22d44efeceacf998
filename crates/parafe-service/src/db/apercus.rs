//! The import previews waiting for their confirmation (`apercu_import`), one per session.

use super::Pool;

/// Keeps `texte` for `garde` in place of its earlier preview; previews made before
/// `perime_avant` go.
pub async fn garder(
    db: &Pool,
    garde: &str,
    sha256: &str,
    texte: &str,
    le: &str,
    perime_avant: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = super::ecriture(db).await?;
    sqlx::query("DELETE FROM apercu_import WHERE garde = $1 OR cree_le < $2")
        .bind(garde)
        .bind(perime_avant)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO apercu_import (garde, sha256, texte, cree_le) VALUES ($1, $2, $3, $4)",
    )
    .bind(garde)
    .bind(sha256)
    .bind(texte)
    .bind(le)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The text `garde` previewed under `sha256`, unless made before `perime_avant`.
pub async fn texte(
    db: &Pool,
    garde: &str,
    sha256: &str,
    perime_avant: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT texte FROM apercu_import WHERE garde = $1 AND sha256 = $2 AND cree_le >= $3",
    )
    .bind(garde)
    .bind(sha256)
    .bind(perime_avant)
    .fetch_optional(db)
    .await
}

/// Removes `garde`'s preview (it has served, or was altered).
pub async fn oublier(db: &Pool, garde: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM apercu_import WHERE garde = $1")
        .bind(garde)
        .execute(db)
        .await
        .map(|_| ())
}
