//! The export to Ma Démarche FSE's bulk integration of participants: a CSV laid out by a
//! declared column map (`fse/mdfse/<programme>.toml`: separator, encoding, date format, columns
//! with their source and codes), and the completeness report of the participants left out.

use crate::controle::{verifier, Defaut, Faute};
use crate::definition::{Genre, Moment, Questionnaire};
use crate::dossier::{lire_date, Participant, Reponse};
use crate::fichiers::{self, DefinitionError};
use chrono::NaiveDate;
use encoding_rs::Encoding;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

/// Where a column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `identite.<id>` or `reponses.<id>`: the answer to a question.
    Reponse(String),
    /// `participant.reference`
    Reference,
    /// `operation.numero`
    NumeroOperation,
    /// `operation.nom`
    NomOperation,
    /// `parcours.date_entree`
    DateEntree,
    /// `parcours.date_sortie`
    DateSortie,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Colonne {
    pub colonne: String,
    pub source: Source,
    /// Answer code → the platform's code; `nsp` for « ne se prononce pas ».
    pub codes: BTreeMap<String, String>,
}

/// A checked column map; only loading makes one, so that writing the file cannot fail on it.
#[derive(Debug, Clone)]
pub struct CarteMdfse {
    pub(crate) programme: String,
    pub(crate) separateur: u8,
    pub(crate) encodage: &'static Encoding,
    pub(crate) format_date: String,
    pub(crate) colonnes: Vec<Colonne>,
    pub(crate) source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fichier {
    programme: String,
    separateur: String,
    encodage: String,
    format_date: String,
    colonnes: Vec<FichierColonne>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FichierColonne {
    colonne: String,
    source: String,
    #[serde(default)]
    codes: BTreeMap<String, String>,
}

/// The code standing for « ne se prononce pas » in a column's codes.
const NSP: &str = "nsp";

impl CarteMdfse {
    /// The map of `programme` for a deployment (its data directory's file, else the embedded
    /// one), checked against the programme's questionnaire.
    pub fn charger(
        data_dir: &Path,
        programme: &str,
        q: &Questionnaire,
    ) -> Result<CarteMdfse, DefinitionError> {
        let (texte, source) = fichiers::texte(Some(data_dir), "mdfse", programme)?;
        CarteMdfse::lire(&texte, &source, q)
    }

    pub fn embarquee(programme: &str, q: &Questionnaire) -> Result<CarteMdfse, DefinitionError> {
        let (texte, source) = fichiers::texte(None, "mdfse", programme)?;
        CarteMdfse::lire(&texte, &source, q)
    }

    /// A map from its text; `source` names it in errors.
    pub fn lire(
        texte: &str,
        source: &str,
        q: &Questionnaire,
    ) -> Result<CarteMdfse, DefinitionError> {
        let invalide = |m: String| DefinitionError::invalide(source, m);
        let f: Fichier = toml::from_str(texte).map_err(|e| invalide(e.to_string()))?;
        if f.programme != q.programme {
            return Err(invalide(format!(
                "carte du programme « {} » pour le questionnaire « {} »",
                f.programme, q.programme
            )));
        }
        let separateur = match f.separateur.as_bytes() {
            [b] if b.is_ascii_punctuation() || *b == b'\t' => *b,
            _ => {
                return Err(invalide(format!(
                    "separateur « {} » : un seul signe ASCII attendu (« ; », « , », tabulation…)",
                    f.separateur
                )))
            }
        };
        // UTF-16 and the like encode to UTF-8 in encoding_rs: only encodings that write
        // themselves.
        let encodage = Encoding::for_label(f.encodage.trim().as_bytes())
            .filter(|e| e.output_encoding() == *e)
            .ok_or_else(|| {
                invalide(format!(
                    "encodage « {} » inconnu (utf-8 ou windows-1252 par exemple)",
                    f.encodage
                ))
            })?;
        // A format chrono cannot apply to a day (unknown or time specifiers) fails on any day:
        // try one, so that writing the file never does.
        let essai = NaiveDate::from_ymd_opt(2014, 1, 31).map(|d| {
            let mut s = String::new();
            write!(s, "{}", d.format(&f.format_date)).map(|_| s)
        });
        if !matches!(essai, Some(Ok(s)) if !s.is_empty()) {
            return Err(invalide(format!(
                "format_date « {} » invalide (par exemple %d/%m/%Y)",
                f.format_date
            )));
        }
        let mut noms = BTreeSet::new();
        let mut colonnes = Vec::new();
        for c in f.colonnes {
            if !noms.insert(c.colonne.clone()) {
                return Err(invalide(format!(
                    "colonne « {} » déclarée deux fois",
                    c.colonne
                )));
            }
            // What the map writes itself must fit its encoding: only answers may not.
            if let Some(texte) = std::iter::once(&c.colonne)
                .chain(c.codes.values())
                .find(|t| encodage.encode(t).2)
            {
                return Err(invalide(format!(
                    "colonne « {} » : « {texte} » a un caractère que {} ne sait pas écrire",
                    c.colonne,
                    encodage.name()
                )));
            }
            let source = lire_source(&c, q)
                .map_err(|m| invalide(format!("colonne « {} » : {m}", c.colonne)))?;
            colonnes.push(Colonne {
                colonne: c.colonne,
                source,
                codes: c.codes,
            });
        }
        if colonnes.is_empty() {
            return Err(invalide("aucune colonne".into()));
        }
        Ok(CarteMdfse {
            programme: f.programme,
            separateur,
            encodage,
            format_date: f.format_date,
            colonnes,
            source: source.to_owned(),
        })
    }

    pub fn programme(&self) -> &str {
        &self.programme
    }

    /// The encoding's name, for the file's download.
    pub fn encodage(&self) -> &'static str {
        self.encodage.name()
    }

    pub fn colonnes(&self) -> &[Colonne] {
        &self.colonnes
    }

    /// Where it was read from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The moments whose answers the file carries.
    fn moments(&self, q: &Questionnaire) -> BTreeSet<Moment> {
        let mut m: BTreeSet<Moment> = self
            .colonnes
            .iter()
            .filter_map(|c| match &c.source {
                Source::Reponse(id) => q.question(id).map(|x| x.moment),
                _ => None,
            })
            .collect();
        m.insert(Moment::Entree);
        m
    }
}

/// A column's source, and its codes checked against the question's choices.
fn lire_source(c: &FichierColonne, q: &Questionnaire) -> Result<Source, String> {
    let fait = match c.source.as_str() {
        "participant.reference" => Some(Source::Reference),
        "operation.numero" => Some(Source::NumeroOperation),
        "operation.nom" => Some(Source::NomOperation),
        "parcours.date_entree" => Some(Source::DateEntree),
        "parcours.date_sortie" => Some(Source::DateSortie),
        _ => None,
    };
    if let Some(fait) = fait {
        if !c.codes.is_empty() {
            return Err(format!(
                "des codes pour la source « {} », qui n'est pas une réponse",
                c.source
            ));
        }
        return Ok(fait);
    }
    let question = match c.source.split_once('.') {
        Some(("identite", id)) => q.identite.iter().find(|x| x.id == id),
        Some(("reponses", id)) => q.questions.iter().find(|x| x.id == id),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "source inconnue « {} » (identite.<question>, reponses.<question>, participant.reference, operation.numero, operation.nom, parcours.date_entree, parcours.date_sortie)",
            c.source
        )
    })?;
    if !c.codes.is_empty() || question.nsp {
        for code in c.codes.keys() {
            if code != NSP && !question.choix.iter().any(|x| &x.code == code) {
                return Err(format!(
                    "code pour un choix inconnu « {code} » de « {} » (choix : {})",
                    question.id,
                    question.codes()
                ));
            }
        }
        // Every answer the check lets through must have its code.
        let mut attendus: Vec<&str> = question.choix.iter().map(|x| x.code.as_str()).collect();
        if question.nsp {
            attendus.push(NSP);
        }
        if let Some(manquant) = attendus.iter().find(|a| !c.codes.contains_key(**a)) {
            return Err(format!(
                "pas de code pour « {manquant} » de « {} »",
                question.id
            ));
        }
        if c.codes.contains_key(NSP) && !question.nsp {
            return Err(format!(
                "code « nsp » pour « {} », qui n'admet pas « ne se prononce pas »",
                question.id
            ));
        }
    }
    Ok(Source::Reponse(question.id.clone()))
}

