//! The S3 client and content addressing: one aws-sdk-s3 code path for every store (the embedded
//! store, moto, a provider's S3 with Object Lock).

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
    SharedCredentialsProvider,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, ChecksumAlgorithm, ObjectLockEnabled, ObjectLockLegalHold,
    ObjectLockLegalHoldStatus, ObjectLockMode, ObjectLockRetention, ObjectLockRetentionMode,
};
use aws_sdk_s3::Client;
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, Utc};
use parafe_core::model::{EvidenceObject, Sha256Digest};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The key of an object: derived from its hash only, so that the same bytes land in the same
/// place and a key can never hold other bytes. `prefix` is a PLIE id (or `_ancres`).
pub fn object_key(prefix: &str, sha256: &Sha256Digest) -> String {
    let hex = sha256.to_hex();
    format!("{prefix}/sha256/{}/{}/{hex}", &hex[..2], &hex[2..4])
}

/// Why a request did not succeed, as far as what to do next is concerned.
#[derive(Debug, thiserror::Error)]
pub enum S3Failure {
    /// The store could not be reached or is in trouble (network, timeout, 5xx): retry later.
    #[error("coffre injoignable : {0}")]
    Unreachable(String),
    /// The store answered no: retrying the same request will not help.
    #[error("refusé par le coffre : {0}")]
    Rejected(String),
}

fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> (Option<u16>, S3Failure) {
    match err {
        SdkError::ServiceError(ctx) => {
            let status = ctx.raw().status().as_u16();
            let e = ctx.err();
            let text = format!(
                "{} {} ({status})",
                e.code().unwrap_or("?"),
                e.message().unwrap_or("")
            );
            let failure = if status >= 500 || status == 429 {
                S3Failure::Unreachable(text)
            } else {
                S3Failure::Rejected(text)
            };
            (Some(status), failure)
        }
        SdkError::ConstructionFailure(e) => (None, S3Failure::Rejected(format!("{e:?}"))),
        other => (
            None,
            S3Failure::Unreachable(DisplayErrorChain(&other).to_string()),
        ),
    }
}

/// The error and its sources on one line (the SDK's top-level message alone says little).
struct DisplayErrorChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for DisplayErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, " : {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// Where and how to connect.
pub struct Endpoint<'a> {
    pub url: &'a str,
    pub region: &'a str,
    /// `None`: the standard AWS environment variables.
    pub credentials: Option<(&'a str, &'a str)>,
    pub path_style: bool,
}

#[derive(Clone)]
pub struct S3 {
    client: Client,
    bucket: String,
}

/// What `PutObject` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Put {
    Stored,
    /// The key already held an object: same hash, same bytes (idempotent filing).
    AlreadyThere,
}

/// Versioning and Object Lock of the bucket, as the store reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketFeatures {
    pub versioning: bool,
    pub object_lock: bool,
}

/// Builds the client every part of parafe uses.
pub fn client(endpoint: &Endpoint<'_>) -> Client {
    let credentials = match endpoint.credentials {
        Some((access, secret)) => {
            SharedCredentialsProvider::new(Credentials::new(access, secret, None, None, "parafe"))
        }
        // Environment only: the default chain would also query the cloud metadata address.
        None => SharedCredentialsProvider::new(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        ),
    };
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(endpoint.region.to_owned()))
        .endpoint_url(endpoint.url)
        .credentials_provider(credentials)
        .force_path_style(endpoint.path_style)
        // S3-compatible stores reject the default CRC32 trailers; parafe sends SHA-256 itself.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        // One retry only: the durable queue does the patient retrying, with backoff.
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .read_timeout(Duration::from_secs(60))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

fn smithy_time(t: DateTime<Utc>) -> aws_sdk_s3::primitives::DateTime {
    aws_sdk_s3::primitives::DateTime::from_secs(t.timestamp())
}

