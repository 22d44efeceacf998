//! parafe : les documents des PLIE, de leur modèle à la preuve archivée.
//!
//! Ce crate est la ligne de commande (`parafe`, [`cli`]). Les étapes vivent chacune dans leur
//! crate, que ce crate réexporte sous les noms de toujours (les essais et le banc s'en servent) :
//!
//! 1. `parafe-core` — types partagés ([`model`]), horloge, pannes, cycle de vie d'un document ;
//! 2. `parafe-template` — modèles Typst embarqués ([`template`]) et composition PDF/A ([`render`]) ;
//! 3. `parafe-seal` — scellement PAdES et horodatage RFC 3161 ([`seal`]) ;
//! 4. `parafe-journal` — journal des preuves chaîné et son vérificateur ([`journal`]) ;
//! 5. `parafe-store` — coffre de preuves S3, coffre embarqué ([`store`]) ;
//! 6. `parafe-service` — la couche dépôt ([`db`]), les cas d'usage ([`service`]), la boîte
//!    d'envoi, les échéanciers, l'import, les justificatifs, le pack d'audit ;
//! 7. `parafe-http` — un routeur pour l'API JSON ([`api`]) et les écrans ([`web`]).

pub mod allocateur;
pub mod cli;

pub use parafe_core::{document, files, horloge, model, panne, tableur};
pub use parafe_http::{self as http, api, web};
pub use parafe_journal as journal;
pub use parafe_seal as seal;
pub use parafe_service::{
    self as service, auth, config, db, delivery, import, justificatif, outbox, pack, roles,
    schedule, workflow,
};
pub use parafe_store as store;
pub use parafe_template::{render, template};
