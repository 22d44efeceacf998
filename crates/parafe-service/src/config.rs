//! Configuration: where parafe keeps its data, and the seams where deployments differ (seal key,
//! timestamp authority, object store). Read from `<data-dir>/parafe.toml` when present; every
//! option has a default that gives the zero-setup configuration.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where keys, the embedded store and the local queue live (not read from the file).
    #[serde(skip)]
    pub data_dir: PathBuf,
    /// The clock every part reads (`PARAFE_HORLOGE`, not read from the file).
    #[serde(skip)]
    pub horloge: parafe_core::horloge::Horloge,
    /// Seal certificate and timestamp authority.
    pub seal: parafe_seal::SealConfig,
    /// Evidence store (S3) and retention.
    pub store: parafe_store::StoreConfig,
    /// The web service: where it listens, its public address, the first PLIE.
    pub service: ServiceConfig,
    /// Outgoing mail: an SMTP server, or the development mailbox.
    pub courriel: crate::delivery::CourrielConfig,
    /// The database: SQLite in the data directory, or a shared PostgreSQL.
    pub base: crate::db::BaseConfig,
    /// Several instances behind a load balancer (`[grappe]`): absent on one machine.
    pub grappe: Option<GrappeConfig>,
}

/// `[grappe]` in parafe.toml: this instance is one of several sharing one PostgreSQL and one S3.
/// Everything that must survive then lives there, never only on this instance's disk.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrappeConfig {
    /// This instance's name, unique in the cluster (also `PARAFE_INSTANCE`): it holds the
    /// outbox's leases and is named in the logs.
    pub instance: String,
}

/// `[service]` in parafe.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Address and port to listen on (also `--listen`, `PARAFE_LISTEN`).
    pub ecoute: String,
    /// Address people reach the service at, for links in e-mails; default `http://<ecoute>`.
    pub url_publique: Option<String>,
    /// A folder whose `*.toml` replace (same name) or add to the embedded workflows.
    pub workflows: Option<PathBuf>,
    /// The PLIE created at first start, and its name.
    pub plie: String,
    pub nom_plie: String,
    /// How long a signing link stays valid.
    pub duree_lien_heures: i64,
    /// Tasks of the outbox run together (seals, uploads, e-mails).
    pub taches_simultanees: usize,
    /// Seconds between two passes of reminders, expiries and journal anchoring.
    pub veille_secondes: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            ecoute: "127.0.0.1:8080".into(),
            url_publique: None,
            workflows: None,
            plie: "plie".into(),
            nom_plie: "Mon PLIE".into(),
            duree_lien_heures: 72,
            taches_simultanees: 32,
            veille_secondes: 60,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("fichier de configuration {path} illisible : {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("fichier de configuration {path} invalide : {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{0}")]
    Horloge(String),
}

impl Config {
    /// Loads `<data_dir>/parafe.toml` if it exists, the defaults otherwise.
    pub fn load(data_dir: &Path) -> Result<Config, ConfigError> {
        let path = data_dir.join("parafe.toml");
        let mut config: Config = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        config.data_dir = data_dir.to_path_buf();
        // A file is copied, backed up, read by whoever administers the machine: no password in it.
        if let Some(url) = &config.base.url {
            if crate::db::sans_mot_de_passe(url) != *url {
                return Err(ConfigError::Invalid {
                    path,
                    message: "[base] url contient un mot de passe : retirez-le du fichier et \
                              donnez-le par PGPASSWORD ou ~/.pgpass (ou l'URL entière par \
                              PARAFE_BASE_URL)"
                        .into(),
                });
            }
        }
        if let Some(url) = std::env::var("PARAFE_BASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
        {
            config.base.url = Some(url);
        }
        if let Some(instance) = std::env::var("PARAFE_INSTANCE")
            .ok()
            .filter(|i| !i.is_empty())
        {
            config.grappe = Some(GrappeConfig { instance });
        }
        if let Some(message) = config.refus_de_grappe() {
            return Err(ConfigError::Invalid { path, message });
        }
        config.horloge =
            parafe_core::horloge::Horloge::de_l_environnement().map_err(ConfigError::Horloge)?;
        Ok(config)
    }

    /// The instance's name when it is one of several (`[grappe]`).
    pub fn instance(&self) -> Option<&str> {
        self.grappe.as_ref().map(|g| g.instance.as_str())
    }

    /// Several instances share nothing but the database and the store: SQLite and the embedded
    /// store live on one machine's disk, so a cluster on either would lose what that disk holds.
    fn refus_de_grappe(&self) -> Option<String> {
        let grappe = self.grappe.as_ref()?;
        let nom = grappe.instance.trim();
        if nom.is_empty()
            || !nom
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Some(format!(
                "[grappe] instance « {} » : donnez à chaque instance un nom fait de lettres, \
                 chiffres, « - », « _ » ou « . »",
                grappe.instance
            ));
        }
        let mut manque = Vec::new();
        if self.base.url.is_none() {
            manque.push("une base PostgreSQL partagée ([base] url ou PARAFE_BASE_URL)");
        }
        if self.store.endpoint.is_none() {
            manque.push("un stockage S3 externe ([store] endpoint ; le stockage intégré ne sert qu'une machine)");
        }
        if self.courriel.smtp.is_none() {
            manque.push("un serveur SMTP ([courriel] smtp ; la boîte de développement est un dossier de l'instance)");
        }
        (!manque.is_empty()).then(|| {
            format!(
                "plusieurs instances ([grappe]) demandent {} : ajoutez-les, ou retirez [grappe] \
                 pour une instance seule",
                manque.join(" et ")
            )
        })
    }

    /// The evidence store of this configuration, under its data directory, on its clock.
    pub async fn coffre(&self) -> Result<parafe_store::Vault, parafe_store::StoreError> {
        let partage = match (self.instance(), &self.base.url) {
            (Some(_), Some(url)) => {
                let partage =
                    crate::db::journal::JournalPartage::ouvrir(url).map_err(|source| {
                        parafe_store::StoreError::Io {
                            context: "journal partagé de la grappe".into(),
                            source,
                        }
                    })?;
                Some(std::sync::Arc::new(partage) as _)
            }
            _ => None,
        };
        parafe_store::Vault::open(&self.store, &self.data_dir, self.horloge, partage).await
    }
}
