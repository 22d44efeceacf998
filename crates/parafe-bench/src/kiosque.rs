//! `parafe-bench kiosque`: load on the émargement kiosk, from a second process on loopback.
//!
//! This process is the load client; `parafe serve` runs as a child process on a fresh data
//! directory (embedded store, local TSA, development mailbox). Each of the N virtual tablets
//! logs in as its own référent (password chosen through the reset link of the mailbox, as a
//! person would), then opens collective sheets of 8 expected attendees one after another: the 8
//! sign in turn, the animator signs and closes. After the run, the outbox drains and every
//! signature the server acknowledged is counted again in the store: in the documents (all filed)
//! and in the evidence journal (one `document_signed` entry each).
//!
//! With `--postgres`, the same load runs three times in turn, each deployment fresh: one
//! instance on SQLite (as without the option), one on a new PostgreSQL database, and two
//! instances of a cluster (`[grappe]`) on another new database and a moto S3, the tablets
//! spread over both; then one table compares the last two to the first.

use crate::commun::{echec, port_libre, CliError, CliResult, Moto, Smtp};
use clap::Args;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Tablettes (signataires) simultanées.
    #[arg(long, default_value_t = 50)]
    pub tablettes: usize,
    /// Durée de la charge, en secondes.
    #[arg(long, default_value_t = 60)]
    pub duree: u64,
    /// Présents attendus par feuille (l'animateur signe en plus).
    #[arg(long, default_value_t = 8)]
    pub presents: usize,
    /// Pause après chaque signature sur une tablette, en millisecondes : 0 pour la charge
    /// maximale (chaque tablette enchaîne sans attendre) ; 2000 pour une personne toutes les deux
    /// secondes par tablette, rythme déjà bien plus rapide qu'un vrai atelier.
    #[arg(long, default_value_t = 0)]
    pub cadence: u64,
    /// Dossier dont les workflows remplacent ou complètent ceux intégrés.
    #[arg(long)]
    pub workflows: Option<PathBuf>,
    /// Une grappe PostgreSQL (postgres://utilisateur@hote:port) : la même charge passe alors
    /// tour à tour sur une instance SQLite, une instance sur une base neuve de cette grappe, et
    /// deux instances en grappe (`[grappe]`) sur une autre base neuve et un S3 moto
    /// (`moto_server` du PATH), les tablettes réparties entre les deux ; un tableau compare.
    #[arg(long)]
    pub postgres: Option<String>,
}

const PLIE: &str = "plie-banc";
const MOT_DE_PASSE: &str = "banc d'essai du kiosque parafe";
const CONSENTEMENT: &str = parafe::service::trace::CONSENTEMENT;

/// The service under load, in its own process.
struct Serveur {
    enfant: Child,
    url: String,
    data: PathBuf,
}

impl Drop for Serveur {
    fn drop(&mut self) {
        let _ = self.enfant.kill();
        let _ = self.enfant.wait();
    }
}

/// The configurations compared with `--postgres`, in the order they run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Configuration {
    Sqlite,
    Postgres,
    Grappe,
}

impl Configuration {
    fn libelle(self) -> &'static str {
        match self {
            Configuration::Sqlite => "(a) une instance, SQLite, coffre intégré",
            Configuration::Postgres => "(b) une instance, PostgreSQL, coffre intégré",
            Configuration::Grappe => "(c) deux instances en grappe, PostgreSQL, S3 moto",
        }
    }
}

const COMPARTIMENT: &str = "grappe";

/// One configuration deployed: its instances (the first one answers the administrator), the
/// admin's API token, and what to drop once measured.
struct Deploiement {
    serveurs: Vec<Serveur>,
    jeton: String,
    /// The PostgreSQL database, if any; with `[grappe]`, the evidence journal's lines are there.
    base: Option<String>,
    grappe: bool,
    /// Where the e-mails land: each instance's development mailbox, or the SMTP server's.
    boites: Vec<PathBuf>,
    _moto: Option<Moto>,
    _smtp: Option<Smtp>,
}

