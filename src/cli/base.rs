//! `parafe base`: the service's database.

use super::{CliError, CliResult, DataDir};
use crate::db::{self, BaseConfig};

#[derive(Debug, clap::Subcommand)]
pub enum BaseCommand {
    /// Copie la base SQLite d'une installation embarquée (service arrêté) dans une base
    /// PostgreSQL neuve : les mêmes lignes, les mêmes identifiants. Ajoutez ensuite
    /// `[base] url` à parafe.toml et vérifiez le coffre (`parafe verify --store`).
    Copier(CopierArgs),
    /// Déplace une installation embarquée (service arrêté) vers une grappe : la base SQLite
    /// dans une base PostgreSQL neuve, les objets du coffre embarqué (avec leur conservation)
    /// dans un compartiment S3, les lignes du journal et les ancres dans la base, les versions
    /// des documents en cours dans le compartiment. Vérifiez ensuite avec
    /// `parafe verify --store` depuis une instance de la grappe.
    Migrer(MigrerArgs),
}

#[derive(Debug, clap::Args)]
pub struct MigrerArgs {
    #[command(flatten)]
    pub copie: CopierArgs,
    /// Adresse du stockage S3 de la grappe (https://s3.exemple.fr).
    #[arg(long = "s3")]
    pub s3: String,
    /// Compartiment de destination (versionné, avec Object Lock en production).
    #[arg(long)]
    pub compartiment: String,
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Refuse un compartiment sans versionnage ni Object Lock (comme `[store] production`).
    #[arg(long)]
    pub production: bool,
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
    match command {
        BaseCommand::Copier(args) => copier(args),
        BaseCommand::Migrer(args) => migrer(args),
    }
}

/// The SQLite database to copy and the PostgreSQL URL to copy it to, checked.
fn verifier_la_copie(args: &CopierArgs) -> CliResult {
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
    Ok(())
}

fn copier(args: CopierArgs) -> CliResult {
    verifier_la_copie(&args)?;
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

fn migrer(args: MigrerArgs) -> CliResult {
    verifier_la_copie(&args.copie)?;
    let data = &args.copie.data.data_dir;
    let config = crate::config::Config::load(data).map_err(|e| CliError::input(e.to_string()))?;
    if config.base.url.is_some() || config.store.endpoint.is_some() {
        return Err(CliError::input(
            "cette installation n'est pas embarquée ([base] url ou [store] endpoint déjà dans parafe.toml) : rien à migrer",
        ));
    }
    let cible = crate::service::migration::Cible {
        base: args.copie.vers.clone(),
        store: crate::store::StoreConfig {
            endpoint: Some(args.s3.clone()),
            bucket: args.compartiment.clone(),
            region: args.region.clone(),
            access_key: std::env::var("AWS_ACCESS_KEY_ID").ok(),
            secret_key: std::env::var("AWS_SECRET_ACCESS_KEY").ok(),
            production: args.production,
            ..crate::store::StoreConfig::default()
        },
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| CliError::failure(e.to_string()))?;
    let bilan = runtime
        .block_on(crate::service::migration::migrer(&config, &cible))
        .map_err(|e| CliError::failure(e.to_string()))?;
    let lignes: i64 = bilan.tables.iter().map(|(_, n)| n).sum();
    println!(
        "migration faite : {lignes} ligne(s) de base, {} entrée(s) du journal et {} ancre(s), \
         {} objet(s) copiés ({} déjà là), {} version(s) de documents",
        bilan.entrees, bilan.ancres, bilan.objets, bilan.objets_deja_la, bilan.versions
    );
    println!(
        "parafe.toml de chaque instance (clés S3 par AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, \
         mot de passe de la base par PGPASSWORD) :\n[grappe]\ninstance = \"nom-de-l-instance\"\n\n\
         [base]\nurl = \"{}\"\n\n[store]\nendpoint = \"{}\"\nbucket = \"{}\"\nregion = \"{}\"",
        db::sans_mot_de_passe(&args.copie.vers).replace(":***@", "@"),
        args.s3,
        args.compartiment,
        args.region
    );
    Ok(())
}
