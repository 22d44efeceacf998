//! `parafe render`: one document or a whole folder.

use super::{CliError, CliResult};
use crate::files::write_durably;
use crate::model::RenderedPdf;
use crate::render::{self, RenderError, RenderOptions};
use crate::template::{self, Catalogue, Validated};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

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
pub struct Job {
    /// The data file, named in messages.
    pub source: PathBuf,
    pub template: String,
    pub data: Value,
    pub output: PathBuf,
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

/// Checks every job before anything is rendered or written: a batch is all or nothing.
pub fn validate_all<'a>(
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
pub fn render_batch(
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

pub fn read_json(path: &Path) -> Result<Value, CliError> {
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
