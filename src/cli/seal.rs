//! `parafe init`, `parafe seal`, `parafe verify file.pdf`.

use super::{CliError, CliResult, DataDir};
use crate::config::Config;
use crate::files::write_durably;
use crate::seal::{self, Keys, Report, Tsa};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub data: DataDir,
}

#[derive(Debug, clap::Args)]
pub struct SealArgs {
    /// PDF à sceller.
    pub input: PathBuf,
    /// PDF scellé à écrire.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub data: DataDir,
}

fn load(data: &DataDir) -> Result<Config, CliError> {
    Config::load(&data.data_dir).map_err(|e| CliError::input(e.to_string()))
}

pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("démarrage du moteur asynchrone impossible : {e}")))
}

pub fn init(args: InitArgs) -> CliResult {
    let report = seal::init(&args.data.data_dir).map_err(|e| CliError::failure(e.to_string()))?;
    let f = &report.files;
    if !report.renewed.is_empty() {
        println!(
            "Certificats de développement renouvelés dans {} (mêmes clés, sans point de distribution de liste de révocation, que rien ne sert) :",
            f.dir.display()
        );
    } else if report.created.is_empty() {
        println!(
            "Clés de développement déjà présentes dans {} (rien n'a été modifié) :",
            f.dir.display()
        );
    } else {
        println!(
            "Clés de développement créées dans {} (fichiers lisibles par vous seul) :",
            f.dir.display()
        );
    }
    for (what, path) in [
        (
            "AC de développement (à donner en confiance aux vérificateurs)",
            &f.ca_cert,
        ),
        ("clé de l'AC", &f.ca_key),
        ("liste de révocation de l'AC", &f.ca_crl),
        ("certificat de cachet du PLIE", &f.seal_cert),
        ("clé de cachet", &f.seal_key),
        (
            "certificat de l'horodatage local (non qualifié)",
            &f.tsa_cert,
        ),
        ("clé de l'horodatage local", &f.tsa_key),
    ] {
        let mark = if report.created.contains(path) {
            "créé"
        } else if report.renewed.contains(path) {
            "renouvelé"
        } else {
            "présent"
        };
        println!("  {:<9} {}  — {what}", mark, path.display());
    }
    println!(
        "En production, indiquez dans parafe.toml : [seal] pkcs12 = \"…\" et tsa_url = \"…\"."
    );
    Ok(())
}

pub fn seal(args: SealArgs) -> CliResult {
    let bytes = std::fs::read(&args.input).map_err(|e| {
        CliError::input(format!(
            "lecture de {} impossible : {e}",
            args.input.display()
        ))
    })?;
    let config = load(&args.data)?;
    let keys = Keys::load(&args.data.data_dir, &config.seal, &config.service.plie)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let cachet = keys
        .cachet(&config.service.plie, &config.service.nom_plie)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let tsa = Tsa::from_config(&args.data.data_dir, &config.seal, &keys)
        .map_err(|e| CliError::failure(e.to_string()))?;
    let sealed = runtime()?
        .block_on(seal::seal_bytes(&bytes, None, &cachet, &keys, &tsa))
        .map_err(|e| match e {
            seal::SealError::Pdf(seal::PdfError::Unreadable(_) | seal::PdfError::Encrypted) => {
                CliError::input(format!("{} : {e}", args.input.display()))
            }
            e => CliError::failure(e.to_string()),
        })?;
    write_durably(&args.output, sealed.bytes()).map_err(|e| {
        CliError::failure(format!(
            "écriture de {} impossible : {e}",
            args.output.display()
        ))
    })?;
    let ts = sealed.timestamp();
    println!(
        "{} scellé (PAdES B-LTA, {} octets, SHA-256 {}), horodaté le {} par {}{}",
        args.output.display(),
        sealed.bytes().len(),
        sealed.sha256(),
        crate::model::heure_de_paris(ts.time),
        ts.tsa,
        if ts.qualified {
            ""
        } else {
            " (horodatage non qualifié)"
        }
    );
    Ok(())
}

