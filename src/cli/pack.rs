//! `parafe pack`, `parafe verify pack.zip`, `parafe bench pack`.

use super::{CliError, CliResult, DataDir};
use crate::config::Config;
use crate::justificatif::{Catalogue, Periode};
use crate::model::PlieId;
use crate::pack::{self, verifier, DemandePack, PackError, Sources};
use crate::seal::{Keys, Tsa};
use crate::store::Vault;
use chrono::NaiveDate;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// Opération FSE (numéro Ma Démarche FSE).
    #[arg(long)]
    pub operation: String,
    /// Premier jour de la période (AAAA-MM-JJ).
    #[arg(long)]
    pub from: NaiveDate,
    /// Dernier jour de la période, inclus (AAAA-MM-JJ).
    #[arg(long)]
    pub to: NaiveDate,
    /// Un seul participant (identifiant pseudonyme).
    #[arg(long)]
    pub participant: Option<String>,
    /// PLIE de l'opération (facultatif quand la base n'en compte qu'un).
    #[arg(long)]
    pub plie: Option<String>,
    /// Inclut les pièces sensibles (santé, handicap, justice), exclues par défaut.
    #[arg(long)]
    pub donnees_sensibles: bool,
    /// Le ZIP à écrire.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub data: DataDir,
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Runtime::new()
        .map_err(|e| CliError::failure(format!("démarrage impossible : {e}")))
}

fn echec(e: impl std::fmt::Display) -> CliError {
    CliError::failure(e.to_string())
}

fn pack_error(e: PackError) -> CliError {
    if e.est_demande() {
        CliError::input(e.to_string())
    } else {
        CliError::failure(e.to_string())
    }
}

/// What an export needs, opened from the data directory.
pub struct Ouvert {
    pub db: sqlx::SqlitePool,
    pub vault: Vault,
    pub keys: Keys,
    pub tsa: Tsa,
}

pub async fn ouvrir(data: &Path) -> Result<Ouvert, CliError> {
    let config = Config::load(data).map_err(|e| CliError::input(e.to_string()))?;
    let keys = Keys::load(data, &config.seal).map_err(echec)?;
    let tsa = Tsa::from_config(data, &config.seal, &keys).map_err(echec)?;
    let vault = Vault::open(&config).await.map_err(echec)?;
    let db = crate::db::open(data).await.map_err(echec)?;
    Ok(Ouvert {
        db,
        vault,
        keys,
        tsa,
    })
}

/// The PLIE asked for, or the only one of the database.
pub async fn plie_de(db: &sqlx::SqlitePool, plie: Option<&str>) -> Result<PlieId, CliError> {
    if let Some(p) = plie {
        return PlieId::new(p).map_err(CliError::input);
    }
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM plie ORDER BY id")
        .fetch_all(db)
        .await
        .map_err(echec)?;
    match ids.as_slice() {
        [seul] => PlieId::new(seul).map_err(CliError::input),
        [] => Err(CliError::input("la base ne connaît aucun PLIE")),
        _ => Err(CliError::input(format!(
            "indiquez --plie parmi : {}",
            ids.join(", ")
        ))),
    }
}