/// `parafe.toml` of one instance: its port; the database, the cluster and its S3 if any.
fn configurer(
    data: &Path,
    port: u16,
    workflows: Option<&Path>,
    base: Option<&str>,
    grappe: Option<(&str, &Moto, u16)>,
) -> CliResult {
    let workflows = match workflows {
        Some(w) => {
            let w = std::fs::canonicalize(w)
                .map_err(|e| echec(format!("workflows {} : {e}", w.display())))?;
            format!("workflows = {:?}\n", w.display().to_string())
        }
        None => String::new(),
    };
    let mut toml = format!(
        "[service]\necoute = \"127.0.0.1:{port}\"\n{workflows}plie = \"{PLIE}\"\nnom_plie = \"PLIE du banc d'essai\"\n"
    );
    if let Some(url) = base {
        toml.push_str(&format!("\n[base]\nurl = \"{url}\"\n"));
    }
    if let Some((instance, moto, smtp)) = grappe {
        // The development mailbox is one instance's folder: a cluster sends through SMTP.
        toml.push_str(&format!(
            "\n[courriel]\nsmtp = \"127.0.0.1:{smtp}\"\nexpediteur = \"PLIE <plie@banc.exemple>\"\n"
        ));
        toml.push_str(&format!("\n[grappe]\ninstance = \"{instance}\"\n"));
        toml.push_str(&moto.section_store(COMPARTIMENT));
    }
    std::fs::create_dir_all(data).map_err(echec)?;
    std::fs::write(data.join("parafe.toml"), toml).map_err(echec)
}

fn lancer(data: &Path, port: u16) -> Result<Serveur, CliError> {
    let exe = crate::commun::parafe()?;
    // PARAFE_BANC_LOG=warn (for instance): each instance logs at that level to <data>/serve.log.
    let (niveau, journal) = match std::env::var("PARAFE_BANC_LOG") {
        Ok(niveau) if !niveau.is_empty() => (
            niveau,
            Stdio::from(std::fs::File::create(data.join("serve.log")).map_err(echec)?),
        ),
        _ => ("error".to_owned(), Stdio::null()),
    };
    let mut enfant = Command::new(exe)
        .args(["serve", "--data-dir"])
        .arg(data)
        .env("PARAFE_LOG", niveau)
        .stdout(Stdio::piped())
        .stderr(journal)
        .spawn()
        .map_err(echec)?;
    let mut lecteur = BufReader::new(
        enfant
            .stdout
            .take()
            .ok_or_else(|| echec("sortie du service"))?,
    );
    let mut ligne = String::new();
    lecteur.read_line(&mut ligne).map_err(echec)?;
    if !ligne.contains("écoute sur") {
        let _ = enfant.kill();
        let _ = enfant.wait();
        return Err(echec(format!(
            "parafe serve ({}) n'a pas démarré : {ligne}",
            data.display()
        )));
    }
    std::thread::spawn(move || for _ in lecteur.lines() {});
    Ok(Serveur {
        enfant,
        url: format!("http://127.0.0.1:{port}"),
        data: data.to_path_buf(),
    })
}

