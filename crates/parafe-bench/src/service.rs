//! `parafe-bench service`: importing many participants (against the sqlite3 shell), scheduling
//! their bilans BRSA, and the outbox draining e-mails to a real SMTP server (against lettre);
//! with `--postgres`, each round again on PostgreSQL, beside SQLite, and the same outbox drained
//! by two processes of a cluster (`[grappe]`, this bench spawning itself as the second one).

use crate::commun::{echec, runtime, CliError, CliResult, Moto, Smtp};
use parafe::config::Config;
use parafe::service::App;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Participants au RSA importés puis planifiés (3 bilans chacun).
    #[arg(long, default_value_t = 100_000)]
    pub participants: usize,
    /// Courriels vidés de la boîte d'envoi vers le serveur SMTP local.
    #[arg(long, default_value_t = 10_000)]
    pub courriels: usize,
    /// Manches : chacune dans un répertoire de données neuf, chaque paire côte à côte.
    #[arg(long, default_value_t = 3)]
    pub manches: usize,
    /// Ne mesurer que l'import et son pair (pour en prendre le profil avec perf).
    #[arg(long)]
    pub import_seul: bool,
    /// Dossier dont les workflows remplacent ou complètent ceux intégrés.
    #[arg(long)]
    pub workflows: Option<PathBuf>,
    /// Une grappe PostgreSQL (postgres://utilisateur@hote:port) : chaque manche passe aussi sur
    /// une base neuve de cette grappe, côte à côte avec SQLite.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Interne : ce processus est la seconde instance (« b ») d'une grappe qui vide la boîte
    /// d'envoi du dossier de données donné, lancée par le banc lui-même.
    #[arg(long, hide = true)]
    pub videur: Option<PathBuf>,
}

/// What one round measured, each figure beside its peer's.
struct Manche {
    /// The sqlite3 shell importing the same file into a table with the same unique index.
    shell: f64,
    import: f64,
    /// Participants on RSA scheduled, and the time it took.
    planifies: usize,
    planification: f64,
    /// lettre alone sending the e-mails, then the outbox draining the same number.
    lettre: f64,
    outbox: f64,
}

fn mediane(manches: &[Manche], mesure: impl Fn(&Manche) -> f64) -> f64 {
    crate::commun::mediane(manches.iter().map(mesure)).unwrap_or(f64::NAN)
}

/// The parcours software's extraction of `n` participants on RSA, 50 référents.
fn extraction(n: usize) -> String {
    let mut csv = parafe::import::en_tete();
    csv.push('\n');
    for i in 0..n {
        let jour = 1 + i % 28;
        let mois = 1 + (i / 28) % 12;
        csv.push_str(&format!(
            "P-{i:06};Madame;Nom{i};Prénom;01/01/1980;p{i}@exemple.fr;;34000;Montpellier;34;referent{}@plie.fr;Référent;R;202500417;France Travail;ft@exemple.fr;01/01/2025;Oui;{jour:02}/{mois:02}/2025;;\n",
            i % 50
        ));
    }
    csv
}

/// The peer of the import: the sqlite3 shell loading the same file, in one transaction, into
/// a table of the same columns with the same unique index, as durably (WAL, synchronous FULL).
fn import_shell(base: &Path, fichier: &Path, lignes: usize) -> Result<f64, CliError> {
    let colonnes = (1..=parafe::import::COLONNES.len())
        .map(|i| format!("c{i} TEXT"))
        .collect::<Vec<_>>()
        .join(", ");
    let script = format!(
        "PRAGMA journal_mode = WAL;\nPRAGMA synchronous = FULL;\n\
         CREATE TABLE participant ({colonnes}, UNIQUE (c1));\n\
         .mode csv\n.separator ;\n.import --skip 1 {} participant\n\
         SELECT count(*) FROM participant;\n",
        fichier.display()
    );
    let t = Instant::now();
    let mut shell = Command::new("sqlite3")
        .arg(base)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            CliError::failure(format!(
                "sqlite3 introuvable ({e}) : apt-get install sqlite3 (tests/run l'installe)"
            ))
        })?;
    if let Some(mut entree) = shell.stdin.take() {
        entree.write_all(script.as_bytes()).map_err(echec)?;
    }
    let sortie = shell.wait_with_output().map_err(echec)?;
    let duree = t.elapsed().as_secs_f64();
    let compte = String::from_utf8_lossy(&sortie.stdout);
    if !sortie.status.success() || compte.lines().last() != Some(&lignes.to_string()) {
        return Err(CliError::failure(format!(
            "import par sqlite3 incomplet ({compte}) : {}",
            String::from_utf8_lossy(&sortie.stderr)
        )));
    }
    Ok(duree)
}

