//! A programme's questionnaire as data (`fse/questionnaires/<programme>.toml`): its questions,
//! their kinds, choices, conditions and moments, the delays of the exit and six-month data, the
//! rule of the address or référent, and the common indicators. Checked when loaded, so that
//! the rest of the crate can trust it.

use crate::dossier::{lire_date, Reponse, Reponses};
use crate::fichiers::{self, DefinitionError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// When a question is asked.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Deserialize, Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Moment {
    #[default]
    Entree,
    Sortie,
    SixMois,
}

impl Moment {
    pub fn libelle(self) -> &'static str {
        match self {
            Moment::Entree => "entrée",
            Moment::Sortie => "sortie",
            Moment::SixMois => "six mois après la sortie",
        }
    }
}

/// What an answer must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Genre {
    Texte,
    /// Text in capitals (the seed's NOM and PRENOM).
    Majuscules,
    /// `AAAA-MM-JJ`.
    Date,
    Choix,
    /// A choice between `oui` and `non`, given implicitly.
    OuiNon,
    Nombre,
    /// Postal code and commune, `99999` abroad (birth commune).
    Commune,
    CodePostal,
    Telephone,
    Courriel,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Choix {
    pub code: String,
    pub libelle: String,
}

/// A test on the answer to an earlier question: among `parmi` (codes), within `min`..=`max`
/// (numbers); no answer, or « ne se prononce pas », never satisfies it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub question: String,
    #[serde(default)]
    pub parmi: Vec<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl Condition {
    pub fn satisfaite(&self, valeur: Option<&str>) -> bool {
        let Some(v) = valeur else { return false };
        if !self.parmi.is_empty() && !self.parmi.iter().any(|c| c == v) {
            return false;
        }
        if self.min.is_none() && self.max.is_none() {
            return true;
        }
        v.parse::<i64>()
            .is_ok_and(|n| dans_les_bornes(n, self.min, self.max))
    }
}

pub(crate) fn dans_les_bornes(n: i64, min: Option<i64>, max: Option<i64>) -> bool {
    min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)
}

fn vrai() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    pub libelle: String,
    #[serde(rename = "type")]
    pub genre: Genre,
    #[serde(default)]
    pub choix: Vec<Choix>,
    /// « Ne se prononce pas » allowed.
    #[serde(default)]
    pub nsp: bool,
    #[serde(default = "vrai")]
    pub obligatoire: bool,
    /// Asked only when this holds.
    pub si: Option<Condition>,
    #[serde(default)]
    pub moment: Moment,
    /// Health, housing, origin, minima sociaux: shown on a need-to-know basis.
    #[serde(default)]
    pub sensible: bool,
    pub min: Option<i64>,
    pub max: Option<i64>,
    /// The date on which this moment's answers were collected.
    #[serde(default)]
    pub recueil: bool,
    /// Opens a section of the form and of its PDF, titled so: this question and those after
    /// it, up to the next that opens one.
    pub section: Option<String>,
}

impl Question {
    /// An answer as a person reads it: a choice's label (never its code), a date `JJ/MM/AAAA`,
    /// « Ne se prononce pas » in words, any other value as given.
    pub fn reponse_lisible(&self, reponse: &Reponse) -> String {
        let v = match reponse {
            Reponse::NeSePrononcePas => return "Ne se prononce pas".to_owned(),
            Reponse::Valeur(v) => v.trim(),
        };
        if let Some(c) = self.choix.iter().find(|c| c.code == v) {
            return c.libelle.clone();
        }
        match (self.genre, lire_date(v)) {
            (Genre::Date, Some(d)) => d.format("%d/%m/%Y").to_string(),
            _ => v.to_owned(),
        }
    }

    /// The codes of its choices, for messages.
    pub(crate) fn codes(&self) -> String {
        self.choix
            .iter()
            .map(|c| c.code.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A section of a moment's questions, as the definition titles it.
#[derive(Debug, Clone)]
pub struct Rubrique<'q> {
    pub titre: &'q str,
    pub questions: Vec<&'q Question>,
}

/// Delays of the exit and six-month data, in days after the exit (months for the six-month
/// situation).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Delais {
    pub sortie_jours: u32,
    pub relances_jours: Vec<u32>,
    pub six_mois_mois: u32,
    pub six_mois_fenetre_jours: u32,
}

/// The address at entry, or, for a person without a fixed address, the contact of a référent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub adresse: Vec<String>,
    pub referent: Vec<String>,
}