/// An administrator with an API token (import, health, checks), before the service starts.
fn administrateur(data: &Path) -> Result<String, CliError> {
    let sortie = Command::new(crate::commun::parafe()?)
        .args(["comptes", "ajouter", "--data-dir"])
        .arg(data)
        .args([
            "--plie",
            PLIE,
            "--email",
            "admin@banc.exemple",
            "--nom",
            "Banc",
            "--prenom",
            "Admin",
            "--role",
            "admin",
            "--jeton",
        ])
        .output()
        .map_err(echec)?;
    if !sortie.status.success() {
        return Err(echec(String::from_utf8_lossy(&sortie.stderr)));
    }
    Ok(String::from_utf8_lossy(&sortie.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned())
}

/// Deploys `configuration` under `dossier`: a new database for PostgreSQL; for the cluster,
/// moto and instances « a » and « b » with the same seal keys, as two machines would be.
async fn deployer(
    configuration: Configuration,
    dossier: &Path,
    args: &BenchArgs,
) -> Result<Deploiement, CliError> {
    let base = match (configuration, &args.postgres) {
        (Configuration::Sqlite, _) => None,
        (_, Some(grappe)) => Some(
            parafe::db::banc::nouvelle_base_postgres(grappe)
                .await
                .map_err(|e| echec(format!("base neuve sur {grappe} : {e}")))?,
        ),
        (_, None) => return Err(echec("--postgres manquant")),
    };
    let moto = match configuration {
        Configuration::Grappe => {
            let moto = Moto::lancer().await?;
            moto.compartiment(COMPARTIMENT).await?;
            Some(moto)
        }
        _ => None,
    };
    let smtp = match configuration {
        Configuration::Grappe => Some(Smtp::lancer(Some(&dossier.join("courriels")))?),
        _ => None,
    };
    let instances: &[Option<&str>] = match configuration {
        Configuration::Grappe => &[Some("a"), Some("b")],
        _ => &[None],
    };
    let mut serveurs: Vec<Serveur> = Vec::new();
    let mut jeton = String::new();
    for instance in instances {
        let data = dossier.join(format!(
            "data{}",
            instance.map_or(String::new(), |i| format!("-{i}"))
        ));
        let port = port_libre()?;
        let grappe = match (instance, &moto, &smtp) {
            (Some(i), Some(m), Some(s)) => Some((*i, m, s.1)),
            _ => None,
        };
        if grappe.is_some() && serveurs.is_empty() {
            // A cluster seals with one seal, made once and given to every instance.
            let init = Command::new(crate::commun::parafe()?)
                .args(["init", "--data-dir"])
                .arg(&data)
                .output()
                .map_err(echec)?;
            if !init.status.success() {
                return Err(echec(String::from_utf8_lossy(&init.stderr)));
            }
        }
        configurer(
            &data,
            port,
            args.workflows.as_deref(),
            base.as_deref(),
            grappe,
        )?;
        match serveurs.first() {
            None => jeton = administrateur(&data)?,
            // The seal keys of the first instance, copied as a deployment copies them.
            Some(premier) => crate::commun::copier_cles(&premier.data, &data)?,
        }
        serveurs.push(lancer(&data, port)?);
    }
    let boites = match &smtp {
        Some(_) => vec![dossier.join("courriels").join("new")],
        None => serveurs
            .iter()
            .map(|s| s.data.join("courriels").join(PLIE))
            .collect(),
    };
    Ok(Deploiement {
        serveurs,
        jeton,
        base,
        grappe: configuration == Configuration::Grappe,
        boites,
        _moto: moto,
        _smtp: smtp,
    })
}

/// Drops a database the bench made, once its instances have stopped.
async fn supprimer_base(grappe: &str, url: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let nom = url.rsplit('/').next().unwrap_or_default();
    let mut conn =
        sqlx::AnyConnection::connect(&format!("{}/postgres", grappe.trim_end_matches('/'))).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {nom} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    conn.close().await
}

fn entre<'a>(texte: &'a str, debut: &str, fin: &str) -> Option<&'a str> {
    let i = texte.find(debut)? + debut.len();
    let j = texte[i..].find(fin)? + i;
    Some(&texte[i..j])
}

/// A logged-in tablet: its session cookie, its portfolio.
struct Tablette {
    /// The instance it talks to (a load balancer keeps a session on one).
    url: String,
    cookie: String,
    participants: Vec<String>,
}

/// What one tablet measured.
#[derive(Default)]
struct Mesures {
    signatures: Vec<f64>,
    clotures: Vec<f64>,
    ouvertures: Vec<f64>,
    erreurs: Vec<String>,
    /// (document, close sent at, signatures acknowledged).
    feuilles: Vec<(String, chrono::DateTime<chrono::Utc>, usize)>,
}

fn cookie_de(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(parafe::auth::session::COOKIE))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// A drawn signature as a tablet sends it: strokes with timing and pressure, and its picture.
fn signature(version: &str, graine: usize, png: &str) -> Value {
    let traits: Vec<Value> = (0..3)
        .map(|t| {
            json!((0..25)
                .map(|i| {
                    let x = 40.0 + 200.0 * t as f64 + 7.0 * i as f64;
                    let y = 120.0 + 60.0 * ((i + graine) as f64 / 3.0).sin();
                    json!({ "x": x, "y": y, "t": (t * 400 + i * 16) as f64, "p": 0.4 + 0.02 * (i % 10) as f64 })
                })
                .collect::<Vec<_>>())
        })
        .collect();
    json!({
        "trace": { "largeur": 740.0, "hauteur": 240.0, "traits": traits },
        "png": png,
        "consentement": CONSENTEMENT,
        "version": version,
    })
}

/// A 740 × 240 picture of a signature, as the pad's `toDataURL` gives (PNG, base64).
fn png_de_signature() -> Result<String, CliError> {
    use base64::Engine;
    let (l, h) = (740u32, 240u32);
    let mut pixels = vec![255u8; (l * h * 4) as usize];
    for x in 40..700u32 {
        let y = (120.0 + 60.0 * (x as f64 / 40.0).sin()) as u32;
        for dy in 0..3 {
            let i = (((y + dy) * l + x) * 4) as usize;
            pixels[i..i + 3].copy_from_slice(&[11, 31, 102]);
        }
    }
    let mut octets = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut octets, l, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().map_err(echec)?;
        w.write_image_data(&pixels).map_err(echec)?;
    }
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(octets)
    ))
}

async fn json_de(r: reqwest::Response) -> Result<Value, CliError> {
    let texte = r.text().await.map_err(echec)?;
    serde_json::from_str(&texte).map_err(|e| echec(format!("{e} : {texte}")))
}

