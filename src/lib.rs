//! parafe : les documents des PLIE, de leur modèle à la preuve archivée.
//!
//! Les données traversent ces étapes, une par module :
//!
//! 1. [`template`] — catalogue des modèles Typst embarqués et validation des données
//!    déclarées par leur schéma ;
//! 2. [`render`] — compilation Typst en PDF/A-3b ;
//! 3. [`seal`] — scellement PAdES (B-T, puis B-LTA) par le certificat de cachet du PLIE,
//!    horodatage RFC 3161, et vérification indépendante ;
//! 4. [`journal`] — journal des preuves chaîné par empreintes, ancré par horodatage ;
//! 5. [`store`] — coffre de preuves sur S3 (Object Lock), adressé par SHA-256.
//!
//! Les workflows ([`workflow`], `workflows/*.toml`) disent qui signe quoi, dans quel ordre et
//! dans quels délais ; [`document`] fixe le cycle de vie d'un document.
//!
//! Le service ([`service`], `parafe serve`) enchaîne ces étapes : il garde ses données avec
//! [`db`], planifie les bilans ([`schedule`]), importe les participants ([`import`]), confie
//! scellement, dépôt et courriels à une boîte d'envoi durable ([`outbox`]), remet les documents
//! par SMTP ([`delivery`]). Au-dessus, la couche HTTP ([`http`]) monte par un seul routeur
//! l'API JSON ([`api`]) et les écrans ([`web`]), qui ne s'importent pas l'un l'autre.
//!
//! Les types échangés entre étapes sont dans [`model`] ; la configuration dans [`config`].

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod delivery;
pub mod http;
pub mod import;
pub mod justificatif;
pub mod outbox;
pub mod pack;
pub mod roles;
pub mod schedule;
pub mod service;
pub mod web;
pub mod workflow;

// The pipeline's crates, under the names the service has always used.
pub use parafe_core::{document, files, horloge, model, panne, tableur};
pub use parafe_journal as journal;
pub use parafe_seal as seal;
pub use parafe_store as store;
pub use parafe_template::{render, template};
