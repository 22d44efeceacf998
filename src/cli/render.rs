//! `parafe render` (one document or a whole folder) and `parafe bench render`.

use super::{CliError, CliResult};
use crate::files::write_durably;
use crate::model::RenderedPdf;
use crate::render::{self, RenderError, RenderOptions};
use crate::template::{self, Catalogue, Validated};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Nom du modèle (contrat-engagement, emargement-collectif, …).
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub template: Option<String>,
    /// Fichier JSON des données du document.
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    pub data: Option<PathBuf>,
    /// Compose tous les fichiers JSON d'un dossier (le modèle se déduit du nom de fichier :
    /// `emargement-collectif-20.json` → `emargement-collectif`).
    #[arg(long, requires = "data_dir")]
    pub all: bool,
    /// Dossier des données JSON, avec --all.
    #[arg(long = "data-dir", requires = "all")]
    pub data_dir: Option<PathBuf>,
    /// PDF à écrire (un document) ou dossier de sortie (--all, défaut : rendu/).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// One document to render: which template, its data, where it goes.
struct Job {
    /// The data file, named in messages.
    source: PathBuf,
    template: String,
    data: Value,
    output: PathBuf,
}

pub fn run(args: RenderArgs) -> CliResult {
    let catalogue = Catalogue::embedded().map_err(|e| CliError::failure(e.to_string()))?;
    let jobs = match (&args.data_dir, &args.template, &args.data) {
        (Some(dir), _, _) => folder_jobs(
            catalogue,
            dir,
            args.output.as_deref().unwrap_or(Path::new("rendu")),
        )?,
        (None, Some(template), Some(data)) => {
            catalogue
                .get(template)
                .map_err(|e| CliError::input(e.to_string()))?;
            let output = args
                .output
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("{template}.pdf")));
            vec![Job {
                source: data.clone(),
                template: template.clone(),
                data: read_json(data)?,
                output,
            }]
        }
        _ => {
            return Err(CliError::input(
                "indiquez un modèle et --data FICHIER, ou --all --data-dir DOSSIER",
            ))
        }
    };

    let options = RenderOptions::default();
    let rendered = render_batch(
        &jobs,
        &validate_all(catalogue, &jobs)?,
        &options,
        jobs.len() > 1,
    )?;
    for (job, pdf) in jobs.iter().zip(&rendered) {
        write_durably(&job.output, pdf.bytes()).map_err(|e| {
            CliError::failure(format!(
                "écriture de {} impossible : {e}",
                job.output.display()
            ))
        })?;
    }
    match jobs.as_slice() {
        [one] => println!(
            "{} écrit ({} octets, SHA-256 {})",
            one.output.display(),
            rendered[0].bytes().len(),
            rendered[0].sha256()
        ),
        _ => println!("{} documents écrits", jobs.len()),
    }
    Ok(())
}

/// Renders done before measuring, so that the measure is of a warm service.
const WARM_UP: usize = 5;

/// Checks every job before anything is rendered or written: a batch is all or nothing.
fn validate_all<'a>(
    catalogue: &'a Catalogue,
    jobs: &'a [Job],
) -> Result<Vec<Validated<'a>>, CliError> {
    let mut validated = Vec::with_capacity(jobs.len());
    let mut errors = Vec::new();
    for job in jobs {
        let schema = catalogue
            .get(&job.template)
            .map_err(|e| CliError::input(e.to_string()))?;
        match template::validate(schema, &job.data) {
            Ok(v) => validated.push(v),
            Err(faults) => {
                let lines: Vec<String> = faults.iter().map(|e| format!("  - {e}")).collect();
                errors.push(format!(
                    "{} (modèle « {} ») :\n{}",
                    job.source.display(),
                    job.template,
                    lines.join("\n")
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(validated)
    } else {
        Err(CliError::input(format!(
            "données invalides, aucun fichier écrit.\n{}",
            errors.join("\n")
        )))
    }
}

/// Renders validated jobs on every core, with a progress bar for long batches.
fn render_batch(
    jobs: &[Job],
    validated: &[Validated],
    options: &RenderOptions,
    progress: bool,
) -> Result<Vec<RenderedPdf>, CliError> {
    let bar = if progress {
        ProgressBar::new(jobs.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} documents ({per_sec}, reste {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let pool = render::pool().map_err(|e| {
        CliError::failure(format!(
            "démarrage des fils de composition impossible : {e}"
        ))
    })?;
    let result = pool.install(|| {
        jobs.par_iter()
            .zip(validated)
            .map(|(job, validated)| {
                let pdf = render::render_validated(validated, options);
                bar.inc(1);
                pdf.map_err(|e: RenderError| {
                    CliError::failure(format!("{} : {e}", job.source.display()))
                })
            })
            .collect()
    });
    bar.finish_and_clear();
    // Typst memoizes layouts; drop old entries so that a long batch does not keep them all.
    comemo::evict(10);
    result
}

fn folder_jobs(catalogue: &Catalogue, dir: &Path, out_dir: &Path) -> Result<Vec<Job>, CliError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError::input(format!("dossier {} illisible : {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CliError::input(format!(
            "aucun fichier .json dans {}",
            dir.display()
        )));
    }
    files
        .iter()
        .map(|path| {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
            let schema = catalogue.for_file_stem(&stem).ok_or_else(|| {
                CliError::input(format!(
                    "{} : aucun modèle ne correspond à ce nom de fichier ; il doit commencer par l'un de : {}",
                    path.display(),
                    catalogue.names().collect::<Vec<_>>().join(", ")
                ))
            })?;
            Ok(Job {
                source: path.clone(),
                template: schema.name.clone(),
                data: read_json(path)?,
                output: out_dir.join(format!("{stem}.pdf")),
            })
        })
        .collect()
}

fn read_json(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::input(format!("fichier {} illisible : {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::input(format!(
            "{} n'est pas un JSON valide (ligne {}, colonne {}) : {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

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

fn median_ms(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples
        .get(samples.len() / 2)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}