fn centile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i.min(v.len() - 1)]
}

/// What one configuration measured, once its outbox drained and its signatures were recounted.
struct Resultat {
    duree: f64,
    feuilles: usize,
    accusees: usize,
    signatures: Vec<f64>,
    clotures: Vec<f64>,
    /// From the closing request to the sheet filed (its `modifie_le`).
    scelles: Vec<f64>,
    ouvertures: Vec<f64>,
    erreurs: Vec<String>,
    /// Acknowledged signatures missing from the filed documents.
    perdues: usize,
    stockees: usize,
    au_journal: usize,
    non_deposees: usize,
}

impl Resultat {
    fn debit(&self) -> f64 {
        self.accusees as f64 / self.duree
    }

    /// Something went wrong: an error, a signature lost, not filed or not journaled.
    fn en_defaut(&self) -> bool {
        !self.erreurs.is_empty()
            || self.perdues > 0
            || self.non_deposees > 0
            || self.au_journal < self.accusees
    }

    /// Signatures acknowledged that the recount did not find, in the documents or the journal.
    fn manquantes(&self) -> usize {
        self.perdues
            .max(self.accusees.saturating_sub(self.au_journal))
    }

    fn afficher(&mut self, tablettes: usize) {
        println!(
            "{} tablettes, {:.1} s de charge, {} feuilles closes, {} signatures accusées",
            tablettes, self.duree, self.feuilles, self.accusees
        );
        println!(
            "débit : {:.1} signatures/s, {:.2} feuilles/s",
            self.debit(),
            self.feuilles as f64 / self.duree
        );
        println!(
            "signature (requête de la tablette) : p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms (objectif p95 ≤ 100 ms)",
            centile(&mut self.signatures, 50.0), centile(&mut self.signatures, 95.0), centile(&mut self.signatures, 99.0)
        );
        println!(
            "clôture, réponse à la tablette : p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
            centile(&mut self.clotures, 50.0),
            centile(&mut self.clotures, 95.0),
            centile(&mut self.clotures, 99.0)
        );
        println!(
            "clôture jusqu'au dépôt (composition + scellement + coffre) : p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms (objectif p95 ≤ 400 ms)",
            centile(&mut self.scelles, 50.0), centile(&mut self.scelles, 95.0), centile(&mut self.scelles, 99.0)
        );
        println!(
            "ouverture d'une feuille (création + composition) : p50 {:.1} ms, p95 {:.1} ms",
            centile(&mut self.ouvertures, 50.0),
            centile(&mut self.ouvertures, 95.0)
        );
        println!(
            "erreurs : {} ; signatures perdues : {} ({} accusées, {} dans les documents déposés, {} au journal des preuves) ; feuilles non déposées : {}",
            self.erreurs.len(), self.perdues, self.accusees, self.stockees, self.au_journal, self.non_deposees
        );
        for e in self.erreurs.iter().take(5) {
            println!("  erreur : {e}");
        }
    }
}

pub fn bench(args: BenchArgs) -> CliResult {
    let runtime = tokio::runtime::Runtime::new().map_err(echec)?;
    let Some(grappe) = args.postgres.clone() else {
        let dir = tempfile::tempdir().map_err(echec)?;
        let mut r = runtime.block_on(async {
            let d = deployer(Configuration::Sqlite, dir.path(), &args).await?;
            charge(&d, &args).await
        })?;
        println!();
        r.afficher(args.tablettes);
        if r.en_defaut() {
            println!("  données gardées pour examen : {}", dir.keep().display());
            return Err(CliError::failure(
                "des erreurs ou des signatures perdues".to_owned(),
            ));
        }
        return Ok(());
    };
    let mut resultats = Vec::new();
    for configuration in [
        Configuration::Sqlite,
        Configuration::Postgres,
        Configuration::Grappe,
    ] {
        println!("\n== {} ==", configuration.libelle());
        let dir = tempfile::tempdir().map_err(echec)?;
        let (mut r, base) = runtime.block_on(async {
            let d = deployer(configuration, dir.path(), &args)
                .await
                .map_err(|e| echec(format!("{} : {}", configuration.libelle(), e.message)))?;
            let r = charge(&d, &args)
                .await
                .map_err(|e| echec(format!("{} : {}", configuration.libelle(), e.message)))?;
            Ok::<_, CliError>((r, d.base.clone()))
        })?;
        println!();
        r.afficher(args.tablettes);
        if let Some(url) = base {
            // Kept for a look when something is missing; dropped otherwise, runs pile up.
            if r.en_defaut() {
                println!("  base gardée pour examen : {url}");
            } else if let Err(e) = runtime.block_on(supprimer_base(&grappe, &url)) {
                println!("  base {url} non supprimée : {e}");
            }
        }
        if r.en_defaut() {
            println!("  données gardées pour examen : {}", dir.keep().display());
        }
        resultats.push((configuration, r));
    }
    tableau(&mut resultats, &args);
    if resultats.iter().any(|(_, r)| r.en_defaut()) {
        return Err(CliError::failure(
            "des erreurs ou des signatures perdues".to_owned(),
        ));
    }
    Ok(())
}

