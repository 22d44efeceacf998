//! `parafe store …`, `parafe verify --store`.

use super::{runtime, CliError, CliResult, DataDir};
use crate::config::Config;
use crate::model::{EvidenceMetadata, PlieId, Sha256Digest, TimestampToken};
use crate::store::retention::RetentionRule;
use crate::store::{Content, StoreError, Vault};
use chrono::NaiveDate;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Indique si le compartiment configuré a le versionnage et l'Object Lock.
    Check {
        #[command(flatten)]
        data: DataDir,
    },
    /// Dépose des pièces dans le coffre (empreinte SHA-256, conservation, journal).
    Put(PutArgs),
    /// Nombre de pièces en attente du coffre ; --flush les lui renvoie.
    Queue {
        /// Renvoie les pièces en attente, avec reprises espacées.
        #[arg(long)]
        flush: bool,
        /// Durée maximale des reprises, en secondes.
        #[arg(long, default_value_t = 60)]
        wait: u64,
        #[command(flatten)]
        data: DataDir,
    },
    /// Fixe la règle de conservation d'une opération (prolongée, jamais raccourcie).
    Retention {
        #[command(flatten)]
        target: OperationArgs,
        /// Date de clôture du programme (AAAA-MM-JJ), p. ex. 2033-12-31.
        #[arg(long)]
        closure: Option<NaiveDate>,
        /// Années à compter du 31 décembre de l'année du dernier paiement (FSE+ : 5).
        #[arg(long)]
        years: Option<u32>,
        /// Date du dernier paiement (AAAA-MM-JJ).
        #[arg(long)]
        last_payment: Option<NaiveDate>,
        #[command(flatten)]
        data: DataDir,
    },
    /// Place ou lève la conservation pour contrôle (legal hold) des pièces d'une opération.
    LegalHold {
        #[command(flatten)]
        target: OperationArgs,
        #[arg(value_enum)]
        state: HoldState,
        #[command(flatten)]
        data: DataDir,
    },
    /// Supprime une pièce dont la conservation est échue (refusé sinon).
    Delete {
        #[arg(long)]
        plie: String,
        /// Empreinte SHA-256 de la pièce.
        sha256: String,
        /// Motif, inscrit au journal.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Horodate ensemble les têtes de toutes les chaînes du journal (ancre RFC 3161).
    Anchor {
        #[command(flatten)]
        data: DataDir,
    },
    /// Constate la rupture du journal d'un PLIE : clôt tel quel le segment rompu, l'archive au
    /// coffre et rouvre la chaîne par une entrée qui dit la rupture, son lieu et le motif donné.
    ConstaterRupture {
        #[arg(long)]
        plie: String,
        /// Ce qui s'est passé (p. ex. « deux processus ont écrit le journal en même temps »).
        #[arg(long)]
        motif: String,
        #[command(flatten)]
        data: DataDir,
    },
    /// Sert le coffre embarqué seul sur 127.0.0.1, à tout client S3 (affiche l'adresse et les clés).
    ///
    /// Clés : access_key et secret_key de [store] dans parafe.toml, sinon une paire tirée au
    /// hasard pour cette exécution et affichée. PARAFE_HORLOGE=2040-01-01T00:00:00Z fait juger
    /// les conservations depuis cet instant (essais, démonstrations). Ctrl-C pour arrêter.
    Serve {
        /// Port d'écoute sur 127.0.0.1 (0 : un port libre).
        #[arg(long, default_value_t = 0)]
        port: u16,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Debug, clap::Args)]
