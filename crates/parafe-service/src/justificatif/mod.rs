//! Justificatifs: the pieces that come from outside (payslip, work contract, Kbis, diploma,
//! e-mail saved as .eml, photo of the FSE poster…), typed against the PLIE's catalogue, checked
//! at the door, filed in the evidence store, and the checklist of what each participant and the
//! opération should have.
//!
//! [`catalogue`] reads the configuration, [`examen`] receives and examines the bytes under
//! the name [`nom`] keeps, [`depot`] files an accepted piece, [`etat`] says what is present,
//! missing or late.

pub mod catalogue;
pub mod depot;
pub mod etat;
pub mod examen;
pub mod nom;

pub use catalogue::Catalogue;
pub use depot::{deposer, DemandeDepot, DepotError, JustificatifDepose};
pub use etat::{charger, evaluer, Dossier, EtatExigence, Filtre, Ligne, Periode, Piece};
pub use examen::{recevoir, Format, Reception, Recu, Refus};
pub use nom::nom_de_fichier;
