//! Where the embedded store keeps things, and how a write becomes durable.
//!
//! Layout under the root (`<data-dir>/store/embedded`):
//! - `<bucket>/<key>`: the bytes of each object (the layout s3s-fs used, so that a file of the
//!   data directory is still the object, byte for byte);
//! - `.coffre/objets/<bucket>/<key>`: the record of each object (JSON);
//! - `.coffre/compartiments/<bucket>.json`: the bucket's settings;
//! - `.coffre/tmp/`: files being written; `.coffre/verrous/`: lock files;
//!   `.coffre/disposition`: the layout version.
//!
//! A file is written under a temporary name, fsynced, renamed into place, then its directory
//! is fsynced: after a power cut it is either absent or whole, never empty or partial. A new
//! directory is fsynced in its parent for the same reason. Bucket names never start with a dot,
//! so `.coffre` can never be a bucket.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Layout version written once the directory is in the current layout.
pub const LAYOUT: &str = "coffre-1\n";

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn bucket(&self, bucket: &str) -> PathBuf {
        self.root.join(bucket)
    }

    pub fn object(&self, bucket: &str, key: &str) -> PathBuf {
        self.root.join(bucket).join(key)
    }

    pub fn record(&self, bucket: &str, key: &str) -> PathBuf {
        self.internal().join("objets").join(bucket).join(key)
    }

    pub fn bucket_record(&self, bucket: &str) -> PathBuf {
        self.internal()
            .join("compartiments")
            .join(format!("{bucket}.json"))
    }

    pub fn tmp(&self) -> PathBuf {
        self.internal().join("tmp")
    }

    pub fn locks(&self) -> PathBuf {
        self.internal().join("verrous")
    }

    pub fn marker(&self) -> PathBuf {
        self.internal().join("disposition")
    }

    pub fn internal(&self) -> PathBuf {
        self.root.join(".coffre")
    }

    /// Creates the internal directories and removes what a crash left in `tmp` (files untouched
    /// for an hour: another process on the same directory may be writing the recent ones).
    pub fn prepare(&self) -> io::Result<()> {
        create_dirs(&self.tmp())?;
        create_dirs(&self.locks())?;
        let stale = SystemTime::now() - Duration::from_secs(3600);
        for entry in fs::read_dir(self.tmp())? {
            let entry = entry?;
            if entry.metadata()?.modified()? < stale {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }
}

/// fsync of a directory: makes the entries created, renamed or removed in it durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn parent(path: &Path) -> io::Result<&Path> {
    path.parent()
        .ok_or_else(|| io::Error::other(format!("{} n'a pas de dossier parent", path.display())))
}

/// `mkdir -p` whose every new directory is durable in its parent. A directory another thread
/// is creating at the same time is synced too: its creator may not have synced it yet.
pub fn create_dirs(dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.is_dir() {
        missing.push(at);
        at = parent(at)?;
    }
    for dir in missing.into_iter().rev() {
        match fs::create_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => {}
            Err(e) => return Err(e),
        }
        sync_dir(parent(dir)?)?;
    }
    Ok(())
}

/// A file being written under `.coffre/tmp`; removed if dropped before being put in place.
pub struct TempFile {
    path: PathBuf,
    file: File,
    placed: bool,
}

impl TempFile {
    pub fn create(layout: &Layout) -> io::Result<TempFile> {
        use rand::Rng;
        let name = format!("{:032x}", rand::thread_rng().gen::<u128>());
        let path = layout.tmp().join(name);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok(TempFile {
            path,
            file,
            placed: false,
        })
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }

    /// fsync: the bytes are on disk before the file gets its name.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }

    /// Renames the (synced) file to `dest` and fsyncs `dest`'s directory, which must exist.
    /// Replaces what was there: the caller decides, under the key's lock, whether it may.
    pub fn place(mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest)?;
        self.placed = true;
        sync_dir(parent(dest)?)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Writes `bytes` to `dest` durably (temporary file, fsync, rename, fsync of the directory).
pub fn write_durably(layout: &Layout, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = TempFile::create(layout)?;
    tmp.write_all(bytes)?;
    tmp.sync()?;
    create_dirs(parent(dest)?)?;
    tmp.place(dest)
}

/// Removes `path` durably (unlink, then fsync of its directory). Absent: nothing to do.
pub fn remove_durably(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => sync_dir(parent(path)?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Lock stripes: two keys share a stripe once in this many.
const STRIPES: u32 = 256;

/// Exclusive lock on a key (flock on one of 256 lock files, chosen by the key), held while
/// deciding and changing what the key holds: check, then rename. It serializes every parafe
/// process and thread serving the same data directory for that key, and hardly ever two
/// different keys; readers never take it (they only ever see whole files).
pub struct KeyLock {
    _file: File,
}

impl KeyLock {
    /// Locks `key` of `bucket` (an empty key: the bucket itself).
    pub fn acquire(layout: &Layout, bucket: &str, key: &str) -> io::Result<KeyLock> {
        // FNV-1a: the same stripe in every parafe process, whatever its version.
        let hash = bucket
            .bytes()
            .chain([b'/'])
            .chain(key.bytes())
            .fold(0x811c_9dc5_u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
            });
        let path = layout.locks().join(format!("{:02x}", hash % STRIPES));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        file.lock()?;
        Ok(KeyLock { _file: file })
    }
}

/// Reads a JSON file; `None` when it does not exist.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
