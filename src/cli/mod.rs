//! The command line: one file per pipeline stage, each turning arguments into a call of that
//! stage and its outcome into a French message and an exit code.

pub mod base;
pub mod justificatif;
pub mod pack;
pub mod render;
pub mod seal;
pub mod serve;
pub mod store;
pub mod verify;
pub mod workflow;

use std::path::PathBuf;

/// A command that did not succeed: the French message for the person, and the exit code
/// (2 = the input is wrong and nothing was done, 1 = a check failed or the work could not be done).
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    /// Wrong input: nothing was written.
    pub fn input(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }
    /// A verification that does not hold, or work that could not be done.
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

pub type CliResult = Result<(), CliError>;

/// Work that could not be done, with the cause's own words.
pub fn echec(e: impl std::fmt::Display) -> CliError {
    CliError::failure(e.to_string())
}

/// The multi-threaded runtime of the commands that talk to the store.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Runtime::new()
        .map_err(|e| CliError::failure(format!("démarrage impossible : {e}")))
}

/// The parafe data directory (keys, database, embedded store): `--data-dir`, else
/// `PARAFE_DATA_DIR`, else `parafe-data/` in the working directory.
#[derive(Debug, Clone, clap::Args)]
pub struct DataDir {
    /// Répertoire des données de parafe (clés, base, coffre embarqué).
    #[arg(
        long = "data-dir",
        env = "PARAFE_DATA_DIR",
        default_value = "parafe-data"
    )]
    pub data_dir: PathBuf,
}
