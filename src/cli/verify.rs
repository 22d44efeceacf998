//! `parafe verify`: one entry point for every kind of verification.

use super::{CliError, CliResult, DataDir};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Fichier à vérifier (PDF scellé, ou pack d'audit .zip).
    pub file: Option<PathBuf>,
    /// Vérifie tout le coffre : chaîne du journal, horodatages, empreinte de chaque objet.
    #[arg(long)]
    pub store: bool,
    /// Rapport en JSON sur la sortie standard.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data: DataDir,
}

pub fn run(args: VerifyArgs) -> CliResult {
    match (&args.file, args.store) {
        (None, true) => super::store::verify_store(args.json, &args.data),
        (Some(file), false) if super::pack::est_un_zip(file) => {
            super::pack::verify_pack(file, args.json, &args.data)
        }
        (Some(file), false) => super::seal::verify_pdf(file, args.json, &args.data),
        _ => Err(CliError::input(
            "indiquez soit un fichier à vérifier, soit --store",
        )),
    }
}
