//! Seals finished documents as PAdES (B-T, then B-LTA) with the PLIE's seal certificate and an
//! RFC 3161 timestamp, and verifies sealed documents independently.

use serde::Deserialize;

/// Seal key and timestamp authority (`[seal]` in parafe.toml).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SealConfig {}
