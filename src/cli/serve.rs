//! `parafe serve`: the service, and `parafe comptes` / `parafe import` to set it up from the
//! command line.

use super::{CliError, CliResult, DataDir};
use crate::auth::RolePersonnel;
use crate::config::Config;
use crate::service::{App, Horloge};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// Adresse d'écoute (défaut : [service] ecoute, 127.0.0.1:8080).
    #[arg(long, env = "PARAFE_LISTEN")]
    pub listen: Option<String>,
    /// Dossier des workflows (défaut : [service] workflows, « workflows »).
    #[arg(long)]
    pub workflows: Option<PathBuf>,
}

fn charger(data: &DataDir) -> Result<Config, CliError> {
    Config::load(&data.data_dir).map_err(|e| CliError::input(e.to_string()))
}

/// The clock: the system's, unless `PARAFE_HORLOGE` sets another start (tests, demonstrations).
fn horloge() -> Result<Horloge, CliError> {
    match std::env::var("PARAFE_HORLOGE") {
        Err(_) => Ok(Horloge::systeme()),
        Ok(v) => chrono::DateTime::parse_from_rfc3339(&v)
            .map(|t| Horloge::depuis(t.with_timezone(&chrono::Utc)))
            .map_err(|_| {
                CliError::input(format!(
                    "PARAFE_HORLOGE « {v} » : instant RFC 3339 attendu (2025-06-01T08:00:00Z)"
                ))
            }),
    }
}

pub async fn ouvrir(
    data: &DataDir,
    listen: Option<String>,
    workflows: Option<PathBuf>,
) -> Result<App, CliError> {
    let mut config = charger(data)?;
    if let Some(l) = listen {
        config.service.ecoute = l;
    }
    if let Some(w) = workflows {
        config.service.workflows = w;
    }
    App::open(config, horloge()?)
        .await
        .map_err(|e| CliError::input(e.to_string()))
}

pub fn run(args: ServeArgs) -> CliResult {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| CliError::failure(e.to_string()))?;
    runtime.block_on(async move {
        let app = ouvrir(&args.data, args.listen, args.workflows).await?;
        crate::auth::comptes::premier_administrateur(&app)
            .await
            .map_err(|e| CliError::failure(e.to_string()))?;
        let ecoute = app.config.service.ecoute.clone();
        let listener = tokio::net::TcpListener::bind(&ecoute)
            .await
            .map_err(|e| CliError::failure(format!("écoute sur {ecoute} impossible : {e}")))?;
        let adresse = listener
            .local_addr()
            .map_err(|e| CliError::failure(e.to_string()))?;
        crate::service::pipeline::demarrer(app.clone());
        app.vault.spawn_retry_worker();
        crate::service::veilleur(app.clone());
        println!(
            "parafe écoute sur http://{adresse}/ (données : {})",
            app.config.data_dir.display()
        );
        if let Some(boite) = app.courrier.boite() {
            println!("courriels de développement rangés dans {}", boite.display());
        }
        println!(
            "API : http://{adresse}/openapi.json ; créez un compte : parafe comptes ajouter --help"
        );
        let routes = crate::api::routes().with_state(app);
        axum::serve(
            listener,
            routes.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .map_err(|e| CliError::failure(format!("service interrompu : {e}")))
    })
}

#[derive(Debug, clap::Subcommand)]
pub enum ComptesCommand {
    /// Crée (ou met à jour) un compte du personnel et affiche un jeton d'API.
    Ajouter(AjouterArgs),
}

#[derive(Debug, clap::Args)]
pub struct AjouterArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// PLIE du compte (défaut : [service] plie).
    #[arg(long)]
    pub plie: Option<String>,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub nom: String,
    #[arg(long)]
    pub prenom: String,
    /// referent, assistant, coordinateur ou admin.
    #[arg(long)]
    pub role: String,
    /// Crée aussi un jeton d'API, affiché une seule fois.
    #[arg(long)]
    pub jeton: bool,
}

pub fn comptes(command: ComptesCommand) -> CliResult {
    let ComptesCommand::Ajouter(a) = command;
    let role = RolePersonnel::parse(&a.role).ok_or_else(|| {
        CliError::input(format!(
            "rôle « {} » inconnu : referent, assistant, coordinateur ou admin",
            a.role
        ))
    })?;
    if !crate::delivery::email_valide(&a.email) {
        return Err(CliError::input(format!(
            "« {} » n'est pas une adresse e-mail",
            a.email
        )));
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| CliError::failure(e.to_string()))?;
    runtime.block_on(async move {
        let config = charger(&a.data)?;
        let plie = a
            .plie
            .clone()
            .unwrap_or_else(|| config.service.plie.clone());
        crate::model::PlieId::new(&plie).map_err(CliError::input)?;
        std::fs::create_dir_all(&a.data.data_dir).map_err(|e| CliError::failure(e.to_string()))?;
        let db = crate::db::open(&a.data.data_dir)
            .await
            .map_err(|e| CliError::failure(e.to_string()))?;
        let maintenant = horloge()?.maintenant();
        let le = crate::db::instant(maintenant);
        crate::db::referentiel::creer_plie(&db, &plie, &plie, &le)
            .await
            .map_err(|e| CliError::failure(e.to_string()))?;
        let id = crate::db::personnel::enregistrer(
            &db,
            &crate::db::personnel::NouveauPersonnel {
                plie: &plie,
                email: &a.email,
                nom: &a.nom,
                prenom: &a.prenom,
                role,
                structure: "",
                identifiant_externe: None,
            },
            &le,
        )
        .await
        .map_err(|e| CliError::failure(e.to_string()))?
        .ok_or_else(|| {
            CliError::input(format!(
                "« {} » est déjà le compte d'un autre PLIE",
                a.email
            ))
        })?;
        println!("compte {} ({}) dans le PLIE {plie}", a.email, role.code());
        if a.jeton {
            let jeton = crate::auth::creer_jeton_api(&db, id, "ligne de commande", maintenant)
                .await
                .map_err(|e| CliError::failure(e.to_string()))?;
            println!("{jeton}");
        }
        Ok(())
    })
}