/// One way of counting a participant in an indicator: all its conditions, and the age at entry
/// within bounds when given.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Cas {
    #[serde(default)]
    pub si: Vec<Condition>,
    pub age: Option<Bornes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bornes {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Indicateur {
    pub code: String,
    pub libelle: String,
    pub cas: Vec<Cas>,
}

/// A column of the parcours software's extraction that answers an entry question: its value
/// (compared without regard to case or surrounding spaces) gives the choice's code. What it
/// gives is a proposal the référent confirms, never a recorded answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Preremplissage {
    /// The column's header, as the extraction names it.
    pub colonne: String,
    pub question: String,
    /// The column's value → the choice's code; a value not listed proposes nothing.
    pub valeurs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    pub programme: String,
    pub version: String,
    pub libelle: String,
    /// The question giving the birth date, for ages.
    pub naissance: Option<String>,
    pub delais: Delais,
    pub contact: Option<Contact>,
    /// The participant's coordinates (the `identite.` sources of the MDFSE map).
    pub identite: Vec<Question>,
    pub questions: Vec<Question>,
    #[serde(default)]
    pub indicateurs: Vec<Indicateur>,
    /// The extraction's columns that prefill entry questions.
    #[serde(default)]
    pub preremplissage: Vec<Preremplissage>,
    /// Where it was read from, for messages.
    #[serde(skip)]
    pub source: String,
}

impl Questionnaire {
    /// The questionnaire of `programme` for a deployment: its data directory's file, else the
    /// embedded one.
    pub fn charger(data_dir: &Path, programme: &str) -> Result<Questionnaire, DefinitionError> {
        let (texte, source) = fichiers::texte(Some(data_dir), "questionnaires", programme)?;
        Questionnaire::lire(&texte, &source)
    }

    pub fn embarque(programme: &str) -> Result<Questionnaire, DefinitionError> {
        let (texte, source) = fichiers::texte(None, "questionnaires", programme)?;
        Questionnaire::lire(&texte, &source)
    }

    /// A questionnaire from its text; `source` names it in errors.
    pub fn lire(texte: &str, source: &str) -> Result<Questionnaire, DefinitionError> {
        let mut q: Questionnaire =
            toml::from_str(texte).map_err(|e| DefinitionError::invalide(source, e.to_string()))?;
        q.source = source.to_owned();
        for question in q.identite.iter_mut().chain(q.questions.iter_mut()) {
            if question.genre == Genre::OuiNon && question.choix.is_empty() {
                question.choix = vec![
                    Choix {
                        code: "oui".into(),
                        libelle: "Oui".into(),
                    },
                    Choix {
                        code: "non".into(),
                        libelle: "Non".into(),
                    },
                ];
            }
        }
        q.valider()
            .map_err(|message| DefinitionError::invalide(source, message))?;
        Ok(q)
    }

    /// Every question, coordinates first, in the file's order.
    pub fn toutes(&self) -> impl Iterator<Item = &Question> {
        self.identite.iter().chain(&self.questions)
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.toutes().find(|q| q.id == id)
    }

