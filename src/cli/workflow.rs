//! `parafe workflows`: reads and checks the embedded workflows and those of `--dir`, then
//! lists them.

use super::{CliError, CliResult};
use crate::template::Catalogue;
use crate::workflow::{self, Methode, Ordre};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct WorkflowsArgs {
    /// Dossier dont les workflows remplacent (même nom) ou complètent ceux intégrés.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub fn run(args: WorkflowsArgs) -> CliResult {
    let catalogue = Catalogue::embedded().map_err(|e| CliError::failure(e.to_string()))?;
    let workflows = workflow::load(args.dir.as_deref(), catalogue)
        .map_err(|e| CliError::input(e.to_string()))?;
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
        "{} workflows valides ({})",
        workflows.len(),
        provenance(&args.dir)
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct BilansArgs {
    /// Début du CER (AAAA-MM-JJ).
    #[arg(long = "cer-debut")]
    pub cer_debut: String,
    /// Date de sortie du PLIE, si le participant est sorti (AAAA-MM-JJ).
    #[arg(long)]
    pub sortie: Option<String>,
    /// Jour auquel évaluer les retards (AAAA-MM-JJ ; défaut : aujourd'hui, heure de Paris).
    #[arg(long)]
    pub aujourdhui: Option<String>,
    /// Dossier dont les workflows remplacent ou complètent ceux intégrés (les mois viennent de
    /// bilan-brsa.toml).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// `parafe bilans`: the bilans BRSA a CER calls for, from the months of the bilan-brsa workflow.
pub fn bilans(args: BilansArgs) -> CliResult {
    let date = |name: &str, value: &str| {
        chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
            CliError::input(format!(
                "{name} : « {value} » n'est pas une date AAAA-MM-JJ"
            ))
        })
    };
    let debut = date("--cer-debut", &args.cer_debut)?;
    let sortie = args
        .sortie
        .as_deref()
        .map(|s| date("--sortie", s))
        .transpose()?;
    let aujourdhui = match args.aujourdhui.as_deref() {
        Some(s) => date("--aujourdhui", s)?,
        None => crate::horloge::Horloge::de_l_environnement()
            .map_err(CliError::input)?
            .aujourdhui(),
    };
    let catalogue = Catalogue::embedded().map_err(|e| CliError::failure(e.to_string()))?;
    let workflows = workflow::load(args.dir.as_deref(), catalogue)
        .map_err(|e| CliError::input(e.to_string()))?;
    let bilan = workflows
        .iter()
        .find(|w| w.modele == "bilan-brsa" && !w.echeances_mois.is_empty())
        .ok_or_else(|| {
            CliError::input(format!(
                "aucun workflow du modèle bilan-brsa avec des échéances ({})",
                provenance(&args.dir)
            ))
        })?;

    let fr = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
    let mois: Vec<String> = bilan
        .echeances_mois
        .iter()
        .map(ToString::to_string)
        .collect();
    println!(
        "Bilans BRSA du CER commencé le {} ({} : {} mois)",
        fr(debut),
        bilan.nom,
        mois.join(", ")
    );
    for e in workflow::bilans_brsa(debut, &bilan.echeances_mois, sortie) {
        let nom = match e.bilan {
            workflow::Bilan::Mois(m) => format!("bilan à {m} mois"),
            workflow::Bilan::SortieAnticipee => "bilan de sortie anticipée".to_owned(),
        };
        let etat = match e.etat(aujourdhui) {
            workflow::EtatBilan::AVenir => "à venir".to_owned(),
            workflow::EtatBilan::Echue => format!("échu au {}", fr(aujourdhui)),
            workflow::EtatBilan::Annulee => "annulé (sortie anticipée)".to_owned(),
        };
        println!("  {nom:<28} dû le {}  {etat}", fr(e.due));
    }
    Ok(())
}

/// Where the workflows came from, for a person.
fn provenance(dir: &Option<PathBuf>) -> String {
    match dir {
        Some(d) => format!("intégrés, puis ceux de {}", d.display()),
        None => "intégrés".into(),
    }
}
