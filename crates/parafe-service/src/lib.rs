//! The service (`parafe serve`): one process holding the database, the evidence store, the seal
//! and the mail transport, running the outbox and the schedules; the HTTP layer (`parafe-http`)
//! answers above it. Zero setup: everything lives under the data directory and is created at
//! first start.
//!
//! Below the use cases (one module each: [`documents`], [`signature`], [`kiosque`],
//! [`controle`], [`participants`], [`reglages`], [`pipeline`]…) are the repository layer
//! ([`db`], every SQL query), the configuration ([`config`]), the workflows ([`workflow`]), the
//! accounts ([`auth`], [`roles`]), the outbox ([`outbox`]), the mail ([`delivery`]), the
//! schedules ([`schedule`]), the import ([`import`]), the justificatifs ([`justificatif`]) and
//! the audit pack ([`pack`]).

pub mod auth;
pub mod config;
pub mod db;
pub mod delivery;
pub mod import;
pub mod justificatif;
pub mod outbox;
pub mod pack;
pub mod roles;
pub mod schedule;
pub mod workflow;

pub mod a_faire;
pub mod chiffres;
pub mod controle;
pub mod documents;
pub mod kiosque;
pub mod migration;
pub mod operations;
pub mod participants;
pub mod pipeline;
pub mod plies;
pub mod questionnaire;
pub mod reglages;
pub mod secrets;
pub mod signature;
pub mod sortie;
pub mod suivi;
pub mod telephone;
pub mod trace;

use crate::config::Config;
use crate::db::Pool;
use crate::delivery::{Courrier, DeliveryError};
use crate::workflow::Workflow;
pub use parafe_core::horloge::Horloge;
use parafe_core::panne::Panne;
use parafe_seal::{KeyError, Keys, SealError, SealKey, Tsa};
use parafe_store::{StoreError, Vault};
use parafe_template::render::RenderError;
use parafe_template::template::{Catalogue, FieldError};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

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
        let cles = parafe_seal::keys::DevFiles::new(&data_dir);
        if config.seal.pkcs12.is_none() && config.instance().is_some() && !cles.seal_key.exists() {
            // Keys made here would seal for this instance only: every instance seals alike.
            return Err(fail(&format!(
                "plusieurs instances ([grappe]) scellent avec le même cachet : donnez-le par \
                 [seal] pkcs12 (le même fichier sur chaque instance), ou copiez le dossier {} \
                 d'une instance qui en a un",
                cles.dir.display()
            )));
        }
        if config.seal.pkcs12.is_none() {
            let init = parafe_seal::init(&data_dir).map_err(|e| fail(&e))?;
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
        let keys =
            Keys::load(&data_dir, &config.seal, &config.service.plie).map_err(|e| fail(&e))?;
        let tsa = Tsa::from_config(&data_dir, &config.seal, &keys).map_err(|e| fail(&e))?;
        let courrier = Courrier::from_config(&config.courriel, &data_dir)
            .map_err(|e| fail(&e))?
            .avec_horloge(horloge);
        let db = db::open(&config.base, &data_dir).await?;
        // After the migrations: in a cluster, the journal's lines live in that database.
        let vault = config.coffre().await.map_err(|e| fail(&e))?;
        // A broken chain is refused now, with its place, rather than at its next append.
        vault.journal().open_all().map_err(|e| fail(&e))?;
        // The anchor file lives there, even before the first entry.
        std::fs::create_dir_all(vault.journal().dir()).map_err(|e| fail(&e))?;
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

    /// The seal of `plie` ([`Keys::cachet`]): in development, issued in the PLIE's name the
    /// first time it is needed.
    pub async fn cachet(&self, plie: &str) -> Result<Arc<SealKey>, Erreur> {
        if let Some(cachet) = self.keys.existant(plie) {
            return Ok(cachet);
        }
        let nom = db::referentiel::nom_plie(&self.db, plie)
            .await?
            .unwrap_or_else(|| plie.to_owned());
        Ok(self.keys.cachet(plie, &nom)?)
    }

    pub fn workflow(&self, nom: &str) -> Option<&Workflow> {
        self.workflows.get(nom)
    }

    /// This instance's name: `[grappe] instance`, or [`db::grappe::SEULE`] alone. It holds the
    /// outbox's leases and the periodic jobs'.
    pub fn instance(&self) -> &str {
        self.config.instance().unwrap_or(db::grappe::SEULE)
    }

    /// Before the service runs (`parafe serve`), on PostgreSQL: registers this instance and
    /// keeps it beating, or refuses to start beside another that would share its work unknowingly
    /// ([`db::grappe::Inscription::prendre`]). On SQLite, one machine's file: nothing to do.
    pub async fn inscrire(&self) -> Result<(), StartError> {
        let Some(url) = self.config.base.url.clone() else {
            return Ok(());
        };
        let mut inscription = db::grappe::Inscription::prendre(
            &url,
            self.instance(),
            self.config.grappe.is_some(),
            self.horloge.maintenant(),
        )
        .await
        .map_err(|e| StartError::Config(e.to_string()))?;
        let horloge = self.horloge;
        tokio::spawn(async move {
            let mut battement = tokio::time::interval(db::grappe::BATTEMENT);
            battement.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                battement.tick().await;
                if let Err(e) = inscription.battre(horloge.maintenant()).await {
                    tracing::error!("instance « {} » : {e}", inscription.nom());
                }
            }
        });
        Ok(())
    }
}

