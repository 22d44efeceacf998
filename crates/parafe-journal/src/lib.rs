//! The evidence journal: append-only, one hash chain per PLIE, anchored by timestamps.
//!
//! Each PLIE has its own chain so that several service instances never serialize on a single
//! head (NF Z42-013 asks for a chained journal, not a global one); [`anchor`] timestamps a Merkle
//! root over all heads together. The working copy lives under `<data-dir>/journal/`; closed
//! segments are filed in the store under the same write-once rules as the documents. With
//! several instances, that working copy is a replica of lines shared in the cluster's database
//! ([`partage`]).

pub mod anchor;
pub mod chain;
pub mod partage;
pub mod verify;

use chain::{Chain, ClosedSegment};
use parafe_core::horloge::Horloge;
use parafe_core::model::{JournalEntry, JournalEvent, PlieId, Sha256Digest};
use partage::Partage;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use anchor::{Anchor, ChainHead, Timestamper};

/// All the chains of one data directory.
pub struct Journal {
    dir: PathBuf,
    segment_entries: u64,
    horloge: Horloge,
    chains: Mutex<HashMap<PlieId, Arc<Chain>>>,
    partage: Option<Arc<dyn Partage>>,
}

impl Journal {
    /// `dir` is `<data-dir>/journal`; a segment is closed and filed every `segment_entries`.
    /// Entries are dated by the system clock unless [`Journal::with_clock`] says otherwise.
    pub fn new(dir: PathBuf, segment_entries: u64) -> Journal {
        Journal {
            dir,
            segment_entries,
            horloge: Horloge::systeme(),
            chains: Mutex::new(HashMap::new()),
            partage: None,
        }
    }

    /// The chains shared with other instances through `partage`.
    pub fn with_partage(self, partage: Arc<dyn Partage>) -> Journal {
        Journal {
            partage: Some(partage),
            ..self
        }
    }

    /// The lines shared with other instances, when there are several.
    pub fn partage(&self) -> Option<&dyn Partage> {
        self.partage.as_deref()
    }

    /// Entries dated by `horloge`, the clock of the rest of the process.
    pub fn with_clock(self, horloge: Horloge) -> Journal {
        Journal { horloge, ..self }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn horloge(&self) -> Horloge {
        self.horloge
    }

    pub fn chain_dir(&self, plie: &PlieId) -> PathBuf {
        self.dir.join(plie.as_str())
    }

    /// The PLIE's chain, opened (and checked) on first use. Blocking: it may wait for another
    /// process's append.
    pub fn chain(&self, plie: &PlieId) -> io::Result<Arc<Chain>> {
        let mut chains = self.chains.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(chain) = chains.get(plie) {
            return Ok(chain.clone());
        }
        let chain = Arc::new(Chain::open(
            plie.clone(),
            self.chain_dir(plie),
            self.segment_entries,
            self.horloge,
            self.partage.clone(),
        )?);
        chains.insert(plie.clone(), chain.clone());
        Ok(chain)
    }

    /// Opens every chain of the data directory: the first broken one is refused with its place.
    pub fn open_all(&self) -> io::Result<()> {
        for plie in self.plies()? {
            self.chain(&plie)?;
        }
        Ok(())
    }

    /// Appends events to the PLIE's chain, in order; returns once they are on disk, synced
    /// together. Blocking (file lock, fsync). A chain left in an unknown state by a failure
    /// is reopened from disk next time.
    pub fn append_all(
        &self,
        plie: &PlieId,
        events: Vec<(JournalEvent, Vec<Sha256Digest>)>,
    ) -> io::Result<(Vec<JournalEntry>, Vec<ClosedSegment>)> {
        let chain = self.chain(plie)?;
        let appended = chain.append_all(events);
        if appended.is_err() && !chain.usable() {
            self.forget(plie);
        }
        appended
    }

    /// Drops the PLIE's chain from memory: next use reopens it from disk.
    pub fn forget(&self, plie: &PlieId) {
        self.chains
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(plie);
    }

    /// The PLIE that have a chain in this data directory (or shared with it), sorted.
    pub fn plies(&self) -> io::Result<Vec<PlieId>> {
        let mut plies = match &self.partage {
            Some(p) => p.plies()?,
            None => Vec::new(),
        };
        match std::fs::read_dir(&self.dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry?;
                    if entry.file_type()?.is_dir() {
                        if let Ok(plie) = PlieId::new(&entry.file_name().to_string_lossy()) {
                            plies.push(plie);
                        }
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        plies.sort();
        plies.dedup();
        Ok(plies)
    }

    /// Brings the PLIE's files up to date with what other processes and instances appended,
    /// before reading them directly. Blocking.
    pub fn refresh(&self, plie: &PlieId) -> io::Result<()> {
        self.chain(plie)?.refresh()?;
        crate::anchor::catch_up(&self.dir, self.partage())
    }

    /// Every entry of a PLIE's chain, oldest first (parsed, not checked: see `store::verify`).
    pub fn entries(&self, plie: &PlieId) -> io::Result<Vec<JournalEntry>> {
        if self.partage.is_some() {
            self.chain(plie)?.refresh()?;
        }
        let dir = self.chain_dir(plie);
        let mut all = Vec::new();
        for number in chain::segment_numbers(&dir)? {
            all.extend(chain::read_segment(&chain::segment_path(&dir, number))?);
        }
        Ok(all)
    }

    /// Publishes the chains and anchors of one data directory's journal as they are (moving an
    /// installation to a cluster): the same lines in the same segments, so that every segment keeps
    /// its SHA-256 and every anchor its heads. Returns the entries and anchors published.
    pub fn publish_to(&self, partage: &dyn Partage) -> io::Result<(usize, usize)> {
        use chain::{complete_len, segment_numbers, segment_path};
        use partage::Ligne;
        #[derive(serde::Deserialize)]
        struct Numero {
            #[serde(alias = "number")]
            seq: u64,
        }
        let numero = |ligne: &[u8]| {
            serde_json::from_slice::<Numero>(ligne)
                .map(|n| n.seq)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        };
        let mut entrees = 0;
        for plie in self.plies()? {
            let dir = self.chain_dir(&plie);
            let mut lot = Vec::new();
            for segment in segment_numbers(&dir)? {
                let octets = std::fs::read(segment_path(&dir, segment))?;
                for ligne in octets[..complete_len(&octets)]
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                {
                    lot.push(Ligne {
                        seq: numero(ligne)?,
                        segment,
                        texte: String::from_utf8_lossy(ligne).into_owned(),
                    });
                    if lot.len() == 5_000 {
                        partage.publier(&plie, &lot)?;
                        entrees += lot.len();
                        lot.clear();
                    }
                }
            }
            if !lot.is_empty() {
                partage.publier(&plie, &lot)?;
                entrees += lot.len();
            }
        }
        let ancres = std::fs::read(anchor::anchors_path(self.dir())).or_else(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Ok(Vec::new())
            } else {
                Err(e)
            }
        })?;
        let mut publiees = 0;
        for ligne in ancres.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            partage.publier_ancre(numero(ligne)?, &String::from_utf8_lossy(ligne))?;
            publiees += 1;
        }
        Ok((entrees, publiees))
    }
}
