//! Justificatifs: the pieces that come from outside (payslip, work contract, Kbis, diploma,
//! e-mail saved as .eml, photo of the FSE poster…), typed against the PLIE's catalogue, checked
//! at the door, filed in the evidence store, and the checklist of what each participant and the
//! opération should have.
//!
//! [`catalogue`] reads the configuration, [`controle`] receives and recognises the bytes under
//! the name [`nom`] keeps, [`depot`] files an accepted piece, [`etat`] says what is present,
//! missing or late.

pub mod catalogue;
pub mod controle;
pub mod depot;
pub mod etat;
pub mod nom;

pub use catalogue::Catalogue;
pub use controle::{recevoir, Format, Reception, Recu, Refus};
pub use depot::{deposer, Demande, Depot, DepotError};
pub use etat::{charger, evaluer, Dossier, Etat, Filtre, Ligne, Periode, Piece};
pub use nom::nom_de_fichier;
