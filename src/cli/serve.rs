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
        // Audit packs under way when the service stopped will not finish: say so.
        crate::pack::suivi::interrompre(&app.db, &crate::db::instant(app.horloge.maintenant()))
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
        crate::service::veilleur(app.clone());
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
        let mut routes = crate::api::routes().with_state(app);
        if https {
            routes = routes.layer(axum::middleware::map_response(crate::web::hsts));
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
        let db = crate::db::open(&a.data.data_dir)
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

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Participants au RSA importés puis planifiés (3 bilans chacun).
    #[arg(long, default_value_t = 100_000)]
    pub participants: usize,
    /// Courriels vidés de la boîte d'envoi vers le serveur SMTP local.
    #[arg(long, default_value_t = 10_000)]
    pub courriels: usize,
    /// Dossier dont les workflows remplacent ou complètent ceux intégrés.
    #[arg(long)]
    pub workflows: Option<PathBuf>,
}

/// An SMTP server that accepts and drops everything (aiosmtpd's Sink), on a free loopback port.
struct Puits(std::process::Child, u16);

impl Puits {
    fn lancer() -> Result<Puits, CliError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| CliError::failure(e.to_string()))?
            .port();
        let child = std::process::Command::new("aiosmtpd")
            .args([
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Sink",
            ])
            .spawn()
            .map_err(|e| {
                CliError::failure(format!("aiosmtpd introuvable ({e}) : pip install aiosmtpd"))
            })?;
        let debut = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if debut.elapsed() > std::time::Duration::from_secs(20) {
                return Err(CliError::failure("aiosmtpd ne répond pas".to_owned()));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Ok(Puits(child, port))
    }
}

impl Drop for Puits {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Scheduling bilans for many participants, and the outbox draining e-mails to a real SMTP
/// server, side by side with lettre sending the same e-mails in a plain loop.
pub fn bench(args: BenchArgs) -> CliResult {
    use crate::delivery::Courriel;
    use std::time::Instant;
    let fail = |e: &dyn std::fmt::Display| CliError::failure(e.to_string());
    let puits = Puits::lancer()?;
    let dir = tempfile::tempdir().map_err(|e| fail(&e))?;
    let mut config = Config::load(dir.path()).map_err(|e| fail(&e))?;
    config.service.workflows = args.workflows.clone();
    config.courriel.smtp = Some(format!("127.0.0.1:{}", puits.1));
    config.courriel.expediteur = "PLIE <plie@exemple.fr>".into();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| fail(&e))?;
    runtime.block_on(async move {
        let app = App::open(config).await.map_err(|e| fail(&e))?;
        let plie = app.config.service.plie.clone();
        let plie_id = crate::model::PlieId::new(&plie).map_err(|e| fail(&e))?;
        let mut csv = crate::import::COLONNES.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(";");
        csv.push('\n');
        for i in 0..args.participants {
            let jour = 1 + i % 28;
            let mois = 1 + (i / 28) % 12;
            csv.push_str(&format!(
                "P-{i:06};Madame;Nom{i};Prénom;01/01/1980;p{i}@exemple.fr;;34000;Montpellier;34;referent{}@plie.fr;Référent;R;202500417;France Travail;ft@exemple.fr;01/01/2025;Oui;{jour:02}/{mois:02}/2025;;\n",
                i % 50
            ));
        }
        let t = Instant::now();
        let rapport = crate::import::importer(&app, &plie, &csv).await.map_err(|e| match e {
            crate::import::ImportError::Lignes(l) => fail(&format!("{:?}", l.first())),
            crate::import::ImportError::Service(e) => fail(&e),
        })?;
        let import = t.elapsed();
        let au_rsa = crate::db::participants::au_rsa(&app.db, &plie).await.map_err(|e| fail(&e))?;
        let t = Instant::now();
        let plan = crate::schedule::planifier(&app, &plie, &au_rsa, app.horloge.maintenant()).await.map_err(|e| fail(&e))?;
        let planification = t.elapsed();
        println!(
            "import : {} participants en {:.2} s ({:.0}/s)",
            rapport.participants,
            import.as_secs_f64(),
            rapport.participants as f64 / import.as_secs_f64()
        );
        println!(
            "planification : {} participants, {} bilans créés en {:.2} s → {:.0} participants/s (objectif ≥ 20 000/s)",
            au_rsa.len(),
            plan.crees,
            planification.as_secs_f64(),
            au_rsa.len() as f64 / planification.as_secs_f64()
        );

        let courriel = |i: usize, etape: &str| Courriel {
            a: vec![format!("p{i}@exemple.fr")],
            objet: "Bilan BRSA à rédiger".into(),
            texte: "Bonjour,\n\nLe bilan BRSA de votre participant est dû le 15/06/2025.\n".into(),
            message_id: format!("<{etape}.{i}@parafe>"),
            renvoi: false,
            piece_jointe: None,
        };
        // Peer: lettre sending the same messages, as many at once as the outbox does, no outbox.
        let t = Instant::now();
        let simultanes = app.config.service.taches_simultanees;
        let mut en_cours = tokio::task::JoinSet::new();
        for i in 0..args.courriels {
            if en_cours.len() >= simultanes {
                en_cours.join_next().await;
            }
            let (courrier, c, p) = (app.courrier.clone(), courriel(i, "brut"), plie_id.clone());
            en_cours.spawn(async move { courrier.envoyer(&c, &p).await.map(|_| ()) });
        }
        while let Some(r) = en_cours.join_next().await {
            r.map_err(|e| fail(&e))?.map_err(|e| fail(&e))?;
        }
        let brut = t.elapsed();
        let mut tx = app.db.begin().await.map_err(|e| fail(&e))?;
        for i in 0..args.courriels {
            crate::outbox::ajouter(&mut tx, &format!("bench:{i}"), crate::outbox::Genre::Courriel, &plie, &serde_json::json!({ "courriel": courriel(i, "outbox") }), app.horloge.maintenant())
                .await
                .map_err(|e| fail(&e))?;
        }
        tx.commit().await.map_err(|e| fail(&e))?;
        let t = Instant::now();
        let travailleur = crate::service::pipeline::demarrer(app.clone());
        loop {
            let etat = crate::outbox::etat(&app.db).await.map_err(|e| fail(&e))?;
            if etat.en_attente == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let outbox = t.elapsed();
        travailleur.abort();
        let n = args.courriels as f64;
        println!(
            "courriels : boîte d'envoi durable {:.0}/s ({:.2} s) contre lettre seul {:.0}/s ({:.2} s) → {:.0} % (objectif ≥ 500/s)",
            n / outbox.as_secs_f64(),
            outbox.as_secs_f64(),
            n / brut.as_secs_f64(),
            brut.as_secs_f64(),
            100.0 * brut.as_secs_f64() / outbox.as_secs_f64()
        );
        Ok(())
    })
}