    /// The questions of `moment` in the file's order, grouped by the sections the definition
    /// opens (`section`); those before any title go under the moment's name.
    pub fn rubriques(&self, moment: Moment) -> Vec<Rubrique<'_>> {
        let mut rubriques: Vec<Rubrique<'_>> = Vec::new();
        for q in self.toutes() {
            if let Some(titre) = &q.section {
                rubriques.push(Rubrique {
                    titre,
                    questions: Vec::new(),
                });
            }
            if q.moment != moment {
                continue;
            }
            match rubriques.last_mut() {
                Some(r) => r.questions.push(q),
                None => rubriques.push(Rubrique {
                    titre: moment.libelle(),
                    questions: vec![q],
                }),
            }
        }
        rubriques.retain(|r| !r.questions.is_empty());
        rubriques
    }

    /// Whether indicator `i` rests on a sensitive question: one of its conditions asks it (an
    /// age alone does not: the birth date is no sensitive answer).
    pub fn indicateur_sensible(&self, i: &Indicateur) -> bool {
        i.cas
            .iter()
            .flat_map(|c| &c.si)
            .any(|c| self.question(&c.question).is_some_and(|q| q.sensible))
    }

    /// The question holding the date of collection of `moment`'s answers.
    pub fn question_du_recueil(&self, moment: Moment) -> Option<&Question> {
        self.toutes().find(|q| q.recueil && q.moment == moment)
    }

    /// The day `moment`'s answers were collected, when given.
    pub fn date_du_recueil(&self, moment: Moment, reponses: &Reponses) -> Option<NaiveDate> {
        self.question_du_recueil(moment)
            .and_then(|q| reponses.date(&q.id))
    }

    /// The answers the extraction's `colonnes` (header → value) propose, by question, the first
    /// column that answers a question winning.
    pub fn preremplir(&self, colonnes: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut proposees = BTreeMap::new();
        for p in &self.preremplissage {
            let Some(valeur) = colonnes
                .iter()
                .find(|(c, _)| c.trim().eq_ignore_ascii_case(p.colonne.trim()))
                .map(|(_, v)| v.trim().to_lowercase())
            else {
                continue;
            };
            let code = p
                .valeurs
                .iter()
                .find(|(v, _)| v.trim().to_lowercase() == valeur)
                .map(|(_, code)| code.clone());
            if let Some(code) = code {
                proposees.entry(p.question.clone()).or_insert(code);
            }
        }
        proposees
    }

    /// Whether `q` is asked given these answers: its condition holds, and the question it
    /// depends on is itself asked.
    pub fn applicable(&self, q: &Question, reponses: &Reponses) -> bool {
        // Up the chain of conditions; loading makes each point to an earlier question, the
        // bound keeps a hand-built cycle from looping.
        let mut courante = q;
        for _ in 0..=self.identite.len() + self.questions.len() {
            let Some(c) = &courante.si else { return true };
            if !c.satisfaite(reponses.valeur(&c.question)) {
                return false;
            }
            match self.question(&c.question) {
                Some(amont) => courante = amont,
                None => return false,
            }
        }
        false
    }

    fn valider(&self) -> Result<(), String> {
        let mut vues: HashSet<&str> = HashSet::new();
        for q in self.toutes() {
            if vues.contains(q.id.as_str()) {
                return Err(format!("question « {} » déclarée deux fois", q.id));
            }
            self.valider_question(q, &vues)?;
            vues.insert(&q.id);
        }
        for q in &self.identite {
            if q.moment != Moment::Entree {
                return Err(format!(
                    "question « {} » : l'identité se recueille à l'entrée",
                    q.id
                ));
            }
        }
        for moment in [Moment::Entree, Moment::Sortie, Moment::SixMois] {
            let questions = self.toutes().filter(|q| q.moment == moment).count();
            let dates = self
                .toutes()
                .filter(|q| q.moment == moment && q.recueil)
                .count();
            if questions > 0 && dates != 1 {
                return Err(format!(
                    "moment « {} » : une et une seule question `recueil = true` attendue (date du recueil), {dates} trouvée(s)",
                    moment.libelle()
                ));
            }
        }
        self.valider_delais()?;
        if let Some(c) = &self.contact {
            for id in c.adresse.iter().chain(&c.referent) {
                if !self.identite.iter().any(|q| &q.id == id) {
                    return Err(format!(
                        "contact : « {id} » n'est pas une question du bloc identite"
                    ));
                }
            }
            if c.adresse.is_empty() || c.referent.is_empty() {
                return Err(
                    "contact : adresse et referent nomment chacun au moins une question".into(),
                );
            }
        }
        if let Some(n) = &self.naissance {
            if self.question(n).is_none_or(|q| q.genre != Genre::Date) {
                return Err(format!(
                    "naissance : « {n} » n'est pas une question de type date"
                ));
            }
        }
        self.valider_preremplissage()?;
        let mut codes = HashSet::new();
        for i in &self.indicateurs {
            if !codes.insert(&i.code) {
                return Err(format!("indicateur « {} » déclaré deux fois", i.code));
            }
            if i.cas.is_empty() {
                return Err(format!("indicateur « {} » : aucun cas", i.code));
            }
            for cas in &i.cas {
                for c in &cas.si {
                    self.valider_condition(c, &format!("indicateur « {} »", i.code), None)?;
                }
                if cas.age.is_some() && self.naissance.is_none() {
                    return Err(format!(
                        "indicateur « {} » : un âge sans question `naissance`",
                        i.code
                    ));
                }
            }
        }
        Ok(())
    }

    fn valider_question(&self, q: &Question, declarees: &HashSet<&str>) -> Result<(), String> {
        let nom = format!("question « {} »", q.id);
        let a_des_choix = matches!(q.genre, Genre::Choix | Genre::OuiNon);
        if a_des_choix && q.choix.is_empty() {
            return Err(format!("{nom} : type choix sans choix"));
        }
        if !a_des_choix && !q.choix.is_empty() {
            return Err(format!(
                "{nom} : des choix pour une question qui n'est pas un choix"
            ));
        }
        let mut codes = HashSet::new();
        for c in &q.choix {
            if !codes.insert(&c.code) {
                return Err(format!("{nom} : choix « {} » déclaré deux fois", c.code));
            }
        }
        if (q.min.is_some() || q.max.is_some()) && q.genre != Genre::Nombre {
            return Err(format!("{nom} : min et max ne valent que pour un nombre"));
        }
        if let (Some(min), Some(max)) = (q.min, q.max) {
            if min > max {
                return Err(format!("{nom} : min {min} au-dessus de max {max}"));
            }
        }
        if q.section.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(format!("{nom} : titre de section vide"));
        }
        if q.recueil && q.genre != Genre::Date {
            return Err(format!("{nom} : la date du recueil doit être de type date"));
        }
        if let Some(si) = &q.si {
            // Declared before it: conditions then never loop.
            self.valider_condition(si, &nom, Some(declarees))?;
            if q.recueil {
                return Err(format!(
                    "{nom} : la date du recueil ne peut être conditionnelle"
                ));
            }
        }
        Ok(())
    }

    /// `c` names a known question (declared before `qui` when `declarees` is given), codes
    /// among its choices, bounds on a number.
    fn valider_condition(
        &self,
        c: &Condition,
        qui: &str,
        declarees: Option<&HashSet<&str>>,
    ) -> Result<(), String> {
        let cible = self.question(&c.question).ok_or_else(|| {
            format!(
                "{qui} : condition sur une question inconnue « {} »",
                c.question
            )
        })?;
        if declarees.is_some_and(|d| !d.contains(c.question.as_str())) {
            return Err(format!(
                "{qui} : condition sur « {} », déclarée après elle",
                c.question
            ));
        }
        for code in &c.parmi {
            if !cible.choix.iter().any(|x| &x.code == code) {
                return Err(format!(
                    "{qui} : condition sur un choix inconnu « {code} » de « {} » (choix : {})",
                    c.question,
                    cible.codes()
                ));
            }
        }
        if (c.min.is_some() || c.max.is_some()) && cible.genre != Genre::Nombre {
            return Err(format!(
                "{qui} : bornes sur « {} », qui n'est pas un nombre",
                c.question
            ));
        }
        Ok(())
    }

    /// Each column names an entry question with choices, and gives codes among them.
    fn valider_preremplissage(&self) -> Result<(), String> {
        for p in &self.preremplissage {
            let qui = format!("preremplissage « {} »", p.colonne);
            if p.colonne.trim().is_empty() {
                return Err("preremplissage : colonne sans nom".into());
            }
            let q = self
                .question(&p.question)
                .ok_or_else(|| format!("{qui} : question inconnue « {} »", p.question))?;
            if q.moment != Moment::Entree || q.choix.is_empty() {
                return Err(format!(
                    "{qui} : « {} » n'est pas une question à choix de l'entrée",
                    p.question
                ));
            }
            if let Some(code) = p
                .valeurs
                .values()
                .find(|c| !q.choix.iter().any(|x| &x.code == *c))
            {
                return Err(format!(
                    "{qui} : choix inconnu « {code} » de « {} » (choix : {})",
                    p.question,
                    q.codes()
                ));
            }
        }
        Ok(())
    }

    fn valider_delais(&self) -> Result<(), String> {
        let d = &self.delais;
        if d.sortie_jours == 0 || d.six_mois_mois == 0 {
            return Err("delais : sortie_jours et six_mois_mois valent au moins 1".into());
        }
        if !d.relances_jours.windows(2).all(|w| w[0] < w[1])
            || d.relances_jours.iter().any(|r| *r >= d.sortie_jours)
        {
            return Err(format!(
                "delais : relances_jours croissantes et avant l'échéance de {} jours",
                d.sortie_jours
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::essais::{plus, pon};

    fn texte_pon() -> String {
        fichiers::texte(None, "questionnaires", "pon-2014-2020")
            .unwrap()
            .0
            .into_owned()
    }

    fn erreur(texte: &str) -> String {
        Questionnaire::lire(texte, "fse/questionnaires/pon-2014-2020.toml")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn le_questionnaire_2014_2020_est_celui_du_seed() {
        let q = pon();
        let codes = |id: &str| q.question(id).unwrap().codes();
        assert_eq!(codes("q1"), "1a, 1b, 1c, 1d, non");
        assert_eq!(codes("q2"), "2a, 2b, 2c, 2d");
        assert_eq!(codes("q5"), "oui, non");
        let nsp: Vec<&str> = q
            .toutes()
            .filter(|x| x.nsp)
            .map(|x| x.id.as_str())
            .collect();
        assert_eq!(nsp, vec!["q5", "q6"]);
        let sensibles: Vec<&str> = q
            .toutes()
            .filter(|x| x.sensible)
            .map(|x| x.id.as_str())
            .collect();
        assert_eq!(sensibles, vec!["q3", "q4", "q5", "q6"]);
        assert_eq!(q.question("nom").unwrap().genre, Genre::Majuscules);
        assert_eq!(
            q.question("commune_naissance").unwrap().genre,
            Genre::Commune
        );
        for m in [Moment::Entree, Moment::Sortie, Moment::SixMois] {
            assert!(q.question_du_recueil(m).is_some(), "{m:?}");
        }
        assert_eq!(q.delais.sortie_jours, 28);
    }

    #[test]
    fn les_donnees_fse_plus_sont_celles_de_l_annexe_i() {
        let q = plus();
        let codes: Vec<&str> = q.indicateurs.iter().map(|i| i.code.as_str()).collect();
        let attendus: Vec<String> = (1..=17)
            .map(|n| format!("EECO{n:02}"))
            .chain((1..=6).map(|n| format!("EECR{n:02}")))
            .collect();
        assert_eq!(codes, attendus);
        assert_eq!(
            q.question("q2").unwrap().codes(),
            "cite_0_2, cite_3_4, cite_5_8"
        );
        let nsp: Vec<&str> = q
            .toutes()
            .filter(|x| x.nsp)
            .map(|x| x.id.as_str())
            .collect();
        assert_eq!(nsp, vec!["handicap", "origine", "minorite", "logement"]);
    }

    #[test]
    fn les_reponses_se_lisent_par_section_avec_les_libelles() {
        let q = pon();
        let titres = |m| {
            q.rubriques(m)
                .iter()
                .map(|r| (r.titre.to_owned(), r.questions.len()))
                .collect::<Vec<_>>()
        };
        let entree = titres(Moment::Entree);
        assert_eq!(
            entree.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
            vec![
                "Coordonnées du participant à l'entrée dans l'opération",
                "Question 1. Statut sur le marché du travail à l'entrée dans l'opération",
                "Question 2. Niveau de diplôme à l'entrée dans l'opération",
                "Questions 3 à 6. Situation personnelle",
                "Situation du ménage",
            ]
        );
        // Every question of the moment, once, none of another.
        let n: usize = entree.iter().map(|(_, n)| n).sum();
        assert_eq!(n, q.toutes().filter(|x| x.moment == Moment::Entree).count());
        assert_eq!(
            titres(Moment::SixMois),
            vec![("Situation six mois après la sortie".to_owned(), 3)]
        );
        let lisible = |id: &str, r: Reponse| q.question(id).unwrap().reponse_lisible(&r);
        assert_eq!(
            lisible("q1", Reponse::Valeur("1b".into())),
            "Oui, un emploi durable (CDI ou CDD de 6 mois ou +)"
        );
        assert_eq!(
            lisible("q5", Reponse::NeSePrononcePas),
            "Ne se prononce pas"
        );
        assert_eq!(lisible("q3", Reponse::Valeur("non".into())), "Non");
        assert_eq!(
            lisible("date_questionnaire", Reponse::Valeur("2025-03-05".into())),
            "05/03/2025"
        );
        assert_eq!(lisible("q1g", Reponse::Valeur(" 14 ".into())), "14");
        let vide = texte_pon().replacen("section = \"Situation du ménage\"", "section = \" \"", 1);
        assert!(erreur(&vide).ends_with("question « menage_sans_emploi » : titre de section vide"));
    }

    #[test]
    fn un_id_en_double_est_refuse() {
        let t =
            texte_pon() + "\n[[questions]]\nid = \"q2\"\nlibelle = \"Encore\"\ntype = \"texte\"\n";
        assert_eq!(
            erreur(&t),
            "fse/questionnaires/pon-2014-2020.toml invalide : question « q2 » déclarée deux fois"
        );
    }

    #[test]
    fn une_condition_sur_une_question_inconnue_ou_un_choix_inconnu_est_refusee() {
        let t = texte_pon();
        let inconnue = t.replace(
            "si = { question = \"q1f\", parmi = [\"oui\"] }",
            "si = { question = \"q9\", parmi = [\"oui\"] }",
        );
        assert!(erreur(&inconnue)
            .ends_with("question « q1g » : condition sur une question inconnue « q9 »"));
        let apres = t.replacen(
            "si = { question = \"q1\", parmi = [\"non\"] }",
            "si = { question = \"q2\", parmi = [\"2a\"] }",
            1,
        );
        assert!(erreur(&apres)
            .ends_with("question « q1e » : condition sur « q2 », déclarée après elle"));
        let choix = t.replacen("parmi = [\"non\"] }", "parmi = [\"1z\"] }", 1);
        assert!(erreur(&choix).contains(
            "condition sur un choix inconnu « 1z » de « q1 » (choix : 1a, 1b, 1c, 1d, non)"
        ));
        let indicateur = t.replace("parmi = [\"2d\"]", "parmi = [\"2e\"]");
        assert!(erreur(&indicateur)
            .contains("indicateur « CO11 » : condition sur un choix inconnu « 2e »"));
    }

    #[test]
    fn un_fichier_mal_forme_est_refuse_en_francais() {
        assert!(erreur("programme = 3")
            .starts_with("fse/questionnaires/pon-2014-2020.toml invalide : "));
        let inconnu = texte_pon().replacen("type = \"majuscules\"", "type = \"couleur\"", 1);
        assert!(erreur(&inconnu).contains("couleur"));
        let relances =
            texte_pon().replace("relances_jours = [14, 21]", "relances_jours = [21, 14]");
        assert!(erreur(&relances).contains("relances_jours croissantes"));
    }

    #[test]
    fn l_extraction_propose_des_reponses_d_entree() {
        let q = pon();
        let colonnes: BTreeMap<String, String> = [
            ("Niveau de formation", " niveau v "),
            ("RQTH", "Oui"),
            ("RSA", "Non"),
            ("Minima sociaux", "oui"),
            ("QPV", "Oui"),
        ]
        .into_iter()
        .map(|(c, v)| (c.to_owned(), v.to_owned()))
        .collect();
        let p = q.preremplir(&colonnes);
        assert_eq!(p.get("q2").map(String::as_str), Some("2c"));
        assert_eq!(p.get("q3").map(String::as_str), Some("oui"));
        // RSA « Non » proposes nothing (another minimum may be paid): the next column answers.
        assert_eq!(p.get("q4").map(String::as_str), Some("oui"));
        assert_eq!(p.len(), 3, "{p:?}");
        let faux = texte_pon().replace("\"Niveau V\" = \"2c\"", "\"Niveau V\" = \"2z\"");
        assert!(erreur(&faux)
            .contains("preremplissage « Niveau de formation » : choix inconnu « 2z » de « q2 »"));
    }

    #[test]
    fn le_fichier_du_deploiement_passe_avant_l_embarque() {
        let dir = tempfile::tempdir().unwrap();
        let dossier = dir.path().join("fse/questionnaires");
        std::fs::create_dir_all(&dossier).unwrap();
        // Absent: the embedded one.
        let q = Questionnaire::charger(dir.path(), "pon-2014-2020").unwrap();
        assert_eq!(q.source, "fse/questionnaires/pon-2014-2020.toml (embarqué)");
        let chemin = dossier.join("pon-2014-2020.toml");
        std::fs::write(
            &chemin,
            texte_pon().replace("sortie_jours = 28", "sortie_jours = 30"),
        )
        .unwrap();
        let q = Questionnaire::charger(dir.path(), "pon-2014-2020").unwrap();
        assert_eq!(
            (q.delais.sortie_jours, q.source.clone()),
            (30, chemin.display().to_string())
        );
        std::fs::write(&chemin, "[[questions]]\nid = 1\n").unwrap();
        let e = Questionnaire::charger(dir.path(), "pon-2014-2020")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("{} invalide : ", chemin.display())),
            "{e}"
        );
        let e = Questionnaire::charger(dir.path(), "feder-2028")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("programme FSE « feder-2028 » inconnu"), "{e}");
        let e = Questionnaire::charger(dir.path(), "../../etc/passwd")
            .unwrap_err()
            .to_string();
        assert!(e.contains("nom invalide"), "{e}");
    }
}
