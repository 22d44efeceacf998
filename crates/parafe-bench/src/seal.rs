//! `parafe-bench seal`: `parafe seal` against `pyhanko sign addsig`, and the seal alone in memory.

use crate::commun::{mediane, CliError, CliResult};
use parafe::cli::seal::runtime;
use parafe::config::Config;
use parafe::seal::{self, Keys, Tsa};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// PDF à sceller (environ 200 Ko).
    #[arg(long, default_value = "tests/support/typst-200k.pdf")]
    pub pdf: PathBuf,
    /// Nombre de documents scellés par chaque outil.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Commande pyHanko.
    #[arg(long, default_value = "pyhanko")]
    pub pyhanko: PathBuf,
}

fn median(samples: Vec<Duration>) -> Duration {
    mediane(samples).unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn bench(args: BenchArgs) -> CliResult {
    let pdf = std::fs::read(&args.pdf).map_err(|e| {
        CliError::input(format!(
            "lecture de {} impossible : {e}",
            args.pdf.display()
        ))
    })?;
    let runs = args.runs.max(1);
    let work = tempfile::tempdir().map_err(|e| CliError::failure(e.to_string()))?;
    let data_dir = work.path().join("donnees");
    let init = seal::init(&data_dir).map_err(|e| CliError::failure(e.to_string()))?;
    let config = Config::load(&data_dir).map_err(|e| CliError::failure(e.to_string()))?;
    let keys = Keys::load(&data_dir, &config.seal, &config.service.plie)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let cachet = keys
        .cachet(&config.service.plie, &config.service.nom_plie)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let tsa = Tsa::from_config(&data_dir, &config.seal, &keys)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let rt = runtime()?;
    println!(
        "Scellement de {} ({} Ko), {runs} documents par outil, un processus par document.",
        args.pdf.display(),
        pdf.len() / 1024
    );

    // In process: the seal alone (B-T + B-LTA with the local TSA), keys already loaded.
    let mut in_process = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        rt.block_on(seal::seal_bytes(&pdf, None, &cachet, &keys, &tsa))
            .map_err(|e| CliError::failure(e.to_string()))?;
        in_process.push(start.elapsed());
    }

    let exe = crate::commun::parafe()?;
    let input = work.path().join("entree.pdf");
    std::fs::write(&input, &pdf).map_err(|e| CliError::failure(e.to_string()))?;
    let run = |cmd: &mut Command, what: &str| -> Result<Duration, CliError> {
        let start = Instant::now();
        let out = cmd.output().map_err(|e| {
            CliError::failure(format!(
                "{what} introuvable ({e}) : installez-le (voir le README)"
            ))
        })?;
        let elapsed = start.elapsed();
        if !out.status.success() {
            return Err(CliError::failure(format!(
                "{what} a échoué : {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        Ok(elapsed)
    };
    let mut parafe = Vec::new();
    for i in 0..runs {
        let out = work.path().join(format!("parafe-{i}.pdf"));
        parafe.push(run(
            Command::new(&exe)
                .arg("seal")
                .arg(&input)
                .arg("-o")
                .arg(&out)
                .arg("--data-dir")
                .arg(&data_dir),
            "parafe seal",
        )?);
    }
    // pyHanko signs with the same key and certificate as PAdES B-B: it cannot reach parafe's
    // in-process TSA, so it gets none and does less work than parafe's B-LTA.
    let pyhanko = args.pyhanko.clone();
    let mut reference = Vec::new();
    for i in 0..runs {
        let out = work.path().join(format!("pyhanko-{i}.pdf"));
        reference.push(run(
            Command::new(&pyhanko)
                .args([
                    "sign",
                    "addsig",
                    "--field",
                    "Cachet",
                    "--use-pades",
                    "pemder",
                    "--no-pass",
                    "--key",
                ])
                .arg(&init.files.seal_key)
                .arg("--cert")
                .arg(&init.files.seal_cert)
                .arg("--chain")
                .arg(&init.files.ca_cert)
                .arg(&input)
                .arg(&out),
            "pyhanko sign addsig",
        )?);
    }
    let (p, r, i) = (median(parafe), median(reference), median(in_process));
    let ratio = r.as_secs_f64() / p.as_secs_f64().max(1e-9);
    println!("{:<48} {:>10}", "outil (médiane par document)", "durée");
    println!(
        "{:<48} {:>10}",
        "parafe seal (PAdES B-LTA, horodatage local)",
        ms(p)
    );
    println!(
        "{:<48} {:>10}",
        "pyhanko sign addsig (PAdES B-B, sans TSA)",
        ms(r)
    );
    println!(
        "{:<48} {:>10}",
        "parafe en mémoire (scellement seul, B-LTA)",
        ms(i)
    );
    println!("rapport : parafe est {ratio:.1} fois plus rapide par document (objectif ≥ 10) ; en mémoire {} (objectif ≤ 15 ms)", ms(i));
    Ok(())
}
