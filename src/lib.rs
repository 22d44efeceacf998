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
//! dans quels délais.
//!
//! Les types échangés entre étapes sont dans [`model`] ; la configuration dans [`config`].

pub mod cli;
pub mod config;
pub mod files;
pub mod journal;
pub mod model;
pub mod render;
pub mod seal;
pub mod store;
pub mod template;
pub mod workflow;
