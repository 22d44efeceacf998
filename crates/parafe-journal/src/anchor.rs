//! Anchors: every chain head, together, under one RFC 3161 timestamp.
//!
//! The heads are the leaves of an RFC 6962 Merkle tree; its root is the imprint sent to the
//! timestamp authority. The token proves that each chain was in that state at `genTime`, so a
//! chain rewritten afterwards (even consistently re-hashed) no longer matches. Anchors are
//! themselves chained in `<journal>/anchors.jsonl` and filed in the store; with several
//! instances, that file is a replica of the anchors shared in the cluster's database.

use crate::partage::Partage;
use chrono::{DateTime, Utc};
use parafe_core::model::{PlieId, Sha256Digest, TimestampToken};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// The seam to the RFC 3161 timestamp authority (`parafe_seal::tsa`), kept small so that the
/// journal does not depend on how tokens are obtained.
pub trait Timestamper {
    /// A token over `imprint` (SHA-256); fails closed, never falls back to the local clock.
    fn timestamp(
        &self,
        imprint: &Sha256Digest,
    ) -> impl Future<Output = Result<TimestampToken, String>> + Send;
}

/// One chain's head at anchoring time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChainHead {
    pub plie: PlieId,
    pub seq: u64,
    pub hash: Sha256Digest,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    pub number: u64,
    /// `hash` of the previous anchor (zeros for the first).
    pub prev: Sha256Digest,
    pub heads: Vec<ChainHead>,
    /// RFC 6962 Merkle tree hash over `heads`, the timestamped imprint.
    pub root: Sha256Digest,
    pub token: TimestampToken,
    /// SHA-256 of this record's JSON without `hash`.
    pub hash: Sha256Digest,
}

#[derive(Serialize)]
struct AnchorBody<'a> {
    number: u64,
    prev: &'a Sha256Digest,
    heads: &'a [ChainHead],
    root: &'a Sha256Digest,
    token: &'a TimestampToken,
}

pub fn anchor_hash(a: &Anchor) -> Sha256Digest {
    let body = AnchorBody {
        number: a.number,
        prev: &a.prev,
        heads: &a.heads,
        root: &a.root,
        token: &a.token,
    };
    Sha256Digest::of(&serde_json::to_vec(&body).unwrap_or_default())
}

fn leaf(head: &ChainHead) -> Sha256Digest {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(head.plie.as_str().as_bytes());
    h.update([0u8]);
    h.update(head.seq.to_be_bytes());
    h.update(head.hash.0);
    Sha256Digest(h.finalize().into())
}

fn node(left: &Sha256Digest, right: &Sha256Digest) -> Sha256Digest {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left.0);
    h.update(right.0);
    Sha256Digest(h.finalize().into())
}

fn tree_hash(leaves: &[Sha256Digest]) -> Sha256Digest {
    match leaves.len() {
        0 => Sha256Digest::of(b""),
        1 => leaves[0],
        n => {
            // RFC 6962 §2.1: split at the largest power of two smaller than n.
            let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
            node(&tree_hash(&leaves[..k]), &tree_hash(&leaves[k..]))
        }
    }
}

/// Merkle tree hash (RFC 6962) over the heads, in the order given (sorted by PLIE).
pub fn merkle_root(heads: &[ChainHead]) -> Sha256Digest {
    tree_hash(&heads.iter().map(leaf).collect::<Vec<_>>())
}

/// Whether the periodic anchor is due.
pub fn due(last: Option<DateTime<Utc>>, now: DateTime<Utc>, interval: chrono::Duration) -> bool {
    last.is_none_or(|last| now - last >= interval)
}

pub fn anchors_path(journal_dir: &Path) -> PathBuf {
    journal_dir.join("anchors.jsonl")
}

/// The anchors recorded so far, oldest first.
pub fn read_anchors(journal_dir: &Path) -> io::Result<Vec<Anchor>> {
    let file = match File::open(anchors_path(journal_dir)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut anchors = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if !line.is_empty() {
            let anchor = serde_json::from_str(&line).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("anchors.jsonl ligne {} : {e}", i + 1),
                )
            })?;
            anchors.push(anchor);
        }
    }
    Ok(anchors)
}