fn courriel(i: usize, etape: &str) -> parafe::delivery::Courriel {
    parafe::delivery::Courriel {
        a: vec![format!("p{i}@exemple.fr")],
        objet: "Bilan BRSA à rédiger".into(),
        texte: "Bonjour,\n\nLe bilan BRSA de votre participant est dû le 15/06/2025.\n".into(),
        message_id: format!("<{etape}.{i}@parafe>"),
        renvoi: false,
        piece_jointe: None,
    }
}

/// `n` e-mails queued in the outbox, in one transaction.
async fn mettre_en_file(app: &App, plie: &str, n: usize) -> CliResult {
    let mut tx = app.db.begin().await.map_err(echec)?;
    for i in 0..n {
        let charge = serde_json::json!({ "courriel": courriel(i, "outbox") });
        parafe::outbox::ajouter(
            &mut tx,
            &format!("bench:{i}"),
            parafe::outbox::Genre::Courriel,
            plie,
            &charge,
            app.horloge.maintenant(),
        )
        .await
        .map_err(echec)?;
    }
    tx.commit().await.map_err(echec)
}

/// Runs the outbox of `app` until no task waits, in this process or another.
async fn vider(app: &App) -> CliResult {
    let travailleur = parafe::service::pipeline::demarrer(app.clone());
    while parafe::outbox::decompte(&app.db)
        .await
        .map_err(echec)?
        .en_attente
        > 0
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    travailleur.abort();
    Ok(())
}

/// One round in a fresh data directory: the import, the scheduling of the bilans it brings,
/// then lettre alone and the outbox sending the same number of e-mails.
async fn manche(
    args: &BenchArgs,
    smtp: u16,
    csv: &str,
    dossier: &Path,
    base: Option<String>,
) -> Result<Manche, CliError> {
    let mut config = Config::load(dossier).map_err(echec)?;
    config.base.url = base;
    config.service.workflows = args.workflows.clone();
    config.courriel.smtp = Some(format!("127.0.0.1:{smtp}"));
    config.courriel.expediteur = "PLIE <plie@exemple.fr>".into();
    let app = App::open(config).await.map_err(echec)?;
    let plie = app.config.service.plie.clone();
    let plie_id = parafe::model::PlieId::new(&plie).map_err(echec)?;
    let t = Instant::now();
    parafe::import::importer(&app, &plie, csv)
        .await
        .map_err(|e| match e {
            parafe::import::ImportError::Lignes(l) => echec(format!("{:?}", l.first())),
            parafe::import::ImportError::Service(e) => echec(e),
        })?;
    let import = t.elapsed().as_secs_f64();
    let mut resultat = Manche {
        shell: 0.0,
        import,
        planifies: 0,
        planification: 0.0,
        lettre: 0.0,
        outbox: 0.0,
    };
    if args.import_seul {
        return Ok(resultat);
    }
    let au_rsa = parafe::db::participants::au_rsa(&app.db, &plie)
        .await
        .map_err(echec)?;
    let t = Instant::now();
    parafe::schedule::planifier(&app, &plie, &au_rsa, app.horloge.maintenant())
        .await
        .map_err(echec)?;
    resultat.planification = t.elapsed().as_secs_f64();
    resultat.planifies = au_rsa.len();

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
        r.map_err(echec)?.map_err(echec)?;
    }
    resultat.lettre = t.elapsed().as_secs_f64();
    mettre_en_file(&app, &plie, args.courriels).await?;
    let t = Instant::now();
    vider(&app).await?;
    resultat.outbox = t.elapsed().as_secs_f64();
    Ok(resultat)
}

/// The floor of PostgreSQL itself for `n` participants and their bilans, on a new database of
/// `grappe` with parafe's schema (see `parafe::db::banc::plancher_postgres`).
async fn plancher(grappe: &str, dossier: &Path, n: usize) -> Result<(f64, f64), CliError> {
    let url = parafe::db::banc::nouvelle_base_postgres(grappe)
        .await
        .map_err(echec)?;
    let base = parafe::db::BaseConfig {
        url: Some(url),
        connexions: None,
    };
    std::fs::create_dir_all(dossier).map_err(echec)?;
    let db = parafe::db::open(&base, dossier).await.map_err(echec)?;
    let temps = parafe::db::banc::plancher_postgres(&db, n)
        .await
        .map_err(echec)?;
    db.close().await;
    Ok(temps)
}

