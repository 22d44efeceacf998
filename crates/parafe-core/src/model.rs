//! The data types passed between pipeline stages, named after the domain.
//!
//! Each type carries what the next stage needs and nothing it could alter by mistake: a
//! [`RenderedPdf`] or a [`SealedPdf`] exposes its bytes read-only together with their hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// A SHA-256 digest, shown and serialized as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

impl Serialize for Sha256Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_hex(&s).ok_or_else(|| serde::de::Error::custom("empreinte SHA-256 invalide"))
    }
}

/// Where the visible part of the seal goes: the `<zone-sceau>` box of the certificat de preuve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SealZone {
    /// Page index, starting at 0.
    pub page: usize,
    /// `[x1, y1, x2, y2]` in PDF points, origin at the bottom left of the page.
    pub rect: [f32; 4],
}

/// A document as rendered from its template: PDF/A bytes and their hash, not yet sealed.
#[derive(Clone, Debug)]
pub struct RenderedPdf {
    template: String,
    bytes: Vec<u8>,
    sha256: Sha256Digest,
    seal_zone: Option<SealZone>,
}

impl RenderedPdf {
    pub fn new(template: &str, bytes: Vec<u8>, seal_zone: Option<SealZone>) -> Self {
        let sha256 = Sha256Digest::of(&bytes);
        Self {
            template: template.to_owned(),
            bytes,
            sha256,
            seal_zone,
        }
    }
    pub fn template(&self) -> &str {
        &self.template
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub fn sha256(&self) -> Sha256Digest {
        self.sha256
    }
    pub fn seal_zone(&self) -> Option<SealZone> {
        self.seal_zone
    }
}

/// An RFC 3161 timestamp token (DER `ContentInfo` of a `SignedData` over a `TSTInfo`), with what
/// was read from it. Produced by the seal's timestamp client (`parafe_seal::tsa`), kept in seals and journal anchors.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TimestampToken {
    /// The token as the TSA returned it.
    #[serde(with = "base64_bytes")]
    pub der: Vec<u8>,
    /// `genTime` of the token (UTC).
    pub time: chrono::DateTime<chrono::Utc>,
    /// Who issued it: the TSA certificate's subject.
    pub tsa: String,
    /// False for the built-in local TSA of the zero-setup default.
    pub qualified: bool,
}

/// Serializes bytes as standard base64 in JSON evidence.
pub mod base64_bytes {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        STANDARD
            .decode(String::deserialize(d)?)
            .map_err(serde::de::Error::custom)
    }
}

/// A sealed document (PAdES B-LTA): its final bytes, their hash, and the signature timestamp of
/// the seal, kept as evidence. Read-only: any change would break the seal.
#[derive(Clone, Debug)]
pub struct SealedPdf {
    bytes: Vec<u8>,
    sha256: Sha256Digest,
    timestamp: TimestampToken,
}

