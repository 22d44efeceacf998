//! What every part of parafe shares: the types exchanged between the pipeline's stages
//! ([`model`]), the clock ([`horloge`]), private files ([`files`]), storage faults ([`panne`]),
//! the lifecycle of a document ([`document`]) and spreadsheet-safe CSV ([`tableur`]).
//! It depends on no other crate of parafe.

pub mod document;
pub mod files;
pub mod horloge;
pub mod model;
pub mod panne;
pub mod tableur;