/// The three configurations side by side, throughput as a share of SQLite's, and the targets.
fn tableau(resultats: &mut [(Configuration, Resultat)], args: &BenchArgs) {
    let sqlite = resultats
        .iter()
        .find(|(c, _)| *c == Configuration::Sqlite)
        .map_or(f64::NAN, |(_, r)| r.debit());
    println!(
        "\n{} tablettes, {} s, cadence {} ms, {} présents par feuille :\n",
        args.tablettes, args.duree, args.cadence, args.presents
    );
    println!("| configuration | débit | part du débit sur SQLite | signature p50 / p95 / p99 | clôture → déposée p95 | erreurs ; perdues |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (c, r) in resultats.iter_mut() {
        println!(
            "| {} | {:.1} signatures/s | {:.0} % | {:.1} / {:.1} / {:.1} ms | {:.1} ms | {} ; {} sur {} |",
            c.libelle(),
            r.debit(),
            100.0 * r.debit() / sqlite,
            centile(&mut r.signatures, 50.0),
            centile(&mut r.signatures, 95.0),
            centile(&mut r.signatures, 99.0),
            centile(&mut r.scelles, 95.0),
            r.erreurs.len(),
            r.manquantes(),
            r.accusees
        );
    }
    println!();
    for (c, r) in resultats.iter_mut() {
        match c {
            Configuration::Sqlite => {}
            Configuration::Postgres => println!(
                "(b)/(a) : {:.0} % du débit sur SQLite (objectif ≥ 70 %), {} perdue(s) (objectif 0)",
                100.0 * r.debit() / sqlite,
                r.manquantes()
            ),
            Configuration::Grappe => println!(
                "(c)/(a) : {:.0} % du débit sur SQLite, {} perdue(s) (objectif 0), signature p95 {:.1} ms (objectif ≤ 100 ms), clôture → déposée p95 {:.1} ms (objectif ≤ 400 ms)",
                100.0 * r.debit() / sqlite,
                r.manquantes(),
                centile(&mut r.signatures, 95.0),
                centile(&mut r.scelles, 95.0)
            ),
        }
    }
}

/// `document_signed` entries of the PLIE's evidence journal: the instance's files, or the
/// lines the cluster shares in PostgreSQL.
async fn signatures_au_journal(d: &Deploiement) -> Result<usize, CliError> {
    if let (true, Some(url)) = (d.grappe, &d.base) {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(url).await.map_err(echec)?;
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM journal_ligne WHERE plie = $1 AND ligne LIKE '%\"type\":\"document_signed\"%'",
        )
        .bind(PLIE)
        .fetch_one(&mut conn)
        .await
        .map_err(echec)?;
        conn.close().await.map_err(echec)?;
        return Ok(n as usize);
    }
    let journal = d.serveurs[0].data.join("journal").join(PLIE);
    let mut n = 0usize;
    for e in std::fs::read_dir(&journal).into_iter().flatten().flatten() {
        if e.path().extension().is_some_and(|x| x == "jsonl") {
            n += std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .matches("\"type\":\"document_signed\"")
                .count();
        }
    }
    Ok(n)
}

