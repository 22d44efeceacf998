//! The S3 operations of the embedded store, on the `s3s` adapter: what parafe and an ordinary S3
//! client use. Every bucket has Object Lock in COMPLIANCE mode and every key is written once:
//! no overwrite, no delete before retain-until or under legal hold, retention extended but
//! never shortened, whoever the client is. The error codes are those S3 answers.

use super::disk::{self, KeyLock, Layout, TempFile};
use super::record::{self, BucketRecord, Checksums, ObjectRecord};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use s3s::crypto::Checksum as _;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Request, S3Response, S3Result, S3};
use sha2::{Digest, Sha256};
use std::io::{self, Read, Seek};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

/// The store's clock: the system's, or a test's (`PARAFE_HORLOGE`).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Bytes read or written per call on the blocking pool: large enough that a 100 KB piece is
/// one call, and a large one streams at disk speed.
const CHUNK: usize = 1 << 20;
/// S3's limit for a single PutObject.
const MAX_OBJECT: i64 = 5 << 30;

pub struct Coffre {
    layout: Arc<Layout>,
    clock: Clock,
}

impl Coffre {
    pub fn new(layout: Layout, clock: Clock) -> Coffre {
        Coffre {
            layout: Arc::new(layout),
            clock,
        }
    }
}

fn internal(e: impl std::fmt::Display) -> S3Error {
    tracing::error!("coffre embarqué : {e}");
    s3_error!(InternalError, "coffre embarqué : {e}")
}

/// Runs file work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> S3Result<T> + Send + 'static,
) -> S3Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(internal)?
}

fn to_timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp::from(std::time::SystemTime::from(t))
}

fn from_timestamp(t: &Timestamp) -> S3Result<DateTime<Utc>> {
    let t = time::OffsetDateTime::from(t.clone());
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
        .ok_or_else(|| s3_error!(InvalidArgument, "date hors des limites"))
}

/// A key is a file path under its bucket: non-empty segments, none `.` or `..` (no way out of
/// the bucket), at most 255 bytes each (a file name).
fn check_key(key: &str) -> S3Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 1024
        && !key.contains('\0')
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && s.len() <= 255);
    if ok {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidArgument,
            "clé « {key} » refusée par le coffre embarqué : segments non vides séparés par « / », ni « . » ni « .. », 255 octets au plus chacun"
        ))
    }
}

fn no_such_bucket(bucket: &str) -> S3Error {
    s3_error!(NoSuchBucket, "le compartiment « {bucket} » n'existe pas")
}

fn no_such_key(key: &str) -> S3Error {
    s3_error!(NoSuchKey, "aucun objet sous la clé « {key} »")
}

fn check_bucket(layout: &Layout, bucket: &str) -> S3Result<()> {
    if layout.bucket(bucket).is_dir() {
        Ok(())
    } else {
        Err(no_such_bucket(bucket))
    }
}

/// Writes a bucket's or an object's record durably in place of the one before.
fn write_record(
    layout: &Layout,
    path: &std::path::Path,
    record: &impl serde::Serialize,
) -> S3Result<()> {
    let bytes = serde_json::to_vec(record).map_err(internal)?;
    disk::write_durably(layout, path, &bytes).map_err(internal)
}

fn bucket_record(layout: &Layout, bucket: &str) -> S3Result<BucketRecord> {
    check_bucket(layout, bucket)?;
    Ok(disk::read_json(&layout.bucket_record(bucket))
        .map_err(internal)?
        .unwrap_or_default())
}

/// What the key holds now: `Some` when an object is there. A directory is the common prefix of
/// other keys: this store keeps each key as a file, so it cannot also be an object.
fn existing(layout: &Layout, bucket: &str, key: &str) -> S3Result<bool> {
    match std::fs::symlink_metadata(layout.object(bucket, key)) {
        Ok(m) if m.is_dir() => Err(s3_error!(
            InvalidArgument,
            "la clé « {key} » est le début d'autres clés (« {key}/… ») : le coffre embarqué range chaque objet comme un fichier"
        )),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        // A segment of the key is an object: `a` exists, `a/b` cannot.
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => Err(s3_error!(
            InvalidArgument,
            "la clé « {key} » passe par un objet existant : le coffre embarqué range chaque objet comme un fichier"
        )),
        Err(e) => Err(internal(e)),
    }
}

/// The record of an object known to be there. Missing (a crash cannot cause it: the record is
/// placed first), the object is treated as retained: nothing is known of its rules.
fn record_of(layout: &Layout, bucket: &str, key: &str) -> S3Result<ObjectRecord> {
    disk::read_json(&layout.record(bucket, key))
        .map_err(internal)?
        .ok_or_else(|| {
            s3_error!(
                AccessDenied,
                "les règles de conservation de « {key} » sont introuvables : l'objet reste protégé"
            )
        })
}

