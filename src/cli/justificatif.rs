//! `parafe justificatif deposer|etat`: file an outside piece from the command line (a scan, a
//! saved e-mail, or a stream on standard input), and print what a dossier has and lacks.

use super::pack::{ouvrir, plie_de};
use super::{CliError, CliResult, DataDir};
use crate::justificatif::etat::{charger, DossierError, Filtre, Periode};
use crate::justificatif::{deposer, evaluer, recevoir, Catalogue, DemandeDepot};
use chrono::NaiveDate;
use std::path::PathBuf;

#[derive(Debug, clap::Subcommand)]
pub enum JustificatifCommand {
    /// Dépose une pièce (PDF, JPEG, PNG ou courriel .eml) au coffre, pour un participant ou pour l'opération.
    Deposer(DeposerArgs),
    /// Pièces présentes, manquantes et en retard, par participant et pour l'opération.
    Etat(EtatArgs),
}

#[derive(Debug, clap::Args)]
pub struct DeposerArgs {
    /// Fichier à déposer, ou « - » pour l'entrée standard (avec --nom).
    pub fichier: PathBuf,
    /// Nom de la pièce (obligatoire avec « - ») ; son extension doit dire son format.
    #[arg(long)]
    pub nom: Option<String>,
    #[arg(long)]
    pub operation: String,
    /// Participant (référence pseudonyme ou identifiant du logiciel de parcours) ; sans lui,
    /// la pièce est celle de l'opération.
    #[arg(long)]
    pub participant: Option<String>,
    /// Type de justificatif du catalogue (bulletin-salaire, kbis, photo-affiche-fse…).
    #[arg(long)]
    pub genre: String,
    /// Étape du parcours que la pièce justifie.
    #[arg(long)]
    pub etape: Option<String>,
    /// Date que porte la pièce (AAAA-MM-JJ).
    #[arg(long)]
    pub date_piece: Option<NaiveDate>,
    /// Courriel du membre du personnel qui dépose.
    #[arg(long)]
    pub par: String,
    #[arg(long)]
    pub plie: Option<String>,
    #[command(flatten)]
    pub data: DataDir,
}

#[derive(Debug, clap::Args)]
pub struct EtatArgs {
    #[arg(long)]
    pub operation: String,
    /// Un seul participant : sa référence pseudonyme ou son identifiant du logiciel de parcours.
    #[arg(long)]
    pub participant: Option<String>,
    #[arg(long)]
    pub plie: Option<String>,
    /// Résultat en JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub data: DataDir,
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Runtime::new()
        .map_err(|e| CliError::failure(format!("démarrage impossible : {e}")))
}

pub fn run(command: JustificatifCommand) -> CliResult {
    match command {
        JustificatifCommand::Deposer(args) => runtime()?.block_on(depot(args)),
        JustificatifCommand::Etat(args) => runtime()?.block_on(etat(args)),
    }
}