/// `parafe.toml` of instance `instance` of a cluster: database `base`, bucket `compartiment` of
/// `moto`, the SMTP server on port `smtp`.
fn configurer_instance(
    dossier: &Path,
    instance: &str,
    base: &str,
    moto: &Moto,
    compartiment: &str,
    smtp: u16,
    workflows: Option<&Path>,
) -> CliResult {
    let workflows = match workflows {
        Some(w) => format!(
            "workflows = {:?}\n",
            std::fs::canonicalize(w)
                .map_err(echec)?
                .display()
                .to_string()
        ),
        None => String::new(),
    };
    std::fs::create_dir_all(dossier).map_err(echec)?;
    std::fs::write(
        dossier.join("parafe.toml"),
        format!(
            "[service]\n{workflows}\n[courriel]\nsmtp = \"127.0.0.1:{smtp}\"\nexpediteur = \"PLIE <plie@exemple.fr>\"\n\n[base]\nurl = \"{base}\"\n\n[grappe]\ninstance = \"{instance}\"\n{}",
            moto.section_store(compartiment)
        ),
    )
    .map_err(echec)
}

/// The outbox drained by two instances of a cluster, each its own process.
struct ADeux {
    duree: f64,
    /// E-mails each instance sent (the lease's holder of each task done).
    par_instance: Vec<(String, i64)>,
}

/// The same e-mails queued in a new database of `grappe`, then drained by instance « a » (this
/// process) and instance « b » (this bench started again with `--videur`) together.
async fn a_deux(
    args: &BenchArgs,
    smtp: u16,
    dossier: &Path,
    grappe: &str,
    moto: &Moto,
    n: usize,
) -> Result<ADeux, CliError> {
    let base = parafe::db::banc::nouvelle_base_postgres(grappe)
        .await
        .map_err(echec)?;
    let compartiment = format!("outbox-{n}");
    moto.compartiment(&compartiment).await?;
    let (dossier_a, dossier_b) = (dossier.join("a"), dossier.join("b"));
    for (d, instance) in [(&dossier_a, "a"), (&dossier_b, "b")] {
        configurer_instance(
            d,
            instance,
            &base,
            moto,
            &compartiment,
            smtp,
            args.workflows.as_deref(),
        )?;
    }
    // One seal for the cluster, made once and given to both instances.
    parafe::seal::init(&dossier_a).map_err(echec)?;
    crate::commun::copier_cles(&dossier_a, &dossier_b)?;
    let app = App::open(Config::load(&dossier_a).map_err(echec)?)
        .await
        .map_err(echec)?;
    let plie = app.config.service.plie.clone();
    mettre_en_file(&app, &plie, args.courriels).await?;
    // The second instance opens, says so, and waits for the start to drain beside this one.
    let mut enfant = Command::new(std::env::current_exe().map_err(echec)?)
        .args(["service", "--videur"])
        .arg(&dossier_b)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(echec)?;
    let mut ligne = String::new();
    if let Some(sortie) = enfant.stdout.take() {
        std::io::BufReader::new(sortie)
            .read_line(&mut ligne)
            .map_err(echec)?;
    }
    if ligne.trim() != "prêt" {
        let _ = enfant.kill();
        let _ = enfant.wait();
        return Err(echec(format!(
            "la seconde instance n'a pas démarré : {ligne}"
        )));
    }
    let t = Instant::now();
    if let Some(mut entree) = enfant.stdin.take() {
        writeln!(entree, "go").map_err(echec)?;
    }
    vider(&app).await?;
    let duree = t.elapsed().as_secs_f64();
    let statut = enfant.wait().map_err(echec)?;
    if !statut.success() {
        return Err(echec(format!("la seconde instance a échoué ({statut})")));
    }
    let par_instance: Vec<(String, i64)> = sqlx::query_as(
        "SELECT coalesce(bail_instance, '?'), count(*) FROM outbox
         WHERE cle LIKE 'bench:%' AND etat = 'fait' GROUP BY bail_instance ORDER BY 1",
    )
    .fetch_all(&app.db)
    .await
    .map_err(echec)?;
    let faits: i64 = par_instance.iter().map(|p| p.1).sum();
    if faits != args.courriels as i64 {
        return Err(echec(format!(
            "{faits} courriels envoyés sur {} : {par_instance:?}",
            args.courriels
        )));
    }
    Ok(ADeux {
        duree,
        par_instance,
    })
}