impl SealedPdf {
    pub fn new(bytes: Vec<u8>, timestamp: TimestampToken) -> Self {
        let sha256 = Sha256Digest::of(&bytes);
        Self {
            bytes,
            sha256,
            timestamp,
        }
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub fn sha256(&self) -> Sha256Digest {
        self.sha256
    }
    /// The RFC 3161 timestamp over the seal's signature value (when the document was sealed).
    pub fn timestamp(&self) -> &TimestampToken {
        &self.timestamp
    }
}

/// A PLIE (tenant) identifier: lowercase ASCII letters, digits and `-`, because it names object
/// key prefixes and journal directories. Each PLIE has its own journal chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlieId(String);

impl PlieId {
    pub fn new(id: &str) -> Result<Self, String> {
        let valid = !id.is_empty()
            && id.len() <= 63
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !id.starts_with('-');
        if valid {
            Ok(Self(id.to_owned()))
        } else {
            Err(format!(
                "identifiant de PLIE « {id} » invalide : lettres minuscules sans accent, chiffres et tirets, 63 caractères au plus"
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PlieId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::new(&s)
    }
}

impl From<PlieId> for String {
    fn from(id: PlieId) -> String {
        id.0
    }
}

impl fmt::Display for PlieId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is known about a piece of evidence when it is filed. Personal data stays in the database:
/// the participant is named here only by a pseudonymous id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvidenceMetadata {
    /// MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// File name as uploaded or generated (kept for the person who retrieves it).
    pub original_name: String,
    /// The FSE opération the piece belongs to; its retention rule applies.
    pub operation: String,
    /// Pseudonymous participant id (the mapping stays in the database).
    pub participant: Option<String>,
    /// Document kind: `contrat-engagement`, `emargement`, `justificatif`, `segment-journal`…
    pub kind: String,
}

/// A piece of evidence in the store: content-addressed by its SHA-256.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvidenceObject {
    pub plie: PlieId,
    pub sha256: Sha256Digest,
    pub size: u64,
    /// S3 key, derived from the hash: `<plie>/sha256/ab/cd/<hex>`.
    pub key: String,
    pub metadata: EvidenceMetadata,
    /// Object Lock COMPLIANCE retain-until (or parafe's own enforcement where the store has none).
    pub retain_until: chrono::DateTime<chrono::Utc>,
}

/// What happened to evidence, as recorded in the journal. No personal data in clear: people
/// are named by pseudonymous ids only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum JournalEvent {
    DocumentGenerated {
        operation: String,
        kind: String,
        participant: Option<String>,
    },
    DocumentViewed {
        actor: String,
    },
    DocumentSigned {
        signer: String,
    },
    DocumentSealed,
    /// A step of a document's life cycle (`document::Etat` codes); the actor by pseudonym.
    DocumentTransition {
        document: String,
        from: String,
        to: String,
        actor: String,
    },
    /// A sealed document accepted by the recipient's mail server.
    DocumentDelivered {
        document: String,
        recipient: String,
        message_id: String,
        smtp_reply: String,
        accepted_at: chrono::DateTime<chrono::Utc>,
        /// Sent again after a crash left the first sending without an answer.
        #[serde(default)]
        resent: bool,
    },
    /// A copy handed over another way than by e-mail (`mode`: `main_propre`, `contact`), on
    /// `handed_on`, recorded by `actor` (pseudonym); never to whom.
    DocumentHandedOver {
        document: String,
        recipient: String,
        mode: String,
        handed_on: chrono::NaiveDate,
        actor: String,
    },
    DocumentFiled {
        operation: String,
        kind: String,
        participant: Option<String>,
        retain_until: chrono::DateTime<chrono::Utc>,
    },
    DocumentDownloaded {
        actor: String,
    },
    RetentionChanged {
        operation: String,
        retain_until: chrono::DateTime<chrono::Utc>,
    },
    LegalHold {
        operation: String,
        on: bool,
    },
    ExportMade {
        actor: String,
        operation: String,
    },
    /// An audit pack (`export`: its public reference) downloaded; the ZIP's hash is the object.
    ExportDownloaded {
        actor: String,
        export: String,
    },
    /// The answers of a participant's FSE questionnaire read (screen, API): who read whose, both
    /// by pseudonym; never an answer.
    QuestionnaireRead {
        actor: String,
        participant: String,
    },
    ObjectDeleted {
        reason: String,
    },
    /// First entry of a segment: the previous segment, closed, was filed as the object listed.
    SegmentArchived {
        segment: u64,
        first_seq: u64,
        last_seq: u64,
    },
    /// First entry of a segment after a break (`parafe store constater-rupture`): the previous
    /// segment, broken at `line` (entry `seq`) for the reason `problem`, was closed as it was
    /// and filed as the object listed; `reason` is the operator's account of it.
    ChainBreakRecorded {
        segment: u64,
        line: u64,
        seq: Option<u64>,
        problem: String,
        reason: String,
    },
}

/// One journal entry: chained to the previous entry of the same PLIE by `prev`, sealed by `hash`
/// (SHA-256 of the entry's JSON without `hash`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    pub seq: u64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub event: JournalEvent,
    /// SHA-256 of the evidence objects this entry concerns.
    pub objects: Vec<Sha256Digest>,
    pub prev: Sha256Digest,
    pub hash: Sha256Digest,
}

/// An instant as a person in France reads it: « 22/11/2026 à 02:27:09 », heure de Paris.
pub fn heure_de_paris(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Paris)
        .format("%d/%m/%Y à %H:%M:%S")
        .to_string()
}
