//! `parafe verify --store`: walks every chain, recomputes every hash, checks the anchors and
//! their timestamps, re-hashes every referenced object in the store, and names each break.

use super::{s3, StoreError, Vault, ANCHOR_PREFIX};
use parafe_core::model::{JournalEntry, JournalEvent, PlieId, Sha256Digest, TimestampToken};
use parafe_journal::anchor::{anchor_hash, anchors_path, merkle_root, Anchor};
use parafe_journal::chain::{
    break_record, complete_len, entry_hash, hash_file, link_problem, records_break_of_previous,
    segment_numbers, segment_path, GENESIS,
};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Where a break is. Journal places come before anchors, in chain order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    Entry {
        plie: PlieId,
        segment: u64,
        line: usize,
        seq: Option<u64>,
    },
    Anchor {
        line: usize,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Entry {
                plie,
                segment,
                line,
                seq,
            } => {
                write!(
                    f,
                    "journal du PLIE « {plie} », segment {segment:06}, ligne {line}"
                )?;
                match seq {
                    Some(seq) => write!(f, " (entrée n° {seq})"),
                    None => Ok(()),
                }
            }
            Place::Anchor { line } => write!(f, "ancres (anchors.jsonl), ligne {line}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Break {
    pub place: Place,
    pub problem: String,
}

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

/// What the walk of one chain leaves behind for the anchor checks.
struct ChainWalk {
    /// Hash of the entries whose seq an anchor names (several in a recorded broken segment).
    anchored: HashMap<u64, Vec<Sha256Digest>>,
    last_seq: u64,
}

/// A `chain_break_recorded` entry opening segment `number + 1`, about segment `number`.
struct BreakRecord {
    sha256: Option<Sha256Digest>,
    seq: u64,
    at: chrono::DateTime<chrono::Utc>,
    reason: String,
}

/// The break records of a chain, by the broken segment's number.
fn break_records(dir: &std::path::Path, numbers: &[u64]) -> HashMap<u64, BreakRecord> {
    numbers
        .iter()
        .filter_map(|&number| {
            let entry = break_record(dir, number)?;
            let JournalEvent::ChainBreakRecorded { reason, .. } = entry.event else {
                return None;
            };
            let record = BreakRecord {
                sha256: entry.objects.first().copied(),
                seq: entry.seq,
                at: entry.at,
                reason,
            };
            Some((number, record))
        })
        .collect()
}

/// Checks an RFC 3161 token against its imprint (signature, trust, message imprint).
pub type TokenCheck<'a> = &'a (dyn Fn(&TimestampToken, &Sha256Digest) -> Result<(), String> + Sync);

/// Progress: called once per object re-hashed, with the total.
pub type Progress = Arc<dyn Fn(usize) + Send + Sync>;

fn entry_place(plie: &PlieId, segment: u64, line: usize, seq: Option<u64>) -> Place {
    Place::Entry {
        plie: plie.clone(),
        segment,
        line,
        seq,
    }
}

impl Vault {
    /// Verifies the whole store. `Ok` carries the report, breaks included; `Err` only when the
    /// verification itself could not run (unreadable data directory).
    pub async fn verify(
        &self,
        check_token: TokenCheck<'_>,
        progress: Option<Progress>,
    ) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport::default();
        let journal_dir = self.journal().dir().to_path_buf();
        let anchors_text = match std::fs::read(anchors_path(&journal_dir)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                return Err(StoreError::Io {
                    context: "lecture des ancres".into(),
                    source: e,
                })
            }
        };
        let mut anchors: Vec<(usize, Vec<u8>, Anchor)> = Vec::new();
        for (i, line) in anchors_text
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
        {
            match serde_json::from_slice::<Anchor>(line) {
                Ok(anchor) => anchors.push((i + 1, line.to_vec(), anchor)),
                Err(e) => report.breaks.push(Break {
                    place: Place::Anchor { line: i + 1 },
                    problem: format!("ancre illisible : {e}"),
                }),
            }
        }
        let mut wanted: HashMap<PlieId, HashSet<u64>> = HashMap::new();
        for (_, _, anchor) in &anchors {
            for head in &anchor.heads {
                wanted
                    .entry(head.plie.clone())
                    .or_default()
                    .insert(head.seq);
            }
        }

        let mut objects = Vec::new();
        let mut walks = HashMap::new();
        let plies = self.journal().plies().map_err(|e| StoreError::Io {
            context: "lecture du journal".into(),
            source: e,
        })?;
        for plie in &plies {
            let no_wanted = HashSet::new();
            let walk = walk_chain(
                self,
                plie,
                wanted.get(plie).unwrap_or(&no_wanted),
                &mut report,
                &mut objects,
            )?;
            walks.insert(plie.clone(), walk);
        }
        report.chains = plies.len();

        let mut prev = GENESIS;
        for (expected, (line, bytes, anchor)) in anchors.iter().enumerate() {
            let place = Place::Anchor { line: *line };
            let mut fail = |problem: String| {
                report.breaks.push(Break {
                    place: place.clone(),
                    problem,
                })
            };
            if anchor_hash(anchor) != anchor.hash {
                fail("ancre modifiée : son empreinte recalculée diffère".into());
            } else if anchor.number != expected as u64 + 1 || anchor.prev != prev {
                fail(format!(
                    "ancre n° {} hors de sa place : une ancre a été supprimée ou déplacée",
                    anchor.number
                ));
            } else if merkle_root(&anchor.heads) != anchor.root {
                fail("racine de Merkle des têtes de chaîne incorrecte".into());
            } else if let Err(e) = check_token(&anchor.token, &anchor.root) {
                fail(format!(
                    "horodatage de l'ancre n° {} invalide : {e}",
                    anchor.number
                ));
            }
            for head in &anchor.heads {
                let walk = walks.get(&head.plie);
                match walk.and_then(|w| w.anchored.get(&head.seq)) {
                    Some(hashes) if hashes.contains(&head.hash) => {}
                    Some(_) => fail(format!(
                        "le journal du PLIE « {} » a été réécrit depuis l'ancre n° {} : l'entrée n° {} ne correspond plus",
                        head.plie, anchor.number, head.seq
                    )),
                    None => fail(format!(
                        "le journal du PLIE « {} » s'arrête à l'entrée n° {} alors que l'ancre n° {} en atteste {} : entrées supprimées",
                        head.plie,
                        walk.map_or(0, |w| w.last_seq),
                        anchor.number,
                        head.seq
                    )),
                }
            }
            prev = anchor.hash;
            let sha256 = Sha256Digest::of(bytes);
            objects.push(ObjectCheck {
                local: None,
                key: s3::object_key(ANCHOR_PREFIX, &sha256),
                sha256,
                place,
            });
        }
        report.anchors = anchors.len();

        report.objects = objects.len();
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

/// Walks one chain, segment by segment, line by line; resynchronizes after a break so that each
/// break is reported once, at its place.
fn walk_chain(
    vault: &Vault,
    plie: &PlieId,
    wanted: &HashSet<u64>,
    report: &mut VerifyReport,
    objects: &mut Vec<ObjectCheck>,
) -> Result<ChainWalk, StoreError> {
    let dir = vault.journal().chain_dir(plie);
    let numbers = segment_numbers(&dir).map_err(|e| StoreError::Io {
        context: dir.display().to_string(),
        source: e,
    })?;
    let records = break_records(&dir, &numbers);
    let mut segment_hashes = HashMap::new();
    let mut walk = ChainWalk {
        anchored: HashMap::new(),
        last_seq: 0,
    };
    let mut prev = GENESIS;
    let mut deleted = HashSet::new();
    let mut referenced: Vec<(Sha256Digest, Place)> = Vec::new();
    let (mut breaks, mut recorded, mut entries) = (Vec::new(), Vec::new(), 0);
    for (i, &number) in numbers.iter().enumerate() {
        let path = segment_path(&dir, number);
        let mut bytes = std::fs::read(&path).map_err(|e| StoreError::Io {
            context: path.display().to_string(),
            source: e,
        })?;
        if i + 1 == numbers.len() {
            // The open segment: a line being appended is not an entry yet.
            bytes.truncate(complete_len(&bytes));
        }
        let sha256 = Sha256Digest::of(&bytes);
        segment_hashes.insert(number, sha256);
        // The breaks of a segment whose break was recorded, as it was then, are reported as
        // recorded; a segment changed since is a break of its own.
        let record = records.get(&number).filter(|r| r.sha256 == Some(sha256));
        let mut brk = |place: Place, problem: String| match record {
            Some(r) => recorded.push(Break {
                place,
                problem: format!(
                    "{problem} — rupture constatée à l'entrée n° {} le {} : « {} »",
                    r.seq,
                    parafe_core::model::heure_de_paris(r.at),
                    r.reason
                ),
            }),
            None => breaks.push(Break { place, problem }),
        };
        if number != i as u64 + 1 {
            brk(
                entry_place(plie, number, 1, None),
                format!("segment {:06} manquant", i + 1),
            );
        }
        let lines = bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.is_empty());
        for (position, (l, line)) in lines.enumerate() {
            let line_no = l + 1;
            let entry: JournalEntry = match serde_json::from_slice(line) {
                Ok(e) => e,
                Err(e) => {
                    brk(
                        entry_place(plie, number, line_no, None),
                        format!("entrée illisible : {e}"),
                    );
                    continue;
                }
            };
            let place = entry_place(plie, number, line_no, Some(entry.seq));
            let restart = position == 0 && records_break_of_previous(&entry, number);
            let problem = if restart {
                // The chain starts again from the record, which names the broken segment.
                (entry_hash(&entry) != entry.hash).then(|| {
                    "entrée modifiée : son empreinte recalculée diffère de celle enregistrée"
                        .to_owned()
                })
            } else {
                link_problem(&entry, walk.last_seq + 1, &prev)
            };
            if let Some(problem) = problem {
                brk(place.clone(), problem);
            }
            if position == 0 && number > 1 {
                let opens = restart
                    || matches!(entry.event, JournalEvent::SegmentArchived { segment, .. } if segment == number - 1);
                if !opens {
                    brk(
                        place.clone(),
                        format!(
                            "le segment ne commence pas par l'archivage du segment {:06}",
                            number - 1
                        ),
                    );
                }
            }
            match &entry.event {
                JournalEvent::SegmentArchived { segment, .. }
                | JournalEvent::ChainBreakRecorded { segment, .. } => {
                    let recorded = entry.objects.first();
                    match (recorded, segment_hashes.get(segment)) {
                        (Some(r), Some(local)) if r == local => {}
                        (Some(_), Some(_)) => brk(place.clone(), format!("segment {segment:06} remplacé : son empreinte ne correspond plus à celle enregistrée à sa clôture")),
                        _ => brk(place.clone(), format!("segment {segment:06} introuvable")),
                    }
                    referenced.extend(entry.objects.iter().map(|sha| (*sha, place.clone())));
                }
                JournalEvent::DocumentFiled { .. } => {
                    referenced.extend(entry.objects.iter().map(|sha| (*sha, place.clone())))
                }
                JournalEvent::ObjectDeleted { .. } => deleted.extend(entry.objects.iter().copied()),
                _ => {}
            }
            if wanted.contains(&entry.seq) {
                walk.anchored.entry(entry.seq).or_default().push(entry.hash);
            }
            entries += 1;
            prev = entry.hash;
            walk.last_seq = if restart {
                entry.seq
            } else {
                walk.last_seq.max(entry.seq)
            };
        }
    }
    report.recorded.extend(recorded);
    report.breaks.extend(breaks);
    report.entries += entries;
    let mut seen = HashSet::new();
    for (sha256, place) in referenced {
        if !deleted.contains(&sha256) && seen.insert(sha256) {
            objects.push(ObjectCheck {
                local: None,
                key: s3::object_key(plie.as_str(), &sha256),
                sha256,
                place,
            });
        }
    }
    Ok(walk)
}
