//! `parafe-bench pack`: exporting an opération's audit pack against merely reading the same
//! pieces from the store, each side in its own process.

use crate::commun::{echec, mediane, runtime, CliError, CliResult};
use chrono::NaiveDate;
use parafe::cli::pack::{ouvrir, pack_error};
use parafe::db::banc;
use parafe::justificatif::{Catalogue, Periode};
use parafe::model::PlieId;
use parafe::pack::{self, DemandePack, Sources};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cote {
    /// Lire les pièces du coffre, sans rien en faire.
    Lecture,
    /// Faire le pack des mêmes pièces.
    Export,
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Participants de l'opération.
    #[arg(long, default_value_t = 1000)]
    pub participants: usize,
    /// Documents par participant.
    #[arg(long, default_value_t = 25)]
    pub documents: usize,
    /// Taille de chaque document, en octets (un émargement scellé pèse 50 à 200 Ko).
    #[arg(long, default_value_t = 100 * 1024)]
    pub taille: usize,
    /// Manches alternées (lecture, export, lecture…), chacune dans son propre processus.
    #[arg(long, default_value_t = 2)]
    pub manches: usize,
    /// Requêtes simultanées vers le coffre, les mêmes des deux côtés.
    #[arg(long, default_value_t = 16)]
    pub concurrence: usize,
    /// (interne) le côté mesuré par ce processus.
    #[arg(long, hide = true, value_enum)]
    pub cote: Option<Cote>,
    /// Répertoire de données du banc : préparé s'il est vide, gardé ensuite (défaut : un
    /// répertoire temporaire, effacé à la fin).
    #[arg(long)]
    pub donnees: Option<PathBuf>,
}

const BENCH_PLIE: &str = "bench";
const BENCH_OPERATION: &str = "202500001";

/// Peak resident memory of this process (VmHWM), in kB.
fn pic_memoire_ko() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Processor time of this process so far (all threads, user and system), in seconds: how much
/// of the 2 cores a side used, which bounds what overlapping can win.
fn processeur_s() -> f64 {
    // Fields 14 and 15 of /proc/self/stat, after the command name (which may hold spaces), in
    // USER_HZ ticks: 100 per second in Linux's user ABI.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let apres = stat.rsplit_once(')').map_or("", |(_, reste)| reste);
    let champs: Vec<u64> = apres
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|c| c.parse().ok())
        .collect();
    champs.iter().sum::<u64>() as f64 / 100.0
}

/// Distinct bytes for each document, so that content addressing never merges two.
fn corps(graine: u64, taille: usize) -> Vec<u8> {
    let mut x = graine.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(taille + 8);
    out.extend_from_slice(b"%PDF-1.7\n");
    while out.len() < taille {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(taille);
    out
}

pub fn bench(args: BenchArgs) -> CliResult {
    match (args.cote, &args.donnees) {
        (Some(cote), Some(donnees)) => {
            runtime()?.block_on(bench_cote(cote, donnees, args.concurrence))
        }
        _ => bench_complet(args),
    }
}

/// One side, in its own process: prints one JSON line (seconds, bytes, peak memory).
async fn bench_cote(cote: Cote, data: &Path, concurrence: usize) -> CliResult {
    let ouvert = ouvrir(data).await?;
    let plie = PlieId::new(BENCH_PLIE).map_err(CliError::input)?;
    let sortie = data.join("banc-pack.zip");
    let debut = Instant::now();
    let processeur_avant = processeur_s();
    let (objets, octets) = match cote {
        Cote::Lecture => {
            let shas = banc::scelles(&ouvert.db, BENCH_PLIE, BENCH_OPERATION)
                .await
                .map_err(echec)?;
            let shas = Arc::new(shas);
            let suivant = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let mut travailleurs = tokio::task::JoinSet::new();
            for _ in 0..concurrence.max(1) {
                let (shas, suivant, s3) =
                    (shas.clone(), suivant.clone(), ouvert.vault.s3().clone());
                travailleurs.spawn(async move {
                    let mut octets = 0u64;
                    loop {
                        let i = suivant.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(sha) = shas
                            .get(i)
                            .and_then(|s| parafe::model::Sha256Digest::from_hex(s))
                        else {
                            return Ok::<u64, String>(octets);
                        };
                        let sortie = s3
                            .client()
                            .get_object()
                            .bucket(s3.bucket())
                            .key(parafe::store::s3::object_key(BENCH_PLIE, &sha))
                            .send()
                            .await
                            .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(&e).to_string())?;
                        let mut corps = sortie.body;
                        while let Some(m) = corps.next().await {
                            octets += m.map_err(|e| e.to_string())?.len() as u64;
                        }
                    }
                });
            }
            let mut total = 0;
            while let Some(r) = travailleurs.join_next().await {
                total += r.map_err(echec)?.map_err(CliError::failure)?;
            }
            (shas.len(), total)
        }
        Cote::Export => {
            let catalogue = Catalogue::par_defaut().map_err(echec)?;
            let demande = DemandePack {
                plie,
                operation: BENCH_OPERATION.into(),
                periode: Periode {
                    du: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default(),
                    au: NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default(),
                },
                participant: None,
                portefeuille: None,
                donnees_sensibles: false,
                acteur: "banc".into(),
                reference: pack::nouvelle_reference(),
                aujourdhui: ouvert.vault.horloge().aujourdhui(),
            };
            let cachet = ouvert
                .keys
                .cachet(demande.plie.as_str(), "PLIE du banc")
                .map_err(|e| CliError::failure(e.to_string()))?;
            let sources = Sources {
                db: &ouvert.db,
                vault: &ouvert.vault,
                keys: &ouvert.keys,
                cachet: &cachet,
                tsa: &ouvert.tsa,
                catalogue: &catalogue,
                concurrence,
            };
            let r = pack::exporter(&sources, &demande, &sortie, None)
                .await
                .map_err(pack_error)?;
            (r.pieces, r.taille)
        }
    };
    // The pack is done once written and journaled: deleting it (seconds for 2.6 GB just
    // written, whose pages the kernel must drop) is not part of the export.
    let secondes = debut.elapsed().as_secs_f64();
    let processeur = processeur_s() - processeur_avant;
    if cote == Cote::Export {
        let _ = std::fs::remove_file(&sortie);
    }
    println!(
        "{}",
        serde_json::json!({ "secondes": secondes, "objets": objets, "octets": octets, "pic_ko": pic_memoire_ko(), "processeur": processeur })
    );
    Ok(())
}

