//! Storage faults, wherever they happen (database, evidence journal, store, document versions,
//! uploads being received): the disk is full, or a write or a sync failed. The person is told
//! so in French (HTTP 507 or 503) and nothing was acknowledged; the service retries by itself
//! once the storage is back.

use crate::model::PlieId;
use std::fmt;
use std::io;

/// What kind of storage fault, as far as the person and the HTTP status are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panne {
    /// No space left (SQLITE_FULL, ENOSPC, quota): 507.
    Plein,
    /// A write or a sync failed, the database is locked or unreadable: 503.
    Indisponible,
    /// The PLIE's journal is broken: the service refuses to extend it until an operator
    /// records the break (`parafe store constater-rupture`): 503.
    JournalRompu,
}

impl Panne {
    /// The fault behind an I/O error of parafe's own storage (every such error is one).
    pub fn de_io(e: &io::Error) -> Panne {
        use io::ErrorKind::*;
        if e.get_ref().is_some_and(|inner| inner.is::<Rupture>()) {
            return Panne::JournalRompu;
        }
        match e.kind() {
            StorageFull | QuotaExceeded | FileTooLarge => Panne::Plein,
            _ => Panne::Indisponible,
        }
    }

    /// HTTP status: 507 Insufficient Storage or 503 Service Unavailable.
    pub fn statut(self) -> u16 {
        match self {
            Panne::Plein => 507,
            Panne::Indisponible | Panne::JournalRompu => 503,
        }
    }
}

impl fmt::Display for Panne {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Panne::Plein => {
                "plus de place sur le disque du service : rien n'a été enregistré. Réessayez \
                 quand l'exploitant aura libéré de la place"
            }
            Panne::Indisponible => {
                "stockage du service momentanément indisponible : rien n'a été enregistré. \
                 Réessayez dans quelques minutes ; si cela dure, prévenez l'exploitant"
            }
            Panne::JournalRompu => {
                "le journal des preuves de ce PLIE est rompu et le service refuse de le \
                 prolonger : rien n'a été enregistré. L'exploitant doit constater la rupture \
                 (parafe store constater-rupture) avant toute nouvelle écriture"
            }
        })
    }
}

/// A chain found broken on disk: where, and what. parafe refuses to extend it until an operator
/// records the break (`parafe store constater-rupture`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rupture {
    pub plie: PlieId,
    pub segment: u64,
    /// Line of the segment file, from 1.
    pub line: u64,
    /// The entry's number, when the line could be read.
    pub seq: Option<u64>,
    pub problem: String,
}

impl fmt::Display for Rupture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "journal du PLIE « {} » rompu au segment {:06}, ligne {}",
            self.plie, self.segment, self.line
        )?;
        if let Some(seq) = self.seq {
            write!(f, " (entrée n° {seq})")?;
        }
        write!(
            f,
            " : {}. parafe refuse de prolonger ce journal : arrêtez tout processus qui l'écrit, \
             puis constatez la rupture (parafe store constater-rupture --plie {} --motif « ce qui \
             s'est passé » ; voir le README, « Journal rompu »)",
            self.problem, self.plie
        )
    }
}

impl std::error::Error for Rupture {}

impl Rupture {
    /// The broken chain as an I/O error (kind `InvalidData`, this `Rupture` inside).
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }

    /// The `Rupture` inside an I/O error, if that is what it is.
    pub fn of(e: &io::Error) -> Option<&Rupture> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<Rupture>())
    }
}
