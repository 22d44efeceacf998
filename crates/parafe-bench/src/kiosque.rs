//! `parafe-bench kiosque`: load on the émargement kiosk, from a second process on loopback.
//!
//! This process is the load client; `parafe serve` runs as a child process on a fresh data
//! directory (embedded store, local TSA, development mailbox). Each of the N virtual tablets
//! logs in as its own référent (password chosen through the reset link of the mailbox, as a
//! person would), then opens collective sheets of 8 expected attendees one after another: the 8
//! sign in turn, the animator signs and closes. After the run, the outbox drains and every
//! signature the server acknowledged is counted again in the store: in the documents (all filed)
//! and in the evidence journal (one `document_signed` entry each).

use crate::commun::{echec, CliError, CliResult};
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
}

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

fn lancer(data: &Path, workflows: Option<&Path>) -> Result<Serveur, CliError> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(echec)?
        .port();
    let workflows = match workflows {
        Some(w) => {
            let w = std::fs::canonicalize(w)
                .map_err(|e| echec(format!("workflows {} : {e}", w.display())))?;
            format!("workflows = {:?}\n", w.display().to_string())
        }
        None => String::new(),
    };
    std::fs::create_dir_all(data).map_err(echec)?;
    std::fs::write(
        data.join("parafe.toml"),
        format!(
            "[service]\necoute = \"127.0.0.1:{port}\"\n{workflows}plie = \"plie-banc\"\nnom_plie = \"PLIE du banc d'essai\"\n"
        ),
    )
    .map_err(echec)?;
    let exe = crate::commun::parafe()?;
    let mut enfant = Command::new(exe)
        .args(["serve", "--data-dir"])
        .arg(data)
        .env("PARAFE_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
        return Err(echec(format!("parafe serve n'a pas démarré : {ligne}")));
    }
    std::thread::spawn(move || for _ in lecteur.lines() {});
    Ok(Serveur {
        enfant,
        url: format!("http://127.0.0.1:{port}"),
        data: data.to_path_buf(),
    })
}

fn entre<'a>(texte: &'a str, debut: &str, fin: &str) -> Option<&'a str> {
    let i = texte.find(debut)? + debut.len();
    let j = texte[i..].find(fin)? + i;
    Some(&texte[i..j])
}

