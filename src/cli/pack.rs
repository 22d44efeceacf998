//! `parafe pack`, `parafe verify pack.zip`.

use super::{echec, runtime, CliError, CliResult, DataDir};
use crate::config::Config;
use crate::justificatif::{Catalogue, Periode};
use crate::model::PlieId;
use crate::pack::{self, verifier, DemandePack, PackError, Sources};
use crate::seal::{Keys, Tsa};
use crate::store::Vault;
use chrono::NaiveDate;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// Opération FSE (numéro Ma Démarche FSE).
    #[arg(long)]
    pub operation: String,
    /// Premier jour de la période (AAAA-MM-JJ).
    #[arg(long)]
    pub from: NaiveDate,
    /// Dernier jour de la période, inclus (AAAA-MM-JJ).
    #[arg(long)]
    pub to: NaiveDate,
    /// Un seul participant : sa référence pseudonyme ou son identifiant dans le logiciel de
    /// parcours (celui de l'extraction UP Viesion).
    #[arg(long)]
    pub participant: Option<String>,
    /// PLIE de l'opération (facultatif quand la base n'en compte qu'un).
    #[arg(long)]
    pub plie: Option<String>,
    /// Inclut les pièces sensibles (santé, handicap, justice), exclues par défaut.
    #[arg(long)]
    pub donnees_sensibles: bool,
    /// Le ZIP à écrire.
    #[arg(short, long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub data: DataDir,
}

pub fn pack_error(e: PackError) -> CliError {
    if e.est_demande() {
        CliError::input(e.to_string())
    } else {
        CliError::failure(e.to_string())
    }
}

/// What an export needs, opened from the data directory.
pub struct Ouvert {
    pub db: sqlx::AnyPool,
    pub vault: Vault,
    pub keys: Keys,
    pub tsa: Tsa,
}

pub async fn ouvrir(data: &Path) -> Result<Ouvert, CliError> {
    let config = Config::load(data).map_err(|e| CliError::input(e.to_string()))?;
    let keys = Keys::load(data, &config.seal, &config.service.plie).map_err(echec)?;
    let tsa = Tsa::from_config(data, &config.seal, &keys).map_err(echec)?;
    let vault = config.coffre().await.map_err(echec)?;
    let db = crate::db::open(&config.base, data).await.map_err(echec)?;
    Ok(Ouvert {
        db,
        vault,
        keys,
        tsa,
    })
}

/// The PLIE asked for, or the only one of the database.
pub async fn plie_de(db: &sqlx::AnyPool, plie: Option<&str>) -> Result<PlieId, CliError> {
    if let Some(p) = plie {
        return PlieId::new(p).map_err(CliError::input);
    }
    let ids = crate::db::referentiel::plies(db).await.map_err(echec)?;
    match ids.as_slice() {
        [seul] => PlieId::new(seul).map_err(CliError::input),
        [] => Err(CliError::input("la base ne connaît aucun PLIE")),
        _ => Err(CliError::input(format!(
            "indiquez --plie parmi : {}",
            ids.join(", ")
        ))),
    }
}