/// `--videur`: the second instance of [`a_deux`], draining the outbox once told to start.
fn videur(dossier: &Path) -> CliResult {
    let runtime = runtime()?;
    // The service is dropped in the runtime's context: its SMTP pool closes its connections
    // by tasks of its own.
    let _contexte = runtime.enter();
    let app = runtime.block_on(async {
        App::open(Config::load(dossier).map_err(echec)?)
            .await
            .map_err(echec)
    })?;
    println!("prêt");
    std::io::stdout().flush().map_err(echec)?;
    let mut top = String::new();
    std::io::stdin().read_line(&mut top).map_err(echec)?;
    runtime.block_on(vider(&app))
}

/// The import against the sqlite3 shell loading the same file, the scheduling of the bilans,
/// and the outbox against lettre alone: each pair side by side in each round, every round in
/// a fresh data directory, then the medians.
pub fn bench(args: BenchArgs) -> CliResult {
    if let Some(dossier) = &args.videur {
        return videur(dossier);
    }
    let puits = Smtp::lancer(None)?;
    let dir = tempfile::tempdir().map_err(echec)?;
    let csv = extraction(args.participants);
    let fichier = dir.path().join("extraction.csv");
    std::fs::write(&fichier, &csv).map_err(echec)?;
    let runtime = runtime()?;
    let mut manches = Vec::new();
    let mut sur_postgres = Vec::new();
    let mut a_deux_instances = Vec::new();
    let mut planchers = Vec::new();
    let moto = match (&args.postgres, args.import_seul) {
        (Some(_), false) => Some(runtime.block_on(Moto::lancer())?),
        _ => None,
    };
    for n in 1..=args.manches.max(1) {
        let shell = import_shell(
            &dir.path().join(format!("sqlite3-{n}.db")),
            &fichier,
            args.participants,
        )?;
        let dossier = dir.path().join(format!("parafe-{n}"));
        let mut m = runtime.block_on(manche(&args, puits.1, &csv, &dossier, None))?;
        m.shell = shell;
        let n_ = args.participants as f64;
        print!(
            "manche {n} : import {:.2} s ({:.0}/s) contre sqlite3 {:.2} s ({:.0}/s) → {:.2}×",
            m.import,
            n_ / m.import,
            m.shell,
            n_ / m.shell,
            m.shell / m.import
        );
        if !args.import_seul {
            let c = args.courriels as f64;
            print!(
                " ; bilans {:.2} s ({:.0} participants/s) ; courriels : boîte d'envoi {:.0}/s contre lettre {:.0}/s → {:.0} %",
                m.planification,
                m.planifies as f64 / m.planification,
                c / m.outbox,
                c / m.lettre,
                100.0 * m.lettre / m.outbox
            );
        }
        println!();
        if let Some(grappe) = &args.postgres {
            let pg = runtime.block_on(async {
                let url = parafe::db::banc::nouvelle_base_postgres(grappe)
                    .await
                    .map_err(echec)?;
                let dossier = dir.path().join(format!("parafe-pg-{n}"));
                manche(&args, puits.1, &csv, &dossier, Some(url)).await
            })?;
            println!(
                "  sur PostgreSQL : import {:.2} s ({:.0} % de SQLite) ; bilans {:.2} s ({:.0} %) ; boîte d'envoi {:.2} s ({:.0} %)",
                pg.import,
                100.0 * m.import / pg.import,
                pg.planification,
                100.0 * m.planification / pg.planification,
                pg.outbox,
                100.0 * m.outbox / pg.outbox
            );
            if !args.import_seul {
                let (participants, bilans) = runtime.block_on(plancher(
                    grappe,
                    &dir.path().join(format!("plancher-{n}")),
                    args.participants,
                ))?;
                println!(
                    "  plancher du serveur PostgreSQL (les mêmes lignes écrites par INSERT … SELECT, sans client) : participants {participants:.2} s (au mieux {:.0} % du débit SQLite), bilans {bilans:.2} s (au mieux {:.0} %)",
                    100.0 * m.import / participants,
                    100.0 * m.planification / bilans
                );
                planchers.push((participants, bilans));
            }
            if let Some(moto) = &moto {
                let deux = runtime.block_on(a_deux(
                    &args,
                    puits.1,
                    &dir.path().join(format!("parafe-grappe-{n}")),
                    grappe,
                    moto,
                    n,
                ))?;
                println!(
                    "  deux instances sur PostgreSQL, chacune son processus : boîte d'envoi {:.2} s ({:.0}/s, {:.0} % d'une seule instance) ; courriels envoyés par instance : {}",
                    deux.duree,
                    args.courriels as f64 / deux.duree,
                    100.0 * pg.outbox / deux.duree,
                    deux.par_instance
                        .iter()
                        .map(|(i, n)| format!("{i} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                a_deux_instances.push(deux);
            }
            sur_postgres.push(pg);
        }
        manches.push(m);
    }
    let n_ = args.participants as f64;
    let (import, shell) = (
        mediane(&manches, |m| m.import),
        mediane(&manches, |m| m.shell),
    );
    println!(
        "médianes sur {} manches, {} participants :",
        manches.len(),
        args.participants
    );
    println!(
        "  import : {import:.2} s ({:.0}/s) contre sqlite3 {shell:.2} s ({:.0}/s) → {:.2}× le shell (objectif ≥ 0,5×)",
        n_ / import,
        n_ / shell,
        shell / import
    );
    if args.import_seul {
        return Ok(());
    }
    let planification = mediane(&manches, |m| m.planification);
    let c = args.courriels as f64;
    let (outbox, lettre) = (
        mediane(&manches, |m| m.outbox),
        mediane(&manches, |m| m.lettre),
    );
    println!(
        "  planification des bilans BRSA : {:.2} s → {:.0} participants/s (objectif ≥ 50 000/s)",
        planification,
        manches[0].planifies as f64 / planification
    );
    println!(
        "  courriels : boîte d'envoi durable {:.0}/s ({outbox:.2} s) contre lettre seul {:.0}/s ({lettre:.2} s) → {:.0} % (objectif ≥ 90 %)",
        c / outbox,
        c / lettre,
        100.0 * mediane(&manches, |m| m.lettre / m.outbox)
    );
    if !sur_postgres.is_empty() {
        // Throughput on PostgreSQL as a share of SQLite's, round by round, then the median.
        let part = |mesure: fn(&Manche) -> f64| {
            let parts = manches
                .iter()
                .zip(&sur_postgres)
                .map(|(s, p)| mesure(s) / mesure(p));
            100.0 * crate::commun::mediane(parts).unwrap_or(f64::NAN)
        };
        println!(
            "  PostgreSQL (une instance) : import {:.0} %, bilans {:.0} %, boîte d'envoi {:.0} % du débit sur SQLite (objectif ≥ 70 %)",
            part(|m| m.import),
            part(|m| m.planification),
            part(|m| m.outbox)
        );
        if !planchers.is_empty() {
            let plafond = |i: fn(&(f64, f64)) -> f64, mesure: fn(&Manche) -> f64| {
                let parts = manches
                    .iter()
                    .zip(&planchers)
                    .map(|(s, p)| mesure(s) / i(p));
                100.0 * crate::commun::mediane(parts).unwrap_or(f64::NAN)
            };
            println!(
                "  plafond de PostgreSQL lui-même (son plancher sans client contre parafe sur SQLite) : import {:.0} %, bilans {:.0} %",
                plafond(|p| p.0, |m| m.import),
                plafond(|p| p.1, |m| m.planification)
            );
        }
    }
    if !a_deux_instances.is_empty() {
        let parts = sur_postgres
            .iter()
            .zip(&a_deux_instances)
            .map(|(p, d)| p.outbox / d.duree);
        let duree =
            crate::commun::mediane(a_deux_instances.iter().map(|d| d.duree)).unwrap_or(f64::NAN);
        println!(
            "  boîte d'envoi vidée par deux instances (deux processus, une base PostgreSQL) : {:.0}/s ({duree:.2} s), {:.0} % du débit d'une seule",
            c / duree,
            100.0 * crate::commun::mediane(parts).unwrap_or(f64::NAN)
        );
    }
    Ok(())
}
