//! The journal shared by several instances (`[grappe]`).
//!
//! Each instance keeps the same segment files as a single one, but as a replica: the lines
//! live first in a shared store (the cluster's database), where `(PLIE, seq)` is unique. An
//! append reads what other instances published, writes its entries after them, publishes its
//! lines, and only then answers: two instances can never both write entry `n` of one chain
//! (the second is refused, takes its lines back, catches up and writes again), so each PLIE
//! keeps one chain whatever the number of instances, and an entry acknowledged is never only
//! on one instance's disk. A replica that does not match the shared lines (an instance killed
//! between writing and publishing) is rebuilt from them.

use parafe_core::model::PlieId;
use std::io;

/// One line of a chain as published: its entry number, its segment and its exact bytes (the
/// JSON of the entry, without the newline), so that every replica hashes the same segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ligne {
    pub seq: u64,
    pub segment: u64,
    pub texte: String,
}

/// Where the instances' journals meet. Blocking calls: the journal runs on blocking threads.
pub trait Partage: Send + Sync {
    /// The lines of `plie` after entry `seq`, in order.
    fn lignes_apres(&self, plie: &PlieId, seq: u64) -> io::Result<Vec<Ligne>>;
    /// Publishes lines at once; `ErrorKind::AlreadyExists` when another instance published
    /// one of these entry numbers first (nothing of these lines is then kept).
    fn publier(&self, plie: &PlieId, lignes: &[Ligne]) -> io::Result<()>;
    /// The PLIE that have a chain.
    fn plies(&self) -> io::Result<Vec<PlieId>>;
    /// The anchors after number `numero`, in order, as their JSON lines.
    fn ancres_apres(&self, numero: u64) -> io::Result<Vec<String>>;
    /// Publishes anchor `numero`; `ErrorKind::AlreadyExists` when another instance did first.
    fn publier_ancre(&self, numero: u64, ligne: &str) -> io::Result<()>;
}

/// The refusal of a publication that came second.
pub fn deja_publie(quoi: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{quoi} déjà publié par une autre instance"),
    )
}
