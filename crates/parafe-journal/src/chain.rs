//! One PLIE's hash chain: numbered segment files of JSON lines, appended with fsync.
//!
//! `<journal>/<plie>/000001.jsonl`, `000002.jsonl`… The highest number is the open segment; the
//! others are closed and filed in the store. Each segment after the first opens with a
//! `segment_archived` entry naming the SHA-256 of the closed one (after a break, with the
//! `chain_break_recorded` entry that closed the broken one as it was), so replacing a closed
//! segment breaks both the chain and that reference.
//!
//! One writer at a time, whatever the process (service, command line, benchmark): an append
//! holds an exclusive `flock` on `<journal>/<plie>/.verrou` from its first write to its fsync,
//! and first reads what other processes appended meanwhile, so that the head is always the one
//! on disk. Appends of one process that overlap share the lock and one fsync (group commit).
//! An append that fails (disk full, failed sync) takes its lines back: the files and the head
//! kept in memory agree, and no entry stays whose writer was told it failed.
//!
//! With several instances ([`crate::partage`]), the files are a replica of the shared lines:
//! an append also publishes its lines before it answers, and takes them back when another
//! instance published first.

use crate::partage::{Ligne, Partage};
use parafe_core::horloge::Horloge;
use parafe_core::model::{JournalEntry, JournalEvent, PlieId, Sha256Digest};
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The genesis `prev` of every chain.
pub const GENESIS: Sha256Digest = Sha256Digest([0; 32]);

/// The hashed part of an entry, field order fixed by this struct.
#[derive(Serialize)]
struct EntryBody<'a> {
    seq: u64,
    at: &'a chrono::DateTime<chrono::Utc>,
    event: &'a JournalEvent,
    objects: &'a [Sha256Digest],
    prev: &'a Sha256Digest,
}

/// SHA-256 of the entry's JSON without its `hash` field.
pub fn entry_hash(e: &JournalEntry) -> Sha256Digest {
    let body = EntryBody {
        seq: e.seq,
        at: &e.at,
        event: &e.event,
        objects: &e.objects,
        prev: &e.prev,
    };
    // Serializing plain structs, strings and dates cannot fail.
    Sha256Digest::of(&serde_json::to_vec(&body).unwrap_or_default())
}

/// What is wrong with `entry` as the successor of the entry `expected - 1` whose hash is
/// `prev`; `None` when it is a sound link.
pub fn link_problem(entry: &JournalEntry, expected: u64, prev: &Sha256Digest) -> Option<String> {
    if entry_hash(entry) != entry.hash {
        Some("entrée modifiée : son empreinte recalculée diffère de celle enregistrée".into())
    } else if entry.seq > expected {
        let missing = if entry.seq == expected + 1 {
            format!("l'entrée n° {expected} manque")
        } else {
            format!("les entrées n° {expected} à {} manquent", entry.seq - 1)
        };
        Some(format!("{missing} (supprimée ?)"))
    } else if entry.seq < expected {
        Some(format!(
            "entrée n° {} hors de sa place, attendue : n° {expected} (entrées permutées ?)",
            entry.seq
        ))
    } else if entry.prev != *prev {
        Some("chaînage rompu : l'entrée ne désigne pas la précédente".into())
    } else {
        None
    }
}

/// Whether `entry`, first of segment `segment`, records the break of the segment before: the
/// chain starts again from it.
pub fn records_break_of_previous(entry: &JournalEntry, segment: u64) -> bool {
    matches!(entry.event, JournalEvent::ChainBreakRecorded { segment: s, .. } if s + 1 == segment)
}

/// The entry opening segment `number + 1` when it records the break of segment `number`
/// (only that first line is read).
pub fn break_record(dir: &Path, number: u64) -> Option<JournalEntry> {
    use std::io::BufRead;
    let file = File::open(segment_path(dir, number + 1)).ok()?;
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first).ok()?;
    serde_json::from_str::<JournalEntry>(&first)
        .ok()
        .filter(|e| records_break_of_previous(e, number + 1))
}

pub use parafe_core::panne::Rupture;