/// A participant left out of the file, what is missing, and who must act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incomplet {
    pub participant: String,
    pub referent: String,
    pub defauts: Vec<Defaut>,
}

/// What the export did: who is in the file, who is not and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rapport {
    pub exportes: Vec<String>,
    pub incomplets: Vec<Incomplet>,
}

#[derive(Debug)]
pub struct Export {
    /// The CSV, in the map's encoding.
    pub csv: Vec<u8>,
    pub rapport: Rapport,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("écriture du CSV Ma Démarche FSE : {0}")]
    Csv(#[from] csv::Error),
    #[error("écriture du CSV Ma Démarche FSE : {0}")]
    Tampon(String),
}

/// The CSV of the participants whose questionnaire is complete on `aujourdhui` (the moments the
/// map carries), and the report of the others, left out.
pub fn exporter(
    carte: &CarteMdfse,
    q: &Questionnaire,
    participants: &[Participant],
    aujourdhui: NaiveDate,
) -> Result<Export, ExportError> {
    let moments = carte.moments(q);
    let mut w = csv::WriterBuilder::new()
        .delimiter(carte.separateur)
        .from_writer(Vec::new());
    w.write_record(
        carte
            .colonnes
            .iter()
            .map(|c| carte.encodage.encode(&c.colonne).0),
    )?;
    let mut rapport = Rapport::default();
    for p in participants {
        let mut defauts: Vec<Defaut> = moments
            .iter()
            .flat_map(|m| verifier(q, *m, &p.parcours, &p.reponses, aujourdhui))
            .collect();
        let mut ligne = Vec::with_capacity(carte.colonnes.len());
        for c in &carte.colonnes {
            let texte = cellule(carte, q, c, p);
            let (octets, _, perte) = carte.encodage.encode(&texte);
            if perte {
                let detail = format!(
                    "« {texte} » a un caractère que {} ne sait pas écrire",
                    carte.encodage.name()
                );
                let question = match &c.source {
                    Source::Reponse(id) => q.question(id),
                    _ => None,
                };
                // A fact of the parcours or the opération is named by its column.
                defauts.push(match question {
                    Some(question) => Defaut::new(question, Faute::Encodage, detail),
                    None => Defaut {
                        question: c.colonne.clone(),
                        libelle: c.colonne.clone(),
                        moment: Moment::Entree,
                        faute: Faute::Encodage,
                        message: format!("{} : {detail}", c.colonne),
                    },
                });
            }
            ligne.push(octets.into_owned());
        }
        if defauts.is_empty() {
            w.write_record(&ligne)?;
            rapport.exportes.push(p.reference.clone());
        } else {
            rapport.incomplets.push(Incomplet {
                participant: p.reference.clone(),
                referent: p.referent.clone(),
                defauts,
            });
        }
    }
    let csv = w
        .into_inner()
        .map_err(|e| ExportError::Tampon(e.error().to_string()))?;
    Ok(Export { csv, rapport })
}

