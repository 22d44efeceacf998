//! The rows of the benchmarks' PLIE, written directly: the benchmarks measure the vault and the
//! pack, not the import or the signing that would make them.

use super::Pool;

/// A new database in the PostgreSQL cluster `grappe` (`postgres://utilisateur@hote:port`),
/// ordered by bytes as parafe requires; its URL.
pub async fn nouvelle_base_postgres(grappe: &str) -> Result<String, sqlx::Error> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let grappe = grappe.trim_end_matches('/');
    let mut conn = sqlx::AnyConnection::connect(&format!("{grappe}/postgres")).await?;
    let nom = format!("parafe_banc_{:016x}", rand::random::<u64>());
    sqlx::query(&format!(
        "CREATE DATABASE {nom} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    ))
    .execute(&mut conn)
    .await?;
    conn.close().await?;
    Ok(format!("{grappe}/{nom}"))
}

/// The PLIE and its opération; returns the opération's id.
pub async fn creer(db: &Pool, plie: &str, operation: &str, le: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("INSERT INTO plie (id, nom, cree_le) VALUES ($1, 'PLIE du banc', $2)")
        .bind(plie)
        .bind(le)
        .execute(db)
        .await?;
    sqlx::query_scalar(
        "INSERT INTO operation (plie, code, intitule) VALUES ($1, $2, 'Opération du banc') RETURNING id",
    )
    .bind(plie)
    .bind(operation)
    // To its end, not `fetch_one`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)
}

/// Participant `i` (reference `P-0000i`); returns his id.
pub async fn participant(
    tx: &mut sqlx::AnyConnection,
    plie: &str,
    i: usize,
    operation: i64,
    le: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO participant (plie, ref, identifiant_externe, nom, prenom, operation_id,
            date_entree, cree_le, recherche)
         VALUES ($1, $2, $3, $4, 'Camille', $5, '2025-01-06', $6, $7) RETURNING id",
    )
    .bind(plie)
    .bind(format!("P-{i:05}"))
    .bind(format!("UP-{i}"))
    .bind(format!("Participant{i}"))
    .bind(operation)
    .bind(le)
    .bind(super::participants::texte_de_recherche(
        "Camille",
        &format!("Participant{i}"),
        &format!("UP-{i}"),
    ))
    .fetch_one(&mut *tx)
    .await
}

/// An émargement already filed in the vault (entry `seq` of the journal), and its sealed version.
pub struct Emargement<'a> {
    pub reference: &'a str,
    pub participant: i64,
    pub operation: i64,
    pub donnees: &'a str,
    pub sha256: &'a str,
    pub seq: i64,
    pub taille: i64,
}

pub async fn emargement_depose(
    tx: &mut sqlx::AnyConnection,
    plie: &str,
    e: &Emargement<'_>,
    le: &str,
) -> Result<(), sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO document (plie, ref, workflow, modele, participant_id, operation_id, etat,
            donnees, sha256_scelle, depose_seq, cree_le, modifie_le)
         VALUES ($1, $2, 'emargement-individuel', 'emargement-individuel', $3, $4, 'depose', $5, $6, $7, $8, $9)
         RETURNING id",
    )
    .bind(plie)
    .bind(e.reference)
    .bind(e.participant)
    .bind(e.operation)
    .bind(e.donnees)
    .bind(e.sha256)
    .bind(e.seq)
    .bind(le)
    .bind(le)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO version (document_id, numero, genre, sha256, taille, cree_le)
         VALUES ($1, 1, 'scelle', $2, $3, $4)",
    )
    .bind(id)
    .bind(e.sha256)
    .bind(e.taille)
    .bind(le)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The sealed versions of an opération's documents, in the order they were made.
pub async fn scelles(db: &Pool, plie: &str, operation: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT d.sha256_scelle FROM document d JOIN operation o ON o.id = d.operation_id
         WHERE d.plie = $1 AND o.code = $2 ORDER BY d.id",
    )
    .bind(plie)
    .bind(operation)
    .fetch_all(db)
    .await
}