pub struct OperationArgs {
    /// PLIE concerné.
    #[arg(long)]
    pub plie: String,
    /// Opération FSE.
    #[arg(long)]
    pub operation: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum HoldState {
    On,
    Off,
}

#[derive(Debug, clap::Args)]
pub struct PutArgs {
    /// Fichiers à déposer.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long)]
    pub plie: String,
    /// Opération FSE (sa règle de conservation s'applique).
    #[arg(long)]
    pub operation: String,
    /// Type de document : contrat-engagement, emargement, justificatif…
    #[arg(long)]
    pub kind: String,
    /// Identifiant pseudonyme du participant (jamais son nom).
    #[arg(long)]
    pub participant: Option<String>,
    #[arg(long, default_value = "application/pdf")]
    pub content_type: String,
    /// Secondes d'attente pour vider la file si le coffre était injoignable.
    #[arg(long, default_value_t = 0)]
    pub wait: u64,
    #[command(flatten)]
    pub data: DataDir,
}

pub fn store_error(e: StoreError) -> CliError {
    match e {
        StoreError::Input(_)
        | StoreError::Retention(crate::store::retention::RetentionError::Shortened { .. }) => {
            CliError::input(e.to_string())
        }
        _ => CliError::failure(e.to_string()),
    }
}

async fn open(data: &DataDir) -> Result<Vault, CliError> {
    let config = Config::load(&data.data_dir).map_err(|e| CliError::input(e.to_string()))?;
    config.coffre().await.map_err(store_error)
}

pub fn plie(id: &str) -> Result<PlieId, CliError> {
    PlieId::new(id).map_err(CliError::input)
}

/// A retain-until instant as a person reads it.
fn last_day(t: chrono::DateTime<chrono::Utc>) -> String {
    format!("{} inclus", crate::store::retention::paris_day(t))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "oui"
    } else {
        "non"
    }
}

pub fn run(command: StoreCommand) -> CliResult {
    runtime()?.block_on(run_async(command))
}

async fn run_async(command: StoreCommand) -> CliResult {
    match command {
        StoreCommand::Check { data } => {
            let vault = open(&data).await?;
            let check = vault.check().await.map_err(store_error)?;
            let kind = if check.embedded {
                "coffre embarqué"
            } else {
                "S3"
            };
            println!("coffre        : {kind} {}", check.endpoint);
            println!("compartiment  : {}", check.bucket);
            if check.embedded {
                println!("versionnage   : sans objet (aucune écriture par-dessus une clé)");
            } else {
                println!("versionnage   : {}", yes_no(check.features.versioning));
            }
            println!("Object Lock   : {}", yes_no(check.features.object_lock));
            let mode = if check.production {
                "production"
            } else {
                "développement"
            };
            println!("mode          : {mode}");
            if !check.features.object_lock {
                println!("conservation  : assurée par parafe seul (aucune écriture par-dessus, suppression refusée avant échéance)");
            }
            match check.refusal() {
                Some(refusal) => Err(CliError::failure(refusal.to_string())),
                None => Ok(()),
            }
        }
        StoreCommand::Put(args) => put(args).await,
        StoreCommand::Queue { flush, wait, data } => {
            let vault = open(&data).await?;
            if flush && vault.queue_len() > 0 {
                vault
                    .flush_with_backoff(Duration::from_secs(wait))
                    .await
                    .map_err(store_error)?;
            }
            println!("{} pièce(s) en attente du coffre", vault.queue_len());
            Ok(())
        }
        StoreCommand::Retention {
            target,
            closure,
            years,
            last_payment,
            data,
        } => {
            let vault = open(&data).await?;
            let rule = RetentionRule {
                closure,
                years_after_last_payment: years,
                last_payment,
                period_end: None,
            };
            let until = vault
                .set_retention(&plie(&target.plie)?, &target.operation, rule)
                .await
                .map_err(store_error)?;
            println!(
                "opération {} : pièces conservées jusqu'au {}",
                target.operation,
                last_day(until)
            );
            Ok(())
        }
        StoreCommand::LegalHold {
            target,
            state,
            data,
        } => {
            let vault = open(&data).await?;
            let on = matches!(state, HoldState::On);
            let n = vault
                .set_legal_hold(&plie(&target.plie)?, &target.operation, on)
                .await
                .map_err(store_error)?;
            let what = if on { "placée" } else { "levée" };
            println!(
                "conservation pour contrôle {what} sur {n} pièce(s) de l'opération {}",
                target.operation
            );
            Ok(())
        }
        StoreCommand::Anchor { data } => {
            let config =
                Config::load(&data.data_dir).map_err(|e| CliError::input(e.to_string()))?;
            let keys = crate::seal::Keys::load(&data.data_dir, &config.seal, &config.service.plie)
                .map_err(|e| CliError::failure(e.to_string()))?;
            let tsa = crate::seal::Tsa::from_config(&data.data_dir, &config.seal, &keys)
                .map_err(|e| CliError::failure(e.to_string()))?;
            let vault = config.coffre().await.map_err(store_error)?;
            let anchor = vault.anchor(&tsa).await.map_err(store_error)?;
            println!(
                "ancre n° {} : {} chaîne(s) horodatée(s) le {} par {}",
                anchor.number,
                anchor.heads.len(),
                crate::model::heure_de_paris(anchor.token.time),
                anchor.token.tsa
            );
            Ok(())
        }
        StoreCommand::Delete {
            plie: id,
            sha256,
            reason,
            data,
        } => {
            let sha = Sha256Digest::from_hex(&sha256)
                .ok_or_else(|| CliError::input(format!("empreinte SHA-256 invalide : {sha256}")))?;
            let vault = open(&data).await?;
            vault
                .delete(&plie(&id)?, &sha, &reason)
                .await
                .map_err(store_error)?;
            println!("{sha256} supprimé");
            Ok(())
        }
        StoreCommand::ConstaterRupture {
            plie: id,
            motif,
            data,
        } => {
            let vault = open(&data).await?;
            let constat = vault
                .record_break(&plie(&id)?, &motif)
                .await
                .map_err(store_error)?;
            if let crate::model::JournalEvent::ChainBreakRecorded {
                segment,
                line,
                problem,
                ..
            } = &constat.event
            {
                println!(
                    "rupture constatée : segment {segment:06} du PLIE « {id} » clos tel quel à la ligne {line} ({problem}), archivé au coffre sous {}",
                    constat.objects.first().map(Sha256Digest::to_hex).unwrap_or_default()
                );
            }
            println!(
                "le journal reprend à l'entrée n° {} (segment suivant) ; verify --store et les packs diront la rupture constatée",
                constat.seq
            );
            Ok(())
        }
        StoreCommand::Serve { port, data } => serve(port, &data).await,
    }
}

