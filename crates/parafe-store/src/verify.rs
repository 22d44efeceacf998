//! `parafe verify --store`: the journal's own verifier walks every chain and the anchors, then
//! every object they refer to is re-hashed in the store.

use super::{s3, StoreError, Vault, ANCHOR_PREFIX};
use parafe_core::model::Sha256Digest;
use parafe_journal::chain::hash_file;
pub use parafe_journal::verify::{Break, Place, TokenCheck};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Debug, Default)]
pub struct VerifyReport {
    pub chains: usize,
    pub entries: u64,
    pub objects: usize,
    pub anchors: usize,
    /// Sorted by place: the first is the first break.
    pub breaks: Vec<Break>,
    /// Breaks an operator recorded (`parafe store constater-rupture`): reported, not failed,
    /// as long as the broken segment is still the one the record names.
    pub recorded: Vec<Break>,
}

/// An object the journal refers to, and where it is first mentioned.
struct ObjectCheck {
    key: String,
    /// The file holding it, for the embedded store.
    local: Option<PathBuf>,
    sha256: Sha256Digest,
    place: Place,
}

/// Progress: called once per object re-hashed, with the total.
pub type Progress = Arc<dyn Fn(usize) + Send + Sync>;

impl Vault {
    /// Verifies the whole store. `Ok` carries the report, breaks included; `Err` only when the
    /// verification itself could not run (unreadable data directory).
    pub async fn verify(
        &self,
        check_token: TokenCheck<'_>,
        progress: Option<Progress>,
    ) -> Result<VerifyReport, StoreError> {
        let journal =
            parafe_journal::verify::verify(self.journal(), check_token).map_err(|source| {
                StoreError::Io {
                    context: "lecture du journal".into(),
                    source,
                }
            })?;
        let objects: Vec<ObjectCheck> = journal
            .references
            .into_iter()
            .map(|r| ObjectCheck {
                key: match &r.plie {
                    Some(plie) => s3::object_key(plie.as_str(), &r.sha256),
                    None => s3::object_key(ANCHOR_PREFIX, &r.sha256),
                },
                local: None,
                sha256: r.sha256,
                place: r.place,
            })
            .collect();
        let mut report = VerifyReport {
            chains: journal.chains,
            entries: journal.entries,
            objects: objects.len(),
            anchors: journal.anchors,
            breaks: journal.breaks,
            recorded: journal.recorded,
        };
        report
            .breaks
            .extend(self.rehash_all(objects, progress).await);
        report.breaks.sort_by(|a, b| a.place.cmp(&b.place));
        report.recorded.sort_by(|a, b| a.place.cmp(&b.place));
        Ok(report)
    }

    /// Re-hashes every object in the store, `concurrency` requests at a time.
    async fn rehash_all(
        &self,
        mut objects: Vec<ObjectCheck>,
        progress: Option<Progress>,
    ) -> Vec<Break> {
        // The embedded store's objects are files of the data directory: re-hashing them there
        // reads exactly what is on disk and spares a request per object. Other stores are
        // read back over S3.
        for check in &mut objects {
            check.local = self.embedded_path(&check.key);
        }
        let objects = Arc::new(objects);
        let next = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..self.config().concurrency.max(1) {
            let (objects, next, done, progress, s3) = (
                objects.clone(),
                next.clone(),
                done.clone(),
                progress.clone(),
                self.s3().clone(),
            );
            workers.spawn(async move {
                let mut breaks = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(check) = objects.get(i) else { break };
                    let found = match &check.local {
                        Some(path) => rehash_file(path.clone()).await,
                        None => s3
                            .rehash(&check.key)
                            .await
                            .map(|o| o.map(|(sha, _)| sha))
                            .map_err(|e| e.to_string()),
                    };
                    let problem = match found {
                        Ok(Some(sha)) if sha == check.sha256 => None,
                        Ok(Some(sha)) => Some(format!(
                            "objet {} altéré dans le coffre : son empreinte est maintenant {sha}",
                            check.key
                        )),
                        Ok(None) => Some(format!("objet {} absent du coffre", check.key)),
                        Err(e) => Some(format!("objet {} illisible : {e}", check.key)),
                    };
                    if let Some(problem) = problem {
                        breaks.push(Break {
                            place: check.place.clone(),
                            problem,
                        });
                    }
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if let Some(progress) = &progress {
                        progress(n);
                    }
                }
                breaks
            });
        }
        let mut breaks = Vec::new();
        while let Some(result) = workers.join_next().await {
            breaks.extend(result.unwrap_or_default());
        }
        breaks
    }
}

/// SHA-256 of a file of the embedded store; `None` when it is absent.
async fn rehash_file(path: PathBuf) -> Result<Option<Sha256Digest>, String> {
    match tokio::task::spawn_blocking(move || hash_file(&path)).await {
        Ok(Ok(sha)) => Ok(Some(sha)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}
