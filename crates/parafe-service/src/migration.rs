//! Moving an embedded installation (SQLite, the embedded store, the journal on its disk) to a
//! cluster's PostgreSQL and S3 bucket (`parafe base migrer`), the service stopped: the same rows,
//! the same objects with their retention, the same journal lines (every segment keeps its
//! SHA-256, every anchor its heads), the document versions under way.

use crate::config::Config;
use crate::db::{self, BaseConfig};
use parafe_store::{s3, StoreError};

/// Where the installation goes.
pub struct Cible {
    /// `postgres://…`, a new empty database.
    pub base: String,
    /// The bucket, its endpoint and keys, as `[store]` will name them.
    pub store: parafe_store::StoreConfig,
}

/// What was moved.
pub struct Bilan {
    pub tables: Vec<(String, i64)>,
    pub entrees: usize,
    pub ancres: usize,
    pub objets: usize,
    pub objets_deja_la: usize,
    pub versions: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("base : {0}")]
    Base(#[from] db::DbError),
    #[error("copie de la base : {0}")]
    Copie(#[from] db::copie::CopieError),
    #[error("journal : {0}")]
    Journal(std::io::Error),
    #[error("coffre : {0}")]
    Coffre(#[from] StoreError),
    #[error("versions : {0}")]
    Versions(#[from] crate::Erreur),
}

pub async fn migrer(config: &Config, cible: &Cible) -> Result<Bilan, MigrationError> {
    let source = db::open(&BaseConfig::default(), &config.data_dir).await?;
    let base_cible = BaseConfig {
        url: Some(cible.base.clone()),
        ..BaseConfig::default()
    };
    let pool = db::open(&base_cible, &config.data_dir).await?;
    // First the rows, into a database that must be new: a second run stops here.
    let tables = db::copie::vers_postgres(&source, &pool).await?;
    let vault = config.coffre().await?;
    let partage =
        db::journal::JournalPartage::ouvrir(&cible.base).map_err(MigrationError::Journal)?;
    let (entrees, ancres) = {
        let journal = vault.journal();
        tokio::task::block_in_place(|| journal.publish_to(&partage))
            .map_err(MigrationError::Journal)?
    };
    let store = &cible.store;
    let keys = store.access_key.clone().zip(store.secret_key.clone());
    let target = s3::S3::new(
        s3::client(&s3::Endpoint {
            url: store.endpoint.as_deref().unwrap_or_default(),
            region: &store.region,
            credentials: keys.as_ref().map(|(a, s)| (a.as_str(), s.as_str())),
            path_style: store.path_style,
        }),
        store.bucket.clone(),
    );
    let (objets, objets_deja_la) = vault.copy_to(&target, store.production).await?;
    let versions =
        crate::pipeline::deposer_les_versions(&config.data_dir.join("versions"), &target).await?;
    Ok(Bilan {
        tables,
        entrees,
        ancres,
        objets,
        objets_deja_la,
        versions,
    })
}
