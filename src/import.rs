//! Import of participants and their référents from a parcours software extraction (UP Viesion
//! style: one line per participant, `;`-separated, dates `JJ/MM/AAAA`, headers in French; the
//! columns are listed in the README). Every line is checked first; one bad line and nothing is
//! written, with the list of lines and fields to fix.

use crate::auth::RolePersonnel;
use crate::db;
use crate::db::participants::{self, Fiche};
use crate::db::personnel::{self, NouveauPersonnel};
use crate::delivery::email_valide;
use crate::service::{App, Erreur};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::HashMap;

/// The columns, as the extraction names them. Required ones first.
pub const COLONNES: [(&str, bool); 21] = [
    ("Identifiant", true),
    ("Civilité", false),
    ("Nom", true),
    ("Prénom", true),
    ("Date de naissance", false),
    ("Email", false),
    ("Téléphone", false),
    ("Code postal", false),
    ("Commune", true),
    ("Département", false),
    ("Email référent", true),
    ("Nom référent", true),
    ("Prénom référent", true),
    ("Opération", false),
    ("Prescripteur", false),
    ("Email prescripteur", false),
    ("Date d'entrée", false),
    ("RSA", false),
    ("Début CER", false),
    ("Date de sortie", false),
    ("Motif de sortie", false),
];

/// One thing to fix in the file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ErreurLigne {
    /// Line in the file (the header is line 1).
    pub ligne: usize,
    pub colonne: String,
    pub message: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Rapport {
    pub participants: usize,
    pub referents: usize,
    pub bilans: crate::schedule::Planification,
}

/// A line read and checked, ready to be written.
pub struct Ligne {
    fiche: Fiche,
    referent: (String, String, String),
    operation: Option<String>,
}

fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%d/%m/%Y")
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()
}

/// Reads and checks the whole file; either every line is usable, or the errors of all lines.
pub fn lire(texte: &str) -> Result<Vec<Ligne>, Vec<ErreurLigne>> {
    let texte = texte.trim_start_matches('\u{feff}');
    let separateur = if texte.lines().next().is_some_and(|l| l.contains(';')) {
        b';'
    } else {
        b','
    };
    let mut lecteur = csv::ReaderBuilder::new()
        .delimiter(separateur)
        .flexible(false)
        .from_reader(texte.as_bytes());
    let erreur = |ligne: usize, colonne: &str, message: String| ErreurLigne {
        ligne,
        colonne: colonne.to_owned(),
        message,
    };
    let entetes = match lecteur.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_owned()).collect::<Vec<_>>(),
        Err(e) => return Err(vec![erreur(1, "", format!("en-tête illisible : {e}"))]),
    };
    let mut erreurs = Vec::new();
    let mut index = HashMap::new();
    for (nom, requis) in COLONNES {
        match entetes.iter().position(|h| h.eq_ignore_ascii_case(nom)) {
            Some(i) => {
                index.insert(nom, i);
            }
            None if requis => erreurs.push(erreur(1, nom, "colonne absente de l'en-tête".into())),
            None => {}
        }
    }
    for inconnue in entetes
        .iter()
        .filter(|h| !COLONNES.iter().any(|(c, _)| c.eq_ignore_ascii_case(h)))
    {
        erreurs.push(erreur(
            1,
            inconnue,
            "colonne inconnue (voir la liste des colonnes dans le README)".into(),
        ));
    }
    if !erreurs.is_empty() {
        return Err(erreurs);
    }
    let mut lignes = Vec::new();
    let mut vus: HashMap<String, usize> = HashMap::new();
    for (i, enregistrement) in lecteur.records().enumerate() {
        let n = i + 2;
        let enregistrement = match enregistrement {
            Ok(e) => e,
            Err(e) => {
                erreurs.push(erreur(n, "", format!("ligne illisible : {e}")));
                continue;
            }
        };
        let champ = |nom: &str| -> String {
            index
                .get(nom)
                .and_then(|&i| enregistrement.get(i))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        let facultatif = |nom: &str| Some(champ(nom)).filter(|v| !v.is_empty());
        let mut ok = true;
        for (nom, requis) in COLONNES {
            if requis && champ(nom).is_empty() {
                erreurs.push(erreur(n, nom, "valeur obligatoire manquante".into()));
                ok = false;
            }
        }
        let mut jour = |nom: &str| -> Option<String> {
            let v = facultatif(nom)?;
            match date(&v) {
                Some(d) => Some(db::jour(d)),
                None => {
                    erreurs.push(erreur(
                        n,
                        nom,
                        format!("« {v} » n'est pas une date JJ/MM/AAAA"),
                    ));
                    ok = false;
                    None
                }
            }
        };
        let (naissance, entree, cer, sortie) = (
            jour("Date de naissance"),
            jour("Date d'entrée"),
            jour("Début CER"),
            jour("Date de sortie"),
        );
        for nom in ["Email", "Email référent", "Email prescripteur"] {
            if let Some(v) = facultatif(nom) {
                if !email_valide(&v) {
                    erreurs.push(erreur(
                        n,
                        nom,
                        format!("« {v} » n'est pas une adresse e-mail"),
                    ));
                    ok = false;
                }
            }
        }
        let rsa = match champ("RSA").to_lowercase().as_str() {
            "" | "non" | "n" | "0" | "false" => false,
            "oui" | "o" | "1" | "true" => true,
            autre => {
                erreurs.push(erreur(
                    n,
                    "RSA",
                    format!("« {autre} » : attendu Oui ou Non"),
                ));
                ok = false;
                false
            }
        };
        if rsa && cer.is_none() {
            erreurs.push(erreur(
                n,
                "Début CER",
                "un participant au RSA a un CER : indiquez sa date de début".into(),
            ));
            ok = false;
        }
        let identifiant = champ("Identifiant");
        if let Some(premiere) = vus.insert(identifiant.clone(), n) {
            erreurs.push(erreur(
                n,
                "Identifiant",
                format!("« {identifiant} » figure déjà ligne {premiere}"),
            ));
            ok = false;
        }
        if ok {
            lignes.push(Ligne {
                fiche: Fiche {
                    identifiant_externe: identifiant,
                    civilite: champ("Civilité"),
                    nom: champ("Nom"),
                    prenom: champ("Prénom"),
                    date_naissance: naissance,
                    email: facultatif("Email"),
                    telephone: facultatif("Téléphone"),
                    commune: champ("Commune"),
                    code_postal: champ("Code postal"),
                    departement: facultatif("Département"),
                    referent_id: None,
                    operation_id: None,
                    prescripteur: champ("Prescripteur"),
                    email_prescripteur: facultatif("Email prescripteur"),
                    date_entree: entree,
                    rsa,
                    cer_debut: cer,
                    date_sortie: sortie,
                    motif_sortie: facultatif("Motif de sortie"),
                },
                referent: (
                    champ("Email référent").to_lowercase(),
                    champ("Nom référent"),
                    champ("Prénom référent"),
                ),
                operation: facultatif("Opération"),
            });
        }
    }
    if erreurs.is_empty() {
        Ok(lignes)
    } else {
        Err(erreurs)
    }
}

