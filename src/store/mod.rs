//! The evidence store: content-addressed objects on S3 with Object Lock retention.

use serde::Deserialize;

/// Object store and retention (`[store]` in parafe.toml).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {}
