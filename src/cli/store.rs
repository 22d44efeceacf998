//! `parafe store …`, `parafe verify --store`, `parafe bench store`.

use super::verify::VerifyArgs;
use super::{CliError, CliResult, DataDir};

#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Indique si le compartiment configuré a le versionnage et l'Object Lock.
    Check {
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

pub fn run(_command: StoreCommand) -> CliResult {
    Err(CliError::failure("pas encore disponible"))
}

pub fn verify_store(_args: &VerifyArgs) -> CliResult {
    Err(CliError::failure("pas encore disponible"))
}

pub fn bench(_args: BenchArgs) -> CliResult {
    Err(CliError::failure("pas encore disponible"))
}
