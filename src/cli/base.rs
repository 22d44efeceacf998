//! `parafe base`: the service's database.

use super::{CliError, CliResult, DataDir};
use crate::db::{self, BaseConfig};

#[derive(Debug, clap::Subcommand)]
pub enum BaseCommand {
    /// Copie la base SQLite d'une installation embarquée (service arrêté) dans une base
    /// PostgreSQL neuve : les mêmes lignes, les mêmes identifiants. Ajoutez ensuite
    /// `[base] url` à parafe.toml et vérifiez le coffre (`parafe verify --store`).
    Copier(CopierArgs),
}

#[derive(Debug, clap::Args)]
pub struct CopierArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// La base PostgreSQL de destination, vide (postgres://utilisateur@hote:5432/base ; le mot
    /// de passe par PGPASSWORD ou ~/.pgpass).
    #[arg(long = "vers", env = "PARAFE_BASE_URL")]
    pub vers: String,
}

pub fn run(command: BaseCommand) -> CliResult {
    let BaseCommand::Copier(args) = command;
    let fichier = args.data.data_dir.join("parafe.db");
    if !fichier.is_file() {
        return Err(CliError::input(format!(
            "pas de base SQLite à copier : {} n'existe pas",
            fichier.display()
        )));
    }
    if !args.vers.starts_with("postgres://") && !args.vers.starts_with("postgresql://") {
        return Err(CliError::input(
            "--vers attend l'adresse d'une base PostgreSQL : postgres://utilisateur@hote:5432/base",
        ));
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| CliError::failure(e.to_string()))?;
    runtime.block_on(async {
        let echec = |e: &dyn std::fmt::Display| CliError::failure(e.to_string());
        let source = db::open(&BaseConfig::default(), &args.data.data_dir)
            .await
            .map_err(|e| echec(&e))?;
        let cible = BaseConfig {
            url: Some(args.vers.clone()),
            ..BaseConfig::default()
        };
        let cible_pool = db::open(&cible, &args.data.data_dir)
            .await
            .map_err(|e| echec(&e))?;
        let copiees = db::copie::vers_postgres(&source, &cible_pool)
            .await
            .map_err(|e| echec(&e))?;
        let mut total = 0;
        for (table, lignes) in &copiees {
            println!("{table} : {lignes} ligne(s)");
            total += lignes;
        }
        println!(
            "copie faite : {total} ligne(s) dans {} ; ajoutez à parafe.toml :\n[base]\nurl = \"{}\"",
            db::sans_mot_de_passe(&args.vers),
            // The password stays out of the file (PGPASSWORD, ~/.pgpass).
            db::sans_mot_de_passe(&args.vers).replace(":***@", "@")
        );
        Ok(())
    })
}
