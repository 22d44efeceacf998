//! The service (`parafe serve`): one process holding the database, the evidence store, the seal
//! and the mail transport, answering the JSON API and running the outbox and the schedules.
//! Zero setup: everything lives under the data directory and is created at first start.

pub mod controle;
pub mod documents;
pub mod kiosque;
pub mod pipeline;
pub mod secrets;
pub mod signature;

use crate::config::Config;
use crate::db::{self, Pool};
use crate::delivery::Courrier;
pub use crate::horloge::Horloge;
use crate::panne::Panne;
use crate::seal::{Keys, Tsa};
use crate::store::Vault;
use crate::template::Catalogue;
use crate::workflow::Workflow;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

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

/// Everything a request or a background task needs. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub db: Pool,
    pub vault: Arc<Vault>,
    pub keys: Arc<Keys>,
    pub tsa: Arc<Tsa>,
    pub courrier: Arc<Courrier>,
    pub workflows: Arc<BTreeMap<String, Workflow>>,
    pub catalogue: &'static Catalogue,
    pub horloge: Horloge,
    /// Wakes the outbox worker when a task is queued.
    pub reveil: Arc<crate::outbox::Reveil>,
    /// Where document versions are kept by hash (`<data-dir>/versions/`).
    pub versions: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Db(#[from] db::DbError),
}

impl App {
    /// Opens everything under the data directory, creating what is missing (development keys,
    /// database, first PLIE). Refuses to start on a bad workflow file, naming file and line.
    pub async fn open(config: Config) -> Result<App, StartError> {
        let data_dir = config.data_dir.clone();
        let horloge = config.horloge;
        let fail = |e: &dyn std::fmt::Display| StartError::Config(e.to_string());
        std::fs::create_dir_all(&data_dir).map_err(|e| fail(&e))?;
        if config.seal.pkcs12.is_none() {
            let init = crate::seal::init(&data_dir).map_err(|e| fail(&e))?;
            for path in &init.renewed {
                tracing::info!(
                    "certificat de développement renouvelé sans point de distribution de liste de révocation : {}",
                    path.display()
                );
            }
        }
        let catalogue = Catalogue::embedded().map_err(|e| fail(e))?;
        let workflows = crate::workflow::load(config.service.workflows.as_deref(), catalogue)
            .map_err(|e| fail(&e))?
            .into_iter()
            .map(|w| (w.nom.clone(), w))
            .collect();
        let keys = Keys::load(&data_dir, &config.seal).map_err(|e| fail(&e))?;
        let tsa = Tsa::from_config(&data_dir, &config.seal, &keys).map_err(|e| fail(&e))?;
        let courrier = Courrier::from_config(&config.courriel, &data_dir)
            .map_err(|e| fail(&e))?
            .avec_horloge(horloge);
        let vault = Vault::open(&config).await.map_err(|e| fail(&e))?;
        // A broken chain is refused now, with its place, rather than at its next append.
        vault.journal().open_all().map_err(|e| fail(&e))?;
        // The anchor file lives there, even before the first entry.
        std::fs::create_dir_all(vault.journal().dir()).map_err(|e| fail(&e))?;
        let db = db::open(&data_dir).await?;
        let maintenant = db::instant(horloge.maintenant());
        db::referentiel::creer_plie(
            &db,
            &config.service.plie,
            &config.service.nom_plie,
            &maintenant,
        )
        .await
        .map_err(db::DbError::from)?;
        Ok(App {
            versions: data_dir.join("versions"),
            config: Arc::new(config),
            db,
            vault: Arc::new(vault),
            keys: Arc::new(keys),
            tsa: Arc::new(tsa),
            courrier: Arc::new(courrier),
            workflows: Arc::new(workflows),
            catalogue,
            horloge,
            reveil: Arc::default(),
        })
    }

