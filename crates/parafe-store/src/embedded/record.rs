//! What the embedded store keeps beside each object and each bucket: the object's record
//! (size, SHA-256, checksums, content type, user metadata, COMPLIANCE retain-until, legal hold)
//! and the bucket's default retention. Both are JSON files written like the objects themselves.

use chrono::{DateTime, Months, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The record of one object. It is durable before the object becomes visible, and replaced
/// whole (never edited in place) when its retention or legal hold changes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObjectRecord {
    pub size: u64,
    /// SHA-256 of the bytes, hex: computed by the store as they arrived.
    pub sha256: String,
    /// Other checksums the client asked for (base64, as S3 exchanges them).
    #[serde(skip_serializing_if = "Checksums::is_empty")]
    pub checksums: Checksums,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// `x-amz-meta-*`: for parafe's pieces, the original name, opération, kind, retain-until.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    pub created: DateTime<Utc>,
    /// COMPLIANCE retention: no delete before this instant, extended but never shortened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain_until: Option<DateTime<Utc>>,
    pub legal_hold: bool,
}

impl ObjectRecord {
    /// Why the object may not be deleted at `now`, if it may not.
    pub fn protection(&self, now: DateTime<Utc>) -> Option<String> {
        if self.legal_hold {
            return Some("objet sous conservation pour contrôle (legal hold)".into());
        }
        match self.retain_until {
            Some(until) if now < until => Some(format!(
                "objet conservé (Object Lock COMPLIANCE) jusqu'au {}",
                until.to_rfc3339()
            )),
            _ => None,
        }
    }

    /// The ETag the store answers: the SHA-256 (the store never computes MD5 unless the client
    /// sends Content-MD5; an ETag is opaque to S3 clients).
    pub fn etag(&self) -> String {
        self.sha256.clone()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Checksums {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crc32: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crc32c: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crc64nvme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
}

impl Checksums {
    fn is_empty(&self) -> bool {
        *self == Checksums::default()
    }
}

/// A bucket's settings. Every bucket of the embedded store has Object Lock; a default
/// retention, when set, applies to objects put without their own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BucketRecord {
    pub created: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_retention: Option<DefaultRetention>,
}

/// COMPLIANCE for so many days or years from each object's creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultRetention {
    Days(u32),
    Years(u32),
}

impl DefaultRetention {
    pub fn until(self, created: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            DefaultRetention::Days(days) => {
                created.checked_add_signed(TimeDelta::days(days.into()))
            }
            DefaultRetention::Years(years) => {
                created.checked_add_months(Months::new(years.checked_mul(12)?))
            }
        }
    }
}