fn refuse_overwrite(key: &str, if_none_match: bool) -> S3Error {
    if if_none_match {
        s3_error!(
            PreconditionFailed,
            "la clé « {key} » existe déjà (If-None-Match: *)"
        )
    } else {
        s3_error!(
            AccessDenied,
            "la clé « {key} » existe déjà : le coffre embarqué n'écrit jamais par-dessus un objet (write-once)"
        )
    }
}

fn is_compliance(mode: &str) -> S3Result<()> {
    if mode == ObjectLockMode::COMPLIANCE {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidArgument,
            "mode de conservation « {mode} » : le coffre embarqué n'applique que COMPLIANCE"
        ))
    }
}

/// The only retention mode this store applies.
fn compliance() -> ObjectLockRetentionMode {
    ObjectLockRetentionMode::from_static(ObjectLockRetentionMode::COMPLIANCE)
}

fn future_date(until: &Timestamp, now: DateTime<Utc>) -> S3Result<DateTime<Utc>> {
    let until = from_timestamp(until)?;
    if until <= now {
        return Err(s3_error!(
            InvalidArgument,
            "la date de fin de conservation ({}) doit être dans le futur",
            until.to_rfc3339()
        ));
    }
    Ok(until)
}

fn legal_hold_on(status: Option<&ObjectLockLegalHoldStatus>) -> S3Result<bool> {
    match status.map(ObjectLockLegalHoldStatus::as_str) {
        None | Some(ObjectLockLegalHoldStatus::OFF) => Ok(false),
        Some(ObjectLockLegalHoldStatus::ON) => Ok(true),
        Some(other) => Err(s3_error!(
            InvalidArgument,
            "legal hold « {other} » : ON ou OFF attendu"
        )),
    }
}

fn hold_status(on: bool) -> ObjectLockLegalHoldStatus {
    ObjectLockLegalHoldStatus::from_static(if on {
        ObjectLockLegalHoldStatus::ON
    } else {
        ObjectLockLegalHoldStatus::OFF
    })
}

/// A PUT's body on its way to disk: hashed as it arrives, written in large blocks.
struct Upload {
    layout: Arc<Layout>,
    tmp: Option<TempFile>,
    pending: Vec<u8>,
    size: u64,
    sha256: Sha256,
    others: s3s::checksum::ChecksumHasher,
    md5: Option<s3s::crypto::Md5>,
}

impl Upload {
    async fn push(&mut self, bytes: &[u8]) -> S3Result<()> {
        self.sha256.update(bytes);
        self.others.update(bytes);
        if let Some(md5) = &mut self.md5 {
            md5.update(bytes);
        }
        self.size += bytes.len() as u64;
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= CHUNK {
            let (layout, tmp, pending) = (
                self.layout.clone(),
                self.tmp.take(),
                std::mem::take(&mut self.pending),
            );
            let tmp = blocking(move || {
                let mut tmp = match tmp {
                    Some(tmp) => tmp,
                    None => TempFile::create(&layout).map_err(internal)?,
                };
                tmp.write_all(&pending).map_err(internal)?;
                Ok(tmp)
            })
            .await?;
            self.tmp = Some(tmp);
        }
        Ok(())
    }
}

/// The checksum a client announced (header or, with aws-chunked uploads, trailer).
fn announced(
    header: Option<String>,
    trailers: Option<&http::HeaderMap>,
    name: &str,
) -> S3Result<Option<String>> {
    match trailers.and_then(|t| t.get(name)) {
        Some(v) => v
            .to_str()
            .map(|s| Some(s.to_owned()))
            .map_err(|_| s3_error!(InvalidArgument, "{name} illisible")),
        None => Ok(header),
    }
}

fn compare(name: &str, announced: Option<String>, computed: Option<&String>) -> S3Result<()> {
    match (announced, computed) {
        (Some(a), Some(c)) if a != *c => Err(s3_error!(
            BadDigest,
            "somme {name} annoncée {a}, calculée sur les octets reçus {c} : objet refusé, rien n'est écrit"
        )),
        _ => Ok(()),
    }
}

/// The body of a GET: the first block, already read with the file's opening, then the rest in
/// large blocks.
struct FileBody {
    first: Option<Bytes>,
    rest: Option<ReaderStream<tokio::io::Take<tokio::fs::File>>>,
}

