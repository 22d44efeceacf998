//! `parafe-bench service`: scheduling the bilans BRSA of many participants, and the outbox
//! draining e-mails to a real SMTP server.

use crate::commun::{CliError, CliResult};
use parafe::config::Config;
use parafe::service::App;
use std::path::PathBuf;

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
    use parafe::delivery::Courriel;
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
        let plie_id = parafe::model::PlieId::new(&plie).map_err(|e| fail(&e))?;
        let mut csv = parafe::import::COLONNES.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(";");
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
        let rapport = parafe::import::importer(&app, &plie, &csv).await.map_err(|e| match e {
            parafe::import::ImportError::Lignes(l) => fail(&format!("{:?}", l.first())),
            parafe::import::ImportError::Service(e) => fail(&e),
        })?;
        let import = t.elapsed();
        let au_rsa = parafe::db::participants::au_rsa(&app.db, &plie).await.map_err(|e| fail(&e))?;
        let t = Instant::now();
        let plan = parafe::schedule::planifier(&app, &plie, &au_rsa, app.horloge.maintenant()).await.map_err(|e| fail(&e))?;
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
            parafe::outbox::ajouter(&mut tx, &format!("bench:{i}"), parafe::outbox::Genre::Courriel, &plie, &serde_json::json!({ "courriel": courriel(i, "outbox") }), app.horloge.maintenant())
                .await
                .map_err(|e| fail(&e))?;
        }
        tx.commit().await.map_err(|e| fail(&e))?;
        let t = Instant::now();
        let travailleur = parafe::service::pipeline::demarrer(app.clone());
        loop {
            let etat = parafe::outbox::decompte(&app.db).await.map_err(|e| fail(&e))?;
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
