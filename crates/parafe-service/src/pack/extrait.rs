//! The journal excerpt of a pack: the PLIE's chain from the first entry that filed one of its
//! pieces up to a head that an anchor timestamped. Whoever holds it recomputes every link and
//! finds the head in the anchor, whose Merkle root the RFC 3161 token covers.

use parafe_core::model::PlieId;
use parafe_journal::anchor::{read_anchors, Anchor};
use parafe_journal::chain::{break_record, segment_numbers, segment_path};
use serde::Deserialize;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// The first anchor that saw the PLIE's chain at `seq` or beyond.
pub fn ancre_couvrant(journal_dir: &Path, plie: &PlieId, seq: u64) -> io::Result<Option<Anchor>> {
    Ok(read_anchors(journal_dir)?
        .into_iter()
        .find(|a| a.heads.iter().any(|h| &h.plie == plie && h.seq >= seq)))
}

/// The head seq an anchor holds for a PLIE.
pub fn tete(ancre: &Anchor, plie: &PlieId) -> Option<u64> {
    ancre.heads.iter().find(|h| &h.plie == plie).map(|h| h.seq)
}

#[derive(Deserialize)]
struct Seq {
    seq: u64,
}

/// What [`parcourir`] gave.
#[derive(Debug, Default)]
pub struct Parcours {
    pub lues: u64,
    pub premiere: Option<u64>,
    pub derniere: Option<u64>,
    /// Broken segments whose break was recorded: left out of the excerpt (their lines break
    /// the links), to be put in the pack whole, as the record names them by their SHA-256.
    pub rompus: Vec<u64>,
}

/// Calls `ligne` with the raw lines (newline included) of entries `premiere..=derniere`, in
/// chain order, reading the segments through a buffer: the journal is never loaded whole.
pub fn parcourir(
    chain_dir: &Path,
    premiere: u64,
    derniere: u64,
    mut ligne: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<Parcours> {
    let mut parcours = Parcours::default();
    let mut buf = Vec::with_capacity(4096);
    for number in segment_numbers(chain_dir)? {
        // A recorded break the excerpt goes through: the record names the segment whole.
        if let Some(constat) = break_record(chain_dir, number).filter(|c| c.seq <= derniere) {
            if constat.seq >= premiere {
                parcours.rompus.push(number);
            }
            continue;
        }
        let mut lecteur = BufReader::with_capacity(
            256 * 1024,
            std::fs::File::open(segment_path(chain_dir, number))?,
        );
        loop {
            buf.clear();
            if lecteur.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            if buf.ends_with(b"\n") && buf.len() > 1 {
                let seq = serde_json::from_slice::<Seq>(&buf)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?
                    .seq;
                if seq > derniere {
                    return Ok(parcours);
                }
                if seq >= premiere {
                    ligne(&buf)?;
                    parcours.lues += 1;
                    parcours.premiere.get_or_insert(seq);
                    parcours.derniere = Some(seq);
                }
            }
        }
    }
    Ok(parcours)
}