impl Stream for FileBody {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        match &mut self.rest {
            Some(rest) => Pin::new(rest).poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

/// An object opened for reading.
struct Opened {
    record: ObjectRecord,
    size: u64,
    range: Option<std::ops::Range<u64>>,
    body: Option<FileBody>,
}

/// Opens `key` and reads the first block of `range` (none for HEAD).
fn open_object(
    layout: &Layout,
    bucket: &str,
    key: &str,
    range: Option<Range>,
    read: bool,
) -> S3Result<Opened> {
    check_key(key)?;
    let path = layout.object(bucket, key);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            check_bucket(layout, bucket)?;
            return Err(no_such_key(key));
        }
        Err(e) => return Err(internal(e)),
    };
    let meta = file.metadata().map_err(internal)?;
    if !meta.is_file() {
        return Err(no_such_key(key));
    }
    let size = meta.len();
    let record =
        match disk::read_json::<ObjectRecord>(&layout.record(bucket, key)).map_err(internal)? {
            Some(r) => r,
            // Known to be whole, rules unknown: readable, never deletable (see `record_of`).
            None => ObjectRecord {
                size,
                created: meta.modified().map(DateTime::from).unwrap_or_default(),
                ..Default::default()
            },
        };
    let range = range.map(|r| r.check(size)).transpose()?;
    let body = if read {
        let span = range.clone().unwrap_or(0..size);
        file.seek(io::SeekFrom::Start(span.start))
            .map_err(internal)?;
        let len = span.end - span.start;
        let first_len = len.min(CHUNK as u64);
        let mut first = Vec::with_capacity(first_len as usize);
        (&mut file)
            .take(first_len)
            .read_to_end(&mut first)
            .map_err(internal)?;
        let rest = (len > first_len).then(|| {
            let file = tokio::fs::File::from_std(file).take(len - first_len);
            ReaderStream::with_capacity(file, CHUNK)
        });
        Some(FileBody {
            first: Some(Bytes::from(first)),
            rest,
        })
    } else {
        None
    };
    Ok(Opened {
        record,
        size,
        range,
        body,
    })
}

fn lock_fields(
    record: &ObjectRecord,
) -> (
    Option<ObjectLockMode>,
    Option<Timestamp>,
    Option<ObjectLockLegalHoldStatus>,
) {
    (
        record
            .retain_until
            .map(|_| ObjectLockMode::from_static(ObjectLockMode::COMPLIANCE)),
        record.retain_until.map(to_timestamp),
        record.legal_hold.then(|| hold_status(true)),
    )
}

fn checksums_asked(mode: Option<&ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str() == ChecksumMode::ENABLED)
}

/// The checksums a GET or HEAD gives back (base64 SHA-256, then the others): none unless asked.
fn given_checksums(record: &ObjectRecord, asked: bool) -> (Option<String>, Checksums) {
    if asked {
        (sha256_base64(&record.sha256), record.checksums.clone())
    } else {
        (None, Checksums::default())
    }
}

fn metadata_of(record: &ObjectRecord) -> Option<Metadata> {
    (!record.metadata.is_empty()).then(|| {
        record
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

fn sha256_base64(hex: &str) -> Option<String> {
    use base64::Engine;
    hex::decode(hex)
        .ok()
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
}

/// Keys of `bucket` under `prefix`, sorted; the walk starts at the prefix's directory.
fn list_keys(layout: &Layout, bucket: &str, prefix: &str) -> io::Result<Vec<String>> {
    let base = layout.bucket(bucket);
    let dir_part = prefix.rfind('/').map_or("", |i| &prefix[..i]);
    let mut keys = Vec::new();
    let mut stack = vec![(base.join(dir_part), dir_part.to_owned())];
    while let Some((dir, rel)) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                continue
            }
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let key = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if entry.file_type()?.is_dir() {
                if key.starts_with(prefix) || prefix.starts_with(&format!("{key}/")) {
                    stack.push((entry.path(), key));
                }
            } else if key.starts_with(prefix) {
                keys.push(key);
            }
        }
    }
    keys.sort_unstable();
    Ok(keys)
}

/// What GetObject and HeadObject both say of an object: two s3s types with the same fields and
/// no conversion between them, filled from the record in one place.
macro_rules! description {
    ($type:ident, $r:expr, $sha256:expr, $sums:expr, { $($champ:ident: $valeur:expr,)* }) => {{
        let r = $r;
        let (mode, until, hold) = lock_fields(r);
        $type {
            $($champ: $valeur,)*
            accept_ranges: Some("bytes".into()),
            last_modified: Some(to_timestamp(r.created)),
            e_tag: (!r.sha256.is_empty()).then(|| ETag::Strong(r.etag())),
            content_type: r.content_type.clone(),
            content_encoding: r.content_encoding.clone(),
            content_disposition: r.content_disposition.clone(),
            content_language: r.content_language.clone(),
            cache_control: r.cache_control.clone(),
            metadata: metadata_of(r),
            checksum_sha256: $sha256,
            checksum_crc32: $sums.crc32,
            checksum_crc32c: $sums.crc32c,
            checksum_crc64nvme: $sums.crc64nvme,
            checksum_sha1: $sums.sha1,
            object_lock_mode: mode,
            object_lock_retain_until_date: until,
            object_lock_legal_hold_status: hold,
            ..Default::default()
        }
    }};
}

