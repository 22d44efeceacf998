//! `parafe-bench`: parafe's benchmarks, each side by side with a reference tool, in their own
//! binary so that the product's command line carries none of them. See `parafe-bench --help`.

mod a_faire;
mod chiffres;
mod commun;
mod kiosque;
mod pack;
mod render;
mod seal;
mod service;
mod store;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

parafe::allocateur!();

/// Mesures de performance de parafe, comparées côte à côte à un outil de référence.
///
/// Lancez-les depuis la racine du dépôt, après `cargo build --release` (les bancs qui
/// lancent parafe dans un second processus utilisent le binaire `parafe` construit à côté).
#[derive(Parser)]
#[command(name = "parafe-bench", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Composition : parafe en mémoire contre la commande `typst compile`.
    Render(render::BenchArgs),
    /// Scellement : parafe contre `pyhanko sign addsig`.
    Seal(seal::BenchArgs),
    /// Coffre : PutObject et GetObject bruts contre s3s-fs, dépôt par parafe contre PutObject brut.
    Store(store::BenchArgs),
    /// Service : planification des bilans BRSA, boîte d'envoi contre lettre seul.
    Service(service::BenchArgs),
    /// Pack d'audit : export contre simple lecture des mêmes pièces du coffre.
    Pack(pack::BenchArgs),
    /// Kiosque d'émargement : tablettes simultanées, signatures et clôtures (second processus).
    Kiosque(kiosque::BenchArgs),
    /// « À faire » : la page d'un référent et celle des portefeuilles, sur 10 000 participants.
    AFaire(a_faire::BenchArgs),
    /// Chiffres du PLIE : une opération de 10 000 participants sur un an, en JSON et à l'écran.
    Chiffres(chiffres::BenchArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PARAFE_LOG")
                .unwrap_or_else(|_| "warn,lopdf=off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Render(args) => render::bench(args),
        Command::Seal(args) => seal::bench(args),
        Command::Store(args) => store::bench(args),
        Command::Service(args) => service::bench(args),
        Command::Pack(args) => pack::bench(args),
        Command::Kiosque(args) => kiosque::bench(args),
        Command::AFaire(args) => a_faire::bench(args),
        Command::Chiffres(args) => chiffres::bench(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("erreur : {}", error.message);
            ExitCode::from(error.code)
        }
    }
}
