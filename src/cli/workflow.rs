//! `parafe workflows`: reads and checks `workflows/*.toml`, then lists them.

use super::{CliError, CliResult};
use crate::template::Catalogue;
use crate::workflow::{self, Methode, Ordre};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct WorkflowsArgs {
    /// Dossier des définitions de workflows.
    #[arg(long, default_value = "workflows")]
    pub dir: PathBuf,
}

pub fn run(args: WorkflowsArgs) -> CliResult {
    let catalogue = Catalogue::embedded().map_err(|e| CliError::failure(e.to_string()))?;
    let workflows =
        workflow::load_dir(&args.dir, catalogue).map_err(|e| CliError::input(e.to_string()))?;
    for w in &workflows {
        let signers: Vec<String> = w
            .signataires
            .iter()
            .map(|s| {
                let methods: Vec<&str> = s
                    .methodes
                    .iter()
                    .map(|m| match m {
                        Methode::Tablette => "tablette",
                        Methode::Lien => "lien",
                    })
                    .collect();
                let extra = match (s.facultatif, s.plusieurs) {
                    (true, _) => " (facultatif)",
                    (_, true) => " (chacun)",
                    _ => "",
                };
                format!("{}{extra} [{}]", s.role.nom(), methods.join(", "))
            })
            .collect();
        let order = match w.ordre {
            Ordre::Sequentiel => "l'un après l'autre",
            Ordre::Parallele => "dans n'importe quel ordre",
        };
        println!("{} — {} (modèle {})", w.nom, w.titre, w.modele);
        println!(
            "  signataires, {order} : {}",
            if signers.is_empty() {
                "aucun".into()
            } else {
                signers.join(" ; ")
            }
        );
        println!(
            "  délai {}, expiration {}, relances : {}",
            w.delai,
            w.expiration,
            w.relances
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !w.echeances_mois.is_empty() {
            println!(
                "  échéances : {} mois après le début du CER",
                w.echeances_mois
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    println!(
        "{} workflows valides dans {}",
        workflows.len(),
        args.dir.display()
    );
    Ok(())
}