/// Prepares the opération, then runs each side in turn in a child process.
fn bench_complet(args: BenchArgs) -> CliResult {
    let dir = tempfile::tempdir().map_err(echec)?;
    let data = args
        .donnees
        .clone()
        .unwrap_or_else(|| dir.path().join("donnees"));
    let n = args.participants * args.documents;
    if data.join("parafe.db").exists() {
        println!("données déjà préparées dans {}", data.display());
    } else {
        println!(
            "préparation : {} participants × {} documents de {} octets ({:.1} Go) dans le coffre embarqué…",
            args.participants,
            args.documents,
            args.taille,
            (n * args.taille) as f64 / 1e9
        );
        let debut = Instant::now();
        runtime()?.block_on(preparer(&args, &data))?;
        println!("préparé en {:.1} s", debut.elapsed().as_secs_f64());
    }

    let exe = std::env::current_exe().map_err(echec)?;
    let mesurer = |cote: &str| -> Result<serde_json::Value, CliError> {
        let out = std::process::Command::new(&exe)
            .args(["pack", "--cote", cote, "--concurrence"])
            .arg(args.concurrence.to_string())
            .arg("--donnees")
            .arg(&data)
            .output()
            .map_err(echec)?;
        if !out.status.success() {
            return Err(CliError::failure(format!(
                "côté {cote} : {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        serde_json::from_slice(&out.stdout).map_err(echec)
    };
    let (mut lectures, mut exports) = (Vec::new(), Vec::new());
    for manche in 1..=args.manches {
        for (cote, liste) in [("lecture", &mut lectures), ("export", &mut exports)] {
            let m = mesurer(cote)?;
            let s = m["secondes"].as_f64().unwrap_or(0.0);
            println!(
                "manche {manche}, {cote:<7} : {s:6.2} s, {} objets, {:.2} Go, pic de mémoire {} Mo, processeur {:.2} s",
                m["objets"],
                m["octets"].as_f64().unwrap_or(0.0) / 1e9,
                m["pic_ko"].as_u64().unwrap_or(0) / 1024,
                m["processeur"].as_f64().unwrap_or(0.0)
            );
            liste.push((
                s,
                m["pic_ko"].as_u64().unwrap_or(0),
                m["processeur"].as_f64().unwrap_or(0.0),
            ));
        }
    }
    if lectures.is_empty() {
        return Ok(());
    }
    let secondes = |v: &[(f64, u64, f64)]| mediane(v.iter().map(|x| x.0)).unwrap_or(f64::NAN);
    let processeur = |v: &[(f64, u64, f64)]| mediane(v.iter().map(|x| x.2)).unwrap_or(f64::NAN);
    let (lecture, export) = (secondes(&lectures), secondes(&exports));
    let pic = exports.iter().map(|x| x.1).max().unwrap_or(0) / 1024;
    let mo = (n * args.taille) as f64 / 1e6;
    println!(
        "lecture brute (médiane)  : {lecture:.2} s, {:.0} objets/s, {:.0} Mo/s",
        n as f64 / lecture,
        mo / lecture
    );
    println!(
        "export du pack (médiane) : {export:.2} s, {:.0} objets/s, {:.0} Mo/s (objectif ≥ 300 Mo/s)",
        n as f64 / export,
        mo / export
    );
    println!(
        "rapport export / lecture : {:.2} (objectif ≤ 1,3)",
        export / lecture
    );
    // The export reads what the raw read reads, then hashes, indexes and writes: with the cores
    // it has, it cannot end before its processor time spread over all of them.
    let coeurs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (p_lecture, p_export) = (processeur(&lectures), processeur(&exports));
    println!(
        "processeur (médiane)     : lecture {p_lecture:.2} s, export {p_export:.2} s ; sur {coeurs} cœurs, \
         l'export ne peut durer moins de {:.2} s, rapport ≥ {:.2}",
        p_export / coeurs as f64,
        p_export / coeurs as f64 / lecture
    );
    println!(
        "pic de mémoire de l'export : {pic} Mo (lecture : {} Mo ; objectif ≤ 300 Mo)",
        lectures.iter().map(|x| x.1).max().unwrap_or(0) / 1024
    );
    Ok(())
}

async fn preparer(args: &BenchArgs, data: &Path) -> CliResult {
    parafe::seal::init(data).map_err(echec)?;
    let ouvert = ouvrir(data).await?;
    let db = &ouvert.db;
    let maintenant = parafe::db::instant(ouvert.vault.horloge().maintenant());
    let sql = |e: sqlx::Error| echec(e);
    let operation = banc::creer(db, BENCH_PLIE, BENCH_OPERATION, &maintenant)
        .await
        .map_err(sql)?;
    let mut tx = db.begin().await.map_err(sql)?;
    let mut participants = Vec::with_capacity(args.participants);
    for i in 0..args.participants {
        let id = banc::participant(&mut tx, BENCH_PLIE, i, operation, &maintenant)
            .await
            .map_err(sql)?;
        participants.push(id);
    }
    tx.commit().await.map_err(sql)?;

    // Filing, `concurrence` at a time, as the service does.
    let plie = PlieId::new(BENCH_PLIE).map_err(CliError::input)?;
    let vault = Arc::new(ouvert.vault);
    let n = args.participants * args.documents;
    let suivant = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut travailleurs = tokio::task::JoinSet::new();
    for _ in 0..args.concurrence.max(1) {
        let (vault, suivant, plie, taille, par) = (
            vault.clone(),
            suivant.clone(),
            plie.clone(),
            args.taille,
            args.documents,
        );
        travailleurs.spawn(async move {
            let mut deposes = Vec::new();
            loop {
                let i = suivant.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, String>(deposes);
                }
                let metadata = parafe::model::EvidenceMetadata {
                    content_type: "application/pdf".into(),
                    original_name: format!("emargement-{i}.pdf"),
                    operation: BENCH_OPERATION.into(),
                    participant: Some(format!("P-{:05}", i / par)),
                    kind: "emargement-individuel".into(),
                };
                let filed = vault
                    .file(
                        &plie,
                        metadata,
                        parafe::store::Content::Bytes(corps(i as u64, taille)),
                        None,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                deposes.push((i, filed.object.sha256.to_hex(), filed.seq));
            }
        });
    }
    let mut deposes = Vec::with_capacity(n);
    while let Some(r) = travailleurs.join_next().await {
        deposes.extend(r.map_err(echec)?.map_err(CliError::failure)?);
    }
    deposes.sort();
    let mut tx = db.begin().await.map_err(sql)?;
    for (i, sha, seq) in &deposes {
        let (p, k) = (i / args.documents, i % args.documents);
        let date = NaiveDate::from_ymd_opt(2025, 1, 6)
            .and_then(|d| d.checked_add_days(chrono::Days::new((k * 14) as u64 % 350)))
            .unwrap_or_default();
        let emargement = banc::Emargement {
            reference: &format!("EM-{i}"),
            participant: participants[p],
            operation,
            donnees: &serde_json::json!({ "date": date }).to_string(),
            sha256: sha,
            seq: *seq as i64,
            taille: args.taille as i64,
        };
        banc::emargement_depose(&mut tx, BENCH_PLIE, &emargement, &maintenant)
            .await
            .map_err(sql)?;
    }
    tx.commit().await.map_err(sql)?;
    // The periodic anchor, as in service: the export finds its pieces covered.
    vault.anchor(&ouvert.tsa).await.map_err(echec)?;
    Ok(())
}