#[async_trait::async_trait]
impl S3 for Coffre {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket;
        let layout = self.layout.clone();
        let created = (self.clock)();
        blocking(move || {
            let dir = layout.bucket(&bucket);
            let _lock = KeyLock::acquire(&layout, &bucket, "").map_err(internal)?;
            if dir.is_dir() {
                return Err(s3_error!(
                    BucketAlreadyOwnedByYou,
                    "le compartiment « {bucket} » existe déjà"
                ));
            }
            // Settings first: a bucket is never visible without them.
            let record = BucketRecord {
                created,
                default_retention: None,
            };
            write_record(&layout, &layout.bucket_record(&bucket), &record)?;
            disk::create_dirs(&dir).map_err(internal)?;
            Ok(S3Response::new(CreateBucketOutput {
                location: Some(format!("/{bucket}")),
            }))
        })
        .await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        check_bucket(&self.layout, &req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        check_bucket(&self.layout, &req.input.bucket)?;
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let layout = self.layout.clone();
        blocking(move || {
            let mut buckets = Vec::new();
            for entry in std::fs::read_dir(layout.root()).map_err(internal)? {
                let entry = entry.map_err(internal)?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if name.starts_with('.') || !entry.file_type().map_err(internal)?.is_dir() {
                    continue;
                }
                let record = bucket_record(&layout, &name)?;
                buckets.push(Bucket {
                    creation_date: Some(to_timestamp(record.created)),
                    name: Some(name),
                    bucket_region: None,
                });
            }
            buckets.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(S3Response::new(ListBucketsOutput {
                buckets: Some(buckets),
                ..Default::default()
            }))
        })
        .await
    }

