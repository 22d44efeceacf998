//! The one verifier of the journal. `parafe verify --store` walks the chains and the anchors
//! on disk with it; `parafe verify pack.zip` checks the excerpt a pack carries with the same
//! [`Suite`]: the same break reads the same words wherever it is found.

use crate::anchor::{anchor_hash, anchors_path, merkle_root, Anchor};
use crate::chain::{
    break_record, complete_len, entry_hash, link_problem, records_break_of_previous,
    segment_numbers, segment_path, GENESIS,
};
use crate::Journal;
use parafe_core::model::{JournalEntry, JournalEvent, PlieId, Sha256Digest, TimestampToken};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io;

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

/// The entries of one chain, checked in their order: each must carry its own hash, follow the
/// one before by number and name it. A chain read from its start begins at entry 1 after the
/// genesis hash; an excerpt begins where it says, its predecessor not given.
pub struct Suite {
    expected: u64,
    prev: Option<Sha256Digest>,
}

impl Suite {
    /// A whole chain, from its first entry.
    pub fn from_genesis() -> Suite {
        Suite {
            expected: 1,
            prev: Some(GENESIS),
        }
    }

    /// An excerpt whose first entry is number `first`.
    pub fn starting_at(first: u64) -> Suite {
        Suite {
            expected: first,
            prev: None,
        }
    }

    /// The problem of `entry`, next in the chain, if any. `restart`: it records the break of
    /// the segment before it (`chain_break_recorded`), and the chain starts again from it.
    pub fn check(&mut self, entry: &JournalEntry, restart: bool) -> Option<String> {
        let problem = if restart {
            (entry_hash(entry) != entry.hash).then(|| {
                "entrée modifiée : son empreinte recalculée diffère de celle enregistrée".to_owned()
            })
        } else {
            link_problem(
                entry,
                self.expected,
                self.prev.as_ref().unwrap_or(&entry.prev),
            )
        };
        self.expected = if restart {
            entry.seq + 1
        } else {
            self.expected.max(entry.seq + 1)
        };
        self.prev = Some(entry.hash);
        problem
    }

    /// The highest entry number seen (the one before the first for an empty chain).
    pub fn last_seq(&self) -> u64 {
        self.expected - 1
    }
}

/// What is wrong with an anchor in itself: rewritten, or its Merkle root not that of its heads.
pub fn anchor_problem(anchor: &Anchor) -> Option<&'static str> {
    if anchor_hash(anchor) != anchor.hash {
        Some("ancre modifiée : son empreinte recalculée diffère")
    } else if merkle_root(&anchor.heads) != anchor.root {
        Some("racine de Merkle des têtes de chaîne incorrecte")
    } else {
        None
    }
}

/// An object the journal refers to, and where it is first mentioned: a PLIE's (a document, a
/// closed segment), or an anchor's when `plie` is `None`.
pub struct Reference {
    pub plie: Option<PlieId>,
    pub sha256: Sha256Digest,
    pub place: Place,
}

#[derive(Default)]
pub struct JournalReport {
    pub chains: usize,
    pub entries: u64,
    pub anchors: usize,
    /// Unsorted; the caller adds its own and sorts by place.
    pub breaks: Vec<Break>,
    /// Breaks an operator recorded (`parafe store constater-rupture`): reported, not failed,
    /// as long as the broken segment is still the one the record names.
    pub recorded: Vec<Break>,
    /// Every object still expected in the store, once each.
    pub references: Vec<Reference>,
}

/// Checks an RFC 3161 token against its imprint (signature, trust, message imprint).
pub type TokenCheck<'a> = &'a (dyn Fn(&TimestampToken, &Sha256Digest) -> Result<(), String> + Sync);

/// Walks every chain of `journal` and its anchors: every hash recomputed, every link and every
/// anchored head checked, each break named at its place. `Err` only when the journal cannot be
/// read at all.
pub fn verify(journal: &Journal, check_token: TokenCheck<'_>) -> io::Result<JournalReport> {
    if journal.partage().is_some() {
        // The replica brought up to every instance's lines: a break in them is reported below
        // from the files, where the replica wrote them before refusing to go on.
        for plie in journal.plies()? {
            match journal.refresh(&plie) {
                Err(e) if crate::chain::Rupture::of(&e).is_none() => return Err(e),
                _ => {}
            }
        }
    }
    let mut report = JournalReport::default();
    let anchors_text = match std::fs::read(anchors_path(journal.dir())) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
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

    let mut walks = HashMap::new();
    let plies = journal.plies()?;
    for plie in &plies {
        let no_wanted = HashSet::new();
        let walk = walk_chain(
            journal,
            plie,
            wanted.get(plie).unwrap_or(&no_wanted),
            &mut report,
        )?;
        walks.insert(plie.clone(), walk);
    }
    report.chains = plies.len();

    let mut prev = GENESIS;
    for (expected, (line, bytes, anchor)) in anchors.into_iter().enumerate() {
        let place = Place::Anchor { line };
        let mut fail = |problem: String| {
            report.breaks.push(Break {
                place: place.clone(),
                problem,
            })
        };
        if let Some(problem) = anchor_problem(&anchor) {
            fail(problem.into());
        } else if anchor.number != expected as u64 + 1 || anchor.prev != prev {
            fail(format!(
                "ancre n° {} hors de sa place : une ancre a été supprimée ou déplacée",
                anchor.number
            ));
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
        report.references.push(Reference {
            plie: None,
            sha256: Sha256Digest::of(&bytes),
            place,
        });
        report.anchors += 1;
    }
    Ok(report)
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

fn entry_place(plie: &PlieId, segment: u64, line: usize, seq: Option<u64>) -> Place {
    Place::Entry {
        plie: plie.clone(),
        segment,
        line,
        seq,
    }
}

/// Walks one chain, segment by segment, line by line; resynchronizes after a break so that each
/// break is reported once, at its place.
fn walk_chain(
    journal: &Journal,
    plie: &PlieId,
    wanted: &HashSet<u64>,
    report: &mut JournalReport,
) -> io::Result<ChainWalk> {
    let dir = journal.chain_dir(plie);
    let numbers = segment_numbers(&dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{} : {e}", dir.display())))?;
    let records = break_records(&dir, &numbers);
    let mut segment_hashes = HashMap::new();
    let mut anchored: HashMap<u64, Vec<Sha256Digest>> = HashMap::new();
    let mut suite = Suite::from_genesis();
    let mut deleted = HashSet::new();
    let mut referenced: Vec<(Sha256Digest, Place)> = Vec::new();
    let (mut breaks, mut recorded, mut entries) = (Vec::new(), Vec::new(), 0);
    for (i, &number) in numbers.iter().enumerate() {
        let path = segment_path(&dir, number);
        let mut bytes = std::fs::read(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{} : {e}", path.display())))?;
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
            if let Some(problem) = suite.check(&entry, restart) {
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
                anchored.entry(entry.seq).or_default().push(entry.hash);
            }
            entries += 1;
        }
    }
    report.recorded.extend(recorded);
    report.breaks.extend(breaks);
    report.entries += entries;
    let mut seen = HashSet::new();
    for (sha256, place) in referenced {
        if !deleted.contains(&sha256) && seen.insert(sha256) {
            report.references.push(Reference {
                plie: Some(plie.clone()),
                sha256,
                place,
            });
        }
    }
    Ok(ChainWalk {
        anchored,
        last_seq: suite.last_seq(),
    })
}
