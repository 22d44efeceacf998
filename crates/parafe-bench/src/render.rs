//! `parafe-bench render`: warm in-process composition against the `typst` CLI, then a bulk
//! render of émargement sheets.

use crate::commun::{mediane, CliError, CliResult};
use parafe::cli::render::{read_json, render_batch, validate_all, Job};
use parafe::files::write_durably;
use parafe::render::{self, RenderOptions};
use parafe::template::{self, Catalogue};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Renders done before measuring, so that the measure is of a warm service.
const WARM_UP: usize = 5;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Commande typst de même version que la bibliothèque (typst-cli 0.15.1).
    #[arg(long, default_value = "typst")]
    pub typst: PathBuf,
    /// Dossier des exemples de données.
    #[arg(long, default_value = "document-templates/examples")]
    pub examples: PathBuf,
    /// Nombre de compositions du contrat mesurées de chaque côté.
    #[arg(long, default_value_t = 50)]
    pub iterations: usize,
    /// Nombre de feuilles d'émargement composées en lot.
    #[arg(long, default_value_t = 500)]
    pub sheets: usize,
}

/// Warm in-process render of the contrat against the `typst` CLI on the same template and data,
/// then a bulk render of émargement sheets on every core.
pub fn bench(args: BenchArgs) -> CliResult {
    let contrat = read_json(&args.examples.join("contrat-engagement.json"))?;
    let options = RenderOptions::default();
    let variant = |i: usize, data: &Value| {
        // Another document for another person each time, as in real use: Typst's memoization
        // may reuse what the documents share, it cannot replay a whole result.
        let mut data = data.clone();
        data["reference"] = Value::String(format!("PLIE-BENCH-{i:06}"));
        if let Some(nom) = data.pointer_mut("/participant/nom") {
            *nom = Value::String(format!("Participant {i}"));
        }
        data
    };
    let in_process = |i: usize| {
        let start = Instant::now();
        render::render("contrat-engagement", &variant(i, &contrat), &options)
            .map_err(|e| CliError::failure(e.to_string()))?;
        Ok::<_, CliError>(start.elapsed())
    };
    // The first renders load fonts and fill Typst's caches: that is the cold start, not what a
    // running service pays per document.
    for i in 0..WARM_UP {
        in_process(usize::MAX - i)?;
    }

    let root = tempfile::tempdir().map_err(|e| CliError::failure(e.to_string()))?;
    for (path, bytes) in template::embedded_files() {
        write_durably(&root.path().join(path), bytes)
            .map_err(|e| CliError::failure(e.to_string()))?;
    }
    write_durably(&root.path().join("pieces-jointes.json"), b"[]")
        .map_err(|e| CliError::failure(e.to_string()))?;
    let with_cli = |i: usize| {
        // Writing the data file belongs to the CLI's cost: parafe receives the data the same way.
        let start = Instant::now();
        write_durably(
            &root.path().join("donnees.json"),
            variant(i, &contrat).to_string().as_bytes(),
        )
        .map_err(|e| CliError::failure(e.to_string()))?;
        let status = Command::new(&args.typst)
            .arg("compile")
            .args([
                "--root",
                &root.path().to_string_lossy(),
                "--ignore-system-fonts",
                "--pdf-standard",
                "a-3b",
            ])
            .arg(root.path().join("contrat-engagement.typ"))
            .arg(root.path().join("sortie.pdf"))
            .status()
            .map_err(|e| {
                CliError::failure(format!(
                    "commande {} introuvable : {e}",
                    args.typst.display()
                ))
            })?;
        if !status.success() {
            return Err(CliError::failure(format!(
                "{} compile a échoué",
                args.typst.display()
            )));
        }
        Ok(start.elapsed())
    };
    // Side by side, one of each in turn, so that the machine's noise hits both alike.
    let (mut warm, mut cli) = (Vec::new(), Vec::new());
    for i in 0..args.iterations {
        warm.push(in_process(i)?);
        cli.push(with_cli(i)?);
    }
    let (warm_ms, cli_ms) = (median_ms(warm), median_ms(cli));
    println!(
        "contrat d'engagement, médiane sur {} compositions :",
        args.iterations
    );
    println!("  parafe en mémoire (à chaud) : {warm_ms:8.1} ms");
    println!("  typst compile (CLI)         : {cli_ms:8.1} ms");
    println!(
        "  rapport parafe / CLI        : {:8.3}  (objectif ≤ 0,333)",
        warm_ms / cli_ms
    );

    let sheet = read_json(&args.examples.join("emargement-collectif.json"))?;
    let jobs: Vec<Job> = (0..args.sheets)
        .map(|i| Job {
            source: args.examples.join("emargement-collectif.json"),
            template: "emargement-collectif".into(),
            data: variant(i, &sheet),
            output: PathBuf::new(),
        })
        .collect();
    let start = Instant::now();
    let catalogue = Catalogue::embedded().map_err(|e| CliError::failure(e.to_string()))?;
    let pdfs = render_batch(&jobs, &validate_all(catalogue, &jobs)?, &options, true)?;
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "lot de {} feuilles d'émargement collectif ({} cœurs) : {:.1} s, {:.0} feuilles/s (objectif ≥ 50), {} octets en moyenne",
        pdfs.len(),
        rayon::current_num_threads(),
        elapsed,
        pdfs.len() as f64 / elapsed,
        pdfs.iter().map(|p| p.bytes().len()).sum::<usize>() / pdfs.len().max(1)
    );
    Ok(())
}

fn median_ms(samples: Vec<Duration>) -> f64 {
    mediane(samples).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}