async fn charge(d: &Deploiement, args: &BenchArgs) -> Result<Resultat, CliError> {
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .pool_max_idle_per_host(args.tablettes * 2)
        .timeout(Duration::from_secs(120))
        .user_agent("Mozilla/5.0 (Linux; Android 14; tablette) parafe-banc")
        .build()
        .map_err(echec)?;
    // The administrator talks to the first instance; tablet n to instance n modulo their number.
    let urls: Vec<String> = d.serveurs.iter().map(|s| s.url.clone()).collect();
    let url = urls[0].clone();
    let jeton = d.jeton.as_str();
    let api = |methode: reqwest::Method, chemin: &str| {
        client
            .request(methode, format!("{url}{chemin}"))
            .bearer_auth(jeton)
    };

    // The PLIE's identity card and the participants: `presents` × 5 for each tablet's référent.
    let fiche = json!({ "nom": "PLIE du banc d'essai", "structure": "Maison de l'emploi", "adresse": { "rue": "1 place de l'Hôtel de Ville", "code_postal": "34000", "commune": "Montpellier" } });
    let r = api(reqwest::Method::PUT, "/api/plie")
        .header(CONTENT_TYPE, "application/json")
        .body(fiche.to_string())
        .send()
        .await
        .map_err(echec)?;
    if !r.status().is_success() {
        return Err(echec(format!(
            "fiche du PLIE : {}",
            r.text().await.unwrap_or_default()
        )));
    }
    let mut csv = parafe::import::en_tete();
    csv.push('\n');
    let par_tablette = args.presents * 5;
    for t in 0..args.tablettes {
        for i in 0..par_tablette {
            csv.push_str(&format!(
                "B-{t:03}-{i:03};;Nom{i};Prénom{t};;;;34000;Montpellier;34;referent{t}@banc.exemple;Référent{t};Marie;202500417;;;01/03/2025;Non;;;\n"
            ));
        }
    }
    let r = api(reqwest::Method::POST, "/api/participants/import")
        .header(CONTENT_TYPE, "text/csv")
        .body(csv)
        .send()
        .await
        .map_err(echec)?;
    if !r.status().is_success() {
        return Err(echec(format!(
            "import : {}",
            r.text().await.unwrap_or_default()
        )));
    }
    // The opération the import named, described as a coordinateur does before any document
    // of its participants leaves.
    let operation = json!({ "intitule": "Ateliers collectifs du banc", "programme": "fse-plus-2021-2027", "debut": "2025-01-01", "fin": "2026-12-31" });
    let r = api(reqwest::Method::PUT, "/api/operations/202500417")
        .header(CONTENT_TYPE, "application/json")
        .body(operation.to_string())
        .send()
        .await
        .map_err(echec)?;
    if !r.status().is_success() {
        return Err(echec(format!(
            "opération : {}",
            r.text().await.unwrap_or_default()
        )));
    }
    println!(
        "{} référents et {} participants importés",
        args.tablettes,
        args.tablettes * par_tablette
    );

    // Each référent chooses a password through the reset link, then logs in.
    let url_de = |t: usize| urls[t % urls.len()].clone();
    for t in 0..args.tablettes {
        let url = url_de(t);
        client
            .post(format!("{url}/mot-de-passe-oublie"))
            .form(&[("email", format!("referent{t}@banc.exemple"))])
            .send()
            .await
            .map_err(echec)?;
    }
    let boites = &d.boites;
    let mut liens = std::collections::HashMap::new();
    let debut = Instant::now();
    while liens.len() < args.tablettes {
        if debut.elapsed() > Duration::from_secs(60) {
            return Err(echec(format!(
                "liens de réinitialisation : {} sur {}",
                liens.len(),
                args.tablettes
            )));
        }
        for e in boites
            .iter()
            .flat_map(|b| std::fs::read_dir(b).into_iter().flatten().flatten())
        {
            let octets = std::fs::read(e.path()).unwrap_or_default();
            let (a, _, texte) = parafe::web::lire_courriel(&octets);
            if let (Some(t), Some(lien)) = (
                entre(&a, "referent", "@banc"),
                entre(&texte, "/compte/", "\n"),
            ) {
                liens.insert(t.to_owned(), lien.trim().to_owned());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut tablettes = Vec::new();
    for t in 0..args.tablettes {
        let lien = &liens[&t.to_string()];
        let url = url_de(t);
        client
            .post(format!("{url}/compte/{lien}"))
            .form(&[
                ("mot_de_passe", MOT_DE_PASSE),
                ("confirmation", MOT_DE_PASSE),
            ])
            .send()
            .await
            .map_err(echec)?;
        let r = client
            .post(format!("{url}/connexion"))
            .form(&[
                ("email", format!("referent{t}@banc.exemple").as_str()),
                ("mot_de_passe", MOT_DE_PASSE),
            ])
            .send()
            .await
            .map_err(echec)?;
        let cookie = cookie_de(&r).ok_or_else(|| {
            echec(format!(
                "connexion du référent {t} refusée ({})",
                r.status()
            ))
        })?;
        let page = client
            .get(format!("{url}/kiosque/nouveau"))
            .header(COOKIE, &cookie)
            .send()
            .await
            .map_err(echec)?
            .text()
            .await
            .map_err(echec)?;
        let participants: Vec<String> = page
            .split("name=\"participants\" value=\"")
            .skip(1)
            .filter_map(|s| s.split('"').next().map(str::to_owned))
            .collect();
        tablettes.push(Tablette {
            url,
            cookie,
            participants,
        });
    }
    println!(
        "{} tablettes connectées ; charge pendant {} s…",
        args.tablettes, args.duree
    );

    let png = Arc::new(png_de_signature()?);
    let fin = Instant::now() + Duration::from_secs(args.duree);
    let mesures = Arc::new(Mutex::new(Mesures::default()));
    let debut_charge = Instant::now();
    let mut taches = tokio::task::JoinSet::new();
    for (n, tablette) in tablettes.into_iter().enumerate() {
        let (client, mesures, png, presents, cadence) = (
            client.clone(),
            mesures.clone(),
            png.clone(),
            args.presents,
            args.cadence,
        );
        let decalage = Duration::from_millis(
            args.cadence * args.presents as u64 * n as u64 / args.tablettes.max(1) as u64,
        );
        taches.spawn(async move {
            // Tablets do not all start together: people arrive at different times.
            tokio::time::sleep(decalage).await;
            let mut m = Mesures::default();
            let mut feuille = 0usize;
            while Instant::now() < fin {
                if let Err(e) = une_feuille(
                    &client, &tablette, n, feuille, presents, cadence, &png, &mut m,
                )
                .await
                {
                    m.erreurs.push(e);
                    // A person reads the message before trying again: no loop of refusals.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                feuille += 1;
            }
            let mut tout = mesures.lock().await;
            tout.signatures.extend(m.signatures);
            tout.clotures.extend(m.clotures);
            tout.ouvertures.extend(m.ouvertures);
            tout.erreurs.extend(m.erreurs);
            tout.feuilles.extend(m.feuilles);
        });
    }
    while taches.join_next().await.is_some() {}
    let duree = debut_charge.elapsed().as_secs_f64();
    let mut m = Arc::try_unwrap(mesures)
        .map_err(|_| echec("mesures"))?
        .into_inner();

    // Drain: every closed sheet rendered, sealed and filed, as each instance sees it.
    let debut = Instant::now();
    for u in &urls {
        loop {
            let sante: Value = json_de(
                client
                    .get(format!("{u}/api/sante"))
                    .bearer_auth(jeton)
                    .send()
                    .await
                    .map_err(echec)?,
            )
            .await?;
            if sante["outbox"]["en_attente"].as_i64() == Some(0) {
                break;
            }
            if debut.elapsed() > Duration::from_secs(300) {
                return Err(echec(format!(
                    "la boîte d'envoi ne se vide pas ({u}) : {sante}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Count again, in the store: each sheet filed with all its signatures, read in turn from
    // each instance; then the journal.
    let (mut stockees, mut perdues, mut non_deposees) = (0usize, 0usize, 0usize);
    let mut scelles = Vec::new();
    for (k, (document, envoye, accuses)) in m.feuilles.iter().enumerate() {
        let u = &urls[k % urls.len()];
        let v: Value = json_de(
            client
                .get(format!("{u}/api/documents/{document}"))
                .bearer_auth(jeton)
                .send()
                .await
                .map_err(echec)?,
        )
        .await?;
        let signes = v["signataires"]
            .as_array()
            .map_or(0, |s| s.iter().filter(|x| x["etat"] == "signe").count());
        stockees += signes;
        perdues += accuses.saturating_sub(signes);
        if !matches!(v["document"]["etat"].as_str(), Some("depose" | "delivre")) {
            non_deposees += 1;
        } else if let Some(t) = v["document"]["modifie_le"]
            .as_str()
            .and_then(parafe::db::parse_instant)
        {
            scelles.push((t - *envoye).num_microseconds().unwrap_or(0) as f64 / 1000.0);
        }
    }
    let au_journal = signatures_au_journal(d).await?;
    let accusees: usize = m.feuilles.iter().map(|f| f.2).sum();
    Ok(Resultat {
        duree,
        feuilles: m.feuilles.len(),
        accusees,
        signatures: std::mem::take(&mut m.signatures),
        clotures: std::mem::take(&mut m.clotures),
        scelles,
        ouvertures: std::mem::take(&mut m.ouvertures),
        erreurs: std::mem::take(&mut m.erreurs),
        perdues,
        stockees,
        au_journal,
        non_deposees,
    })
}

/// One sheet on one tablet: open, `presents` signatures in turn, closing by the animator.
#[allow(clippy::too_many_arguments)]
async fn une_feuille(
    client: &reqwest::Client,
    t: &Tablette,
    n: usize,
    feuille: usize,
    presents: usize,
    cadence: u64,
    png: &str,
    m: &mut Mesures,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let url = t.url.as_str();
    let page = client
        .get(format!("{url}/kiosque/nouveau"))
        .header(COOKIE, &t.cookie)
        .send()
        .await
        .map_err(|e| err(&e))?
        .text()
        .await
        .map_err(|e| err(&e))?;
    let csrf = entre(&page, "name=\"csrf\" value=\"", "\"")
        .ok_or("jeton anti-CSRF absent")?
        .to_owned();
    let mut formulaire: Vec<(&str, String)> = vec![
        ("csrf", csrf.clone()),
        ("genre", "collectif".into()),
        ("intitule", format!("Atelier {feuille} de la tablette {n}")),
        ("date", "2025-05-13".into()),
        ("heure_debut", "09:00".into()),
        ("heure_fin", "12:00".into()),
        ("lieu", "Salle Camargue".into()),
    ];
    let debut = feuille * presents % t.participants.len().max(1);
    for i in 0..presents {
        if let Some(p) = t
            .participants
            .get((debut + i) % t.participants.len().max(1))
        {
            formulaire.push(("participants", p.clone()));
        }
    }
    let chrono = Instant::now();
    let r = client
        .post(format!("{url}/kiosque"))
        .header(COOKIE, &t.cookie)
        .header("origin", url)
        .form(&formulaire)
        .send()
        .await
        .map_err(|e| err(&e))?;
    let kiosque = r
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.strip_prefix("/kiosque/"))
        .map(str::to_owned)
        .ok_or_else(|| format!("ouverture refusée : {}", r.status()))?;
    m.ouvertures.push(chrono.elapsed().as_secs_f64() * 1000.0);
    let page = client
        .get(format!("{url}/kiosque/{kiosque}"))
        .header(COOKIE, &t.cookie)
        .send()
        .await
        .map_err(|e| err(&e))?
        .text()
        .await
        .map_err(|e| err(&e))?;
    let donnees: Value = serde_json::from_str(
        entre(&page, "type=\"application/json\">", "</script>").ok_or("feuille illisible")?,
    )
    .map_err(|e| err(&e))?;
    let version = donnees["version"].as_str().unwrap_or_default().to_owned();
    let document = donnees["document"].as_str().unwrap_or_default().to_owned();
    let ids: Vec<i64> = donnees["signataires"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["role"] == "participant")
        .filter_map(|s| s["id"].as_i64())
        .collect();
    let mut accuses = 0;
    // Attendees come in any order: the last of the list first, then the others.
    let mut ordre: Vec<i64> = ids.clone();
    ordre.rotate_right(1);
    for (i, id) in ordre.iter().enumerate() {
        let corps = json!({ "cle": format!("{kiosque}-{i}"), "signataire": id, "signature": signature(&version, i, png), "capture_le": chrono::Utc::now().to_rfc3339() });
        let chrono = Instant::now();
        let r = client
            .post(format!("{url}/kiosque/{kiosque}/signatures"))
            .header(COOKIE, &t.cookie)
            .header(
                "x-csrf-token",
                &donnees["csrf"].as_str().unwrap_or_default().to_owned(),
            )
            .header("origin", url)
            .header(CONTENT_TYPE, "application/json")
            .body(corps.to_string())
            .send()
            .await
            .map_err(|e| err(&e))?;
        let statut = r.status();
        let texte = r.text().await.unwrap_or_default();
        m.signatures.push(chrono.elapsed().as_secs_f64() * 1000.0);
        if !statut.is_success() {
            return Err(format!("signature refusée ({statut}) : {texte}"));
        }
        accuses += 1;
        if cadence > 0 {
            tokio::time::sleep(Duration::from_millis(cadence)).await;
        }
    }
    let corps =
        json!({ "cle": format!("{kiosque}-cloture"), "signature": signature(&version, 99, png) });
    let envoye = chrono::Utc::now();
    let chrono = Instant::now();
    let r = client
        .post(format!("{url}/kiosque/{kiosque}/cloture"))
        .header(COOKIE, &t.cookie)
        .header("x-csrf-token", donnees["csrf"].as_str().unwrap_or_default())
        .header("origin", url)
        .header(CONTENT_TYPE, "application/json")
        .body(corps.to_string())
        .send()
        .await
        .map_err(|e| err(&e))?;
    let statut = r.status();
    let texte = r.text().await.unwrap_or_default();
    m.clotures.push(chrono.elapsed().as_secs_f64() * 1000.0);
    if !statut.is_success() {
        return Err(format!("clôture refusée ({statut}) : {texte}"));
    }
    m.feuilles.push((document, envoye, accuses + 1));
    Ok(())
}