async fn put(args: PutArgs) -> CliResult {
    let plie = plie(&args.plie)?;
    let vault = open(&args.data).await?;
    for file in &args.files {
        let metadata = EvidenceMetadata {
            content_type: args.content_type.clone(),
            original_name: file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            operation: args.operation.clone(),
            participant: args.participant.clone(),
            kind: args.kind.clone(),
        };
        let filed = vault
            .file(&plie, metadata, Content::File(file.clone()), None)
            .await
            .map_err(store_error)?;
        let state = match (
            filed.already_filed,
            filed.bytes_already_stored,
            filed.queued,
        ) {
            (true, _, _) => "déjà déposé",
            (false, true, _) => "déposé (mêmes octets déjà au coffre, non réécrits)",
            (false, false, true) => "en file d'attente (coffre injoignable)",
            (false, false, false) => "déposé",
        };
        println!(
            "{}  {}  {state}, entrée n° {}, conservé jusqu'au {}",
            filed.object.sha256,
            file.display(),
            filed.seq,
            last_day(filed.object.retain_until)
        );
    }
    if vault.queue_len() > 0 && args.wait > 0 {
        vault
            .flush_with_backoff(Duration::from_secs(args.wait))
            .await
            .map_err(store_error)?;
    }
    if vault.queue_len() > 0 {
        println!(
            "{} pièce(s) en attente : `parafe store queue --flush` les renverra",
            vault.queue_len()
        );
    }
    Ok(())
}

