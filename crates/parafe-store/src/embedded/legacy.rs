//! The layout s3s-fs left (parafe's embedded store until its own): each object's bytes already
//! at `<bucket>/<key>`, its metadata in `.bucket-<b64>.object-<b64>.metadata.json` and
//! `.internal.json` files at the root, and no retention at all. [`migrate`] gives every object
//! its record in place, once; s3s-fs itself is kept only to write such a layout (the migration
//! test) and to measure against (`parafe bench store`).

use super::disk::{self, Layout};
use super::record::{BucketRecord, Checksums, ObjectRecord};
use super::EmbeddedS3;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;

/// What protects a migrated object, decided by parafe from the object's user metadata (its
/// retention register knows the rules in force, which s3s-fs never held).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Protection {
    pub retain_until: Option<DateTime<Utc>>,
    pub legal_hold: bool,
}

/// What s3s-fs kept about an object.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct Attributes {
    user_metadata: Option<BTreeMap<String, String>>,
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_disposition: Option<String>,
    content_language: Option<String>,
    cache_control: Option<String>,
}

fn legacy_name(bucket: &str, key: &str, suffix: &str) -> String {
    format!(
        ".bucket-{}.object-{}.{suffix}",
        URL_SAFE_NO_PAD.encode(bucket),
        URL_SAFE_NO_PAD.encode(key)
    )
}

fn attributes(root: &Path, bucket: &str, key: &str) -> io::Result<Attributes> {
    let path = root.join(legacy_name(bucket, key, "metadata.json"));
    let Some(value) = disk::read_json::<serde_json::Value>(&path)? else {
        return Ok(Attributes::default());
    };
    // Older s3s-fs versions wrote the user metadata alone.
    let attrs = if value.get("user_metadata").is_some() || value.get("content_type").is_some() {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|m| Attributes {
            user_metadata: Some(m),
            ..Default::default()
        })
    };
    attrs.map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

fn checksums(root: &Path, bucket: &str, key: &str) -> io::Result<Checksums> {
    let path = root.join(legacy_name(bucket, key, "internal.json"));
    let info: BTreeMap<String, serde_json::Value> = disk::read_json(&path)?.unwrap_or_default();
    let get = |name: &str| info.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    Ok(Checksums {
        crc32: get("checksum_crc32"),
        crc32c: get("checksum_crc32c"),
        crc64nvme: get("checksum_crc64nvme"),
        sha1: get("checksum_sha1"),
    })
}

/// Every file under a bucket, as keys.
fn keys(dir: &Path) -> io::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if entry.file_type()?.is_dir() {
                stack.push((entry.path(), key));
            } else {
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

/// Brings `root` to the current layout when it is not there yet; returns how many objects got a
/// record. Interrupted, it starts again where it stopped (records already written are kept);
/// the s3s-fs files are removed last, then the layout marker is written.
pub fn migrate(
    root: &Path,
    protection: impl Fn(&BTreeMap<String, String>) -> Protection,
) -> io::Result<usize> {
    let layout = Layout::new(root);
    if layout.marker().is_file() {
        return Ok(0);
    }
    disk::create_dirs(root)?;
    layout.prepare()?;
    let mut migrated = 0;
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let bucket = entry.file_name().to_string_lossy().into_owned();
        if bucket.starts_with('.') || !entry.file_type()?.is_dir() {
            continue;
        }
        let bucket_record = layout.bucket_record(&bucket);
        if !bucket_record.is_file() {
            let record = BucketRecord {
                created: entry.metadata()?.modified()?.into(),
                default_retention: None,
            };
            disk::write_durably(&layout, &bucket_record, &serde_json::to_vec(&record)?)?;
        }
        for key in keys(&entry.path())? {
            let record_path = layout.record(&bucket, &key);
            if record_path.is_file() {
                continue;
            }
            let object = layout.object(&bucket, &key);
            let sha256 = parafe_journal::chain::hash_file(&object)?.to_hex();
            let file = std::fs::metadata(&object)?;
            let attrs = attributes(root, &bucket, &key)?;
            let metadata = attrs.user_metadata.unwrap_or_default();
            let Protection {
                retain_until,
                legal_hold,
            } = protection(&metadata);
            let record = ObjectRecord {
                size: file.len(),
                sha256,
                checksums: checksums(root, &bucket, &key)?,
                content_type: attrs.content_type,
                content_encoding: attrs.content_encoding,
                content_disposition: attrs.content_disposition,
                content_language: attrs.content_language,
                cache_control: attrs.cache_control,
                metadata,
                created: file.modified()?.into(),
                retain_until,
                legal_hold,
            };
            disk::write_durably(&layout, &record_path, &serde_json::to_vec(&record)?)?;
            migrated += 1;
        }
    }
    // s3s-fs's own files: metadata, half-written uploads.
    let mut removed = false;
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if (name.starts_with(".bucket-")
            || name.starts_with(".tmp.")
            || name.starts_with(".upload"))
            && entry.file_type()?.is_file()
        {
            std::fs::remove_file(entry.path())?;
            removed = true;
        }
    }
    if removed {
        disk::sync_dir(root)?;
    }
    disk::write_durably(&layout, &layout.marker(), disk::LAYOUT.as_bytes())?;
    Ok(migrated)
}

/// Serves `root` with s3s-fs, as parafe did before its own store: for the side-by-side
/// benchmark and the migration test only.
pub async fn serve_s3s_fs(
    root: &Path,
    addr: SocketAddr,
    access_key: &str,
    secret_key: &str,
) -> io::Result<EmbeddedS3> {
    std::fs::create_dir_all(root)?;
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| io::Error::other(format!("{e:?}")))?;
    EmbeddedS3::serve(fs, root, addr, access_key, secret_key).await
}