/// Why an import wrote nothing.
#[derive(Debug)]
pub enum ImportError {
    Lignes(Vec<ErreurLigne>),
    Service(Erreur),
}

impl From<Erreur> for ImportError {
    fn from(e: Erreur) -> Self {
        ImportError::Service(e)
    }
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        ImportError::Service(e.into())
    }
}

/// Imports the file into the PLIE in one transaction (the caller then schedules the bilans
/// BRSA: see [`importer_et_planifier`]).
pub async fn importer(app: &App, plie: &str, texte: &str) -> Result<Rapport, ImportError> {
    let lignes = lire(texte).map_err(ImportError::Lignes)?;
    let maintenant = app.horloge.maintenant();
    let le = db::instant(maintenant);
    let mut tx = app.db.begin().await?;
    let mut referents: HashMap<String, i64> = HashMap::new();
    let mut operations: HashMap<String, i64> = HashMap::new();
    let mut erreurs = Vec::new();
    let mut fiches = Vec::with_capacity(lignes.len());
    for (i, mut ligne) in lignes.into_iter().enumerate() {
        let (email, nom, prenom) = &ligne.referent;
        let id = match referents.get(email) {
            Some(id) => Some(*id),
            None => {
                let id = personnel::enregistrer(
                    &mut *tx,
                    &NouveauPersonnel {
                        plie,
                        email,
                        nom,
                        prenom,
                        role: RolePersonnel::Referent,
                        structure: "",
                        identifiant_externe: None,
                    },
                    &le,
                )
                .await?;
                if let Some(id) = id {
                    referents.insert(email.clone(), id);
                }
                id
            }
        };
        let Some(id) = id else {
            erreurs.push(ErreurLigne {
                ligne: i + 2,
                colonne: "Email référent".into(),
                message: format!("« {email} » est le compte d'un autre PLIE"),
            });
            continue;
        };
        ligne.fiche.referent_id = Some(id);
        if let Some(code) = &ligne.operation {
            let id = match operations.get(code) {
                Some(id) => *id,
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO operation (plie, code, intitule) VALUES (?, ?, ?)
                         ON CONFLICT (plie, code) DO UPDATE SET code = excluded.code RETURNING id",
                    )
                    .bind(plie)
                    .bind(code)
                    .bind(format!("Opération {code}"))
                    .fetch_one(&mut *tx)
                    .await?;
                    operations.insert(code.clone(), id);
                    id
                }
            };
            ligne.fiche.operation_id = Some(id);
        }
        fiches.push(ligne.fiche);
    }
    if !erreurs.is_empty() {
        return Err(ImportError::Lignes(erreurs));
    }
    for fiche in &fiches {
        participants::enregistrer(&mut *tx, plie, fiche, &le).await?;
    }
    tx.commit().await?;
    Ok(Rapport {
        participants: fiches.len(),
        referents: referents.len(),
        bilans: Default::default(),
    })
}

/// Imports, then brings the bilans BRSA of the PLIE's participants on RSA up to date.
pub async fn importer_et_planifier(
    app: &App,
    plie: &str,
    texte: &str,
) -> Result<Rapport, ImportError> {
    let mut rapport = importer(app, plie, texte).await?;
    let au_rsa = participants::au_rsa(&app.db, plie).await?;
    rapport.bilans =
        crate::schedule::planifier(app, plie, &au_rsa, app.horloge.maintenant()).await?;
    Ok(rapport)
}