/// Appends whole lines to the anchors file and syncs it; a failed write is taken back.
fn append_line(file: &mut File, line: &[u8]) -> io::Result<()> {
    let len = file.metadata()?.len();
    let written = file.write_all(line).and_then(|()| file.sync_all());
    if written.is_err() {
        // A full disk may have taken part of the line: the file keeps whole anchors only.
        let _ = file.set_len(len).and_then(|()| file.sync_all());
    }
    written
}

/// Opens `anchors.jsonl` locked (`flock`), with the anchors other instances published appended.
fn open_locked(journal_dir: &Path, partage: Option<&dyn Partage>) -> io::Result<File> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(anchors_path(journal_dir))?;
    file.lock()?;
    if let Some(partage) = partage {
        let last = read_anchors(journal_dir)?.last().map_or(0, |a| a.number);
        for ligne in partage.ancres_apres(last)? {
            append_line(&mut file, format!("{ligne}\n").as_bytes())?;
        }
    }
    Ok(file)
}

/// Brings `anchors.jsonl` up to date with the anchors other instances published. Blocking.
pub fn catch_up(journal_dir: &Path, partage: Option<&dyn Partage>) -> io::Result<()> {
    if partage.is_some() {
        open_locked(journal_dir, partage)?.unlock()?;
    }
    Ok(())
}

/// Builds the next anchor over `heads` and appends it to `anchors.jsonl` (fsync). The file is
/// locked (`flock`) from reading the last anchor to appending the next, so that two processes
/// anchoring at once never number two anchors alike; with several instances, the anchor is
/// published first, and refused if another instance published that number.
pub async fn record<T: Timestamper>(
    journal_dir: &Path,
    heads: Vec<ChainHead>,
    tsa: &T,
    partage: Option<&dyn Partage>,
) -> Result<Anchor, String> {
    let mut file = open_locked(journal_dir, partage).map_err(|e| e.to_string())?;
    let previous = read_anchors(journal_dir).map_err(|e| e.to_string())?;
    let (number, prev) = previous
        .last()
        .map_or((1, Sha256Digest([0; 32])), |a| (a.number + 1, a.hash));
    let root = merkle_root(&heads);
    let token = tsa.timestamp(&root).await?;
    let mut anchor = Anchor {
        number,
        prev,
        heads,
        root,
        token,
        hash: Sha256Digest([0; 32]),
    };
    anchor.hash = anchor_hash(&anchor);
    let mut line = serde_json::to_vec(&anchor).map_err(|e| e.to_string())?;
    if let Some(partage) = partage {
        partage
            .publier_ancre(number, &String::from_utf8_lossy(&line))
            .map_err(|e| e.to_string())?;
    }
    line.push(b'\n');
    append_line(&mut file, &line).map_err(|e| e.to_string())?;
    Ok(anchor)
}

/// The journal's anchors are timestamped by the same authority as the seals.
impl Timestamper for parafe_seal::Tsa {
    async fn timestamp(&self, imprint: &Sha256Digest) -> Result<TimestampToken, String> {
        parafe_seal::Tsa::timestamp(self, imprint)
            .await
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(plie: &str, seq: u64) -> ChainHead {
        ChainHead {
            plie: PlieId::new(plie).unwrap(),
            seq,
            hash: Sha256Digest::of(plie.as_bytes()),
        }
    }

    #[test]
    fn merkle_root_follows_rfc6962_shape() {
        let heads: Vec<_> = (0..5).map(|i| head(&format!("plie-{i}"), i)).collect();
        let l: Vec<_> = heads.iter().map(leaf).collect();
        let expected = node(&node(&node(&l[0], &l[1]), &node(&l[2], &l[3])), &l[4]);
        assert_eq!(merkle_root(&heads), expected);
        assert_eq!(merkle_root(&heads[..1]), l[0]);
        let mut other = heads.clone();
        other[3].seq += 1;
        assert_ne!(merkle_root(&other), expected);
    }
}