/// A segment closed by an append: the caller files its bytes in the store.
#[derive(Debug, Clone)]
pub struct ClosedSegment {
    pub plie: PlieId,
    pub number: u64,
    pub path: PathBuf,
    pub sha256: Sha256Digest,
}

/// Where the chain ends: the open segment, its length, and the last entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tip {
    segment: u64,
    /// Bytes of the open segment, all complete lines.
    len: u64,
    in_segment: u64,
    first_seq: u64,
    seq: u64,
    hash: Sha256Digest,
}

struct State {
    /// The open segment, in append mode.
    file: Arc<File>,
    tip: Tip,
    /// The tip as last synced: what a failed sync brings the files back to.
    durable: Tip,
    /// Bumped when unsynced lines are taken back: the appends that wrote them fail.
    epoch: u64,
    /// Appends of this process that hold the file lock (from their write to their sync).
    holders: usize,
    /// Entries other processes appended, read when taking the lock, for the store's index.
    foreign: Vec<JournalEntry>,
    /// Lines written by the append under way and not yet published (several instances only).
    unpublished: Vec<Ligne>,
    /// Set when the chain must not be extended (broken on disk, or files in an unknown state
    /// after a failed write): every append fails until it is reopened.
    broken: Option<Broken>,
}

#[derive(Debug, Clone)]
enum Broken {
    Rupture(Rupture),
    Io(String),
}

impl Broken {
    fn error(&self) -> io::Error {
        match self {
            Broken::Rupture(r) => r.clone().into_io(),
            Broken::Io(m) => io::Error::other(m.clone()),
        }
    }
}

/// Why an append failed: a write (its own lines are taken back) or a sync (every unsynced line
/// is, since the kernel reports a failed writeback only once).
enum Failure {
    Write(io::Error),
    Sync(io::Error),
}

pub struct Chain {
    plie: PlieId,
    dir: PathBuf,
    segment_entries: u64,
    horloge: Horloge,
    /// `<dir>/.verrou`, locked (`flock`) by whichever process appends.
    lock: File,
    state: Mutex<State>,
    /// Held while syncing, so that one fsync covers every append written meanwhile.
    syncing: Mutex<()>,
    /// The lines shared with the other instances, when there are several.
    partage: Option<Arc<dyn Partage>>,
    /// With several instances, one append of this process at a time: each publishes its lines
    /// before the next one writes after them.
    publishing: Mutex<()>,
}

pub fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.jsonl"))
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join(".verrou")
}