pub fn run(args: PackArgs) -> CliResult {
    if args.to < args.from {
        return Err(CliError::input(format!(
            "période inversée : --to {} précède --from {}",
            args.to, args.from
        )));
    }
    runtime()?.block_on(async move {
        let ouvert = ouvrir(&args.data.data_dir).await?;
        let plie = plie_de(&ouvert.db, args.plie.as_deref()).await?;
        let catalogue = Catalogue::charger(&args.data.data_dir, &plie)
            .map_err(|e| CliError::input(e.to_string()))?;
        let demande = DemandePack {
            plie,
            operation: args.operation.clone(),
            periode: Periode {
                du: args.from,
                au: args.to,
            },
            participant: args.participant.clone(),
            portefeuille: None,
            donnees_sensibles: args.donnees_sensibles,
            acteur: "ligne-de-commande".into(),
            reference: pack::nouvelle_reference(),
            aujourdhui: ouvert.vault.horloge().aujourdhui(),
        };
        let maintenant = || ouvert.vault.horloge().maintenant();
        let id = pack::suivi::creer(&ouvert.db, &demande, None, maintenant())
            .await
            .map_err(|e| match e {
                sqlx::Error::RowNotFound => CliError::input(format!(
                    "opération « {} » inconnue dans le PLIE « {} »",
                    demande.operation, demande.plie
                )),
                e => echec(e),
            })?;
        let barre = indicatif::ProgressBar::new(0);
        barre.set_style(
            indicatif::ProgressStyle::with_template("pack [{bar:40}] {pos}/{len} fichiers ({per_sec})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let b = barre.clone();
        let progression: pack::Progression = Arc::new(move |faits, total| {
            b.set_length(total as u64);
            b.set_position(faits as u64);
        });
        let plie = demande.plie.as_str();
        let nom = crate::db::referentiel::nom_plie(&ouvert.db, plie)
            .await
            .map_err(echec)?
            .unwrap_or_else(|| plie.to_owned());
        let cachet = ouvert.keys.cachet(plie, &nom).map_err(echec)?;
        let sources = Sources {
            db: &ouvert.db,
            vault: &ouvert.vault,
            keys: &ouvert.keys,
            cachet: &cachet,
            tsa: &ouvert.tsa,
            catalogue: &catalogue,
            concurrence: ouvert.vault.config().concurrency,
        };
        let debut = Instant::now();
        let resultat = pack::exporter(&sources, &demande, &args.output, Some(progression)).await;
        barre.finish_and_clear();
        let r = match resultat {
            Ok(r) => r,
            Err(e) => {
                let _ = crate::db::exports::echouer(&ouvert.db, id, &e.to_string(), maintenant()).await;
                return Err(pack_error(e));
            }
        };
        pack::suivi::finir(&ouvert.db, id, &r, maintenant())
            .await
            .map_err(echec)?;
        println!(
            "{} écrit en {:.1} s : {} fichiers, {} pièces, {} participant(s), {} octets, SHA-256 {}",
            r.chemin.display(),
            debut.elapsed().as_secs_f64(),
            r.fichiers,
            r.pieces,
            r.participants,
            r.taille,
            r.sha256
        );
        println!("export {} inscrit au journal (entrée n° {})", demande.reference, r.seq);
        if r.exclues > 0 {
            println!(
                "{} pièce(s) sensible(s) non incluse(s) (--donnees-sensibles pour les joindre)",
                r.exclues
            );
        }
        if r.manques.is_empty() {
            println!("pièces attendues : toutes présentes");
        } else {
            println!("pièces manquantes ou en retard : {}", r.manques.len());
            for m in &r.manques {
                let mut ligne = format!(
                    "  {} : {}",
                    m.participant.as_deref().unwrap_or("opération"),
                    m.libelle
                );
                if let Some(p) = &m.precision {
                    ligne.push_str(&format!(" ({p})"));
                }
                ligne.push_str(&format!(" — {}", m.etat.libelle()));
                if let Some(e) = m.echeance {
                    ligne.push_str(&format!(", échéance le {}", e.format("%d/%m/%Y")));
                }
                println!("{ligne}");
            }
        }
        Ok(())
    })
}

/// Whether `file` is a ZIP (by its first bytes, else its name).
pub fn est_un_zip(file: &Path) -> bool {
    use std::io::Read;
    let mut debut = [0u8; 4];
    match std::fs::File::open(file).and_then(|mut f| f.read_exact(&mut debut)) {
        Ok(()) => &debut == b"PK\x03\x04",
        Err(_) => file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip")),
    }
}

/// `parafe verify pack.zip`.
pub fn verify_pack(file: &Path, json: bool, data: &DataDir) -> CliResult {
    let trust = super::seal::trust_anchors(data)?;
    let rapport = verifier::verifier(file, &trust).map_err(|e| CliError::input(e.to_string()))?;
    if json {
        let mut v = serde_json::to_value(&rapport).map_err(echec)?;
        v["valide"] = serde_json::json!(rapport.valide());
        println!("{v}");
    } else {
        println!(
            "{} : {} fichier(s) au manifeste, {} PDF scellé(s), {} justificatif(s), {} entrée(s) du journal",
            file.display(),
            rapport.fichiers,
            rapport.documents_scelles,
            rapport.justificatifs,
            rapport.entrees_journal
        );
        match &rapport.confiance {
            verifier::Confiance::Configuree(n) => {
                println!("confiance : {n} certificat(s) de la configuration")
            }
            verifier::Confiance::DuPack { empreintes } => {
                println!("confiance : aucun certificat configuré, ceux du pack sont employés ; comparez leur empreinte SHA-256 avec celle que publie le PLIE :");
                for e in empreintes {
                    println!("  {e}");
                }
            }
        }
        for r in &rapport.ruptures_constatees {
            println!("rupture constatée : {r}");
        }
        for p in rapport.problemes.iter().take(50) {
            println!("  {} : {}", p.fichier, p.probleme);
        }
        if rapport.valide() {
            println!("VALIDE : empreintes, cachets, journal et horodatages concordent.");
        } else {
            println!("NON VALIDE.");
        }
    }
    match rapport.problemes.first() {
        None => Ok(()),
        Some(p) => Err(CliError::failure(format!(
            "{} n'est PAS valide : {} : {} ({} problème(s) en tout)",
            file.display(),
            p.fichier,
            p.probleme,
            rapport.problemes.len()
        ))),
    }
}