async fn depot(args: DeposerArgs) -> CliResult {
    let data = &args.data.data_dir;
    let stdin = args.fichier.as_os_str() == "-";
    let nom = match (&args.nom, stdin) {
        (Some(n), _) => n.clone(),
        (None, false) => args
            .fichier
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        (None, true) => {
            return Err(CliError::input(
                "avec « - », indiquez le nom de la pièce : --nom bulletin.pdf",
            ))
        }
    };
    let ouvert = ouvrir(data).await?;
    let plie = plie_de(&ouvert.db, args.plie.as_deref()).await?;
    let catalogue = Catalogue::charger(data, &plie).map_err(|e| CliError::input(e.to_string()))?;
    let par = crate::db::personnel::id_par_email(&ouvert.db, plie.as_str(), &args.par)
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    let par = par.ok_or_else(|| {
        CliError::input(format!(
            "aucun compte « {} » dans le PLIE « {plie} »",
            args.par
        ))
    })?;
    // The piece streams into a temporary file beside the data: never whole in memory.
    let limite = catalogue.depot.taille_max;
    let dir = data.join("depots");
    let recu = tokio::task::block_in_place(|| {
        if stdin {
            recevoir(std::io::stdin().lock(), &dir, &nom, limite)
        } else {
            let f = std::fs::File::open(&args.fichier).map_err(|source| {
                crate::justificatif::Refus::Lecture {
                    nom: nom.clone(),
                    source,
                }
            })?;
            recevoir(f, &dir, &nom, limite)
        }
    })
    .map_err(|e| CliError::input(e.to_string()))?;
    let demande = DemandeDepot {
        plie,
        operation: args.operation,
        participant: args.participant,
        genre: args.genre,
        etape: args.etape,
        date_piece: args.date_piece,
        depose_par: par,
        portefeuille: None,
    };
    let depot = deposer(&ouvert.db, &ouvert.vault, &catalogue, &demande, recu)
        .await
        .map_err(|e| {
            if e.est_refus() {
                CliError::input(e.to_string())
            } else {
                CliError::failure(e.to_string())
            }
        })?;
    println!(
        "{} déposé : {} ({}, {} octets), SHA-256 {}, entrée n° {} du journal{}",
        nom,
        catalogue.libelle(&depot.genre),
        depot.type_mime,
        depot.taille,
        depot.sha256,
        depot.seq,
        if depot.en_attente {
            " (coffre injoignable : en file d'attente)"
        } else {
            ""
        }
    );
    Ok(())
}

async fn etat(args: EtatArgs) -> CliResult {
    let data = &args.data.data_dir;
    let config = crate::config::Config::load(data).map_err(|e| CliError::input(e.to_string()))?;
    let db = crate::db::open(&config.base, data)
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    let plie = plie_de(&db, args.plie.as_deref()).await?;
    let catalogue = Catalogue::charger(data, &plie).map_err(|e| CliError::input(e.to_string()))?;
    let filtre = Filtre {
        participant: args.participant.clone(),
        referent_id: None,
    };
    let dossier = charger(&db, plie.as_str(), &args.operation, &filtre, &catalogue)
        .await
        .map_err(|e| match e {
            DossierError::Sql(e) => CliError::failure(e.to_string()),
            e => CliError::input(e.to_string()),
        })?;
    let jour = crate::horloge::Horloge::de_l_environnement()
        .map_err(CliError::input)?
        .aujourdhui();
    let periode = Periode::toute();
    let operation = if args.participant.is_none() {
        evaluer(&catalogue, None, &dossier.pieces, &periode, jour)
    } else {
        Vec::new()
    };
    let participants: Vec<_> = dossier
        .participants
        .iter()
        .map(|p| (p, evaluer(&catalogue, Some(p), &p.pieces, &periode, jour)))
        .collect();
    if args.json {
        let v = serde_json::json!({
            "operation": dossier.operation.code,
            "catalogue": catalogue.version,
            "au": jour,
            "lignes_operation": operation,
            "participants": participants.iter().map(|(p, l)| serde_json::json!({
                "ref": p.reference, "lignes": l,
            })).collect::<Vec<_>>(),
        });
        println!("{v}");
        return Ok(());
    }
    let afficher = |titre: String, lignes: &[crate::justificatif::Ligne]| {
        println!("{titre}");
        for l in lignes {
            let mut t = format!("  {:<18} {}", l.etat.libelle(), l.libelle);
            if let Some(p) = &l.precision {
                t.push_str(&format!(" ({p})"));
            }
            if let Some(e) = l.echeance {
                t.push_str(&format!(", échéance le {}", e.format("%d/%m/%Y")));
            }
            println!("{t}");
        }
    };
    if args.participant.is_none() {
        afficher(format!("Opération {}", dossier.operation.code), &operation);
    }
    for (p, lignes) in &participants {
        afficher(
            format!("{} {} ({})", p.nom.to_uppercase(), p.prenom, p.reference),
            lignes,
        );
    }
    Ok(())
}
