//! One PLIE's hash chain: numbered segment files of JSON lines, appended with fsync.
//!
//! `<journal>/<plie>/000001.jsonl`, `000002.jsonl`… The highest number is the open segment; the
//! others are closed and filed in the store. Each segment after the first opens with a
//! `segment_archived` entry naming the SHA-256 of the closed one, so replacing a closed segment
//! breaks both the chain and that reference.

use crate::model::{JournalEntry, JournalEvent, PlieId, Sha256Digest};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The genesis `prev` of every chain.
pub const GENESIS: Sha256Digest = Sha256Digest([0; 32]);

/// The hashed part of an entry, field order fixed by this struct.
#[derive(Serialize)]
struct EntryBody<'a> {
    seq: u64,
    at: &'a DateTime<Utc>,
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

/// A segment closed by an append: the caller files its bytes in the store.
#[derive(Debug, Clone)]
pub struct ClosedSegment {
    pub plie: PlieId,
    pub number: u64,
    pub path: PathBuf,
    pub sha256: Sha256Digest,
}

struct Head {
    segment: u64,
    file: Arc<File>,
    in_segment: u64,
    first_seq: u64,
    seq: u64,
    hash: Sha256Digest,
}

pub struct Chain {
    plie: PlieId,
    dir: PathBuf,
    segment_entries: u64,
    head: Mutex<Head>,
    /// Highest seq known to be on disk; holding this lock while syncing lets one fsync cover
    /// every append written meanwhile (group commit).
    synced: Mutex<u64>,
}

pub fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.jsonl"))
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