/// A cell's text, before encoding: codes mapped, dates in the map's format, a question
/// without object left empty.
fn cellule(carte: &CarteMdfse, q: &Questionnaire, c: &Colonne, p: &Participant) -> String {
    let date = |d: NaiveDate| d.format(&carte.format_date).to_string();
    match &c.source {
        Source::Reference => p.reference.clone(),
        Source::NumeroOperation => p.operation.numero.clone(),
        Source::NomOperation => p.operation.nom.clone(),
        Source::DateEntree => date(p.parcours.entree),
        Source::DateSortie => p.parcours.sortie.map(date).unwrap_or_default(),
        Source::Reponse(id) => {
            let Some(question) = q.question(id) else {
                return String::new();
            };
            if !q.applicable(question, &p.reponses) {
                return String::new();
            }
            let code = match p.reponses.get(id) {
                None => return String::new(),
                Some(Reponse::NeSePrononcePas) => NSP,
                Some(Reponse::Valeur(v)) => v.trim(),
            };
            if let Some(c) = c.codes.get(code) {
                return c.clone();
            }
            match (question.genre, lire_date(code)) {
                (Genre::Date, Some(d)) => date(d),
                _ => code.to_owned(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dossier::Reponses;
    use crate::essais::{avec, entree_pon, j, participant, plus, pon};
    use encoding_rs::WINDOWS_1252;

    fn texte_carte(programme: &str) -> String {
        fichiers::texte(None, "mdfse", programme)
            .unwrap()
            .0
            .into_owned()
    }

    fn erreur(texte: &str) -> String {
        CarteMdfse::lire(texte, "fse/mdfse/pon-2014-2020.toml", &pon())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn les_cartes_embarquees_se_chargent() {
        let c = CarteMdfse::embarquee("pon-2014-2020", &pon()).unwrap();
        assert_eq!((c.separateur, c.encodage), (b';', WINDOWS_1252));
        let c = CarteMdfse::embarquee("fse-plus-2021-2027", &plus()).unwrap();
        assert_eq!(c.encodage, encoding_rs::UTF_8);
        // A map checked against another programme's questionnaire.
        let e = CarteMdfse::embarquee("fse-plus-2021-2027", &pon())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "carte du programme « fse-plus-2021-2027 » pour le questionnaire « pon-2014-2020 »"
            ),
            "{e}"
        );
    }

    #[test]
    fn une_source_inconnue_est_refusee_en_nommant_la_colonne() {
        let t = texte_carte("pon-2014-2020")
            .replace("source = \"reponses.q2\"", "source = \"reponses.q22\"");
        assert!(erreur(&t).starts_with(
            "fse/mdfse/pon-2014-2020.toml invalide : colonne « Diplôme (Q2) » : source inconnue « reponses.q22 »"
        ));
        // An identity question is not a `reponses.` one.
        let t = texte_carte("pon-2014-2020")
            .replace("source = \"identite.nom\"", "source = \"reponses.nom\"");
        assert!(erreur(&t).contains("colonne « Nom » : source inconnue « reponses.nom »"));
    }

    #[test]
    fn des_codes_qui_ne_couvrent_pas_les_choix_sont_refuses() {
        let t = texte_carte("pon-2014-2020");
        let inconnu = t.replace("\"2a\" = \"1\"", "\"2z\" = \"1\"");
        assert!(erreur(&inconnu)
            .contains("colonne « Diplôme (Q2) » : code pour un choix inconnu « 2z » de « q2 »"));
        let sans_nsp = t.replacen(", nsp = \"Ne se prononce pas\"", "", 1);
        assert!(erreur(&sans_nsp).contains("pas de code pour « nsp » de « q5 »"));
    }

    #[test]
    fn separateur_encodage_et_format_de_date_sont_verifies() {
        let t = texte_carte("pon-2014-2020");
        assert!(
            erreur(&t.replace("encodage = \"windows-1252\"", "encodage = \"utf-16le\""))
                .contains("encodage « utf-16le » inconnu")
        );
        assert!(
            erreur(&t.replace("separateur = \";\"", "separateur = \";;\""))
                .contains("separateur « ;; »")
        );
        let illisible = t.replace("colonne = \"Prénom\"", "colonne = \"Prénom ő\"");
        assert!(erreur(&illisible).contains("colonne « Prénom ő » : « Prénom ő » a un caractère que windows-1252 ne sait pas écrire"));
        for format in ["%Q", "%H:%M", ""] {
            let e = erreur(&t.replace(
                "format_date = \"%d/%m/%Y\"",
                &format!("format_date = \"{format}\""),
            ));
            assert!(
                e.contains(&format!("format_date « {format} » invalide")),
                "{e}"
            );
        }
    }

    /// 30 participants, names with accents; p17's diploma missing; p05 exited with its data.
    fn trente() -> Vec<Participant> {
        let noms = [
            ("DUPRÉ", "ÉLOÏSE"),
            ("LEFÈVRE", "FRANÇOIS"),
            ("NGUYEN", "THỊ"),
            ("MÜLLER", "NOËL"),
            ("BENALI", "SAMIRA"),
        ];
        let emploi = ["1a", "1b", "1c", "1d", "non"];
        (1..=30)
            .map(|n| {
                let mut r = entree_pon();
                let (nom, prenom) = noms[n % noms.len()];
                // THỊ has a letter Windows-1252 lacks: spell it as the person's card does.
                let prenom = if prenom == "THỊ" { "THI" } else { prenom };
                let q1 = emploi[(n - 1) % 5];
                avec(&mut r, &[("nom", nom), ("prenom", prenom), ("q1", q1)]);
                if q1 != "non" {
                    avec(&mut r, &[("q1e", ""), ("q1f", ""), ("q1g", "")]);
                }
                if n % 3 == 0 {
                    r.inserer("q6", Reponse::NeSePrononcePas);
                }
                let mut p = participant(&format!("p{n:02}"), r);
                if n == 17 {
                    avec(&mut p.reponses, &[("q2", "")]);
                }
                if n == 5 {
                    p.parcours.sortie = Some(j("2025-02-03"));
                    avec(
                        &mut p.reponses,
                        &[
                            ("date_recueil_sortie", "2025-02-20"),
                            ("s1", "non"),
                            ("s1e", "oui"),
                            ("s1f", "non"),
                            ("s2", "oui"),
                        ],
                    );
                }
                p
            })
            .collect()
    }

    #[test]
    fn l_export_de_30_participants_suit_la_carte_declaree() {
        let q = pon();
        let carte = CarteMdfse::embarquee("pon-2014-2020", &q).unwrap();
        let export = exporter(&carte, &q, &trente(), j("2025-03-01")).unwrap();

        // The incomplete one is reported, with what is missing and who must act.
        assert_eq!(export.rapport.exportes.len(), 29);
        assert!(!export.rapport.exportes.contains(&"p17".to_owned()));
        assert_eq!(export.rapport.incomplets.len(), 1);
        let p17 = &export.rapport.incomplets[0];
        assert_eq!(
            (p17.participant.as_str(), p17.referent.as_str()),
            ("p17", "Claire Martin")
        );
        assert_eq!(
            p17.defauts
                .iter()
                .map(|d| (d.question.as_str(), d.faute))
                .collect::<Vec<_>>(),
            vec![("q2", Faute::SansReponse)]
        );

        // Windows-1252 as declared: É is one byte, and the whole decodes without loss.
        assert!(export.csv.contains(&0xC9));
        assert!(std::str::from_utf8(&export.csv).is_err());
        let (texte, _, perte) = WINDOWS_1252.decode(&export.csv);
        assert!(!perte);
        let mut lecteur = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(texte.as_bytes());
        let entete: Vec<String> = lecteur
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        let colonnes: Vec<String> = carte.colonnes.iter().map(|c| c.colonne.clone()).collect();
        assert_eq!(entete, colonnes);
        let lignes: Vec<BTreeMap<String, String>> = lecteur
            .records()
            .map(|r| {
                entete
                    .iter()
                    .cloned()
                    .zip(r.unwrap().iter().map(str::to_owned))
                    .collect()
            })
            .collect();
        assert_eq!(lignes.len(), 29);
        let ligne = |p: &str| {
            lignes
                .iter()
                .find(|l| l["Identifiant du participant"] == p)
                .unwrap()
        };
        assert!(lignes
            .iter()
            .all(|l| l["Identifiant du participant"] != "p17"));

        // p01: self-employed (1a → 1): 1e-1g without object, empty.
        let p01 = ligne("p01");
        assert_eq!(
            (p01["Nom"].as_str(), p01["Prénom"].as_str()),
            ("LEFÈVRE", "FRANÇOIS")
        );
        assert_eq!(ligne("p05")["Nom"], "DUPRÉ");
        assert_eq!(ligne("p05")["Prénom"], "ÉLOÏSE");
        assert_eq!(ligne("p03")["Nom"], "MÜLLER");
        assert_eq!(p01["Situation emploi (Q1)"], "1");
        assert_eq!(
            (
                p01["En formation (1e)"].as_str(),
                p01["Mois de recherche (1g)"].as_str()
            ),
            ("", "")
        );
        // Dates in the declared format.
        assert_eq!(p01["Date de naissance"], "12/04/1990");
        assert_eq!(p01["Date d'entrée"], "06/01/2025");
        assert_eq!(p01["Date de sortie"], "");
        // Codes as declared, « ne se prononce pas » included.
        assert_eq!(p01["Sexe"], "2");
        assert_eq!(p01["Diplôme (Q2)"], "3");
        assert_eq!(
            p01["Sans domicile fixe ou exclusion du logement (Q5)"],
            "Ne se prononce pas"
        );
        assert_eq!(p01["Parent né à l'étranger (Q6)"], "Non");
        assert_eq!(
            ligne("p03")["Parent né à l'étranger (Q6)"],
            "Ne se prononce pas"
        );
        // p05: job seeker at entry (non → 5, 14 months), exited with its data.
        let p05 = ligne("p05");
        assert_eq!(
            [
                &p05["Situation emploi (Q1)"],
                &p05["Recherche d'emploi (1f)"],
                &p05["Mois de recherche (1g)"]
            ],
            ["5", "Oui", "14"]
        );
        assert_eq!(p05["Date de sortie"], "03/02/2025");
        assert_eq!(
            [
                &p05["Situation emploi à la sortie"],
                &p05["En formation à la sortie"],
                &p05["Qualification obtenue"]
            ],
            ["5", "Oui", "Oui"]
        );
        assert_eq!(p05["Numéro de l'opération"], "202400123");
        assert_eq!(
            p05["Nom de l'opération"],
            "PLIE Lyon — accompagnement renforcé"
        );
    }

    #[test]
    fn un_caractere_que_l_encodage_ne_sait_pas_ecrire_est_signale() {
        let q = pon();
        let carte = CarteMdfse::embarquee("pon-2014-2020", &q).unwrap();
        let mut r = entree_pon();
        avec(&mut r, &[("nom", "SZŐKE")]);
        let export = exporter(&carte, &q, &[participant("p01", r)], j("2025-03-01")).unwrap();
        assert!(export.rapport.exportes.is_empty());
        let d = &export.rapport.incomplets[0].defauts;
        assert_eq!(
            (d[0].question.as_str(), d[0].faute),
            ("nom", Faute::Encodage)
        );
        assert!(d[0]
            .message
            .ends_with("« SZŐKE » a un caractère que windows-1252 ne sait pas écrire"));
        let mut p = participant("p02", entree_pon());
        p.operation.nom = "PLIE → emploi".into();
        let export = exporter(&carte, &q, &[p], j("2025-03-01")).unwrap();
        let d = &export.rapport.incomplets[0].defauts;
        assert_eq!(
            d[0].message,
            "Nom de l'opération : « PLIE → emploi » a un caractère que windows-1252 ne sait pas écrire"
        );
        // The file has its header only.
        assert_eq!(WINDOWS_1252.decode(&export.csv).0.lines().count(), 1);
    }

    #[test]
    fn l_export_fse_plus_en_utf_8() {
        let q = plus();
        let carte = CarteMdfse::embarquee("fse-plus-2021-2027", &q).unwrap();
        let mut r = Reponses::new();
        avec(
            &mut r,
            &[
                ("nom", "NGUYEN"),
                ("prenom", "THỊ"),
                ("date_naissance", "2001-07-30"),
                ("sexe", "femme"),
                ("commune_naissance", "99999"),
                ("referent_nom", "CCAS de Lyon"),
                ("referent_telephone", "0472000000"),
                ("date_questionnaire", "2025-01-06"),
                ("q1", "non"),
                ("q1e", "non"),
                ("q1f", "oui"),
                ("q1g", "8"),
                ("q2", "cite_3_4"),
                ("nationalite", "pays_tiers"),
                ("origine", "oui"),
                ("zone_rurale", "non"),
            ],
        );
        for nsp in ["handicap", "minorite", "logement"] {
            r.inserer(nsp, Reponse::NeSePrononcePas);
        }
        let export = exporter(&carte, &q, &[participant("p01", r)], j("2025-03-01")).unwrap();
        assert_eq!(export.rapport.incomplets, vec![]);
        let texte = std::str::from_utf8(&export.csv).unwrap();
        let mut lecteur = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_reader(texte.as_bytes());
        let entete = lecteur.headers().unwrap().clone();
        let ligne = lecteur.records().next().unwrap().unwrap();
        let valeur = |c: &str| {
            ligne
                .get(entete.iter().position(|h| h == c).unwrap())
                .unwrap()
                .to_owned()
        };
        assert_eq!(valeur("Prénom"), "THỊ");
        assert_eq!(valeur("Niveau CITE"), "CITE 3-4");
        assert_eq!(valeur("Nationalité"), "HORS UE");
        assert_eq!(valeur("Handicap"), "Ne se prononce pas");
        assert_eq!(valeur("Adresse"), "");
        assert_eq!(valeur("Contact référent"), "CCAS de Lyon");
    }
}