async fn serve(port: u16, data: &DataDir) -> CliResult {
    let config = Config::load(&data.data_dir).map_err(|e| CliError::input(e.to_string()))?;
    let clock = config.horloge;
    let configured = config
        .store
        .access_key
        .clone()
        .zip(config.store.secret_key.clone());
    let keys = configured.clone().unwrap_or_else(|| {
        use rand::RngCore;
        let mut secret = [0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        ("parafe".into(), hex::encode(secret))
    });
    let server = crate::store::start_embedded(
        &config.store,
        &config.data_dir,
        port,
        &keys,
        std::sync::Arc::new(move || clock.maintenant()),
    )
    .await
    .map_err(|e| CliError::failure(format!("coffre embarqué sur le port {port} : {e}")))?;
    let client = crate::store::s3::client(&crate::store::s3::Endpoint {
        url: &server.endpoint(),
        region: &config.store.region,
        credentials: Some((&keys.0, &keys.1)),
        path_style: true,
    });
    crate::store::s3::S3::new(client, config.store.bucket.clone())
        .ensure_bucket()
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    println!("point d'accès : {}", server.endpoint());
    println!(
        "compartiment  : {} (Object Lock COMPLIANCE)",
        config.store.bucket
    );
    println!("clé d'accès   : {}", keys.0);
    if configured.is_some() {
        println!("clé secrète   : celle de [store] secret_key");
    } else {
        println!("clé secrète   : {} (tirée pour cette exécution)", keys.1);
    }
    println!("Ctrl-C pour arrêter");
    // Whoever reads the keys above (a script) must not wait for the buffer to fill.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| CliError::failure(e.to_string()))?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.map_err(|e| CliError::failure(e.to_string()))?,
        _ = term.recv() => {}
    }
    server.stop().await;
    Ok(())
}

/// Checks anchor tokens against the TSA certificates verification trusts.
pub fn token_checker(
    data: &DataDir,
) -> Result<impl Fn(&TimestampToken, &Sha256Digest) -> Result<(), String> + Sync, CliError> {
    let trust = super::seal::trust_anchors(data)?;
    Ok(move |token: &TimestampToken, imprint: &Sha256Digest| {
        crate::seal::tsa::verify_token(&token.der, imprint, &trust)
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
}

pub fn verify_store(json: bool, data: &DataDir) -> CliResult {
    runtime()?.block_on(async {
        let vault = open(data).await?;
        let check_token = token_checker(data)?;
        let bar = indicatif::ProgressBar::new(0);
        if json {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} objets ({per_sec})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message("empreintes");
        let started = Instant::now();
        let progress_bar = bar.clone();
        let report = vault
            .verify(&check_token, Some(Arc::new(move |n| progress_bar.set_position(n as u64))))
            .await
            .map_err(store_error)?;
        bar.finish_and_clear();
        let elapsed = started.elapsed().as_secs_f64();
        if json {
            let json_of = |breaks: &[crate::store::verify::Break]| -> Vec<serde_json::Value> {
                breaks.iter().map(|b| serde_json::json!({"place": b.place.to_string(), "probleme": b.problem})).collect()
            };
            let json = serde_json::json!({
                "chaines": report.chains, "entrees": report.entries, "objets": report.objects,
                "ancres": report.anchors, "ruptures": json_of(&report.breaks),
                "ruptures_constatees": json_of(&report.recorded), "valide": report.breaks.is_empty(),
            });
            println!("{json}");
        } else {
            println!(
                "{} chaîne(s), {} entrée(s), {} ancre(s), {} objet(s) relus en {elapsed:.2} s ({:.0} objets/s)",
                report.chains,
                report.entries,
                report.anchors,
                report.objects,
                report.objects as f64 / elapsed.max(1e-9)
            );
            for b in &report.recorded {
                println!("rupture constatée : {} : {}", b.place, b.problem);
            }
            for b in report.breaks.iter().skip(1).take(20) {
                println!("  aussi : {} : {}", b.place, b.problem);
            }
        }
        match report.breaks.first() {
            None => {
                if !json && report.recorded.is_empty() {
                    println!("coffre intègre : chaînes, ancres et empreintes concordent");
                } else if !json {
                    println!("coffre intègre hors des ruptures constatées ci-dessus : chaînes, ancres et empreintes concordent");
                }
                Ok(())
            }
            Some(first) => Err(CliError::failure(format!(
                "première rupture : {} : {} ({} rupture(s) en tout)",
                first.place,
                first.problem,
                report.breaks.len()
            ))),
        }
    })
}
