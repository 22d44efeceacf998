//! `parafe-bench store`: the embedded store against s3s-fs, a deposit by parafe against a raw
//! PutObject, and `parafe verify --store` on a full store.

use crate::commun::{runtime, CliError, CliResult};
use parafe::cli::store::{plie, store_error, token_checker};
use parafe::cli::DataDir;
use parafe::config::Config;
use parafe::model::{EvidenceMetadata, Sha256Digest};
use parafe::store::Content;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Pièces déposées par chaque côté.
    #[arg(long, default_value_t = 1000)]
    pub objects: usize,
    /// Taille de chaque pièce, en octets.
    #[arg(long, default_value_t = 100 * 1024)]
    pub size: usize,
    /// Requêtes simultanées, identiques des deux côtés.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Manches alternées (brut, parafe, brut…), pour que la charge de fond touche les deux côtés.
    #[arg(long, default_value_t = 4)]
    pub rounds: usize,
    /// Pièces dans le coffre pour mesurer `verify --store`.
    #[arg(long, default_value_t = 10_000)]
    pub verify_objects: usize,
}

pub fn bench(args: BenchArgs) -> CliResult {
    runtime()?.block_on(bench_async(args))
}

/// Distinct pseudo-random bodies, so that content addressing never deduplicates them.
fn body(seed: u64, size: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(size + 8);
    while out.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(size);
    out
}

fn bench_metadata(i: usize) -> EvidenceMetadata {
    EvidenceMetadata {
        content_type: "application/pdf".into(),
        original_name: format!("emargement-{i}.pdf"),
        operation: "bench".into(),
        participant: Some(format!("p-{}", i % 97)),
        kind: "emargement".into(),
    }
}

/// Runs `n` jobs with `concurrency` in flight; returns the elapsed seconds.
async fn drive<F, Fut>(n: usize, concurrency: usize, job: F) -> Result<f64, CliError>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers: tokio::task::JoinSet<Result<(), String>> = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (job, next) = (job.clone(), next.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok(());
                }
                job(i).await?;
            }
        });
    }
    while let Some(result) = workers.join_next().await {
        result
            .map_err(|e| CliError::failure(e.to_string()))?
            .map_err(CliError::failure)?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// A plain client of the bucket `parafe` of the server at `endpoint`.
fn bench_client(endpoint: &str, keys: (&str, &str)) -> parafe::store::s3::S3 {
    let client = parafe::store::s3::client(&parafe::store::s3::Endpoint {
        url: endpoint,
        region: "us-east-1",
        credentials: Some(keys),
        path_style: true,
    });
    parafe::store::s3::S3::new(client, "parafe".into())
}

/// The key of a raw body: spread over directories like parafe's own keys.
fn raw_key(body: &[u8]) -> String {
    parafe::store::s3::object_key("brut", &Sha256Digest::of(body))
}

/// One PutObject per body, unsigned payload like parafe's own (no checksum, no metadata).
async fn raw_puts(
    s3: &parafe::store::s3::S3,
    bodies: Arc<Vec<(String, Vec<u8>)>>,
    concurrency: usize,
) -> Result<f64, CliError> {
    let (client, bucket) = (s3.client().clone(), s3.bucket().to_owned());
    drive(bodies.len(), concurrency, move |i| {
        let (key, body) = &bodies[i];
        let put = client
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.clone().into())
            .customize()
            .disable_payload_signing();
        async move {
            put.send()
                .await
                .map(|_| ())
                .map_err(|e| format!("PutObject : {e:?}"))
        }
    })
    .await
}

/// One GetObject per key, each body read to its end.
async fn raw_gets(
    s3: &parafe::store::s3::S3,
    keys: Arc<Vec<String>>,
    size: usize,
    concurrency: usize,
) -> Result<f64, CliError> {
    let (client, bucket) = (s3.client().clone(), s3.bucket().to_owned());
    drive(keys.len(), concurrency, move |i| {
        let get = client.get_object().bucket(&bucket).key(&keys[i]);
        async move {
            let out = get.send().await.map_err(|e| format!("GetObject : {e:?}"))?;
            let mut body = out.body;
            let mut read = 0;
            while let Some(chunk) = body.next().await {
                read += chunk.map_err(|e| e.to_string())?.len();
            }
            if read == size {
                Ok(())
            } else {
                Err(format!("GetObject : {read} octets lus sur {size}"))
            }
        }
    })
    .await
}

