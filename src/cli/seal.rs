//! `parafe init`, `parafe seal`, `parafe verify file.pdf`, `parafe bench seal`.

use super::{CliError, CliResult, DataDir};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub data: DataDir,
}

#[derive(Debug, clap::Args)]
pub struct SealArgs {
    /// PDF à sceller.
    pub input: PathBuf,
    /// PDF scellé à écrire.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub data: DataDir,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

pub fn init(_args: InitArgs) -> CliResult {
    Err(CliError::failure("pas encore disponible"))
}

pub fn seal(_args: SealArgs) -> CliResult {
    Err(CliError::failure("pas encore disponible"))
}

pub fn verify_pdf(_file: &Path, _json: bool) -> CliResult {
    Err(CliError::failure("pas encore disponible"))
}

pub fn bench(_args: BenchArgs) -> CliResult {
    Err(CliError::failure("pas encore disponible"))
}
