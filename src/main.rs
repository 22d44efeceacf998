//! `parafe`: the command line of the service. See `parafe --help`.

use clap::{Parser, Subcommand};
use parafe::cli::{self, CliResult};
use std::process::ExitCode;

parafe::allocateur!();

/// parafe : documents, signatures et preuves des PLIE.
///
/// Compose les documents (contrats d'engagement, fiches de liaison, bilans BRSA, émargements,
/// affiches FSE) à partir des modèles Typst embarqués, les scelle en PAdES avec horodatage
/// RFC 3161, et range les preuves dans un coffre S3 à conservation garantie.
#[derive(Parser)]
#[command(name = "parafe", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lance le service : API JSON, signature par lien, boîte d'envoi, échéancier.
    Serve(cli::serve::ServeArgs),
    /// Comptes du personnel (référents, assistants, coordinateurs, administrateurs).
    #[command(subcommand)]
    Comptes(cli::serve::ComptesCommand),
    /// Compose un document PDF/A à partir d'un modèle et de ses données JSON.
    Render(cli::render::RenderArgs),
    /// Crée les certificats de développement (AC, cachet du PLIE, autorité d'horodatage).
    Init(cli::seal::InitArgs),
    /// Scelle un PDF (PAdES B-LTA, horodatage RFC 3161).
    Seal(cli::seal::SealArgs),
    /// Vérifie un PDF scellé, ou tout le coffre de preuves (--store).
    Verify(cli::verify::VerifyArgs),
    /// Vérifie et liste les workflows (workflows/*.toml).
    Workflows(cli::workflow::WorkflowsArgs),
    /// Échéancier des bilans BRSA d'un CER (5, 11, 17 mois ou selon le workflow ; sortie anticipée).
    Bilans(cli::workflow::BilansArgs),
    /// Coffre de preuves S3.
    #[command(subcommand)]
    Store(cli::store::StoreCommand),
    /// Pack d'audit d'une opération : pièces, manifestes, extrait du journal, index (ZIP).
    Pack(cli::pack::PackArgs),
    /// La base du service : copie d'une installation embarquée dans PostgreSQL.
    #[command(subcommand)]
    Base(cli::base::BaseCommand),
    /// Justificatifs : dépôt d'une pièce, pièces présentes, manquantes et en retard.
    #[command(subcommand)]
    Justificatif(cli::justificatif::JustificatifCommand),
}

fn main() -> ExitCode {
    // lopdf's notes on the PDFs it repairs are for its developers: parafe says in French
    // what it refuses in a file, and why. sqlx's warning on a slow statement prints the whole
    // text of a multi-row statement (thousands of `$n`): the benchmarks measure the speed.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARAFE_LOG")
                .unwrap_or_else(|_| "warn,lopdf=off,sqlx::query=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result: CliResult = match Cli::parse().command {
        Command::Serve(args) => cli::serve::run(args),
        Command::Comptes(command) => cli::serve::comptes(command),
        Command::Render(args) => cli::render::run(args),
        Command::Init(args) => cli::seal::init(args),
        Command::Seal(args) => cli::seal::seal(args),
        Command::Verify(args) => cli::verify::run(args),
        Command::Workflows(args) => cli::workflow::run(args),
        Command::Bilans(args) => cli::workflow::bilans(args),
        Command::Store(command) => cli::store::run(command),
        Command::Pack(args) => cli::pack::run(args),
        Command::Justificatif(command) => cli::justificatif::run(command),
        Command::Base(command) => cli::base::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("erreur : {}", error.message);
            ExitCode::from(error.code)
        }
    }
}