async fn bench_async(args: BenchArgs) -> CliResult {
    let dir = tempfile::tempdir().map_err(|e| CliError::failure(e.to_string()))?;
    let mut config = Config::load(dir.path()).map_err(|e| CliError::input(e.to_string()))?;
    config.store.concurrency = args.concurrency;
    let keys = ("parafe".to_owned(), "banc-du-coffre".to_owned());
    (config.store.access_key, config.store.secret_key) =
        (Some(keys.0.clone()), Some(keys.1.clone()));
    let vault = Arc::new(config.coffre().await.map_err(store_error)?);
    let plie = plie("bench")?;
    let (n, size, conc) = (args.objects, args.size, args.concurrency);
    let coffre = vault.s3().clone();
    // s3s-fs, as parafe served it before its own store: same server code, same client.
    let old = parafe::store::embedded::legacy::serve_s3s_fs(
        &dir.path().join("s3s-fs"),
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        &keys.0,
        &keys.1,
    )
    .await
    .map_err(|e| CliError::failure(format!("s3s-fs : {e}")))?;
    let s3s_fs = bench_client(&old.endpoint(), (&keys.0, &keys.1));
    s3s_fs
        .ensure_bucket()
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    println!(
        "coffre embarqué {} contre s3s-fs {} ; {n} pièces de {size} octets, {conc} requêtes simultanées",
        vault.embedded().map(|e| e.endpoint()).unwrap_or_default(),
        old.endpoint()
    );

    // Alternate rounds so that every side sees the same background load (2 shared cores); the
    // bodies are made before the clock starts.
    let rounds = args.rounds.clamp(1, n.max(1));
    let (mut put_coffre, mut put_s3s_fs, mut parafe) = (0.0, 0.0, 0.0);
    let mut keys: Vec<Arc<Vec<String>>> = Vec::new();
    for round in 0..rounds {
        let (start, end) = (round * n / rounds, (round + 1) * n / rounds);
        let bodies: Vec<(String, Vec<u8>)> = (start..end)
            .map(|i| body(i as u64, size))
            .map(|b| (raw_key(&b), b))
            .collect();
        keys.push(Arc::new(bodies.iter().map(|(k, _)| k.clone()).collect()));
        let bodies = Arc::new(bodies);
        put_coffre += raw_puts(&coffre, bodies.clone(), conc).await?;
        put_s3s_fs += raw_puts(&s3s_fs, bodies, conc).await?;
        let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
            (start..end)
                .map(|i| body((1 << 40) + i as u64, size))
                .collect(),
        );
        let (v, p) = (vault.clone(), plie.clone());
        parafe += drive(end - start, conc, move |i| {
            let (vault, plie, content) = (v.clone(), p.clone(), Content::Bytes(bodies[i].clone()));
            async move {
                vault
                    .file(&plie, bench_metadata(start + i), content, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .await?;
    }
    let (mut get_coffre, mut get_s3s_fs) = (0.0, 0.0);
    for round in keys {
        get_coffre += raw_gets(&coffre, round.clone(), size, conc).await?;
        get_s3s_fs += raw_gets(&s3s_fs, round, size, conc).await?;
    }
    old.stop().await;
    let rate = |seconds: f64| n as f64 / seconds;
    let line = |what: &str, coffre: f64, s3s_fs: f64| {
        println!(
            "{what:<22}: coffre {:>6.0} objets/s ({:>6.1} Mo/s), s3s-fs {:>6.0} objets/s ({:>6.1} Mo/s), coffre/s3s-fs {:.2}",
            rate(coffre),
            rate(coffre) * size as f64 / 1e6,
            rate(s3s_fs),
            rate(s3s_fs) * size as f64 / 1e6,
            s3s_fs / coffre
        );
    };
    line("PutObject brut", put_coffre, put_s3s_fs);
    line("GetObject brut", get_coffre, get_s3s_fs);
    println!(
        "  (le coffre écrit durablement : fsync du fichier et du dossier ; s3s-fs n'en fait aucun)"
    );
    let (raw_rate, parafe_rate) = (rate(put_coffre), rate(parafe));
    println!("dépôt parafe          : {parafe:.2} s, {parafe_rate:.0} objets/s (empreinte + journal + coffre)");
    println!(
        "rapport parafe/brut   : {:.0} % (objectif ≥ 80 %, {rounds} manches alternées)",
        100.0 * parafe_rate / raw_rate
    );

    if args.verify_objects > n {
        let (v, p) = (vault.clone(), plie.clone());
        drive(args.verify_objects - n, conc, move |i| {
            let (vault, plie) = (v.clone(), p.clone());
            let content = Content::Bytes(body((1 << 41) + i as u64, size));
            async move {
                vault
                    .file(&plie, bench_metadata(n + i), content, None)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .await?;
    }
    let check_token = token_checker(&DataDir {
        data_dir: dir.path().to_path_buf(),
    })?;
    let started = Instant::now();
    let report = vault
        .verify(&check_token, None)
        .await
        .map_err(store_error)?;
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(first) = report.breaks.first() {
        return Err(CliError::failure(format!(
            "vérification en échec : {} : {}",
            first.place, first.problem
        )));
    }
    println!(
        "verify --store         : {} objets, {} entrées en {elapsed:.2} s, {:.0} objets/s (objectif ≥ 2 000/s)",
        report.objects,
        report.entries,
        report.objects as f64 / elapsed
    );
    Ok(())
}
