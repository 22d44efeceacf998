//! The evidence store: content-addressed objects on S3 with Object Lock retention, the journal
//! that records what happened to them, and the local queue that keeps what the store could not
//! take yet. [`Vault`] is the one entry point: `file`, `record`, `verify`.

pub mod embedded;
pub mod queue;
pub mod retention;
pub mod s3;
pub mod verify;

use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use embedded::EmbeddedS3;
use parafe_core::horloge::Horloge;
use parafe_core::model::{
    EvidenceMetadata, EvidenceObject, JournalEntry, JournalEvent, PlieId, Sha256Digest,
};
use parafe_journal::chain::{hash_file, ClosedSegment};
use parafe_journal::partage::Partage;
use parafe_journal::{self as journal, Anchor, ChainHead, Journal, Timestamper};
pub use queue::Content;
use queue::Queue;
use retention::{Register, RetentionConfig, RetentionError, RetentionRule};
use s3::{BucketFeatures, Put, S3Failure, S3};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Object store and retention (`[store]` in parafe.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// S3 endpoint URL. None: the embedded store, on loopback over the data directory.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    /// Key pair; when absent, `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (for the embedded
    /// server: a random pair for this run).
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`): what S3-compatible stores understand.
    pub path_style: bool,
    /// Production: the bucket must have versioning and Object Lock…
    pub production: bool,
    /// …unless this is set, knowingly (the store then relies on parafe's own enforcement).
    pub allow_without_object_lock: bool,
    /// Largest object accepted, in bytes: one streamed PutObject (S3's single-request limit).
    pub max_object_size: u64,
    /// Requests in flight during `verify --store` and the queue flush.
    pub concurrency: usize,
    /// Port of the embedded server (0: any free port).
    pub embedded_port: u16,
    pub retention: RetentionConfig,
    pub journal: JournalConfig,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            bucket: "parafe".into(),
            region: "us-east-1".into(),
            access_key: None,
            secret_key: None,
            path_style: true,
            production: false,
            allow_without_object_lock: false,
            max_object_size: 5 * 1024 * 1024 * 1024,
            concurrency: 16,
            embedded_port: 0,
            retention: RetentionConfig::default(),
            journal: JournalConfig::default(),
        }
    }
}

/// `[store.journal]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JournalConfig {
    /// Minutes between two anchors of the chain heads (default: daily).
    pub anchor_interval_minutes: u64,
    /// Entries per segment; a full segment is closed and filed in the store.
    pub segment_entries: u64,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self {
            anchor_interval_minutes: 24 * 60,
            segment_entries: 10_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// What was asked cannot be done as asked (exit code 2).
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Retention(#[from] RetentionError),
    #[error(transparent)]
    S3(#[from] S3Failure),
    #[error("{context} : {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("le compartiment « {bucket} » n'a pas {missing} : refusé en mode production (activez-les sur le compartiment, ou mettez allow_without_object_lock = true dans [store] en connaissance de cause)")]
    NotCompliant { bucket: String, missing: String },
    #[error("l'objet {sha256} est conservé jusqu'au {until}{hold} : suppression refusée")]
    Retained {
        sha256: Sha256Digest,
        until: String,
        hold: &'static str,
    },
    #[error("ancrage impossible : {0}")]
    Anchor(String),
}

impl StoreError {
    /// The storage fault behind this error, if it is one: the caller answers 507 or 503.
    pub fn panne(&self) -> Option<parafe_core::panne::Panne> {
        match self {
            StoreError::Io { source, .. } => Some(parafe_core::panne::Panne::de_io(source)),
            StoreError::S3(S3Failure::Unreachable(_)) => {
                Some(parafe_core::panne::Panne::Indisponible)
            }
            _ => None,
        }
    }
}

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}

/// Where one filed object stands, as the journal says.
#[derive(Debug, Clone)]
struct FiledInfo {
    retain_until: DateTime<Utc>,
    /// Each filing of these bytes: one piece may be evidence for several participants.
    filings: Vec<Filing>,
}

/// One `document_filed` entry: for which opération, kind and participant, at which entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Filing {
    operation: String,
    kind: String,
    participant: Option<String>,
    seq: u64,
}

impl FiledInfo {
    fn concerns(&self, operation: &str) -> bool {
        self.filings.iter().any(|f| f.operation == operation)
    }
}

/// The PLIE's filed objects, by SHA-256, as the journal tells them.
type Index = HashMap<Sha256Digest, FiledInfo>;

/// Brings the index up to date with one entry. Applying an entry twice changes nothing: the
/// entries other processes appended may be met both when the index is loaded and later.
fn apply(index: &mut Index, entry: &JournalEntry) {
    match &entry.event {
        JournalEvent::DocumentFiled {
            operation,
            kind,
            participant,
            retain_until,
        } => {
            for sha in &entry.objects {
                let info = index.entry(*sha).or_insert_with(|| FiledInfo {
                    retain_until: *retain_until,
                    filings: Vec::new(),
                });
                info.retain_until = info.retain_until.max(*retain_until);
                let filing = Filing {
                    operation: operation.clone(),
                    kind: kind.clone(),
                    participant: participant.clone(),
                    seq: entry.seq,
                };
                if !info.filings.contains(&filing) {
                    info.filings.push(filing);
                }
            }
        }
        JournalEvent::RetentionChanged {
            operation,
            retain_until,
        } => {
            for info in index.values_mut().filter(|i| i.concerns(operation)) {
                info.retain_until = info.retain_until.max(*retain_until);
            }
        }
        JournalEvent::ObjectDeleted { .. } => {
            for sha in &entry.objects {
                index.remove(sha);
            }
        }
        _ => {}
    }
}

/// The outcome of filing a piece.
#[derive(Debug, Clone)]
pub struct Filed {
    pub object: EvidenceObject,
    /// The journal entry that records the filing.
    pub seq: u64,
    /// The store was unreachable: the piece waits in the durable queue.
    pub queued: bool,
    /// The same bytes were already filed for this PLIE, for the same opération, kind and
    /// participant: nothing was written, `seq` is that filing's.
    pub already_filed: bool,
    /// The same bytes were already in the store (filed for another participant, opération or
    /// kind): they were not written again, only this filing's own journal entry.
    pub bytes_already_stored: bool,
}

/// What `parafe store check` reports.
#[derive(Debug, Clone)]
pub struct StoreCheck {
    pub endpoint: String,
    pub embedded: bool,
    pub bucket: String,
    pub features: BucketFeatures,
    pub production: bool,
    pub allow_without_object_lock: bool,
}

impl StoreCheck {
    /// The refusal, in production without versioning and Object Lock and without the override.
    pub fn refusal(&self) -> Option<StoreError> {
        let mut missing = Vec::new();
        if !self.features.versioning {
            missing.push("le versionnage");
        }
        if !self.features.object_lock {
            missing.push("l'Object Lock");
        }
        (self.production && !self.allow_without_object_lock && !missing.is_empty()).then(|| {
            StoreError::NotCompliant {
                bucket: self.bucket.clone(),
                missing: missing.join(" ni "),
            }
        })
    }
}

/// The evidence store of one data directory.
pub struct Vault {
    config: StoreConfig,
    s3: S3,
    endpoint: String,
    embedded: Option<EmbeddedS3>,
    features: OnceCell<BucketFeatures>,
    journal: Arc<Journal>,
    queue: Arc<Queue>,
    register: Mutex<Register>,
    filed: Mutex<HashMap<PlieId, Index>>,
    /// After a failure, writes go straight to the queue until then (no waiting on a dead store).
    down_until: Mutex<Option<Instant>>,
    draining: tokio::sync::Mutex<()>,
}

/// Kind of the journal segments filed as evidence.
pub const SEGMENT_KIND: &str = "segment-journal";
/// Key prefix of the anchors (not a PLIE id: those never start with `_`).
pub const ANCHOR_PREFIX: &str = "_ancres";

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

impl Vault {
    /// The index of filed objects. A panic elsewhere while it was held leaves it usable: every
    /// change to it is a single entry applied.
    fn filed(&self) -> std::sync::MutexGuard<'_, HashMap<PlieId, Index>> {
        self.filed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens the store of `config` (starting the embedded server when no endpoint is set), the
    /// journal and the queue under the data directory `data`. With `partage` (several
    /// instances), the journal is a replica of the shared chains and nothing waits in a local
    /// queue: what the store refuses is refused to the caller, who retries.
    pub async fn open(
        config: &StoreConfig,
        data: &Path,
        horloge: Horloge,
        partage: Option<Arc<dyn Partage>>,
    ) -> Result<Vault, StoreError> {
        let store = config.clone();
        let (embedded, endpoint, keys) = match &store.endpoint {
            Some(url) => {
                let keys = store.access_key.clone().zip(store.secret_key.clone());
                (None, url.clone(), keys)
            }
            None => {
                let keys = store
                    .access_key
                    .clone()
                    .zip(store.secret_key.clone())
                    .unwrap_or_else(|| ("parafe".into(), random_hex(20)));
                let server = start_embedded(
                    &store,
                    data,
                    store.embedded_port,
                    &keys,
                    embedded::system_clock(),
                )
                .await?;
                let url = server.endpoint();
                (Some(server), url, Some(keys))
            }
        };
        let client = s3::client(&s3::Endpoint {
            url: &endpoint,
            region: &store.region,
            credentials: keys.as_ref().map(|(a, s)| (a.as_str(), s.as_str())),
            path_style: store.path_style,
        });
        let s3 = S3::new(client, store.bucket.clone());
        if embedded.is_some() {
            s3.ensure_bucket().await?;
        }
        let register = Register::open(data.join("store/retention.json"), store.retention.clone())?;
        let queue =
            Queue::open(data.join("store/queue")).map_err(io_error("file d'attente locale"))?;
        let mut journal =
            Journal::new(data.join("journal"), store.journal.segment_entries).with_clock(horloge);
        if let Some(partage) = partage {
            journal = journal.with_partage(partage);
        }
        let vault = Vault {
            s3,
            endpoint,
            embedded,
            features: OnceCell::new(),
            journal: Arc::new(journal),
            queue: Arc::new(queue),
            register: Mutex::new(register),
            filed: Mutex::new(HashMap::new()),
            down_until: Mutex::new(None),
            draining: tokio::sync::Mutex::new(()),
            config: store,
        };
        if vault.config.production {
            match vault.features().await {
                Err(StoreError::S3(S3Failure::Unreachable(m))) => {
                    tracing::warn!("coffre injoignable à l'ouverture, vérification de l'Object Lock remise : {m}")
                }
                other => {
                    other?;
                }
            }
        }
        Ok(vault)
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn s3(&self) -> &S3 {
        &self.s3
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The embedded server, when this vault runs one.
    pub fn embedded(&self) -> Option<&EmbeddedS3> {
        self.embedded.as_ref()
    }

    /// Where the embedded store keeps the bytes of `key` on disk: `<root>/<bucket>/<key>`.
    fn embedded_path(&self, key: &str) -> Option<std::path::PathBuf> {
        self.embedded
            .as_ref()
            .map(|e| e.root().join(&self.config.bucket).join(key))
    }

    /// Versioning and Object Lock, asked once; in production, refused without them.
    async fn features(&self) -> Result<BucketFeatures, StoreError> {
        self.features
            .get_or_try_init(|| async {
                let features = self.ask_features().await?;
                match self.check_with(features).refusal() {
                    Some(refusal) => Err(refusal),
                    None => Ok(features),
                }
            })
            .await
            .copied()
    }

    fn check_with(&self, features: BucketFeatures) -> StoreCheck {
        StoreCheck {
            endpoint: self.endpoint.clone(),
            embedded: self.embedded.is_some(),
            bucket: self.config.bucket.clone(),
            features,
            production: self.config.production,
            allow_without_object_lock: self.config.allow_without_object_lock,
        }
    }

    /// `parafe store check`: what the bucket offers, asked afresh.
    pub async fn check(&self) -> Result<StoreCheck, StoreError> {
        Ok(self.check_with(self.ask_features().await?))
    }

    async fn ask_features(&self) -> Result<BucketFeatures, StoreError> {
        Ok(self.s3.features().await?)
    }

    /// Items waiting in the local queue (for the health endpoint and `parafe store queue`).
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    fn register(&self) -> std::sync::MutexGuard<'_, Register> {
        self.register.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The figures of the programmes' rules (`[store.retention.programmes]`).
    pub fn programme_rules(&self) -> &retention::ProgrammeRules {
        &self.config.retention.programmes
    }

    /// Until when the opération's pieces filed now are kept, `record` being the rule its
    /// record gives (see [`Vault::file`]).
    pub fn retain_until(
        &self,
        operation: &str,
        record: Option<&RetentionRule>,
    ) -> Result<DateTime<Utc>, StoreError> {
        Ok(self.register().retain_until(operation, record)?)
    }

    fn store_down(&self) -> bool {
        self.down_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|t| Instant::now() < t)
    }

    fn mark_down(&self, up: bool) {
        *self.down_until.lock().unwrap_or_else(|p| p.into_inner()) =
            (!up).then(|| Instant::now() + Duration::from_secs(1));
    }

    /// The clock of this process (`PARAFE_HORLOGE`, or the system's).
    pub fn horloge(&self) -> parafe_core::horloge::Horloge {
        self.journal.horloge()
    }

    /// Loads the PLIE's filed objects from its journal once, then follows what other processes
    /// append to it (a command line filing or deleting while the service runs).
    async fn ensure_index(&self, plie: &PlieId) -> Result<(), StoreError> {
        let journal = self.journal.clone();
        let p = plie.clone();
        let load = !self.filed().contains_key(plie);
        let (entries, foreign) = on_journal_thread(move || {
            let chain = journal.chain(&p)?;
            chain.refresh()?;
            let entries = if load {
                journal.entries(&p)?
            } else {
                Vec::new()
            };
            Ok::<_, std::io::Error>((entries, chain.take_foreign()))
        })
        .await?
        .map_err(io_error(format!("lecture du journal de {plie}")))?;
        self.observe(entries.iter().chain(&foreign));
        let mut filed = self.filed();
        let index = filed.entry(plie.clone()).or_default();
        for entry in entries.iter().chain(&foreign) {
            apply(index, entry);
        }
        Ok(())
    }

    /// The retention changes and legal holds the journal tells, into the register: with several
    /// instances, those another instance made reach this one's register this way.
    fn observe<'a>(&self, entries: impl Iterator<Item = &'a JournalEntry>) {
        let mut register = self.register();
        for entry in entries {
            register.observe(&entry.event);
        }
    }

    /// Several instances share this journal: nothing may wait only on this instance's disk.
    fn shared(&self) -> bool {
        self.journal.partage().is_some()
    }

    /// Files a piece of evidence: hashes it, stores it under its hash with its retention (or
    /// queues it durably when the store is unreachable), and journals `document_filed`. Filing
    /// the same bytes again for the same PLIE writes nothing and returns the first filing.
    /// `rule`: the opération's rule as its record gives it (read where the opérations are
    /// kept, the same for every instance); None: the register's.
    pub async fn file(
        &self,
        plie: &PlieId,
        metadata: EvidenceMetadata,
        content: Content,
        rule: Option<&RetentionRule>,
    ) -> Result<Filed, StoreError> {
        if metadata.operation.trim().is_empty() || metadata.kind.trim().is_empty() {
            return Err(StoreError::Input(
                "indiquez l'opération et le type de document de la pièce à déposer".into(),
            ));
        }
        let (sha256, size) = match &content {
            Content::Bytes(bytes) => (Sha256Digest::of(bytes), bytes.len() as u64),
            Content::File(path) => {
                let p = path.clone();
                tokio::task::spawn_blocking(move || {
                    Ok::<_, std::io::Error>((hash_file(&p)?, std::fs::metadata(&p)?.len()))
                })
                .await
                .map_err(|e| StoreError::Io {
                    context: path.display().to_string(),
                    source: std::io::Error::other(e),
                })?
                .map_err(io_error(format!("lecture de {}", path.display())))?
            }
        };
        if size > self.config.max_object_size {
            return Err(StoreError::Input(format!(
                "pièce de {size} octets : au-delà de la taille maximale du coffre ({} octets, max_object_size)",
                self.config.max_object_size
            )));
        }
        self.ensure_index(plie).await?;
        let retain_until = self.register().retain_until(&metadata.operation, rule)?;
        let object = EvidenceObject {
            plie: plie.clone(),
            sha256,
            size,
            key: s3::object_key(plie.as_str(), &sha256),
            metadata,
            retain_until,
        };
        let known = self.filed().get(plie).and_then(|i| i.get(&sha256).cloned());
        let m = &object.metadata;
        let same = known.as_ref().and_then(|info| {
            info.filings.iter().find(|f| {
                f.operation == m.operation && f.kind == m.kind && f.participant == m.participant
            })
        });
        if let (Some(info), Some(filing)) = (&known, same) {
            // The same filing again (a retry): nothing new to prove.
            return Ok(Filed {
                object: EvidenceObject {
                    retain_until: info.retain_until,
                    ..object
                },
                seq: filing.seq,
                queued: false,
                already_filed: true,
                bytes_already_stored: true,
            });
        }
        // Bytes already filed (or queued) for this PLIE are not written again, but this filing
        // gets its own entry, naming its own participant; the longest retention wins.
        let queued = match &known {
            None => self.store_or_queue(&object, content).await?,
            Some(info) => {
                if retain_until > info.retain_until && self.features().await?.object_lock {
                    self.s3.extend_retention(&object.key, retain_until).await?;
                }
                false
            }
        };
        let object = EvidenceObject {
            retain_until: known
                .as_ref()
                .map_or(retain_until, |i| i.retain_until.max(retain_until)),
            ..object
        };
        let m = &object.metadata;
        let event = JournalEvent::DocumentFiled {
            operation: m.operation.clone(),
            kind: m.kind.clone(),
            participant: m.participant.clone(),
            retain_until: object.retain_until,
        };
        let entry = self.append(plie, event, vec![sha256]).await?;
        Ok(Filed {
            object,
            seq: entry.seq,
            queued,
            already_filed: false,
            bytes_already_stored: known.is_some(),
        })
    }

    /// Journals an event about evidence (generated, viewed, signed, sealed, downloaded, export…).
    pub async fn record(
        &self,
        plie: &PlieId,
        event: JournalEvent,
        objects: Vec<Sha256Digest>,
    ) -> Result<JournalEntry, StoreError> {
        refuser_evenements_du_coffre([&event])?;
        self.append(plie, event, objects).await
    }

    /// Journals several events in order, on disk together (one sync for all).
    pub async fn record_all(
        &self,
        plie: &PlieId,
        events: Vec<(JournalEvent, Vec<Sha256Digest>)>,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        refuser_evenements_du_coffre(events.iter().map(|(event, _)| event))?;
        self.append_all(plie, events).await
    }

    async fn append(
        &self,
        plie: &PlieId,
        event: JournalEvent,
        objects: Vec<Sha256Digest>,
    ) -> Result<JournalEntry, StoreError> {
        let mut entries = self.append_all(plie, vec![(event, objects)]).await?;
        entries.pop().ok_or_else(|| StoreError::Io {
            context: format!("journal de {plie}"),
            source: std::io::Error::other("aucune entrée écrite"),
        })
    }

    async fn append_all(
        &self,
        plie: &PlieId,
        events: Vec<(JournalEvent, Vec<Sha256Digest>)>,
    ) -> Result<Vec<JournalEntry>, StoreError> {
        let journal = self.journal.clone();
        let p = plie.clone();
        let (entries, closed, foreign) = on_journal_thread(move || {
            let (entries, closed) = journal.append_all(&p, events)?;
            Ok::<_, std::io::Error>((entries, closed, journal.chain(&p)?.take_foreign()))
        })
        .await?
        .map_err(io_error(format!("écriture du journal de {plie}")))?;
        self.observe(foreign.iter().chain(&entries));
        if let Some(index) = self.filed().get_mut(plie) {
            for entry in foreign.iter().chain(&entries) {
                apply(index, entry);
            }
        }
        for segment in closed {
            self.file_closed(segment).await?;
        }
        Ok(entries)
    }

    /// Files a segment the chain just closed. With several instances its lines are already
    /// shared: a store that refuses it now does not undo the entries written, the next anchor
    /// files it again.
    async fn file_closed(&self, segment: ClosedSegment) -> Result<(), StoreError> {
        match self.file_segment(segment).await {
            Err(e) if self.shared() => {
                tracing::warn!("segment du journal non déposé, redéposé au prochain ancrage : {e}");
                Ok(())
            }
            other => other,
        }
    }

    /// Files a closed journal segment under the longest retention in force.
    async fn file_segment(&self, segment: ClosedSegment) -> Result<(), StoreError> {
        let size = std::fs::metadata(&segment.path)
            .map_err(io_error(segment.path.display().to_string()))?
            .len();
        let retain_until = self.register().longest()?;
        let object = EvidenceObject {
            key: s3::object_key(segment.plie.as_str(), &segment.sha256),
            sha256: segment.sha256,
            size,
            metadata: EvidenceMetadata {
                content_type: "application/x-ndjson".into(),
                original_name: format!("{}-{:06}.jsonl", segment.plie, segment.number),
                operation: String::new(),
                participant: None,
                kind: SEGMENT_KIND.into(),
            },
            retain_until,
            plie: segment.plie.clone(),
        };
        self.store_or_queue(&object, Content::File(segment.path.clone()))
            .await?;
        Ok(())
    }

    /// Stores the object now, or keeps it in the durable queue when the store is unreachable.
    /// Returns whether it was queued.
    async fn store_or_queue(
        &self,
        object: &EvidenceObject,
        content: Content,
    ) -> Result<bool, StoreError> {
        if !self.store_down() {
            match self.put(object, &content).await {
                Ok(_) => return Ok(false),
                Err(StoreError::S3(S3Failure::Unreachable(m))) => {
                    tracing::warn!("{m} ; {} mis en file d'attente", object.sha256);
                    self.mark_down(false);
                }
                Err(e) => return Err(e),
            }
        }
        if self.shared() {
            return Err(StoreError::S3(S3Failure::Unreachable(format!(
                "coffre injoignable : {} n'est pas déposé (plusieurs instances : rien n'attend sur le disque d'une seule)",
                object.sha256
            ))));
        }
        let queue = self.queue.clone();
        let o = object.clone();
        tokio::task::spawn_blocking(move || queue.push(&o, &content))
            .await
            .map_err(|e| StoreError::Io {
                context: "file d'attente".into(),
                source: std::io::Error::other(e),
            })?
            .map_err(io_error("mise en file d'attente locale"))?;
        Ok(true)
    }

    async fn put(&self, object: &EvidenceObject, content: &Content) -> Result<Put, StoreError> {
        let features = self.features().await?;
        let body = match content {
            Content::Bytes(bytes) => ByteStream::from(bytes.clone()),
            Content::File(path) => {
                ByteStream::from_path(path)
                    .await
                    .map_err(|e| StoreError::Io {
                        context: path.display().to_string(),
                        source: std::io::Error::other(e),
                    })?
            }
        };
        let hold = self.register().legal_hold(&object.metadata.operation);
        Ok(self
            .s3
            .put(object, body, features.object_lock, hold)
            .await?)
    }

    /// One pass over the queue. Stops at the first sign that the store is still unreachable.
    pub async fn flush_queue(&self) -> Result<usize, StoreError> {
        let _single = self.draining.lock().await;
        let queue = self.queue.clone();
        let items = tokio::task::spawn_blocking(move || queue.pending())
            .await
            .map_err(|e| StoreError::Io {
                context: "file d'attente".into(),
                source: std::io::Error::other(e),
            })?
            .map_err(io_error("lecture de la file d'attente"))?;
        let mut sent = 0;
        for item in items {
            let mut object = item.object.clone();
            // The retention may have been extended while the piece waited (the rule it was
            // queued with already counts).
            if let Some(until) = self.register().floor(&object.metadata.operation) {
                object.retain_until = object.retain_until.max(until);
            }
            match self.put(&object, &Content::File(item.data.clone())).await {
                Ok(_) => {
                    self.queue
                        .remove(&item)
                        .map_err(io_error("file d'attente"))?;
                    sent += 1;
                }
                Err(e @ StoreError::S3(S3Failure::Unreachable(_))) => {
                    self.mark_down(false);
                    return Err(e);
                }
                Err(e) => {
                    let dir = self
                        .queue
                        .reject(&item)
                        .map_err(io_error("file d'attente"))?;
                    tracing::error!(
                        "{} refusé par le coffre ({e}), mis de côté dans {}",
                        object.sha256,
                        dir.display()
                    );
                }
            }
        }
        self.mark_down(true);
        Ok(sent)
    }

    /// Flushes the queue, retrying with exponential backoff (0.2 s doubling up to 30 s) until it
    /// is empty or `limit` has passed.
    pub async fn flush_with_backoff(&self, limit: Duration) -> Result<(), StoreError> {
        let deadline = Instant::now() + limit;
        let mut delay = Duration::from_millis(200);
        loop {
            match self.flush_queue().await {
                Ok(_) if self.queue.is_empty() => return Ok(()),
                Ok(_) => {}
                Err(e @ StoreError::S3(S3Failure::Unreachable(_))) => {
                    if Instant::now() + delay > deadline {
                        return Err(e);
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Retries the queue in the background for as long as the service runs.
    pub fn spawn_retry_worker(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let vault = self.clone();
        tokio::spawn(async move {
            loop {
                if !vault.queue.is_empty() {
                    if let Err(e) = vault.flush_with_backoff(Duration::from_secs(30)).await {
                        tracing::warn!("file d'attente : {e}");
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }

    /// Keys of the PLIE's pieces filed for an opération, which its retention concerns (journal
    /// segments are filed under the longest retention in force).
    fn objects_of(&self, plie: &PlieId, operation: &str) -> Vec<Sha256Digest> {
        let filed = self.filed();
        filed
            .get(plie)
            .map(|index| {
                index
                    .iter()
                    .filter(|(_, i)| i.concerns(operation))
                    .map(|(sha, _)| *sha)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Puts a new retention rule in force for an opération: extended, never shortened. Applied
    /// as Object Lock retain-until on every piece already filed where the store has Object Lock,
    /// and journaled.
    pub async fn set_retention(
        &self,
        plie: &PlieId,
        operation: &str,
        rule: RetentionRule,
    ) -> Result<DateTime<Utc>, StoreError> {
        self.ensure_index(plie).await?;
        let filed = self.filed().get(plie).and_then(|index| {
            index
                .values()
                .filter(|i| i.concerns(operation))
                .map(|i| i.retain_until)
                .max()
        });
        let until = self.register().set_rule(operation, rule, filed)?;
        let event = JournalEvent::RetentionChanged {
            operation: operation.into(),
            retain_until: until,
        };
        let objects = self.objects_of(plie, operation);
        // A retention already over (a closure date in the past) has nothing left to lock.
        if self.features().await?.object_lock && until > Utc::now() {
            for sha in &objects {
                self.s3
                    .extend_retention(&s3::object_key(plie.as_str(), sha), until)
                    .await?;
            }
        }
        self.append(plie, event, objects).await?;
        Ok(until)
    }

    /// Whether the opération's pieces are under legal hold.
    pub fn legal_hold(&self, operation: &str) -> bool {
        self.register().legal_hold(operation)
    }

    /// Legal hold on or off for an opération's pieces (during a control).
    pub async fn set_legal_hold(
        &self,
        plie: &PlieId,
        operation: &str,
        on: bool,
    ) -> Result<usize, StoreError> {
        self.ensure_index(plie).await?;
        self.register().set_legal_hold(operation, on)?;
        let objects: Vec<_> = self.objects_of(plie, operation);
        if self.features().await?.object_lock {
            for sha in &objects {
                self.s3
                    .set_legal_hold(&s3::object_key(plie.as_str(), sha), on)
                    .await?;
            }
        }
        let count = objects.len();
        self.append(
            plie,
            JournalEvent::LegalHold {
                operation: operation.into(),
                on,
            },
            objects,
        )
        .await?;
        Ok(count)
    }

    /// Deletes a piece whose retention has ended. Refused while it is retained or under legal
    /// hold: this is how parafe enforces retention on stores without Object Lock.
    pub async fn delete(
        &self,
        plie: &PlieId,
        sha256: &Sha256Digest,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.ensure_index(plie).await?;
        let info = self.filed().get(plie).and_then(|i| i.get(sha256).cloned());
        let Some(info) = info else {
            return Err(StoreError::Input(format!(
                "aucun objet {sha256} déposé pour le PLIE « {plie} »"
            )));
        };
        let (until, hold) = {
            let register = self.register();
            let mut until = info.retain_until;
            let mut hold = false;
            for filing in &info.filings {
                if let Ok(current) = register.retain_until(&filing.operation, None) {
                    until = until.max(current);
                }
                hold |= register.legal_hold(&filing.operation);
            }
            (until, hold)
        };
        // A clock set ahead (`PARAFE_HORLOGE`) never ends a retention early.
        let maintenant = self.horloge().maintenant().min(Utc::now());
        if maintenant < until || hold {
            let day = parafe_core::model::heure_de_paris(until);
            let hold = if hold {
                " et sous conservation pour contrôle (legal hold)"
            } else {
                ""
            };
            return Err(StoreError::Retained {
                sha256: *sha256,
                until: day,
                hold,
            });
        }
        self.s3
            .delete(&s3::object_key(plie.as_str(), sha256))
            .await?;
        self.append(
            plie,
            JournalEvent::ObjectDeleted {
                reason: reason.into(),
            },
            vec![*sha256],
        )
        .await?;
        Ok(())
    }

    /// Records the break of a PLIE's chain (`parafe store constater-rupture`): the broken
    /// segment is closed as it is and filed, the chain goes on from an entry that names the
    /// place of the break, `reason`, and the broken segment's SHA-256. Refused when the chain
    /// is not broken.
    pub async fn record_break(
        &self,
        plie: &PlieId,
        reason: &str,
    ) -> Result<JournalEntry, StoreError> {
        if reason.trim().is_empty() {
            return Err(StoreError::Input(
                "dites ce qui s'est passé (--motif) : le constat le garde au journal".into(),
            ));
        }
        if self.shared() {
            return Err(StoreError::Input(
                "plusieurs instances : la rupture se constate sur la base partagée, instances arrêtées, après l'avoir copiée en une installation seule".into(),
            ));
        }
        let (dir, horloge, motif) = (
            self.journal.chain_dir(plie),
            self.horloge(),
            reason.trim().to_owned(),
        );
        let p = plie.clone();
        let recorded =
            on_journal_thread(move || journal::chain::record_break(&p, &dir, horloge, &motif))
                .await?
                .map_err(io_error(format!("journal de {plie}")))?;
        let Some((closed, entry)) = recorded else {
            return Err(StoreError::Input(format!(
                "le journal du PLIE « {plie} » n'est pas rompu : rien à constater"
            )));
        };
        self.journal.forget(plie);
        self.file_segment(closed).await?;
        Ok(entry)
    }

    /// Anchors every chain: closes and files the open segments, timestamps the Merkle root of
    /// the heads, records and files the anchor.
    pub async fn anchor<T: Timestamper>(&self, tsa: &T) -> Result<Anchor, StoreError> {
        let mut heads = Vec::new();
        let previous = self.anchors()?.pop();
        for plie in self.journal.plies().map_err(io_error("journal"))? {
            let (journal, p) = (self.journal.clone(), plie.clone());
            let (closed, (seq, hash)) =
                on_journal_thread(move || journal.chain(&p)?.close_segment())
                    .await?
                    .map_err(io_error(format!("journal de {plie}")))?;
            if let Some(segment) = closed {
                self.file_segment(segment).await?;
            }
            if self.shared() {
                let since = previous
                    .iter()
                    .flat_map(|a| &a.heads)
                    .find(|h| h.plie == plie)
                    .map_or(0, |h| h.seq);
                self.refile_segments(&plie, since).await?;
            }
            if seq > 0 {
                heads.push(ChainHead { plie, seq, hash });
            }
        }
        let anchor =
            journal::anchor::record(self.journal.dir(), heads, tsa, self.journal.partage())
                .await
                .map_err(StoreError::Anchor)?;
        let bytes = serde_json::to_vec(&anchor).map_err(|e| StoreError::Anchor(e.to_string()))?;
        let sha256 = Sha256Digest::of(&bytes);
        let object = EvidenceObject {
            // Anchors concern every PLIE: filed under their own prefix, never a PLIE's.
            plie: PlieId::new("ancres").map_err(StoreError::Anchor)?,
            key: s3::object_key(ANCHOR_PREFIX, &sha256),
            sha256,
            size: bytes.len() as u64,
            metadata: EvidenceMetadata {
                content_type: "application/json".into(),
                original_name: format!("ancre-{:06}.json", anchor.number),
                operation: String::new(),
                participant: None,
                kind: "ancre-journal".into(),
            },
            retain_until: self.register().longest()?,
        };
        self.store_or_queue(&object, Content::Bytes(bytes)).await?;
        Ok(anchor)
    }

    /// Anchors when the configured interval has passed since the last anchor.
    pub async fn anchor_if_due<T: Timestamper>(
        &self,
        tsa: &T,
    ) -> Result<Option<Anchor>, StoreError> {
        let last = self.anchors()?.last().map(|a| a.token.time);
        let interval =
            chrono::Duration::minutes(self.config.journal.anchor_interval_minutes as i64);
        // Measured against the last token's time, which the authority gave: by its clock.
        if journal::anchor::due(last, Utc::now(), interval) {
            self.anchor(tsa).await.map(Some)
        } else {
            Ok(None)
        }
    }

    /// The anchors recorded so far (with those other instances published), oldest first.
    pub fn anchors(&self) -> Result<Vec<Anchor>, StoreError> {
        let dir = self.journal.dir();
        journal::anchor::catch_up(dir, self.journal.partage()).map_err(io_error("ancres"))?;
        journal::anchor::read_anchors(dir).map_err(io_error("ancres"))
    }

    /// Files again the PLIE's segments closed after entry `since` (the head of the previous
    /// anchor): one closed by an instance that died before filing it is filed by another.
    /// Filing is idempotent: bytes already there are left as they are.
    async fn refile_segments(&self, plie: &PlieId, since: u64) -> Result<(), StoreError> {
        let dir = self.journal.chain_dir(plie);
        let numbers = journal::chain::segment_numbers(&dir).map_err(io_error("journal"))?;
        let closed = numbers.split_last().map_or(&[][..], |(_, c)| c);
        for &number in closed.iter().rev() {
            let path = journal::chain::segment_path(&dir, number);
            let last = journal::chain::read_segment(&path)
                .map_err(io_error(path.display().to_string()))?
                .last()
                .map_or(0, |e| e.seq);
            if last <= since {
                break;
            }
            let sha256 = hash_file(&path).map_err(io_error(path.display().to_string()))?;
            self.file_segment(ClosedSegment {
                plie: plie.clone(),
                number,
                path,
                sha256,
            })
            .await?;
        }
        Ok(())
    }

    /// Copies every object of this store into `target` (moving an embedded installation to a
    /// cluster's bucket): bytes, metadata, retention and legal hold as they are; refused without
    /// Object Lock in production, as filing is. Returns the objects written and those already
    /// there.
    pub async fn copy_to(
        &self,
        target: &S3,
        production: bool,
    ) -> Result<(usize, usize), StoreError> {
        let features = target.features().await?;
        let check = StoreCheck {
            bucket: target.bucket().to_owned(),
            features,
            production,
            ..self.check_with(features)
        };
        if let Some(refusal) = check.refusal() {
            return Err(refusal);
        }
        let (mut written, mut there) = (0, 0);
        for key in self.s3.keys().await? {
            match self.s3.copy_to(target, &key, features.object_lock).await? {
                Put::Stored => written += 1,
                Put::AlreadyThere => there += 1,
            }
        }
        Ok((written, there))
    }

    // Working objects: what several instances share besides the evidence (document versions,
    // audit packs), under keys starting with `_` (never a PLIE id's).

    /// Keeps a working object under `key`. A content-addressed key already there is not sent
    /// again (same key, same bytes).
    pub async fn keep_working(
        &self,
        key: &str,
        content: Content,
        sha256: &Sha256Digest,
        size: u64,
        content_type: &str,
    ) -> Result<(), StoreError> {
        if self.s3.exists(key).await? {
            return Ok(());
        }
        let body = match content {
            Content::Bytes(bytes) => ByteStream::from(bytes),
            // Streamed from the file: a pack of hundreds of MB never sits in memory.
            Content::File(path) => {
                ByteStream::from_path(&path)
                    .await
                    .map_err(|e| StoreError::Io {
                        context: path.display().to_string(),
                        source: std::io::Error::other(e),
                    })?
            }
        };
        Ok(self
            .s3
            .put_working(key, body, size, sha256, content_type)
            .await?)
    }

    /// A working object as a stream, with its length; `None` when absent.
    pub async fn working(&self, key: &str) -> Result<Option<(ByteStream, u64)>, StoreError> {
        Ok(self.s3.get(key).await?)
    }

    /// A whole (small) working object; `None` when absent.
    pub async fn working_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.s3.get_bytes(key).await?)
    }
}

/// Starts the embedded store of `config` under the data directory `data`, on 127.0.0.1:`port`
/// (0: any free port). A data directory that s3s-fs served is first
/// migrated in place: each object gets its record, with the retention and legal hold the
/// register holds for its opération (s3s-fs kept none).
pub async fn start_embedded(
    config: &StoreConfig,
    data: &Path,
    port: u16,
    (access_key, secret_key): &(String, String),
    clock: embedded::Clock,
) -> Result<EmbeddedS3, StoreError> {
    let root = data.join("store/embedded");
    let register = Register::open(data.join("store/retention.json"), config.retention.clone())?;
    let r = root.clone();
    let migrated = tokio::task::spawn_blocking(move || {
        embedded::legacy::migrate(&r, |metadata| legacy_protection(&register, metadata))
    })
    .await
    .map_err(|e| StoreError::Io {
        context: "reprise du coffre embarqué".into(),
        source: std::io::Error::other(e),
    })?
    .map_err(io_error(format!(
        "reprise du coffre embarqué {}",
        root.display()
    )))?;
    if migrated > 0 {
        tracing::info!(
            "coffre embarqué : {migrated} objet(s) repris de la disposition de s3s-fs, avec leur conservation ; `parafe verify --store` les relit"
        );
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    EmbeddedS3::start_with_clock(&root, addr, access_key, secret_key, clock)
        .await
        .map_err(io_error("démarrage du coffre embarqué"))
}

/// The protection of an object parafe filed before the embedded store held retention: the
/// longer of the retain-until it was filed with and the rule now in force for its opération
/// (the longest rule for journal segments and anchors, which carry none), and the opération's
/// legal hold. An object without parafe's metadata gets none.
fn legacy_protection(
    register: &Register,
    metadata: &std::collections::BTreeMap<String, String>,
) -> embedded::legacy::Protection {
    let Some(filed) = metadata
        .get("retain-until")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    else {
        return embedded::legacy::Protection::default();
    };
    let operation = metadata
        .get("operation")
        .map(|o| s3::metadata_text(o))
        .unwrap_or_default();
    let rule = if operation.is_empty() {
        register.longest()
    } else {
        register.retain_until(&operation, None)
    };
    embedded::legacy::Protection {
        retain_until: Some(rule.map_or(filed.to_utc(), |r| r.max(filed.to_utc()))),
        legal_hold: !operation.is_empty() && register.legal_hold(&operation),
    }
}

/// Filings and segment archivals are journaled by the store itself, never on request.
fn refuser_evenements_du_coffre<'a>(
    events: impl IntoIterator<Item = &'a JournalEvent>,
) -> Result<(), StoreError> {
    if events.into_iter().any(|event| {
        matches!(
            event,
            JournalEvent::DocumentFiled { .. } | JournalEvent::SegmentArchived { .. }
        )
    }) {
        return Err(StoreError::Input(
            "ce type d'événement est écrit par le coffre lui-même".into(),
        ));
    }
    Ok(())
}

/// Runs blocking journal I/O (fsync) off the async workers.
async fn on_journal_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::Io {
            context: "journal".into(),
            source: std::io::Error::other(e),
        })
}
