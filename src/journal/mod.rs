//! The evidence journal: append-only, hash-chained per PLIE, anchored by timestamps.
