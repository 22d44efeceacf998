//! The catalogue of justificatif types and the pieces each participant and each opération must
//! have: configuration, not code (exit grids and accepted pieces differ per PLIE). Read from
//! `<data-dir>/justificatifs/<plie>.toml`, else `<data-dir>/justificatifs.toml`, else the
//! embedded `storage/justificatifs.toml`.

use super::examen::Format;
use parafe_core::model::PlieId;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// The embedded default catalogue.
pub const PAR_DEFAUT: &str = include_str!("../../../../storage/justificatifs.toml");

/// One catalogue, as read and checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Written with every piece accepted and in every pack: which rules were applied.
    pub version: String,
    #[serde(default)]
    pub depot: ReglesDepot,
    #[serde(default)]
    pub pack: PackReglages,
    pub genres: BTreeMap<String, Genre>,
    #[serde(default)]
    pub exigences: Vec<Exigence>,
    /// Where it was read from (`(embarqué)` for the default), for error messages.
    #[serde(skip)]
    pub source: String,
}

/// `[depot]`: what an upload may be.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReglesDepot {
    /// Largest piece accepted, in bytes; checked while the piece streams in.
    pub taille_max: u64,
}

impl Default for ReglesDepot {
    fn default() -> Self {
        Self {
            taille_max: 50 * 1024 * 1024,
        }
    }
}

/// `[pack]`: personal data minimisation in audit packs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PackReglages {
    /// Document templates whose sealed PDFs leave only when sensitive data is asked for.
    pub modeles_sensibles: Vec<String>,
    /// Participant fields the index shows besides name and id.
    pub index_participant: Vec<ChampParticipant>,
}