impl Chain {
    /// Opens the chain, creating its directory and first segment if needed. A last line without
    /// its newline was never acknowledged (the crash came before the fsync): it is cut off.
    pub fn open(plie: PlieId, dir: PathBuf, segment_entries: u64) -> io::Result<Chain> {
        std::fs::create_dir_all(&dir)?;
        let numbers = segment_numbers(&dir)?;
        let segment = numbers.last().copied().unwrap_or(1);
        let path = segment_path(&dir, segment);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)?;
        let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < text.len() {
            tracing::warn!(segment = %path.display(), "dernière ligne incomplète du journal retirée");
            file.set_len(complete as u64)?;
            file.seek(io::SeekFrom::End(0))?;
            file.sync_all()?;
        }
        let mut head = Head {
            segment,
            file: Arc::new(file),
            in_segment: 0,
            first_seq: 1,
            seq: 0,
            hash: GENESIS,
        };
        for (i, line) in text[..complete]
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let entry: JournalEntry = serde_json::from_slice(line)
                .map_err(|e| invalid(format!("{} ligne {} : {e}", path.display(), i + 1)))?;
            if i == 0 {
                head.first_seq = entry.seq;
            }
            head.in_segment += 1;
            head.seq = entry.seq;
            head.hash = entry.hash;
        }
        if head.in_segment == 0 && segment > 1 {
            // An empty open segment after a crash during rotation: the head is the previous one's.
            let previous = read_segment(&segment_path(&dir, segment - 1))?;
            if let Some(last) = previous.last() {
                head.seq = last.seq;
                head.hash = last.hash;
                head.first_seq = last.seq + 1;
            }
        } else if head.in_segment == 0 {
            sync_dir(&dir)?;
        }
        Ok(Chain {
            plie,
            dir,
            segment_entries: segment_entries.max(2),
            head: Mutex::new(head),
            synced: Mutex::new(0),
        })
    }

    pub fn plie(&self) -> &PlieId {
        &self.plie
    }

    /// `(seq, hash)` of the last entry.
    pub fn head(&self) -> (u64, Sha256Digest) {
        let head = self.head.lock().unwrap_or_else(|p| p.into_inner());
        (head.seq, head.hash)
    }

    /// Appends several entries in order and returns them once they are all on disk: one sync
    /// for the lot (the outbox journals the transitions of many documents at once). Also returns
    /// the segments these appends closed, for the caller to file.
    pub fn append_all(
        &self,
        events: Vec<(JournalEvent, Vec<Sha256Digest>)>,
    ) -> io::Result<(Vec<JournalEntry>, Vec<ClosedSegment>)> {
        let mut entries = Vec::with_capacity(events.len());
        let mut closed = Vec::new();
        {
            let mut head = self.head.lock().unwrap_or_else(|p| p.into_inner());
            for (event, objects) in events {
                entries.push(write_entry(&mut head, event, objects)?);
                if head.in_segment >= self.segment_entries {
                    closed.push(self.rotate(&mut head)?);
                }
            }
        }
        if let Some(last) = entries.last() {
            self.sync_to(last.seq)?;
        }
        Ok((entries, closed))
    }

    /// Closes the open segment now (before an anchor), if it holds anything besides its opening
    /// `segment_archived` entry.
    pub fn close_segment(&self) -> io::Result<Option<ClosedSegment>> {
        let closed = {
            let mut head = self.head.lock().unwrap_or_else(|p| p.into_inner());
            let only_opening = head.segment > 1 && head.in_segment == 1;
            if head.in_segment == 0 || only_opening {
                return Ok(None);
            }
            self.rotate(&mut head)?
        };
        let (seq, _) = self.head();
        self.sync_to(seq)?;
        Ok(Some(closed))
    }

    /// Seals the open segment, starts the next one with its `segment_archived` entry.
    fn rotate(&self, head: &mut Head) -> io::Result<ClosedSegment> {
        head.file.sync_all()?;
        let path = segment_path(&self.dir, head.segment);
        let sha256 = hash_file(&path)?;
        let closed = ClosedSegment {
            plie: self.plie.clone(),
            number: head.segment,
            path,
            sha256,
        };
        let (first_seq, last_seq) = (head.first_seq, head.seq);
        head.segment += 1;
        let next = segment_path(&self.dir, head.segment);
        head.file = Arc::new(
            OpenOptions::new()
                .append(true)
                .create_new(true)
                .open(&next)?,
        );
        sync_dir(&self.dir)?;
        head.in_segment = 0;
        head.first_seq = head.seq + 1;
        let event = JournalEvent::SegmentArchived {
            segment: closed.number,
            first_seq,
            last_seq,
        };
        write_entry(head, event, vec![sha256])?;
        Ok(closed)
    }

    fn sync_to(&self, seq: u64) -> io::Result<()> {
        let mut synced = self.synced.lock().unwrap_or_else(|p| p.into_inner());
        if *synced >= seq {
            return Ok(());
        }
        let (file, upto) = {
            let head = self.head.lock().unwrap_or_else(|p| p.into_inner());
            (head.file.clone(), head.seq)
        };
        // Closed segments were synced at rotation: syncing the open one covers everything.
        file.sync_data()?;
        *synced = upto;
        Ok(())
    }
}

fn write_entry(
    head: &mut Head,
    event: JournalEvent,
    objects: Vec<Sha256Digest>,
) -> io::Result<JournalEntry> {
    let mut entry = JournalEntry {
        seq: head.seq + 1,
        at: Utc::now(),
        event,
        objects,
        prev: head.hash,
        hash: GENESIS,
    };
    entry.hash = entry_hash(&entry);
    let mut line = serde_json::to_vec(&entry).map_err(|e| invalid(e.to_string()))?;
    line.push(b'\n');
    (&*head.file).write_all(&line)?;
    head.in_segment += 1;
    head.seq = entry.seq;
    head.hash = entry.hash;
    Ok(entry)
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

/// The entries of one segment file, parsed but not checked.
pub fn read_segment(path: &Path) -> io::Result<Vec<JournalEntry>> {
    let reader = BufReader::new(File::open(path)?);
    let mut entries = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        let entry = serde_json::from_str(&line)
            .map_err(|e| invalid(format!("{} ligne {} : {e}", path.display(), i + 1)))?;
        entries.push(entry);
    }
    Ok(entries)
}