    /// The address links in e-mails point to.
    pub fn url_publique(&self) -> String {
        self.config
            .service
            .url_publique
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.config.service.ecoute))
            .trim_end_matches('/')
            .to_owned()
    }

    pub fn workflow(&self, nom: &str) -> Option<&Workflow> {
        self.workflows.get(nom)
    }
}

/// Why a request about documents, participants or signatures cannot be done: a French
/// message naming what to fix. The API turns each kind into its HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum Erreur {
    /// Nothing by that reference in the caller's reach (another PLIE's rows look absent).
    #[error("{0}")]
    Introuvable(String),
    #[error("{0}")]
    Interdit(String),
    /// Bad input, with the field to fix (`signataires[1].email`, `donnees.date_entree`…).
    #[error("{champ} : {message}")]
    Invalide { champ: String, message: String },
    /// The document's state does not allow it (signing a cancelled contract…).
    #[error("{0}")]
    Conflit(String),
    /// Storage could not take it (disk full, failed write or sync, broken journal): nothing
    /// was recorded. The person reads `panne`; `detail` goes to the server's log.
    #[error("{panne}")]
    Stockage { panne: Panne, detail: String },
    /// Asked too often (one-time codes): when to try again.
    #[error("{0}")]
    TropDeDemandes(String),
    #[error("erreur interne : {0}")]
    Interne(String),
}

/// A participant within the caller's reach ([`db::participants::a_portee`]: his reference or
/// the parcours software's identifier), else "introuvable", the same for screens, API and
/// command line. The refusal names what the caller gave, never the reference it stands for.
pub async fn participant_a_portee(
    app: &App,
    acteur: &crate::auth::Acteur,
    cle: &str,
) -> Result<db::participants::Participant, Erreur> {
    db::participants::a_portee(&app.db, acteur.plie.as_str(), acteur.portefeuille(), cle)
        .await?
        .ok_or_else(|| {
            Erreur::Introuvable(format!(
                "aucun participant « {cle} » dans votre portefeuille"
            ))
        })
}

impl Erreur {
    pub fn invalide(champ: &str, message: impl Into<String>) -> Erreur {
        Erreur::Invalide {
            champ: champ.to_owned(),
            message: message.into(),
        }
    }
}

impl Erreur {
    /// A failed write of parafe's own files (document versions…): always a storage fault.
    pub fn ecriture(contexte: &str, e: &std::io::Error) -> Erreur {
        Erreur::Stockage {
            panne: Panne::de_io(e),
            detail: format!("{contexte} : {e}"),
        }
    }
}

impl From<sqlx::Error> for Erreur {
    fn from(e: sqlx::Error) -> Erreur {
        let detail = format!("base de données : {e}");
        match db::panne(&e) {
            Some(panne) => Erreur::Stockage { panne, detail },
            None => Erreur::Interne(detail),
        }
    }
}

impl From<crate::store::StoreError> for Erreur {
    fn from(e: crate::store::StoreError) -> Erreur {
        let detail = format!("coffre : {e}");
        match e.panne() {
            Some(panne) => Erreur::Stockage { panne, detail },
            None => Erreur::Interne(detail),
        }
    }
}

impl From<crate::document::TransitionInterdite> for Erreur {
    fn from(e: crate::document::TransitionInterdite) -> Erreur {
        Erreur::Conflit(e.to_string())
    }
}

/// Every `veille_secondes`: reminders, expiries, and the journal anchor when its interval has
/// passed.
pub fn veilleur(app: App) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let secondes = app.config.service.veille_secondes.max(1);
        let mut minute = tokio::time::interval(std::time::Duration::from_secs(secondes));
        loop {
            minute.tick().await;
            if let Err(e) = crate::schedule::veiller(&app).await {
                tracing::warn!("échéancier : {e}");
            }
            if let Err(e) = app.vault.anchor_if_due(app.tsa.as_ref()).await {
                tracing::warn!("ancrage du journal : {e}");
            }
        }
    })
}
