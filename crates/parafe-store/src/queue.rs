//! The durable local queue: what was acknowledged while the store was unreachable.
//!
//! `<data-dir>/store/queue/<plie>/<sha256>.data` holds the bytes, `<sha256>.json` the
//! [`EvidenceObject`]; both are fsynced before the filing is acknowledged, the `.json` last, so
//! that its presence means a complete item. Items leave the queue only once the store has them.

use parafe_core::model::{EvidenceObject, Sha256Digest};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The bytes of a piece being filed: in memory, or a file read through a fixed buffer.
#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Vec<u8>),
    File(PathBuf),
}

pub struct Pending {
    pub object: EvidenceObject,
    pub data: PathBuf,
    json: PathBuf,
}

pub struct Queue {
    dir: PathBuf,
    len: AtomicUsize,
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Copies `from` to `to` through a fixed buffer, hashing as it goes.
fn copy_hashing(from: &Path, to: &mut File) -> io::Result<Sha256Digest> {
    let mut src = File::open(from)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = src.read(&mut buf)?;
        if n == 0 {
            return Ok(Sha256Digest(hasher.finalize().into()));
        }
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
    }
}

impl Queue {
    pub fn open(dir: PathBuf) -> io::Result<Queue> {
        std::fs::create_dir_all(&dir)?;
        let queue = Queue {
            dir,
            len: AtomicUsize::new(0),
        };
        let len = queue.pending()?.len();
        queue.len.store(len, Ordering::Relaxed);
        Ok(queue)
    }

    /// Items waiting for the store (cheap: for the health endpoint).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps the piece on disk until the store has it. Blocking (fsync).
    pub fn push(&self, object: &EvidenceObject, content: &Content) -> io::Result<()> {
        let dir = self.dir.join(object.plie.as_str());
        std::fs::create_dir_all(&dir)?;
        let hex = object.sha256.to_hex();
        let json = dir.join(format!("{hex}.json"));
        if json.exists() {
            return Ok(());
        }
        let data = dir.join(format!("{hex}.data"));
        let tmp = dir.join(format!("{hex}.data.tmp"));
        let mut file = File::create(&tmp)?;
        match content {
            Content::Bytes(bytes) => file.write_all(bytes)?,
            Content::File(path) => {
                if copy_hashing(path, &mut file)? != object.sha256 {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(io::Error::other(format!(
                        "{} a changé pendant le dépôt",
                        path.display()
                    )));
                }
            }
        }
        file.sync_all()?;
        std::fs::rename(&tmp, &data)?;
        let record = serde_json::to_vec(object).map_err(io::Error::other)?;
        let tmp = dir.join(format!("{hex}.json.tmp"));
        let mut file = File::create(&tmp)?;
        file.write_all(&record)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &json)?;
        sync_dir(&dir)?;
        self.len.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Every complete item, oldest first.
    pub fn pending(&self) -> io::Result<Vec<Pending>> {
        let mut items = Vec::new();
        for plie in std::fs::read_dir(&self.dir)? {
            let plie = plie?;
            if !plie.file_type()?.is_dir() || plie.file_name() == "_rejetes" {
                continue;
            }
            for entry in std::fs::read_dir(plie.path())? {
                let json = entry?.path();
                if json.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let object: EvidenceObject = serde_json::from_slice(&std::fs::read(&json)?)
                    .map_err(|e| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("{} : {e}", json.display()),
                        )
                    })?;
                let modified = std::fs::metadata(&json)?.modified()?;
                items.push((
                    modified,
                    Pending {
                        data: json.with_extension("data"),
                        json,
                        object,
                    },
                ));
            }
        }
        items.sort_by_key(|(modified, _)| *modified);
        Ok(items.into_iter().map(|(_, p)| p).collect())
    }

    /// The store has it now.
    pub fn remove(&self, item: &Pending) -> io::Result<()> {
        std::fs::remove_file(&item.json)?;
        std::fs::remove_file(&item.data)?;
        self.len.fetch_sub(1, Ordering::Relaxed);
        Ok(())
    }

    /// The store refused it for good: kept aside in `_rejetes/` for a person to look at.
    pub fn reject(&self, item: &Pending) -> io::Result<PathBuf> {
        let dir = self.dir.join("_rejetes");
        std::fs::create_dir_all(&dir)?;
        let name = format!("{}-{}", item.object.plie, item.object.sha256.to_hex());
        std::fs::rename(&item.data, dir.join(format!("{name}.data")))?;
        std::fs::rename(&item.json, dir.join(format!("{name}.json")))?;
        self.len.fetch_sub(1, Ordering::Relaxed);
        Ok(dir)
    }
}