/// The segment numbers present in `dir`, ascending.
pub fn segment_numbers(dir: &Path) -> io::Result<Vec<u64>> {
    let mut numbers = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let name = entry?.file_name();
                let name = name.to_string_lossy();
                if let Some(n) = name
                    .strip_suffix(".jsonl")
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    numbers.push(n);
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    numbers.sort_unstable();
    Ok(numbers)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Bytes up to the last newline: a line without its newline was never acknowledged.
pub fn complete_len(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

/// Follows the complete lines of `bytes` (the rest of segment `tip.segment`), checking each
/// link from `tip` and moving it on; returns the entries read.
fn follow(plie: &PlieId, tip: &mut Tip, bytes: &[u8]) -> io::Result<Vec<JournalEntry>> {
    let mut entries = Vec::new();
    for line in bytes[..complete_len(bytes)]
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
    {
        let rupture = |seq, problem| Rupture {
            plie: plie.clone(),
            segment: tip.segment,
            line: tip.in_segment + 1,
            seq,
            problem,
        };
        let entry: JournalEntry = serde_json::from_slice(line)
            .map_err(|e| rupture(None, format!("entrée illisible : {e}")).into_io())?;
        let problem = if tip.in_segment == 0 && records_break_of_previous(&entry, tip.segment) {
            (entry_hash(&entry) != entry.hash)
                .then(|| "entrée modifiée : son empreinte recalculée diffère".to_owned())
        } else {
            link_problem(&entry, tip.seq + 1, &tip.hash)
        };
        if let Some(problem) = problem {
            return Err(rupture(Some(entry.seq), problem).into_io());
        }
        if tip.in_segment == 0 {
            tip.first_seq = entry.seq;
        }
        tip.in_segment += 1;
        tip.len += line.len() as u64 + 1;
        tip.seq = entry.seq;
        tip.hash = entry.hash;
        entries.push(entry);
    }
    Ok(entries)
}

/// The last complete line of a segment.
fn last_line(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let bytes = std::fs::read(path)?;
    let complete = &bytes[..complete_len(&bytes)];
    Ok(complete
        .split(|&b| b == b'\n')
        .rfind(|l| !l.is_empty())
        .map(<[u8]>::to_vec))
}

/// The last entry of a closed segment, when its last line reads.
fn last_entry(path: &Path) -> io::Result<Option<JournalEntry>> {
    Ok(last_line(path)?.and_then(|l| serde_json::from_slice(&l).ok()))
}

/// Opens the replica of a shared chain: the local files when their last entry is the shared
/// one of the same number (they are then a prefix of the shared chain), otherwise rebuilt from
/// the shared lines (an instance killed between writing and publishing, or a replica lost).
fn open_replica(plie: &PlieId, dir: &Path, partage: &dyn Partage) -> io::Result<(File, Tip)> {
    if let Ok((file, tip)) = open_tip(plie, dir) {
        let mine = match tip.seq {
            0 => None,
            _ => last_line(&segment_path(dir, tip.segment))?,
        };
        let shared = match tip.seq {
            0 => None,
            seq => partage.lignes_apres(plie, seq - 1)?.into_iter().next(),
        };
        let same = match (&mine, &shared) {
            (None, None) => true,
            (Some(m), Some(s)) => s.seq == tip.seq && s.texte.as_bytes() == m.as_slice(),
            _ => false,
        };
        if same {
            return Ok((file, tip));
        }
    }
    // Set aside, never deleted: lines that were never published were never acknowledged, but a
    // data directory wrongly joined to a cluster keeps its journal this way.
    let aside = dir.join(format!(
        "ecarte-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ")
    ));
    std::fs::create_dir_all(&aside)?;
    for number in segment_numbers(dir)? {
        let name = format!("{number:06}.jsonl");
        std::fs::rename(segment_path(dir, number), aside.join(name))?;
    }
    sync_dir(&aside)?;
    sync_dir(dir)?;
    tracing::warn!(
        "journal du PLIE « {plie} » : la réplique locale ne suit pas les lignes partagées ; \
         mise de côté dans {} et reconstruite depuis la base",
        aside.display()
    );
    open_tip(plie, dir)
}

/// Opens the chain's open segment and checks it, link by link from the end of the one before.
/// An empty last segment (a crash between its creation and its first entry) is removed, and
/// a last line without its newline (a crash before its sync) is cut off.
fn open_tip(plie: &PlieId, dir: &Path) -> io::Result<(File, Tip)> {
    let mut numbers = segment_numbers(dir)?;
    while numbers.len() > 1 {
        let last = segment_path(dir, numbers[numbers.len() - 1]);
        if std::fs::metadata(&last)?.len() > 0 {
            break;
        }
        std::fs::remove_file(&last)?;
        sync_dir(dir)?;
        numbers.pop();
    }
    let segment = numbers.last().copied().unwrap_or(1);
    let mut tip = Tip {
        segment,
        len: 0,
        in_segment: 0,
        first_seq: 1,
        seq: 0,
        hash: GENESIS,
    };
    if segment > 1 {
        if let Some(last) = last_entry(&segment_path(dir, segment - 1))? {
            tip.seq = last.seq;
            tip.hash = last.hash;
            tip.first_seq = last.seq + 1;
        }
    }
    let path = segment_path(dir, segment);
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(&path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    follow(plie, &mut tip, &bytes)?;
    if tip.len < bytes.len() as u64 {
        tracing::warn!(segment = %path.display(), "dernière ligne incomplète du journal retirée");
        file.set_len(tip.len)?;
        file.seek(io::SeekFrom::End(0))?;
        file.sync_all()?;
    } else if bytes.is_empty() {
        sync_dir(dir)?;
    }
    Ok((file, tip))
}

impl Chain {
    /// Opens the chain, creating its directory and first segment if needed, and checks its open
    /// segment: a broken chain is refused here, with its place ([`Rupture`]).
    pub fn open(
        plie: PlieId,
        dir: PathBuf,
        segment_entries: u64,
        horloge: Horloge,
        partage: Option<Arc<dyn Partage>>,
    ) -> io::Result<Chain> {
        std::fs::create_dir_all(&dir)?;
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock_path(&dir))?;
        lock.lock()?;
        let opened = match &partage {
            Some(p) => open_replica(&plie, &dir, p.as_ref()),
            None => open_tip(&plie, &dir),
        };
        lock.unlock()?;
        let (file, tip) = opened?;
        let chain = Chain {
            plie,
            dir,
            segment_entries: segment_entries.max(2),
            horloge,
            lock,
            state: Mutex::new(State {
                file: Arc::new(file),
                tip,
                durable: tip,
                epoch: 0,
                holders: 0,
                foreign: Vec::new(),
                unpublished: Vec::new(),
                broken: None,
            }),
            syncing: Mutex::new(()),
            partage,
            publishing: Mutex::new(()),
        };
        chain.refresh()?;
        // Opening is not news: what was read belongs to the caller's first load.
        chain.take_foreign();
        Ok(chain)
    }

    pub fn plie(&self) -> &PlieId {
        &self.plie
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// False once the chain must be reopened from disk (see [`State::broken`]).
    pub fn usable(&self) -> bool {
        self.state().broken.is_none()
    }

    /// `(seq, hash)` of the last entry on disk that this process knows of.
    pub fn head(&self) -> (u64, Sha256Digest) {
        let st = self.state();
        (st.durable.seq, st.durable.hash)
    }

    /// Reads what other processes appended since this one last looked; their entries wait in
    /// [`Chain::take_foreign`].
    pub fn refresh(&self) -> io::Result<()> {
        let mut st = self.state();
        // While this process holds the lock, nobody else appended (on this disk; other
        // instances publish in the shared store, asked each time).
        if st.holders > 0 || (self.partage.is_none() && !self.changed_on_disk(&st)?) {
            return Ok(());
        }
        self.enter(&mut st)?;
        self.leave(&mut st);
        Ok(())
    }

    /// Entries other processes appended, read since the last call.
    pub fn take_foreign(&self) -> Vec<JournalEntry> {
        std::mem::take(&mut self.state().foreign)
    }

    fn changed_on_disk(&self, st: &State) -> io::Result<bool> {
        Ok(st.file.metadata()?.len() != st.tip.len
            || segment_path(&self.dir, st.tip.segment + 1).exists())
    }

    /// Takes the file lock for this process (the first of its appenders does), after reading
    /// what others appended meanwhile.
    fn enter(&self, st: &mut State) -> io::Result<()> {
        if let Some(broken) = &st.broken {
            return Err(broken.error());
        }
        if st.holders == 0 {
            self.lock.lock()?;
            if let Err(e) = self.catch_up(st) {
                let _ = self.lock.unlock();
                return Err(e);
            }
        }
        st.holders += 1;
        Ok(())
    }

    /// The last appender of this process gives the file lock back.
    fn leave(&self, st: &mut State) {
        st.holders = st.holders.saturating_sub(1);
        if st.holders == 0 {
            if let Err(e) = self.lock.unlock() {
                tracing::error!("journal du PLIE « {} » : verrou non rendu : {e}", self.plie);
            }
        }
    }

    /// Follows the entries appended by other processes since `st.tip` (under the file lock),
    /// then those the other instances published.
    fn catch_up(&self, st: &mut State) -> io::Result<()> {
        if self.changed_on_disk(st)? {
            self.catch_up_on_disk(st)?;
        }
        match &self.partage {
            Some(partage) => {
                let lignes = partage.lignes_apres(&self.plie, st.tip.seq)?;
                self.replay(st, lignes)
            }
            None => Ok(()),
        }
    }

    /// Writes the lines other instances published into the replica, checking each link.
    fn replay(&self, st: &mut State, lignes: Vec<Ligne>) -> io::Result<()> {
        let mut rest = lignes.as_slice();
        while let Some(first) = rest.first() {
            let n = rest
                .iter()
                .take_while(|l| l.segment == first.segment)
                .count();
            let (group, after) = rest.split_at(n);
            rest = after;
            let replayed = self.replay_segment(st, group);
            if let Err(e) = replayed {
                st.broken = Some(match Rupture::of(&e) {
                    Some(r) => Broken::Rupture(r.clone()),
                    None => Broken::Io(format!(
                        "journal du PLIE « {} » : réplique locale inachevée ({e}) ; elle sera relue",
                        self.plie
                    )),
                });
                return Err(e);
            }
        }
        Ok(())
    }

    fn replay_segment(&self, st: &mut State, group: &[Ligne]) -> io::Result<()> {
        let segment = group[0].segment;
        if segment != st.tip.segment {
            if segment != st.tip.segment + 1 {
                return Err(invalid(format!(
                    "journal partagé du PLIE « {} » : segment {segment} après le segment {}",
                    self.plie, st.tip.segment
                )));
            }
            let path = segment_path(&self.dir, segment);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            st.file = Arc::new(
                OpenOptions::new()
                    .read(true)
                    .append(true)
                    .create_new(true)
                    .open(&path)?,
            );
            st.tip = Tip {
                segment,
                len: 0,
                in_segment: 0,
                first_seq: st.tip.seq + 1,
                ..st.tip
            };
        }
        let mut bytes = Vec::new();
        for ligne in group {
            bytes.extend_from_slice(ligne.texte.as_bytes());
            bytes.push(b'\n');
        }
        (&*st.file).write_all(&bytes)?;
        let entries = follow(&self.plie, &mut st.tip, &bytes)?;
        st.durable = st.tip;
        st.foreign.extend(entries);
        Ok(())
    }

    fn catch_up_on_disk(&self, st: &mut State) -> io::Result<()> {
        let mut tip = st.tip;
        let mut foreign = Vec::new();
        let mut file = st.file.clone();
        loop {
            let path = segment_path(&self.dir, tip.segment);
            let mut reader = File::open(&path)?;
            reader.seek(io::SeekFrom::Start(tip.len))?;
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes)?;
            let read = follow(&self.plie, &mut tip, &bytes);
            let entries = match read {
                Ok(entries) => entries,
                Err(e) => {
                    if let Some(r) = Rupture::of(&e) {
                        st.broken = Some(Broken::Rupture(r.clone()));
                    }
                    return Err(e);
                }
            };
            foreign.extend(entries);
            let next = segment_path(&self.dir, tip.segment + 1);
            let unfinished = complete_len(&bytes) < bytes.len();
            if !next.exists() {
                if unfinished {
                    // A process died in the middle of a line, before its sync.
                    file.set_len(tip.len)?;
                }
                break;
            }
            if std::fs::metadata(&next)?.len() == 0
                && !segment_path(&self.dir, tip.segment + 2).exists()
            {
                // Created by a process that died before writing its first entry.
                std::fs::remove_file(&next)?;
                sync_dir(&self.dir)?;
                break;
            }
            file = Arc::new(OpenOptions::new().read(true).append(true).open(&next)?);
            tip = Tip {
                segment: tip.segment + 1,
                len: 0,
                in_segment: 0,
                first_seq: tip.seq + 1,
                ..tip
            };
        }
        st.file = file;
        st.tip = tip;
        st.durable = tip;
        st.foreign.extend(foreign);
        Ok(())
    }

    /// Appends several entries in order and returns them once they are all on disk: one sync
    /// for the lot (the outbox journals the transitions of many documents at once). Also returns
    /// the segments these appends closed, for the caller to file.
    pub fn append_all(
        &self,
        events: Vec<(JournalEvent, Vec<Sha256Digest>)>,
    ) -> io::Result<(Vec<JournalEntry>, Vec<ClosedSegment>)> {
        if let Some(partage) = &self.partage {
            return self.publish(partage.as_ref(), |chain, st| {
                chain.write_events(st, events.clone())
            });
        }
        let (entries, closed, epoch) = {
            let mut st = self.state();
            self.enter(&mut st)?;
            let start = st.tip;
            let (entries, closed) = match self.write_events(&mut st, events) {
                Ok(written) => written,
                Err(failure) => {
                    let e = self.take_back(&mut st, start, failure);
                    self.leave(&mut st);
                    return Err(e);
                }
            };
            (entries, closed, st.epoch)
        };
        let synced = match entries.last() {
            Some(last) => self.sync_to(last.seq, epoch),
            None => Ok(()),
        };
        self.leave(&mut self.state());
        synced.map(|()| (entries, closed))
    }

    /// Writes the events in order, closing each segment that fills up.
    fn write_events(
        &self,
        st: &mut State,
        events: Vec<(JournalEvent, Vec<Sha256Digest>)>,
    ) -> Result<(Vec<JournalEntry>, Vec<ClosedSegment>), Failure> {
        let mut entries = Vec::with_capacity(events.len());
        let mut closed = Vec::new();
        for (event, objects) in events {
            entries.push(self.write_entry(st, event, objects)?);
            if st.tip.in_segment >= self.segment_entries {
                closed.push(self.rotate(st)?);
            }
        }
        Ok((entries, closed))
    }

    /// With several instances: writes after what the others published, publishes, and answers
    /// once the lines are shared. Refused because another instance published first, the lines
    /// are taken back and written again after its own.
    fn publish<R>(
        &self,
        partage: &dyn Partage,
        mut write: impl FnMut(&Self, &mut State) -> Result<R, Failure>,
    ) -> io::Result<R> {
        let _one = self.publishing.lock().unwrap_or_else(|p| p.into_inner());
        let mut attempts = 0;
        loop {
            let mut st = self.state();
            self.enter(&mut st)?;
            let start = st.tip;
            st.unpublished.clear();
            let written = write(self, &mut st);
            let lignes = std::mem::take(&mut st.unpublished);
            let published = match written {
                Ok(r) if lignes.is_empty() => Ok(r),
                Ok(r) => partage.publier(&self.plie, &lignes).map(|()| r),
                Err(failure) => {
                    let e = self.take_back(&mut st, start, failure);
                    self.leave(&mut st);
                    return Err(e);
                }
            };
            match published {
                Ok(r) => {
                    st.durable = st.tip;
                    self.leave(&mut st);
                    return Ok(r);
                }
                Err(e) => {
                    let again = e.kind() == io::ErrorKind::AlreadyExists && attempts < 100;
                    let e = self.take_back(&mut st, start, Failure::Write(e));
                    self.leave(&mut st);
                    if !again {
                        return Err(e);
                    }
                    attempts += 1;
                }
            }
        }
    }

    /// Closes the open segment now (before an anchor), if it holds anything besides its opening
    /// entry; returns it (to be filed) and the head then.
    pub fn close_segment(&self) -> io::Result<(Option<ClosedSegment>, (u64, Sha256Digest))> {
        if let Some(partage) = &self.partage {
            return self.publish(partage.as_ref(), |chain, st| {
                let only_opening = st.tip.segment > 1 && st.tip.in_segment == 1;
                let closed = if st.tip.in_segment == 0 || only_opening {
                    None
                } else {
                    Some(chain.rotate(st)?)
                };
                Ok((closed, (st.tip.seq, st.tip.hash)))
            });
        }
        let (closed, seq, epoch) = {
            let mut st = self.state();
            self.enter(&mut st)?;
            let only_opening = st.tip.segment > 1 && st.tip.in_segment == 1;
            if st.tip.in_segment == 0 || only_opening {
                let head = (st.tip.seq, st.tip.hash);
                self.leave(&mut st);
                return Ok((None, head));
            }
            let start = st.tip;
            match self.rotate(&mut st) {
                Ok(closed) => (closed, st.tip.seq, st.epoch),
                Err(failure) => {
                    let e = self.take_back(&mut st, start, failure);
                    self.leave(&mut st);
                    return Err(e);
                }
            }
        };
        let synced = self.sync_to(seq, epoch);
        let mut st = self.state();
        let head = (st.durable.seq, st.durable.hash);
        self.leave(&mut st);
        synced.map(|()| (Some(closed), head))
    }

    /// After a failed write, takes this append's lines back; after a failed sync, every line
    /// not known to be on disk.
    fn take_back(&self, st: &mut State, start: Tip, failure: Failure) -> io::Error {
        let (target, e) = match failure {
            Failure::Write(e) => (start, e),
            Failure::Sync(e) => {
                st.epoch += 1;
                (st.durable, e)
            }
        };
        self.restore(st, target);
        e
    }

    /// Brings the files back to `target`: later segments removed, the open one cut to its
    /// length. If that fails too, the chain is marked for reopening from disk.
    fn restore(&self, st: &mut State, target: Tip) {
        let restored = (|| -> io::Result<Arc<File>> {
            for n in (target.segment + 1..=st.tip.segment).rev() {
                match std::fs::remove_file(segment_path(&self.dir, n)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            let file = if st.tip.segment == target.segment {
                st.file.clone()
            } else {
                Arc::new(
                    OpenOptions::new()
                        .read(true)
                        .append(true)
                        .open(segment_path(&self.dir, target.segment))?,
                )
            };
            file.set_len(target.len)?;
            file.sync_all()?;
            if st.tip.segment != target.segment {
                sync_dir(&self.dir)?;
            }
            Ok(file)
        })();
        match restored {
            Ok(file) => {
                st.file = file;
                st.tip = target;
                if st.durable.seq > target.seq {
                    st.durable = target;
                }
            }
            Err(e) => {
                st.broken = Some(Broken::Io(format!(
                    "journal du PLIE « {} » : les lignes d'une écriture échouée n'ont pu être retirées ({e}) ; il sera relu depuis le disque",
                    self.plie
                )));
            }
        }
    }

    /// Seals the open segment, starts the next one with its `segment_archived` entry.
    fn rotate(&self, st: &mut State) -> Result<ClosedSegment, Failure> {
        st.file.sync_all().map_err(Failure::Sync)?;
        st.durable = st.tip;
        let path = segment_path(&self.dir, st.tip.segment);
        let sha256 = hash_file(&path).map_err(Failure::Write)?;
        let closed = ClosedSegment {
            plie: self.plie.clone(),
            number: st.tip.segment,
            path,
            sha256,
        };
        let (first_seq, last_seq) = (st.tip.first_seq, st.tip.seq);
        let next = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(segment_path(&self.dir, st.tip.segment + 1))
            .map_err(Failure::Write)?;
        st.file = Arc::new(next);
        st.tip = Tip {
            segment: st.tip.segment + 1,
            len: 0,
            in_segment: 0,
            first_seq: st.tip.seq + 1,
            ..st.tip
        };
        sync_dir(&self.dir).map_err(Failure::Sync)?;
        let event = JournalEvent::SegmentArchived {
            segment: closed.number,
            first_seq,
            last_seq,
        };
        self.write_entry(st, event, vec![sha256])?;
        Ok(closed)
    }

    fn write_entry(
        &self,
        st: &mut State,
        event: JournalEvent,
        objects: Vec<Sha256Digest>,
    ) -> Result<JournalEntry, Failure> {
        let mut entry = JournalEntry {
            seq: st.tip.seq + 1,
            at: self.horloge.maintenant(),
            event,
            objects,
            prev: st.tip.hash,
            hash: GENESIS,
        };
        entry.hash = entry_hash(&entry);
        let mut line =
            serde_json::to_vec(&entry).map_err(|e| Failure::Write(invalid(e.to_string())))?;
        if self.partage.is_some() {
            st.unpublished.push(Ligne {
                seq: entry.seq,
                segment: st.tip.segment,
                texte: String::from_utf8_lossy(&line).into_owned(),
            });
        }
        line.push(b'\n');
        (&*st.file).write_all(&line).map_err(Failure::Write)?;
        st.tip.in_segment += 1;
        st.tip.len += line.len() as u64;
        st.tip.seq = entry.seq;
        st.tip.hash = entry.hash;
        Ok(entry)
    }

    /// Returns once entry `seq` written in `epoch` is on disk; one fsync covers every entry
    /// written before it. Fails if its lines were taken back meanwhile.
    fn sync_to(&self, seq: u64, epoch: u64) -> io::Result<()> {
        let _one = self.syncing.lock().unwrap_or_else(|p| p.into_inner());
        let taken_back = || {
            io::Error::other(format!(
                "journal du PLIE « {} » : écriture annulée après l'échec d'une synchronisation",
                self.plie
            ))
        };
        let (file, tip) = {
            let st = self.state();
            if st.epoch != epoch {
                return Err(taken_back());
            }
            if st.durable.seq >= seq {
                return Ok(());
            }
            (st.file.clone(), st.tip)
        };
        // Closed segments were synced at rotation: syncing the open one covers everything.
        let synced = file.sync_data();
        let mut st = self.state();
        if st.epoch != epoch {
            return Err(taken_back());
        }
        match synced {
            Ok(()) => {
                if tip.seq > st.durable.seq {
                    st.durable = tip;
                }
                Ok(())
            }
            Err(e) => {
                let e = self.take_back(&mut st, tip, Failure::Sync(e));
                Err(e)
            }
        }
    }
}

/// Records the break of a chain that [`Chain::open`] refuses: the broken open segment is
/// closed as it is, and the next one opens with a `chain_break_recorded` entry that names the
/// place of the break, the operator's reason, and the closed segment's SHA-256. The chain goes
/// on from there; `verify --store` and the packs then report the break as recorded. Returns
/// `None` when the chain is not broken.
pub fn record_break(
    plie: &PlieId,
    dir: &Path,
    horloge: Horloge,
    reason: &str,
) -> io::Result<Option<(ClosedSegment, JournalEntry)>> {
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock_path(dir))?;
    lock.lock()?;
    let recorded = (|| {
        let rupture = match open_tip(plie, dir) {
            Ok(_) => return Ok(None),
            Err(e) => match Rupture::of(&e) {
                Some(r) => r.clone(),
                None => return Err(e),
            },
        };
        let path = segment_path(dir, rupture.segment);
        let bytes = std::fs::read(&path)?;
        let readable: Vec<JournalEntry> = bytes
            .split(|&b| b == b'\n')
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect();
        let before = match rupture.segment {
            1 => None,
            n => last_entry(&segment_path(dir, n - 1))?,
        };
        let last_seq = readable
            .iter()
            .chain(before.iter())
            .map(|e| e.seq)
            .max()
            .unwrap_or(0);
        let prev = readable
            .last()
            .or(before.as_ref())
            .map_or(GENESIS, |e| e.hash);
        let sha256 = hash_file(&path)?;
        let mut entry = JournalEntry {
            seq: last_seq + 1,
            at: horloge.maintenant(),
            event: JournalEvent::ChainBreakRecorded {
                segment: rupture.segment,
                line: rupture.line,
                seq: rupture.seq,
                problem: rupture.problem.clone(),
                reason: reason.to_owned(),
            },
            objects: vec![sha256],
            prev,
            hash: GENESIS,
        };
        entry.hash = entry_hash(&entry);
        let mut line = serde_json::to_vec(&entry).map_err(|e| invalid(e.to_string()))?;
        line.push(b'\n');
        let mut next = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(segment_path(dir, rupture.segment + 1))?;
        next.write_all(&line)?;
        next.sync_all()?;
        sync_dir(dir)?;
        let closed = ClosedSegment {
            plie: plie.clone(),
            number: rupture.segment,
            path,
            sha256,
        };
        Ok(Some((closed, entry)))
    })();
    lock.unlock()?;
    recorded
}

/// SHA-256 of a file, read through a fixed buffer.
pub fn hash_file(path: &Path) -> io::Result<Sha256Digest> {
    use sha2::{Digest, Sha256};
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(Sha256Digest(hasher.finalize().into()));
        }
        hasher.update(&buf[..n]);
    }
}

/// The entries of one segment file, parsed but not checked. A last line without its newline
/// (being written, or cut short by a crash) is not an entry yet.
pub fn read_segment(path: &Path) -> io::Result<Vec<JournalEntry>> {
    let bytes = std::fs::read(path)?;
    bytes[..complete_len(&bytes)]
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, line)| {
            serde_json::from_slice(line)
                .map_err(|e| invalid(format!("{} ligne {} : {e}", path.display(), i + 1)))
        })
        .collect()
}