/// A logged-in tablet: its session cookie, its portfolio.
struct Tablette {
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

pub fn bench(args: BenchArgs) -> CliResult {
    let dir = tempfile::tempdir().map_err(echec)?;
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).map_err(echec)?;
    // An administrator with an API token (import, health, checks), before the service starts.
    let exe = crate::commun::parafe()?;
    let sortie = Command::new(&exe)
        .args(["comptes", "ajouter", "--data-dir"])
        .arg(&data)
        .args([
            "--plie",
            "plie-banc",
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
    let jeton = String::from_utf8_lossy(&sortie.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let serveur = lancer(&data, args.workflows.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().map_err(echec)?;
    runtime.block_on(charge(&serveur, &jeton, &args))
}

async fn charge(serveur: &Serveur, jeton: &str, args: &BenchArgs) -> CliResult {
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .pool_max_idle_per_host(args.tablettes * 2)
        .timeout(Duration::from_secs(120))
        .user_agent("Mozilla/5.0 (Linux; Android 14; tablette) parafe-banc")
        .build()
        .map_err(echec)?;
    let url = serveur.url.clone();
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
    println!(
        "{} référents et {} participants importés",
        args.tablettes,
        args.tablettes * par_tablette
    );

    // Each référent chooses a password through the reset link, then logs in.
    for t in 0..args.tablettes {
        client
            .post(format!("{url}/mot-de-passe-oublie"))
            .form(&[("email", format!("referent{t}@banc.exemple"))])
            .send()
            .await
            .map_err(echec)?;
    }
    let boite = serveur.data.join("courriels").join("plie-banc");
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
        for e in std::fs::read_dir(&boite).into_iter().flatten().flatten() {
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
        let (client, url, mesures, png, presents, cadence) = (
            client.clone(),
            url.clone(),
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
                    &client, &url, &tablette, n, feuille, presents, cadence, &png, &mut m,
                )
                .await
                {
                    m.erreurs.push(e);
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

    // Drain: every closed sheet rendered, sealed and filed.
    let debut = Instant::now();
    loop {
        let sante: Value = json_de(
            api(reqwest::Method::GET, "/api/sante")
                .send()
                .await
                .map_err(echec)?,
        )
        .await?;
        if sante["outbox"]["en_attente"].as_i64() == Some(0) {
            break;
        }
        if debut.elapsed() > Duration::from_secs(300) {
            return Err(echec(format!("la boîte d'envoi ne se vide pas : {sante}")));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Count again, in the store: each sheet filed with all its signatures; the journal.
    let (mut stockees, mut perdues, mut non_deposees) = (0usize, 0usize, 0usize);
    let mut scelles = Vec::new();
    for (document, envoye, accuses) in &m.feuilles {
        let v: Value = json_de(
            api(reqwest::Method::GET, &format!("/api/documents/{document}"))
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
    let journal = serveur.data.join("journal").join("plie-banc");
    let mut au_journal = 0usize;
    for e in std::fs::read_dir(&journal).into_iter().flatten().flatten() {
        if e.path().extension().is_some_and(|x| x == "jsonl") {
            au_journal += std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .matches("\"type\":\"document_signed\"")
                .count();
        }
    }
    let accusees: usize = m.feuilles.iter().map(|f| f.2).sum();
    let sig_ms = |m: &mut Vec<f64>, p| centile(m, p);
    println!();
    println!(
        "{} tablettes, {:.1} s de charge, {} feuilles closes, {} signatures accusées",
        args.tablettes,
        duree,
        m.feuilles.len(),
        accusees
    );
    println!(
        "débit : {:.1} signatures/s, {:.2} feuilles/s",
        accusees as f64 / duree,
        m.feuilles.len() as f64 / duree
    );
    println!(
        "signature (requête de la tablette) : p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms (objectif p95 ≤ 100 ms)",
        sig_ms(&mut m.signatures, 50.0), sig_ms(&mut m.signatures, 95.0), sig_ms(&mut m.signatures, 99.0)
    );
    println!(
        "clôture, réponse à la tablette : p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms",
        centile(&mut m.clotures, 50.0),
        centile(&mut m.clotures, 95.0),
        centile(&mut m.clotures, 99.0)
    );
    println!(
        "clôture jusqu'au dépôt (composition + scellement + coffre) : p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms (objectif p95 ≤ 400 ms)",
        centile(&mut scelles, 50.0), centile(&mut scelles, 95.0), centile(&mut scelles, 99.0)
    );
    println!(
        "ouverture d'une feuille (création + composition) : p50 {:.1} ms, p95 {:.1} ms",
        centile(&mut m.ouvertures, 50.0),
        centile(&mut m.ouvertures, 95.0)
    );
    println!(
        "erreurs : {} ; signatures perdues : {} ({} accusées, {} dans les documents déposés, {} au journal des preuves) ; feuilles non déposées : {}",
        m.erreurs.len(), perdues, accusees, stockees, au_journal, non_deposees
    );
    for e in m.erreurs.iter().take(5) {
        println!("  erreur : {e}");
    }
    if !m.erreurs.is_empty() || perdues > 0 || non_deposees > 0 || au_journal < accusees {
        return Err(CliError::failure(
            "des erreurs ou des signatures perdues".to_owned(),
        ));
    }
    Ok(())
}

/// One sheet on one tablet: open, `presents` signatures in turn, closing by the animator.
#[allow(clippy::too_many_arguments)]
async fn une_feuille(
    client: &reqwest::Client,
    url: &str,
    t: &Tablette,
    n: usize,
    feuille: usize,
    presents: usize,
    cadence: u64,
    png: &str,
    m: &mut Mesures,
) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
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