/// The data directory of `parafe verify`: `PARAFE_DATA_DIR`, else `parafe-data`, as `DataDir`.
/// The certificates verification trusts: the local CA of `parafe init` and the configured ones.
pub fn trust_anchors(data: &DataDir) -> Result<Vec<x509_cert::Certificate>, CliError> {
    let config = Config::load(&data.data_dir).map_err(|e| CliError::input(e.to_string()))?;
    Keys::trust_anchors(&data.data_dir, &config.seal).map_err(|e| CliError::failure(e.to_string()))
}

pub fn verify_pdf(file: &Path, json: bool, data: &DataDir) -> CliResult {
    let pdf = std::fs::File::open(file)
        .map_err(|e| CliError::input(format!("lecture de {} impossible : {e}", file.display())))?;
    let trust = trust_anchors(data)?;
    let report = seal::verify::verify_from(pdf, &trust)
        .map_err(|e| CliError::input(format!("{} : {e}", file.display())))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| CliError::failure(e.to_string()))?
        );
    } else {
        print_report(file, &report, trust.is_empty());
    }
    if report.valid {
        Ok(())
    } else {
        let mut reasons: Vec<String> = report.problems.clone();
        for s in &report.signatures {
            reasons.extend(s.problems.iter().map(|p| format!("« {} » : {p}", s.field)));
        }
        Err(CliError::failure(format!(
            "{} n'est PAS valide : {}",
            file.display(),
            reasons.join(" ; ")
        )))
    }
}

fn print_report(file: &Path, report: &Report, no_trust: bool) {
    println!(
        "{} — SHA-256 {} ({} octets)",
        file.display(),
        report.sha256,
        report.size
    );
    if let Some(level) = report.pades_level {
        println!("Niveau PAdES : {level}");
    }
    for s in &report.signatures {
        println!(
            "\n{} « {} » ({})",
            if s.kind == "signature" {
                "Signature"
            } else {
                "Horodatage de document"
            },
            s.field,
            s.sub_filter
        );
        if let Some(signer) = &s.signer {
            println!("  signataire      : {}", signer.subject);
            println!(
                "  émis par        : {} (n° {}, valable du {} au {})",
                signer.issuer, signer.serial, signer.not_before, signer.not_after
            );
        }
        if let Some(ts) = &s.timestamp {
            println!(
                "  horodatage      : {} (heure de Paris) par {}{}",
                crate::model::heure_de_paris(ts.time),
                ts.tsa,
                if ts.valid { "" } else { " — INVALIDE" }
            );
        }
        println!("  empreinte       : {}", s.digest_algorithm);
        println!(
            "  intègre         : {}",
            if s.intact { "oui" } else { "NON" }
        );
        println!(
            "  de confiance    : {}",
            if s.trusted { "oui" } else { "NON" }
        );
        if s.covers_whole_file {
            println!("  couverture      : tout le fichier");
        } else if s.forbidden_changes_after.is_empty() {
            let added = if s.permitted_changes_after.is_empty() {
                "rien".into()
            } else {
                s.permitted_changes_after.join(", ")
            };
            println!("  couverture      : tout le fichier sauf les révisions permises ajoutées ensuite ({added})");
        } else {
            println!(
                "  modifié ensuite : {}",
                s.forbidden_changes_after.join(" ; ")
            );
        }
        for p in &s.problems {
            println!("  problème        : {p}");
        }
    }
    for p in &report.problems {
        println!("problème : {p}");
    }
    if no_trust {
        println!("\n(aucune autorité de confiance : lancez `parafe init` ou indiquez [seal] confiance dans parafe.toml)");
    }
    println!(
        "\n{}",
        if report.valid {
            "VALIDE : toutes les vérifications sont satisfaites."
        } else {
            "NON VALIDE."
        }
    );
}