impl Default for PackReglages {
    fn default() -> Self {
        Self {
            modeles_sensibles: Vec::new(),
            index_participant: vec![ChampParticipant::DateEntree, ChampParticipant::DateSortie],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChampParticipant {
    DateEntree,
    DateSortie,
    MotifSortie,
    Commune,
    DateNaissance,
}

/// A type of justificatif.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genre {
    pub libelle: String,
    pub formats: Vec<Format>,
    /// Health, disability, justice: left out of packs unless asked for.
    #[serde(default)]
    pub sensible: bool,
    /// A piece of the opération itself (publicity, conventions), offered where one is filed
    /// for it; a requirement of the opération names its own types without it.
    #[serde(default)]
    pub portee: Portee,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Portee {
    #[default]
    Participant,
    Operation,
}

/// What starts the clock of a requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Depuis {
    Entree,
    Sortie,
}

/// One expected piece (or one piece a month).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exigence {
    pub id: String,
    pub libelle: String,
    pub portee: Portee,
    /// Justificatif types that satisfy it, any one of them.
    #[serde(default)]
    pub une_parmi: Vec<String>,
    /// Sealed parafe documents (template names) that satisfy it.
    #[serde(default)]
    pub documents: Vec<String>,
    pub depuis: Option<Depuis>,
    #[serde(default)]
    pub delai_jours: u32,
    /// At least this many pieces each calendar month: between entry and exit for a
    /// participant, over the period for the opération (staff time sheets).
    pub par_mois: Option<u32>,
    /// Counted for each staff member who signs the documents in this role (a time sheet's
    /// employee), each month from his first sheet, rather than for the opération as a whole.
    pub par_signataire: Option<String>,
    /// Each document of the templates carries its own due day (bilans BRSA).
    #[serde(default)]
    pub echeances: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue des justificatifs {path} illisible : {source}")]
    Lecture {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("catalogue des justificatifs {source_name} invalide : {message}")]
    Invalide {
        source_name: String,
        message: String,
    },
}

impl Catalogue {
    /// The catalogue in force for `plie`.
    pub fn charger(data_dir: &Path, plie: &PlieId) -> Result<Catalogue, CatalogueError> {
        for path in [
            data_dir
                .join("justificatifs")
                .join(format!("{}.toml", plie.as_str())),
            data_dir.join("justificatifs.toml"),
        ] {
            match std::fs::read_to_string(&path) {
                Ok(text) => return Catalogue::lire(&text, &path.display().to_string()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(CatalogueError::Lecture { path, source }),
            }
        }
        Catalogue::par_defaut()
    }

    pub fn par_defaut() -> Result<Catalogue, CatalogueError> {
        Catalogue::lire(PAR_DEFAUT, "(catalogue embarqué)")
    }

    /// Parses and checks a catalogue; an error names the file and what to fix.
    pub fn lire(text: &str, source_name: &str) -> Result<Catalogue, CatalogueError> {
        let invalide = |message: String| CatalogueError::Invalide {
            source_name: source_name.to_owned(),
            message,
        };
        let mut catalogue: Catalogue = toml::from_str(text).map_err(|e| invalide(e.to_string()))?;
        catalogue.source = source_name.to_owned();
        if catalogue.version.trim().is_empty() {
            return Err(invalide("`version` ne doit pas être vide".into()));
        }
        if catalogue.depot.taille_max == 0 {
            return Err(invalide("[depot] taille_max doit être positive".into()));
        }
        for (id, genre) in &catalogue.genres {
            if genre.formats.is_empty() {
                return Err(invalide(format!(
                    "le type « {id} » n'accepte aucun format (formats = [\"pdf\", …])"
                )));
            }
        }
        let modeles = parafe_template::template::Catalogue::embedded().ok();
        let connu = |m: &str| modeles.is_none_or(|c| c.get(m).is_ok());
        if let Some(m) = catalogue.pack.modeles_sensibles.iter().find(|m| !connu(m)) {
            return Err(invalide(format!(
                "[pack] modeles_sensibles : modèle « {m} » inconnu"
            )));
        }
        let mut vus = HashSet::new();
        for e in &catalogue.exigences {
            let ici = format!("exigence « {} »", e.id);
            if !vus.insert(e.id.as_str()) {
                return Err(invalide(format!("{ici} déclarée deux fois")));
            }
            if e.une_parmi.is_empty() && e.documents.is_empty() {
                return Err(invalide(format!(
                    "{ici} : indiquez les pièces qui la satisfont (une_parmi ou documents)"
                )));
            }
            if let Some(g) = e
                .une_parmi
                .iter()
                .find(|g| !catalogue.genres.contains_key(*g))
            {
                return Err(invalide(format!(
                    "{ici} : type de justificatif « {g} » absent de [genres]"
                )));
            }
            if let Some(m) = e.documents.iter().find(|m| !connu(m)) {
                return Err(invalide(format!(
                    "{ici} : modèle de document « {m} » inconnu"
                )));
            }
            if e.portee == Portee::Operation && (e.depuis.is_some() || e.echeances) {
                return Err(invalide(format!(
                    "{ici} : depuis et echeances ne valent que pour la portée « participant »"
                )));
            }
            if e.par_mois == Some(0) {
                return Err(invalide(format!("{ici} : par_mois doit être au moins 1")));
            }
            if e.par_signataire.is_some()
                && (e.portee != Portee::Operation || e.par_mois.is_none() || e.documents.is_empty())
            {
                return Err(invalide(format!(
                    "{ici} : par_signataire ne vaut que pour des documents par mois de portée « operation »"
                )));
            }
        }
        Ok(catalogue)
    }

    pub fn genre(&self, id: &str) -> Option<&Genre> {
        self.genres.get(id)
    }

    /// The types filed for an opération itself: those said so, and those its requirements ask for.
    pub fn genres_de_l_operation(&self) -> Vec<(&str, &Genre)> {
        let exigees: HashSet<&str> = self
            .exigences
            .iter()
            .filter(|e| e.portee == Portee::Operation)
            .flat_map(|e| e.une_parmi.iter().map(String::as_str))
            .collect();
        self.genres
            .iter()
            .filter(|(id, g)| g.portee == Portee::Operation || exigees.contains(id.as_str()))
            .map(|(id, g)| (id.as_str(), g))
            .collect()
    }

    /// The French label of a justificatif type or a document template.
    pub fn libelle(&self, id: &str) -> String {
        if let Some(g) = self.genres.get(id) {
            return g.libelle.clone();
        }
        parafe_template::template::Catalogue::embedded()
            .ok()
            .and_then(|c| c.get(id).ok())
            .map(|s| s.titre.clone())
            .unwrap_or_else(|| id.to_owned())
    }

    /// Whether pieces of this type or template leave in a pack only on express request.
    pub fn est_sensible(&self, genre_ou_modele: &str) -> bool {
        self.genres.get(genre_ou_modele).is_some_and(|g| g.sensible)
            || self
                .pack
                .modeles_sensibles
                .iter()
                .any(|m| m == genre_ou_modele)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn les_types_de_l_operation_sont_les_siens_et_ceux_de_ses_exigences() {
        let c = Catalogue::par_defaut().unwrap();
        let ids: Vec<&str> = c
            .genres_de_l_operation()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        // photo-affiche-fse: named by the requirement « affiche-fse » only.
        assert_eq!(
            ids,
            [
                "convention-operation",
                "photo-affiche-fse",
                "preuve-publicite"
            ]
        );
    }

    #[test]
    fn le_catalogue_embarque_est_valide() {
        let c = Catalogue::par_defaut().unwrap();
        assert!(c.genre("bulletin-salaire").is_some());
        assert!(c.exigences.iter().any(|e| e.id == "preuve-sortie"));
        assert!(c.est_sensible("rqth"));
    }

    #[test]
    fn les_feuilles_de_temps_se_comptent_par_salarie_et_par_mois_seulement() {
        let c = Catalogue::par_defaut().unwrap();
        let e = c
            .exigences
            .iter()
            .find(|e| e.id == "feuilles-temps")
            .unwrap();
        assert_eq!(e.par_signataire.as_deref(), Some("salarie"));
        let text = PAR_DEFAUT.replace(
            "documents = [\"feuille-temps\"]\npar_mois = 1\n",
            "documents = [\"feuille-temps\"]\n",
        );
        let e = Catalogue::lire(&text, "essai.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("« feuilles-temps » : par_signataire"), "{e}");
    }

    #[test]
    fn une_exigence_sur_un_type_inconnu_est_refusee() {
        let text = PAR_DEFAUT.replace("\"kbis\", \"diplome\"", "\"kbis\", \"diplomme\"");
        let e = Catalogue::lire(&text, "essai.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("essai.toml") && e.contains("diplomme"), "{e}");
    }
}
