//! `parafe serve`: the service, and `parafe comptes` / `parafe import` to set it up from the
//! command line.

use super::{CliError, CliResult, DataDir};
use crate::config::Config;
use crate::roles::RolePersonnel;
use crate::service::App;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub data: DataDir,
    /// Adresse d'écoute (défaut : [service] ecoute, 127.0.0.1:8080).
    #[arg(long, env = "PARAFE_LISTEN")]
    pub listen: Option<String>,
    /// Dossier dont les workflows remplacent (même nom) ou complètent ceux intégrés (défaut :
    /// [service] workflows, sinon les seuls workflows intégrés).
    #[arg(long)]
    pub workflows: Option<PathBuf>,
}

fn charger(data: &DataDir) -> Result<Config, CliError> {
    Config::load(&data.data_dir).map_err(|e| CliError::input(e.to_string()))
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
    if workflows.is_some() {
        config.service.workflows = workflows;
    }
    App::open(config)
        .await
        .map_err(|e| CliError::input(e.to_string()))
}

pub fn run(args: ServeArgs) -> CliResult {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| CliError::failure(e.to_string()))?;
    runtime.block_on(async move {
        let app = ouvrir(&args.data, args.listen, args.workflows).await?;
        // Alone on its database, or one of a declared cluster: refused otherwise.
        app.inscrire()
            .await
            .map_err(|e| CliError::input(e.to_string()))?;
        // Audit packs under way when the service stopped will not finish: say so.
        crate::service::controle::interrompre_exports(&app)
            .await
            .map_err(|e| CliError::failure(e.to_string()))?;
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
        crate::schedule::veilleur(app.clone());
        println!(
            "parafe écoute sur http://{adresse}/ (données : {})",
            app.config.data_dir.display()
        );
        let plie = crate::model::PlieId::new(&app.config.service.plie).map_err(CliError::input)?;
        if let Some(boite) = app.courrier.boite(&plie) {
            println!(
                "sans serveur SMTP ([courriel] smtp), les courriels restent dans la boîte de \
                 développement, une par PLIE, lue par ses seuls administrateurs (développement \
                 uniquement) : {}",
                boite.display()
            );
        }
        println!(
            "API : http://{adresse}/openapi.json ; créez un compte : parafe comptes ajouter --help"
        );
        let https = crate::web::securise(&app);
        let mut routes = crate::http::routeur::routeur().with_state(app);
        if https {
            routes = routes.layer(axum::middleware::map_response(crate::http::entetes::hsts));
        }
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
        let db = crate::db::open(&config.base, &a.data.data_dir)
            .await
            .map_err(|e| CliError::failure(e.to_string()))?;
        let maintenant = config.horloge.maintenant();
        let le = crate::db::instant(maintenant);
        crate::db::referentiel::creer_plie(&db, &plie, &plie, &le)
            .await
            .map_err(|e| CliError::failure(e.to_string()))?;
        let avant = crate::db::personnel::par_email(&db, &a.email)
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
        // The role given is the account's from now on (recording it updates names only).
        let ancien = avant.map(|p| p.role).filter(|r| *r != role);
        if ancien.is_some() {
            crate::db::personnel::changer_role(&db, id, role)
                .await
                .map_err(|e| CliError::failure(e.to_string()))?;
        }
        match ancien {
            Some(r) => println!(
                "compte {} ({}) dans le PLIE {plie} ; rôle changé : {} → {}",
                a.email,
                role.code(),
                r.code(),
                role.code()
            ),
            None => println!("compte {} ({}) dans le PLIE {plie}", a.email, role.code()),
        }
        if a.jeton {
            let jeton = crate::auth::creer_jeton_api(&db, id, "ligne de commande", maintenant)
                .await
                .map_err(|e| CliError::failure(e.to_string()))?;
            println!("{jeton}");
        }
        Ok(())
    })
}