/// Why a request about documents, participants or signatures cannot be done: a French
/// message naming what to fix. The HTTP layer turns each kind into its status; the kinds after
/// `TropDeDemandes` are failures of the service itself, whose typed cause goes to the server's
/// log while the person reads that an internal error was logged.
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
    /// The template's data (`donnees`) has errors, each with its field, in the template's order.
    #[error("{}", champs.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ; "))]
    Champs { champs: Vec<FieldError> },
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
    /// The template could not be composed with the document's data.
    #[error("composition : {0}")]
    Composition(#[from] RenderError),
    #[error("scellement : {0}")]
    Scellement(#[from] SealError),
    /// The PLIE's seal is missing or unreadable: sealing waits for its configuration.
    #[error("cachet : {0}")]
    Cachet(#[from] KeyError),
    /// The evidence store failed other than by a storage fault.
    #[error("coffre : {0}")]
    Coffre(#[source] StoreError),
    #[error("courriel : {0}")]
    Courriel(#[from] DeliveryError),
    /// The database failed other than by a storage fault.
    #[error("base de données : {0}")]
    Base(#[source] sqlx::Error),
    /// A file of parafe's own (a document version, a preview, a pack) could not be read or
    /// written, other than by a storage fault.
    #[error("{contexte} : {source}")]
    Fichier {
        contexte: String,
        #[source]
        source: std::io::Error,
    },
    /// The PLIE's catalogue of justificatifs cannot be read.
    #[error("catalogue des justificatifs : {0}")]
    Justificatifs(#[from] crate::justificatif::catalogue::CatalogueError),
    /// Data the service wrote itself (a document's `donnees`, a task's payload) is unreadable.
    #[error("données enregistrées illisibles : {0}")]
    Illisible(#[from] serde_json::Error),
    /// A blocking task (rendering, reading a PDF) panicked or was cancelled.
    #[error("tâche interrompue : {0}")]
    Interrompue(#[from] tokio::task::JoinError),
    /// A rule of the service itself was broken (a row just written is gone…).
    #[error("erreur interne : {0}")]
    Interne(String),
}

impl Erreur {
    pub fn invalide(champ: &str, message: impl Into<String>) -> Erreur {
        Erreur::Invalide {
            champ: champ.to_owned(),
            message: message.into(),
        }
    }

    /// A failed write of parafe's own files (document versions…): always a storage fault.
    pub fn ecriture(contexte: &str, e: &std::io::Error) -> Erreur {
        Erreur::Stockage {
            panne: Panne::de_io(e),
            detail: format!("{contexte} : {e}"),
        }
    }

    /// A failed read or write of one of parafe's own files, named by `contexte`.
    pub fn fichier(contexte: impl Into<String>) -> impl Fn(std::io::Error) -> Erreur {
        let contexte = contexte.into();
        move |source| Erreur::Fichier {
            contexte: contexte.clone(),
            source,
        }
    }

    /// True when trying again cannot help: the input or the document is wrong (invalid data,
    /// refused transition, document gone, template that does not compose, address refused by
    /// the SMTP server with a 5xx). False for what may pass (TSA, store, SMTP server or disk
    /// unavailable, or a fault of the service's own).
    pub fn permanente(&self) -> bool {
        match self {
            Erreur::Introuvable(_)
            | Erreur::Interdit(_)
            | Erreur::Invalide { .. }
            | Erreur::Champs { .. }
            | Erreur::Conflit(_)
            | Erreur::Illisible(_) => true,
            Erreur::Composition(e) => !matches!(e, RenderError::Pool(_)),
            Erreur::Scellement(e) => matches!(
                e,
                SealError::Pdf(_) | SealError::Cms(_) | SealError::Zone { .. }
            ),
            Erreur::Courriel(e) => e.permanente(),
            Erreur::Stockage { .. }
            | Erreur::TropDeDemandes(_)
            | Erreur::Coffre(_)
            | Erreur::Base(_)
            | Erreur::Fichier { .. }
            | Erreur::Justificatifs(_)
            | Erreur::Cachet(_)
            | Erreur::Interrompue(_)
            | Erreur::Interne(_) => false,
        }
    }
}

impl From<sqlx::Error> for Erreur {
    fn from(e: sqlx::Error) -> Erreur {
        match db::panne(&e) {
            Some(panne) => Erreur::Stockage {
                panne,
                detail: format!("base de données : {e}"),
            },
            None => Erreur::Base(e),
        }
    }
}

impl From<StoreError> for Erreur {
    fn from(e: StoreError) -> Erreur {
        match e.panne() {
            Some(panne) => Erreur::Stockage {
                panne,
                detail: format!("coffre : {e}"),
            },
            None => Erreur::Coffre(e),
        }
    }
}

impl From<parafe_template::template::TemplateError> for Erreur {
    fn from(e: parafe_template::template::TemplateError) -> Erreur {
        Erreur::Composition(RenderError::Template(e))
    }
}

impl From<parafe_core::document::TransitionInterdite> for Erreur {
    fn from(e: parafe_core::document::TransitionInterdite) -> Erreur {
        Erreur::Conflit(e.to_string())
    }
}