/// S3 user metadata is ASCII: anything else (accents in file names) is percent-encoded.
pub fn metadata_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (b.is_ascii_graphic() || b == b' ') && b != b'%' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The text of a user metadata value written by [`metadata_value`].
pub fn metadata_text(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| value.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl S3 {
    pub fn new(client: Client, bucket: String) -> S3 {
        S3 { client, bucket }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Creates the bucket if it does not exist (embedded store only, where every bucket has
    /// Object Lock: real buckets are made, with Object Lock, by whoever runs the store).
    pub async fn ensure_bucket(&self) -> Result<(), S3Failure> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => match classify(e) {
                (Some(404), _) => match self
                    .client
                    .create_bucket()
                    .bucket(&self.bucket)
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) => Err(classify(e).1),
                },
                (_, failure) => Err(failure),
            },
        }
    }

    /// Versioning and Object Lock status. A store that does not implement the query has neither.
    pub async fn features(&self) -> Result<BucketFeatures, S3Failure> {
        let versioning = match self
            .client
            .get_bucket_versioning()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(out) => out.status() == Some(&BucketVersioningStatus::Enabled),
            Err(e) => match classify(e) {
                (_, S3Failure::Unreachable(m)) if !m.contains("NotImplemented") => {
                    return Err(S3Failure::Unreachable(m))
                }
                _ => false,
            },
        };
        let object_lock = match self
            .client
            .get_object_lock_configuration()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(out) => out
                .object_lock_configuration()
                .and_then(|c| c.object_lock_enabled())
                .is_some_and(|e| *e == ObjectLockEnabled::Enabled),
            Err(e) => match classify(e) {
                (_, S3Failure::Unreachable(m)) if !m.contains("NotImplemented") => {
                    return Err(S3Failure::Unreachable(m))
                }
                _ => false,
            },
        };
        // Object Lock turns versioning on for good (it cannot be suspended): some stores answer
        // the versioning query in a form the SDK does not parse (moto), the lock settles it.
        Ok(BucketFeatures {
            versioning: versioning || object_lock,
            object_lock,
        })
    }

    /// Files one object. The store checks the SHA-256 sent along and rejects a body that does not
    /// match; `If-None-Match: *` makes the write create-only, so nothing is ever overwritten.
    pub async fn put(
        &self,
        object: &EvidenceObject,
        body: ByteStream,
        lock: bool,
        legal_hold: bool,
    ) -> Result<Put, S3Failure> {
        let m = &object.metadata;
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&object.key)
            .body(body)
            .content_length(object.size as i64)
            .content_type(&m.content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(STANDARD.encode(object.sha256.0))
            .if_none_match("*")
            .metadata("sha256", object.sha256.to_hex())
            .metadata("original-name", metadata_value(&m.original_name))
            .metadata("operation", metadata_value(&m.operation))
            .metadata("kind", metadata_value(&m.kind))
            .metadata("retain-until", object.retain_until.to_rfc3339());
        if let Some(p) = &m.participant {
            request = request.metadata("participant", metadata_value(p));
        }
        // A retention already over (a closure date in the past) has nothing left to lock, and
        // S3 refuses a retain-until in the past.
        if lock && object.retain_until > Utc::now() {
            request = request
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(smithy_time(object.retain_until));
        }
        if lock && legal_hold {
            request = request.object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On);
        }
        // The SHA-256 checksum header is signed and checked by the store against the body:
        // signing the payload too would hash every byte once more for no added integrity.
        match request.customize().disable_payload_signing().send().await {
            Ok(_) => Ok(Put::Stored),
            Err(e) => match classify(e) {
                (Some(412), _) => Ok(Put::AlreadyThere),
                (_, failure) => Err(failure),
            },
        }
    }

    /// Reads an object back and hashes it as it streams. `None` when it is absent.
    pub async fn rehash(&self, key: &str) -> Result<Option<(Sha256Digest, u64)>, S3Failure> {
        let Some((mut body, _)) = self.get(key).await? else {
            return Ok(None);
        };
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| S3Failure::Unreachable(DisplayErrorChain(&e).to_string()))?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(Some((Sha256Digest(hasher.finalize().into()), size)))
    }

    /// Raises the COMPLIANCE retain-until of the current version (the store refuses to lower it).
    pub async fn extend_retention(&self, key: &str, until: DateTime<Utc>) -> Result<(), S3Failure> {
        let retention = ObjectLockRetention::builder()
            .mode(ObjectLockRetentionMode::Compliance)
            .retain_until_date(smithy_time(until))
            .build();
        self.client
            .put_object_retention()
            .bucket(&self.bucket)
            .key(key)
            .retention(retention)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e).1)
    }

    pub async fn set_legal_hold(&self, key: &str, on: bool) -> Result<(), S3Failure> {
        let status = if on {
            ObjectLockLegalHoldStatus::On
        } else {
            ObjectLockLegalHoldStatus::Off
        };
        self.client
            .put_object_legal_hold()
            .bucket(&self.bucket)
            .key(key)
            .legal_hold(ObjectLockLegalHold::builder().status(status).build())
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e).1)
    }

    /// Whether `key` holds an object (HEAD: nothing is read).
    pub async fn exists(&self, key: &str) -> Result<bool, S3Failure> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => match classify(e) {
                (Some(404), _) => Ok(false),
                (_, failure) => Err(failure),
            },
        }
    }

    /// Writes a working object (a document version, a pack): no retention of its own, no
    /// create-only condition (its key names its content, or its content is final). The store
    /// checks the SHA-256 sent along against the body, as for evidence.
    pub async fn put_working(
        &self,
        key: &str,
        body: ByteStream,
        size: u64,
        sha256: &Sha256Digest,
        content_type: &str,
    ) -> Result<(), S3Failure> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body)
            .content_length(size as i64)
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(STANDARD.encode(sha256.0))
            .metadata("sha256", sha256.to_hex())
            .customize()
            .disable_payload_signing()
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e).1)
    }

    /// Opens an object as a stream, with its length. `None` when it is absent.
    pub async fn get(&self, key: &str) -> Result<Option<(ByteStream, u64)>, S3Failure> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let size = out.content_length().unwrap_or(0).max(0) as u64;
                Ok(Some((out.body, size)))
            }
            Err(e) => match classify(e) {
                (Some(404), _) => Ok(None),
                (_, failure) => Err(failure),
            },
        }
    }

    /// Reads a whole (small) object. `None` when it is absent.
    pub async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, S3Failure> {
        let Some((body, _)) = self.get(key).await? else {
            return Ok(None);
        };
        let bytes = body
            .collect()
            .await
            .map_err(|e| S3Failure::Unreachable(DisplayErrorChain(&e).to_string()))?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    /// Deletes an object whose retention has ended (the caller checked it).
    pub async fn delete(&self, key: &str) -> Result<(), S3Failure> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| classify(e).1)
    }

    /// Every key of the bucket, in the store's order (a migration copies them all).
    pub async fn keys(&self) -> Result<Vec<String>, S3Failure> {
        let mut keys = Vec::new();
        let mut suite: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .set_continuation_token(suite.take())
                .send()
                .await
                .map_err(|e| classify(e).1)?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => suite = Some(t.to_owned()),
                _ => return Ok(keys),
            }
        }
    }

    /// Copies `key` into `target` as it is, streamed: the same bytes (checked against their
    /// SHA-256 when parafe's metadata names it), metadata, retain-until and legal hold (when
    /// `lock`: the target bucket has Object Lock). Create-only: a key already there is left.
    pub async fn copy_to(&self, target: &S3, key: &str, lock: bool) -> Result<Put, S3Failure> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| classify(e).1)?;
        let metadata = out.metadata().cloned().unwrap_or_default();
        let mut request = target
            .client
            .put_object()
            .bucket(&target.bucket)
            .key(key)
            .content_length(out.content_length().unwrap_or(0))
            .set_content_type(out.content_type().map(str::to_owned))
            .set_metadata(Some(metadata.clone()))
            .if_none_match("*");
        if let Some(sha) = metadata
            .get("sha256")
            .and_then(|h| Sha256Digest::from_hex(h))
        {
            request = request
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .checksum_sha256(STANDARD.encode(sha.0));
        }
        let until = out
            .object_lock_retain_until_date()
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.secs(), 0))
            .filter(|d| *d > Utc::now());
        if let (true, Some(until)) = (lock, until) {
            request = request
                .object_lock_mode(ObjectLockMode::Compliance)
                .object_lock_retain_until_date(smithy_time(until));
        }
        if lock && out.object_lock_legal_hold_status() == Some(&ObjectLockLegalHoldStatus::On) {
            request = request.object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On);
        }
        match request
            .body(out.body)
            .customize()
            .disable_payload_signing()
            .send()
            .await
        {
            Ok(_) => Ok(Put::Stored),
            Err(e) => match classify(e) {
                (Some(412), _) => Ok(Put::AlreadyThere),
                (_, failure) => Err(failure),
            },
        }
    }
}
