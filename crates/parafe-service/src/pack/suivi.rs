//! A pack's request and result as the `export` table ([`crate::db::exports`]) records them.

use super::{DemandePack, Resultat};
use crate::db::exports::{self, Fin, NouvelExport};
use chrono::{DateTime, Utc};

/// Records a new export, waiting to start; returns its id (`RowNotFound` when the PLIE has no
/// such opération).
pub async fn creer(
    db: &sqlx::AnyPool,
    demande: &DemandePack,
    demandeur: Option<i64>,
    le: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let parametres = serde_json::json!({
        "operation": demande.operation,
        "du": demande.periode.du,
        "au": demande.periode.au,
        "participant": demande.participant,
        "portefeuille": demande.portefeuille,
        "donnees_sensibles": demande.donnees_sensibles,
    });
    let export = NouvelExport {
        plie: demande.plie.as_str(),
        reference: &demande.reference,
        demandeur,
        operation: &demande.operation,
        parametres: &parametres.to_string(),
    };
    exports::creer(db, &export, le).await
}

pub async fn finir(
    db: &sqlx::AnyPool,
    id: i64,
    resultat: &Resultat,
    le: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let fin = Fin {
        fichiers: resultat.fichiers as i64,
        chemin: &resultat.chemin.display().to_string(),
        sha256: &resultat.sha256.to_hex(),
        taille: resultat.taille as i64,
        manifeste_sha256: &resultat.manifeste_sha256.to_hex(),
    };
    exports::finir(db, id, &fin, le).await
}
