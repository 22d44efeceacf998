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
    creer_par(db, demande, demandeur, None, le).await
}

/// [`creer`], naming the instance of a cluster that makes the pack (`instance` of the
/// parameters): another instance tells from it whether its maker is gone.
pub async fn creer_par(
    db: &sqlx::AnyPool,
    demande: &DemandePack,
    demandeur: Option<i64>,
    instance: Option<&str>,
    le: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let mut parametres = serde_json::json!({
        "operation": demande.operation,
        "du": demande.periode.du,
        "au": demande.periode.au,
        "participant": demande.participant,
        "portefeuille": demande.portefeuille,
        "donnees_sensibles": demande.donnees_sensibles,
    });
    if let Some(nom) = instance {
        parametres["instance"] = nom.into();
    }
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
