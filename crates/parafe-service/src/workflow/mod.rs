//! Workflows are data: one `workflows/<nom>.toml` per workflow says which template is filled,
//! who signs it, how and in which order, the deadlines and reminders, and who receives the
//! sealed result. This module reads and checks them; a bad file names its line.

mod definition;
mod echeancier;

pub use definition::{load, Duree, Methode, Ordre, Role, Signataire, Workflow, WorkflowError};
pub use echeancier::{bilans_brsa, Bilan, Echeance, EtatBilan};