pub fn run(args: PackArgs) -> CliResult {
    if args.to < args.from {
        return Err(CliError::input(format!(
            "période inversée : --to {} précède --from {}",
            args.to, args.from
        )));
    }
    runtime()?.block_on(async move {
        let ouvert = ouvrir(&args.data.data_dir).await?;
        let plie = plie_de(&ouvert.db, args.plie.as_deref()).await?;
        let catalogue = Catalogue::charger(&args.data.data_dir, &plie)
            .map_err(|e| CliError::input(e.to_string()))?;
        let demande = DemandePack {
            plie,
            operation: args.operation.clone(),
            periode: Periode {
                du: args.from,
                au: args.to,
            },
            participant: args.participant.clone(),
            portefeuille: None,
            donnees_sensibles: args.donnees_sensibles,
            acteur: "ligne-de-commande".into(),
            reference: pack::nouvelle_reference(),
            aujourdhui: ouvert.vault.horloge().aujourdhui(),
        };
        let maintenant = || crate::db::instant(ouvert.vault.horloge().maintenant());
        let id = pack::suivi::creer(&ouvert.db, &demande, None, &maintenant())
            .await
            .map_err(|e| match e {
                sqlx::Error::RowNotFound => CliError::input(format!(
                    "opération « {} » inconnue dans le PLIE « {} »",
                    demande.operation, demande.plie
                )),
                e => echec(e),
            })?;
        let barre = indicatif::ProgressBar::new(0);
        barre.set_style(
            indicatif::ProgressStyle::with_template("pack [{bar:40}] {pos}/{len} fichiers ({per_sec})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let b = barre.clone();
        let progression: pack::Progression = Arc::new(move |faits, total| {
            b.set_length(total as u64);
            b.set_position(faits as u64);
        });
        let sources = Sources {
            db: &ouvert.db,
            vault: &ouvert.vault,
            keys: &ouvert.keys,
            tsa: &ouvert.tsa,
            catalogue: &catalogue,
            concurrence: ouvert.vault.config().concurrency,
        };
        let debut = Instant::now();
        let resultat = pack::exporter(&sources, &demande, &args.output, Some(progression)).await;
        barre.finish_and_clear();
        let r = match resultat {
            Ok(r) => r,
            Err(e) => {
                let _ = pack::suivi::echouer(&ouvert.db, id, &e.to_string(), &maintenant()).await;
                return Err(pack_error(e));
            }
        };
        pack::suivi::finir(&ouvert.db, id, &r, &maintenant())
            .await
            .map_err(echec)?;
        println!(
            "{} écrit en {:.1} s : {} fichiers, {} pièces, {} participant(s), {} octets, SHA-256 {}",
            r.chemin.display(),
            debut.elapsed().as_secs_f64(),
            r.fichiers,
            r.pieces,
            r.participants,
            r.taille,
            r.sha256
        );
        println!("export {} inscrit au journal (entrée n° {})", demande.reference, r.seq);
        if r.exclues > 0 {
            println!(
                "{} pièce(s) sensible(s) non incluse(s) (--donnees-sensibles pour les joindre)",
                r.exclues
            );
        }
        if r.manques.is_empty() {
            println!("pièces attendues : toutes présentes");
        } else {
            println!("pièces manquantes ou en retard : {}", r.manques.len());
            for m in &r.manques {
                let mut ligne = format!(
                    "  {} : {}",
                    m.participant.as_deref().unwrap_or("opération"),
                    m.libelle
                );
                if let Some(p) = &m.precision {
                    ligne.push_str(&format!(" ({p})"));
                }
                ligne.push_str(&format!(" — {}", m.etat.libelle()));
                if let Some(e) = m.echeance {
                    ligne.push_str(&format!(", échéance le {}", e.format("%d/%m/%Y")));
                }
                println!("{ligne}");
            }
        }
        Ok(())
    })
}

/// Whether `file` is a ZIP (by its first bytes, else its name).
pub fn est_un_zip(file: &Path) -> bool {
    use std::io::Read;
    let mut debut = [0u8; 4];
    match std::fs::File::open(file).and_then(|mut f| f.read_exact(&mut debut)) {
        Ok(()) => &debut == b"PK\x03\x04",
        Err(_) => file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip")),
    }
}

/// `parafe verify pack.zip`.
pub fn verify_pack(file: &Path, json: bool, data: &DataDir) -> CliResult {
    let trust = super::seal::trust_anchors(data)?;
    let rapport = verifier::verifier(file, &trust).map_err(|e| CliError::input(e.to_string()))?;
    if json {
        let mut v = serde_json::to_value(&rapport).map_err(echec)?;
        v["valide"] = serde_json::json!(rapport.valide());
        println!("{v}");
    } else {
        println!(
            "{} : {} fichier(s) au manifeste, {} PDF scellé(s), {} justificatif(s), {} entrée(s) du journal",
            file.display(),
            rapport.fichiers,
            rapport.documents_scelles,
            rapport.justificatifs,
            rapport.entrees_journal
        );
        match &rapport.confiance {
            verifier::Confiance::Configuree(n) => {
                println!("confiance : {n} certificat(s) de la configuration")
            }
            verifier::Confiance::DuPack { empreintes } => {
                println!("confiance : aucun certificat configuré, ceux du pack sont employés ; comparez leur empreinte SHA-256 avec celle que publie le PLIE :");
                for e in empreintes {
                    println!("  {e}");
                }
            }
        }
        for r in &rapport.ruptures_constatees {
            println!("rupture constatée : {r}");
        }
        for p in rapport.problemes.iter().take(50) {
            println!("  {} : {}", p.fichier, p.probleme);
        }
        if rapport.valide() {
            println!("VALIDE : empreintes, cachets, journal et horodatages concordent.");
        } else {
            println!("NON VALIDE.");
        }
    }
    match rapport.problemes.first() {
        None => Ok(()),
        Some(p) => Err(CliError::failure(format!(
            "{} n'est PAS valide : {} : {} ({} problème(s) en tout)",
            file.display(),
            p.fichier,
            p.probleme,
            rapport.problemes.len()
        ))),
    }
}

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
    let (objets, octets) = match cote {
        Cote::Lecture => {
            let shas: Vec<String> = sqlx::query_scalar(
                "SELECT d.sha256_scelle FROM document d JOIN operation o ON o.id = d.operation_id
                 WHERE d.plie = ? AND o.code = ? ORDER BY d.id",
            )
            .bind(BENCH_PLIE)
            .bind(BENCH_OPERATION)
            .fetch_all(&ouvert.db)
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
                            .and_then(|s| crate::model::Sha256Digest::from_hex(s))
                        else {
                            return Ok::<u64, String>(octets);
                        };
                        let sortie = s3
                            .client()
                            .get_object()
                            .bucket(s3.bucket())
                            .key(crate::store::s3::object_key(BENCH_PLIE, &sha))
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
            let sources = Sources {
                db: &ouvert.db,
                vault: &ouvert.vault,
                keys: &ouvert.keys,
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
    if cote == Cote::Export {
        let _ = std::fs::remove_file(&sortie);
    }
    println!(
        "{}",
        serde_json::json!({ "secondes": secondes, "objets": objets, "octets": octets, "pic_ko": pic_memoire_ko() })
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
            .args(["bench", "pack", "--cote", cote, "--concurrence"])
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
                "manche {manche}, {cote:<7} : {s:6.2} s, {} objets, {:.2} Go, pic de mémoire {} Mo",
                m["objets"],
                m["octets"].as_f64().unwrap_or(0.0) / 1e9,
                m["pic_ko"].as_u64().unwrap_or(0) / 1024
            );
            liste.push((s, m["pic_ko"].as_u64().unwrap_or(0)));
        }
    }
    if lectures.is_empty() {
        return Ok(());
    }
    let mediane = |v: &[(f64, u64)]| {
        let mut s: Vec<f64> = v.iter().map(|x| x.0).collect();
        s.sort_by(f64::total_cmp);
        s[s.len() / 2]
    };
    let (lecture, export) = (mediane(&lectures), mediane(&exports));
    let pic = exports.iter().map(|x| x.1).max().unwrap_or(0) / 1024;
    println!(
        "lecture brute (médiane)  : {lecture:.2} s, {:.0} objets/s",
        n as f64 / lecture
    );
    println!(
        "export du pack (médiane) : {export:.2} s, {:.0} objets/s",
        n as f64 / export
    );
    println!(
        "rapport export / lecture : {:.2} (objectif ≤ 1,5)",
        export / lecture
    );
    println!(
        "pic de mémoire de l'export : {pic} Mo (lecture : {} Mo ; objectif ≤ 300 Mo)",
        lectures.iter().map(|x| x.1).max().unwrap_or(0) / 1024
    );
    Ok(())
}

async fn preparer(args: &BenchArgs, data: &Path) -> CliResult {
    crate::seal::init(data).map_err(echec)?;
    let ouvert = ouvrir(data).await?;
    let db = &ouvert.db;
    let maintenant = crate::db::instant(ouvert.vault.horloge().maintenant());
    let sql = |e: sqlx::Error| echec(e);
    sqlx::query("INSERT INTO plie (id, nom, cree_le) VALUES (?, 'PLIE du banc', ?)")
        .bind(BENCH_PLIE)
        .bind(&maintenant)
        .execute(db)
        .await
        .map_err(sql)?;
    let operation: i64 = sqlx::query_scalar(
        "INSERT INTO operation (plie, code, intitule) VALUES (?, ?, 'Opération du banc') RETURNING id",
    )
    .bind(BENCH_PLIE)
    .bind(BENCH_OPERATION)
    // To its end, not `fetch_one`: see `crate::db` on `RETURNING`.
    .fetch_all(db)
    .await
    .map_err(sql)?
    .pop()
    .ok_or(sqlx::Error::RowNotFound)
    .map_err(sql)?;
    let mut tx = db.begin().await.map_err(sql)?;
    let mut participants = Vec::with_capacity(args.participants);
    for i in 0..args.participants {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO participant (plie, ref, identifiant_externe, nom, prenom, operation_id,
                date_entree, cree_le)
             VALUES (?, ?, ?, ?, 'Camille', ?, '2025-01-06', ?) RETURNING id",
        )
        .bind(BENCH_PLIE)
        .bind(format!("P-{i:05}"))
        .bind(format!("UP-{i}"))
        .bind(format!("Participant{i}"))
        .bind(operation)
        .bind(&maintenant)
        .fetch_one(&mut *tx)
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
                let metadata = crate::model::EvidenceMetadata {
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
                        crate::store::Content::Bytes(corps(i as u64, taille)),
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
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO document (plie, ref, workflow, modele, participant_id, operation_id, etat,
                donnees, sha256_scelle, depose_seq, cree_le, modifie_le)
             VALUES (?, ?, 'emargement-individuel', 'emargement-individuel', ?, ?, 'depose', ?, ?, ?, ?, ?)
             RETURNING id",
        )
        .bind(BENCH_PLIE)
        .bind(format!("EM-{i}"))
        .bind(participants[p])
        .bind(operation)
        .bind(serde_json::json!({ "date": date }).to_string())
        .bind(sha)
        .bind(*seq as i64)
        .bind(&maintenant)
        .bind(&maintenant)
        .fetch_one(&mut *tx)
        .await
        .map_err(sql)?;
        sqlx::query(
            "INSERT INTO version (document_id, numero, genre, sha256, taille, cree_le)
             VALUES (?, 1, 'scelle', ?, ?, ?)",
        )
        .bind(id)
        .bind(sha)
        .bind(args.taille as i64)
        .bind(&maintenant)
        .execute(&mut *tx)
        .await
        .map_err(sql)?;
    }
    tx.commit().await.map_err(sql)?;
    // The periodic anchor, as in service: the export finds its pieces covered.
    vault.anchor(&ouvert.tsa).await.map_err(echec)?;
    Ok(())
}