    /// No versions are kept (nothing is ever overwritten): versioning was never enabled.
    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        check_bucket(&self.layout, &req.input.bucket)?;
        Ok(S3Response::new(GetBucketVersioningOutput::default()))
    }

    async fn get_object_lock_configuration(
        &self,
        req: S3Request<GetObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
        let record = bucket_record(&self.layout, &req.input.bucket)?;
        let rule = record.default_retention.map(|d| ObjectLockRule {
            default_retention: Some(match d {
                record::DefaultRetention::Days(n) => DefaultRetention {
                    days: Some(n as i32),
                    mode: Some(compliance()),
                    years: None,
                },
                record::DefaultRetention::Years(n) => DefaultRetention {
                    days: None,
                    mode: Some(compliance()),
                    years: Some(n as i32),
                },
            }),
        });
        Ok(S3Response::new(GetObjectLockConfigurationOutput {
            object_lock_configuration: Some(ObjectLockConfiguration {
                object_lock_enabled: Some(ObjectLockEnabled::from_static(
                    ObjectLockEnabled::ENABLED,
                )),
                rule,
            }),
        }))
    }

    /// Object Lock stays enabled; the default retention may be set or changed (it applies to
    /// objects put afterwards, as on S3).
    async fn put_object_lock_configuration(
        &self,
        req: S3Request<PutObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
        let input = req.input;
        let config = input
            .object_lock_configuration
            .ok_or_else(|| s3_error!(MalformedXML, "configuration Object Lock absente"))?;
        if config
            .object_lock_enabled
            .as_ref()
            .map(ObjectLockEnabled::as_str)
            != Some(ObjectLockEnabled::ENABLED)
        {
            return Err(s3_error!(
                InvalidArgument,
                "l'Object Lock du coffre embarqué ne se désactive pas (ObjectLockEnabled: Enabled attendu)"
            ));
        }
        let default_retention = match config.rule.and_then(|r| r.default_retention) {
            None => None,
            Some(d) => {
                is_compliance(d.mode.as_ref().map_or("", |m| m.as_str()))?;
                let positive = |n: i32| u32::try_from(n).ok().filter(|n| *n > 0);
                Some(
                    match (d.days.and_then(positive), d.years.and_then(positive)) {
                        (Some(days), None) => record::DefaultRetention::Days(days),
                        (None, Some(years)) => record::DefaultRetention::Years(years),
                        _ => {
                            return Err(s3_error!(
                                MalformedXML,
                                "conservation par défaut : Days ou Years (un seul, positif)"
                            ))
                        }
                    },
                )
            }
        };
        let (layout, bucket) = (self.layout.clone(), input.bucket);
        blocking(move || {
            // The lock CreateBucket takes: the bucket's settings change under one lock.
            let _lock = KeyLock::acquire(&layout, &bucket, "").map_err(internal)?;
            let record = BucketRecord {
                default_retention,
                ..bucket_record(&layout, &bucket)?
            };
            write_record(&layout, &layout.bucket_record(&bucket), &record)?;
            Ok(S3Response::new(PutObjectLockConfigurationOutput::default()))
        })
        .await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let trailers = req.trailing_headers;
        let mut input = req.input;
        let (bucket, key) = (input.bucket.clone(), input.key.clone());
        check_key(&key)?;
        if input.content_length.is_some_and(|n| n > MAX_OBJECT) {
            return Err(s3_error!(
                EntityTooLarge,
                "objet de plus de 5 Gio : au-delà d'un PutObject"
            ));
        }
        let if_none_match = input.if_none_match.as_ref().is_some_and(|c| c.is_any());
        let now = (self.clock)();
        let explicit = match (
            &input.object_lock_mode,
            &input.object_lock_retain_until_date,
        ) {
            (None, None) => None,
            (Some(mode), Some(until)) => {
                is_compliance(mode.as_str())?;
                Some(future_date(until, now)?)
            }
            _ => {
                return Err(s3_error!(
                    InvalidArgument,
                    "x-amz-object-lock-mode et x-amz-object-lock-retain-until-date vont ensemble"
                ))
            }
        };
        let legal_hold = legal_hold_on(input.object_lock_legal_hold_status.as_ref())?;

        // Refused before the body is read: an existing key, a missing bucket.
        let (layout, b, k) = (self.layout.clone(), bucket.clone(), key.clone());
        let bucket_settings = blocking(move || {
            let settings = bucket_record(&layout, &b)?;
            if existing(&layout, &b, &k)? {
                return Err(refuse_overwrite(&k, if_none_match));
            }
            Ok(settings)
        })
        .await?;
        if input.if_match.is_some() {
            return Err(s3_error!(
                PreconditionFailed,
                "If-Match : aucun objet sous « {key} » (et le coffre n'écrit jamais par-dessus un objet)"
            ));
        }
        let retain_until =
            explicit.or_else(|| bucket_settings.default_retention.and_then(|d| d.until(now)));

        let mut others = s3s::checksum::ChecksumHasher::default();
        let algorithm = input
            .checksum_algorithm
            .as_ref()
            .map(|a| a.as_str().to_owned());
        let wants = |name: &str, value: &Option<String>| {
            value.is_some() || algorithm.as_deref() == Some(name)
        };
        if wants(ChecksumAlgorithm::CRC32, &input.checksum_crc32) {
            others.crc32 = Some(Default::default());
        }
        if wants(ChecksumAlgorithm::CRC32C, &input.checksum_crc32c) {
            others.crc32c = Some(Default::default());
        }
        if wants(ChecksumAlgorithm::CRC64NVME, &input.checksum_crc64nvme) {
            others.crc64nvme = Some(Default::default());
        }
        if wants(ChecksumAlgorithm::SHA1, &input.checksum_sha1) {
            others.sha1 = Some(Default::default());
        }
        let mut upload = Upload {
            layout: self.layout.clone(),
            tmp: None,
            pending: Vec::with_capacity(
                input
                    .content_length
                    .map_or(64 << 10, |n| n.clamp(0, CHUNK as i64) as usize),
            ),
            size: 0,
            sha256: Sha256::new(),
            others,
            md5: input.content_md5.as_ref().map(|_| s3s::crypto::Md5::new()),
        };
        let mut body = input
            .body
            .take()
            .ok_or_else(|| s3_error!(IncompleteBody, "corps de la requête absent"))?;
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| s3_error!(IncompleteBody, "corps de la requête interrompu : {e}"))?;
            upload.push(&chunk).await?;
        }
        if input
            .content_length
            .is_some_and(|n| n as u64 != upload.size)
        {
            return Err(s3_error!(
                IncompleteBody,
                "{} octets reçus sur {} annoncés",
                upload.size,
                input.content_length.unwrap_or_default()
            ));
        }

        // Checksums: the bytes are compared with what the client announced before they get
        // their name; a mismatch leaves nothing behind.
        let sha256: [u8; 32] = upload.sha256.finalize().into();
        let sha256_b64 = {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(sha256)
        };
        let computed = upload.others.finalize();
        let trailers = trailers.and_then(|t| t.take());
        let t = trailers.as_ref();
        compare(
            "SHA-256",
            announced(input.checksum_sha256.take(), t, "x-amz-checksum-sha256")?,
            Some(&sha256_b64),
        )?;
        compare(
            "CRC32",
            announced(input.checksum_crc32.take(), t, "x-amz-checksum-crc32")?,
            computed.checksum_crc32.as_ref(),
        )?;
        compare(
            "CRC32C",
            announced(input.checksum_crc32c.take(), t, "x-amz-checksum-crc32c")?,
            computed.checksum_crc32c.as_ref(),
        )?;
        compare(
            "CRC64NVME",
            announced(
                input.checksum_crc64nvme.take(),
                t,
                "x-amz-checksum-crc64nvme",
            )?,
            computed.checksum_crc64nvme.as_ref(),
        )?;
        compare(
            "SHA-1",
            announced(input.checksum_sha1.take(), t, "x-amz-checksum-sha1")?,
            computed.checksum_sha1.as_ref(),
        )?;
        if let (Some(announced), Some(md5)) = (&input.content_md5, upload.md5.take()) {
            use base64::Engine;
            let computed = base64::engine::general_purpose::STANDARD.encode(md5.finalize());
            if *announced != computed {
                return Err(s3_error!(
                    BadDigest,
                    "Content-MD5 annoncé {announced}, calculé {computed} : objet refusé"
                ));
            }
        }

        let record = ObjectRecord {
            size: upload.size,
            sha256: hex::encode(sha256),
            checksums: Checksums {
                crc32: computed.checksum_crc32.clone(),
                crc32c: computed.checksum_crc32c.clone(),
                crc64nvme: computed.checksum_crc64nvme.clone(),
                sha1: computed.checksum_sha1.clone(),
            },
            // What S3 records when the client names no type.
            content_type: input
                .content_type
                .or_else(|| Some("binary/octet-stream".into())),
            content_encoding: input.content_encoding,
            content_disposition: input.content_disposition,
            content_language: input.content_language,
            cache_control: input.cache_control,
            metadata: input.metadata.unwrap_or_default().into_iter().collect(),
            created: now,
            retain_until,
            legal_hold,
        };
        let output = PutObjectOutput {
            e_tag: Some(ETag::Strong(record.etag())),
            checksum_sha256: Some(sha256_b64),
            checksum_crc32: computed.checksum_crc32,
            checksum_crc32c: computed.checksum_crc32c,
            checksum_crc64nvme: computed.checksum_crc64nvme,
            checksum_sha1: computed.checksum_sha1,
            size: Some(upload.size as i64),
            ..Default::default()
        };

        // The durable commit: object bytes and record fsynced under temporary names; then,
        // under the key's lock, the record placed (rename + fsync of its directory) before the
        // object (rename + fsync of its directory). Only then the 200.
        let Upload {
            layout,
            tmp,
            pending,
            ..
        } = upload;
        blocking(move || {
            let mut tmp = match tmp {
                Some(tmp) => tmp,
                None => TempFile::create(&layout).map_err(internal)?,
            };
            tmp.write_all(&pending).map_err(internal)?;
            tmp.sync().map_err(internal)?;
            let mut record_tmp = TempFile::create(&layout).map_err(internal)?;
            record_tmp
                .write_all(&serde_json::to_vec(&record).map_err(internal)?)
                .map_err(internal)?;
            record_tmp.sync().map_err(internal)?;
            let object = layout.object(&bucket, &key);
            let _lock = KeyLock::acquire(&layout, &bucket, &key).map_err(internal)?;
            if existing(&layout, &bucket, &key)? {
                return Err(refuse_overwrite(&key, if_none_match));
            }
            let record_path = layout.record(&bucket, &key);
            for path in [&record_path, &object] {
                if let Some(dir) = path.parent() {
                    disk::create_dirs(dir).map_err(internal)?;
                }
            }
            record_tmp.place(&record_path).map_err(internal)?;
            tmp.place(&object).map_err(internal)?;
            Ok(())
        })
        .await?;
        Ok(S3Response::new(output))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let input = req.input;
        let with_checksums = checksums_asked(input.checksum_mode.as_ref());
        let (layout, bucket, key, range) =
            (self.layout.clone(), input.bucket, input.key, input.range);
        let opened = blocking(move || open_object(&layout, &bucket, &key, range, true)).await?;
        let r = &opened.record;
        let (content_length, content_range) = match &opened.range {
            Some(span) => (
                span.end - span.start,
                Some(format!(
                    "bytes {}-{}/{}",
                    span.start,
                    span.end.saturating_sub(1),
                    opened.size
                )),
            ),
            None => (opened.size, None),
        };
        // S3 gives the checksums of whole objects only, and when asked.
        let (sha256, sums) = given_checksums(r, with_checksums && opened.range.is_none());
        let output = description!(GetObjectOutput, r, sha256, sums, {
            body: opened.body.map(StreamingBlob::wrap),
            content_length: Some(content_length as i64),
            content_range: content_range,
        });
        Ok(S3Response::new(output))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let input = req.input;
        let with_checksums = checksums_asked(input.checksum_mode.as_ref());
        let (layout, bucket, key) = (self.layout.clone(), input.bucket, input.key);
        let opened = blocking(move || open_object(&layout, &bucket, &key, None, false)).await?;
        let r = &opened.record;
        let (sha256, sums) = given_checksums(r, with_checksums);
        let output = description!(HeadObjectOutput, r, sha256, sums, {
            content_length: Some(opened.size as i64),
        });
        Ok(S3Response::new(output))
    }

    /// Refused while the object is retained or under legal hold (AccessDenied, as S3 answers
    /// for a locked version). The bytes go first, then the record.
    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        check_key(&input.key)?;
        if input.version_id.as_deref().is_some_and(|v| v != "null") {
            return Err(s3_error!(
                InvalidArgument,
                "identifiant de version inconnu : le coffre embarqué ne garde qu'une version par clé"
            ));
        }
        let now = (self.clock)();
        let (layout, bucket, key) = (self.layout.clone(), input.bucket, input.key);
        blocking(move || {
            check_bucket(&layout, &bucket)?;
            let object = layout.object(&bucket, &key);
            let _lock = KeyLock::acquire(&layout, &bucket, &key).map_err(internal)?;
            if !existing(&layout, &bucket, &key)? {
                return Ok(());
            }
            if let Some(why) = record_of(&layout, &bucket, &key)?.protection(now) {
                return Err(s3_error!(
                    AccessDenied,
                    "suppression de « {key} » refusée : {why}"
                ));
            }
            disk::remove_durably(&object).map_err(internal)?;
            disk::remove_durably(&layout.record(&bucket, &key)).map_err(internal)
        })
        .await?;
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn get_object_retention(
        &self,
        req: S3Request<GetObjectRetentionInput>,
    ) -> S3Result<S3Response<GetObjectRetentionOutput>> {
        let (layout, bucket, key) = (self.layout.clone(), req.input.bucket, req.input.key);
        let opened = blocking(move || open_object(&layout, &bucket, &key, None, false)).await?;
        let until = opened.record.retain_until.ok_or_else(|| {
            s3_error!(
                NoSuchObjectLockConfiguration,
                "l'objet n'a pas de date de fin de conservation"
            )
        })?;
        Ok(S3Response::new(GetObjectRetentionOutput {
            retention: Some(ObjectLockRetention {
                mode: Some(compliance()),
                retain_until_date: Some(to_timestamp(until)),
            }),
        }))
    }

    /// Extends the retention; shortening it while it runs is refused (AccessDenied).
    async fn put_object_retention(
        &self,
        req: S3Request<PutObjectRetentionInput>,
    ) -> S3Result<S3Response<PutObjectRetentionOutput>> {
        let input = req.input;
        check_key(&input.key)?;
        let now = (self.clock)();
        let retention = input
            .retention
            .ok_or_else(|| s3_error!(MalformedXML, "Retention absente"))?;
        is_compliance(retention.mode.as_ref().map_or("", |m| m.as_str()))?;
        let until = retention
            .retain_until_date
            .as_ref()
            .ok_or_else(|| s3_error!(MalformedXML, "RetainUntilDate absente"))?;
        let until = future_date(until, now)?;
        self.update_record(input.bucket, input.key, move |record, key| {
            if let Some(current) = record.retain_until {
                if until < current && now < current {
                    return Err(s3_error!(
                        AccessDenied,
                        "conservation de « {key} » jusqu'au {} : elle se prolonge, jamais ne se raccourcit ({} refusé)",
                        current.to_rfc3339(),
                        until.to_rfc3339()
                    ));
                }
            }
            record.retain_until = Some(until);
            Ok(())
        })
        .await?;
        Ok(S3Response::new(PutObjectRetentionOutput::default()))
    }

    async fn get_object_legal_hold(
        &self,
        req: S3Request<GetObjectLegalHoldInput>,
    ) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
        let (layout, bucket, key) = (self.layout.clone(), req.input.bucket, req.input.key);
        let opened = blocking(move || open_object(&layout, &bucket, &key, None, false)).await?;
        Ok(S3Response::new(GetObjectLegalHoldOutput {
            legal_hold: Some(ObjectLockLegalHold {
                status: Some(hold_status(opened.record.legal_hold)),
            }),
        }))
    }

    async fn put_object_legal_hold(
        &self,
        req: S3Request<PutObjectLegalHoldInput>,
    ) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
        let input = req.input;
        check_key(&input.key)?;
        let on = legal_hold_on(input.legal_hold.as_ref().and_then(|h| h.status.as_ref()))?;
        self.update_record(input.bucket, input.key, move |record, _| {
            record.legal_hold = on;
            Ok(())
        })
        .await?;
        Ok(S3Response::new(PutObjectLegalHoldOutput::default()))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let v2 = self.list_objects_v2(req.map_input(Into::into)).await?;
        Ok(v2.map_output(|v2| ListObjectsOutput {
            contents: v2.contents,
            common_prefixes: v2.common_prefixes,
            delimiter: v2.delimiter,
            name: v2.name,
            prefix: v2.prefix,
            max_keys: v2.max_keys,
            is_truncated: v2.is_truncated,
            next_marker: v2.next_continuation_token,
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let layout = self.layout.clone();
        blocking(move || {
            check_bucket(&layout, &input.bucket)?;
            let prefix = input.prefix.clone().unwrap_or_default();
            let max_keys = input.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
            let after = input
                .continuation_token
                .clone()
                .max(input.start_after.clone())
                .unwrap_or_default();
            let keys = list_keys(&layout, &input.bucket, &prefix).map_err(internal)?;
            let mut contents = Vec::new();
            let mut prefixes: Vec<String> = Vec::new();
            let mut last = None;
            let mut truncated = false;
            for key in keys.into_iter().filter(|k| *k > after) {
                let grouped = input.delimiter.as_deref().and_then(|d| {
                    key[prefix.len()..]
                        .find(d)
                        .map(|i| key[..prefix.len() + i + d.len()].to_owned())
                });
                if let Some(p) = &grouped {
                    if prefixes.last() == Some(p) || last.as_ref().is_some_and(|l: &String| l >= p)
                    {
                        continue;
                    }
                }
                if contents.len() + prefixes.len() == max_keys {
                    truncated = true;
                    break;
                }
                match grouped {
                    Some(p) => {
                        // Resume after every key under this prefix.
                        last = Some(format!("{p}\u{10FFFF}"));
                        prefixes.push(p);
                    }
                    None => {
                        let record =
                            disk::read_json::<ObjectRecord>(&layout.record(&input.bucket, &key))
                                .map_err(internal)?
                                .unwrap_or_default();
                        let size = std::fs::metadata(layout.object(&input.bucket, &key))
                            .map(|m| m.len())
                            .unwrap_or(record.size);
                        contents.push(Object {
                            key: Some(key.clone()),
                            size: Some(size as i64),
                            e_tag: (!record.sha256.is_empty()).then(|| ETag::Strong(record.etag())),
                            last_modified: Some(to_timestamp(record.created)),
                            storage_class: Some(ObjectStorageClass::from_static(
                                ObjectStorageClass::STANDARD,
                            )),
                            ..Default::default()
                        });
                        last = Some(key);
                    }
                }
            }
            let count = contents.len() + prefixes.len();
            Ok(S3Response::new(ListObjectsV2Output {
                name: Some(input.bucket),
                prefix: input.prefix,
                delimiter: input.delimiter,
                max_keys: Some(max_keys as i32),
                key_count: Some(count as i32),
                is_truncated: Some(truncated),
                continuation_token: input.continuation_token,
                next_continuation_token: truncated.then_some(last).flatten(),
                start_after: input.start_after,
                contents: (!contents.is_empty()).then_some(contents),
                common_prefixes: (!prefixes.is_empty()).then(|| {
                    prefixes
                        .into_iter()
                        .map(|p| CommonPrefix { prefix: Some(p) })
                        .collect()
                }),
                ..Default::default()
            }))
        })
        .await
    }
}

impl Coffre {
    /// Changes an object's record under its key's lock, and writes it back durably.
    async fn update_record(
        &self,
        bucket: String,
        key: String,
        change: impl FnOnce(&mut ObjectRecord, &str) -> S3Result<()> + Send + 'static,
    ) -> S3Result<()> {
        let layout = self.layout.clone();
        blocking(move || {
            check_bucket(&layout, &bucket)?;
            let _lock = KeyLock::acquire(&layout, &bucket, &key).map_err(internal)?;
            if !existing(&layout, &bucket, &key)? {
                return Err(no_such_key(&key));
            }
            let mut record = record_of(&layout, &bucket, &key)?;
            change(&mut record, &key)?;
            write_record(&layout, &layout.record(&bucket, &key), &record)
        })
        .await
    }
}
