//! What every bench shares: the product's error type and runtime, and the `parafe` binary to measure.

pub use parafe::cli::{echec, runtime, CliError, CliResult};
use std::path::PathBuf;

/// The `parafe` binary built beside this one (same profile): the benches that measure a
/// command or load a served parafe run the product itself, not a copy of it.
pub fn parafe() -> Result<PathBuf, CliError> {
    let bench = std::env::current_exe().map_err(echec)?;
    let exe = bench.with_file_name(format!("parafe{}", std::env::consts::EXE_SUFFIX));
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(CliError::failure(format!(
            "binaire parafe introuvable ({}) : construisez-le avec le même profil que le banc, \
             p. ex. `cargo build --release` avant `cargo run --release -p parafe-bench -- …`",
            exe.display()
        )))
    }
}

/// The median of a benchmark's figures (the upper one of an even count); None without any.
pub fn mediane<T: PartialOrd>(valeurs: impl IntoIterator<Item = T>) -> Option<T> {
    let mut v: Vec<T> = valeurs.into_iter().collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let milieu = v.len() / 2;
    (!v.is_empty()).then(|| v.swap_remove(milieu))
}
