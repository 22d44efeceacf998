//! A participant's FSE file as the service hands it over: the answers, the parcours dates, the
//! opération, the référent who must complete it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One answer. « Ne se prononce pas » is its own variant: never a value a form could type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reponse {
    /// As entered: a choice code, a date `AAAA-MM-JJ`, a number, a text.
    Valeur(String),
    NeSePrononcePas,
}

/// Question id → answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reponses(BTreeMap<String, Reponse>);

impl Reponses {
    pub fn new() -> Reponses {
        Reponses::default()
    }

    pub fn inserer(&mut self, question: impl Into<String>, reponse: Reponse) {
        self.0.insert(question.into(), reponse);
    }

    /// The answer, a blank value counting as none.
    pub fn get(&self, question: &str) -> Option<&Reponse> {
        self.0
            .get(question)
            .filter(|r| !matches!(r, Reponse::Valeur(v) if v.trim().is_empty()))
    }

    /// The value given (trimmed), if any: neither missing nor « ne se prononce pas ».
    pub fn valeur(&self, question: &str) -> Option<&str> {
        match self.get(question) {
            Some(Reponse::Valeur(v)) => Some(v.trim()),
            _ => None,
        }
    }

    /// The value as a date, when it is one (`AAAA-MM-JJ`).
    pub fn date(&self, question: &str) -> Option<NaiveDate> {
        self.valeur(question).and_then(lire_date)
    }
}

/// Answers' dates: `AAAA-MM-JJ`, what a form's date field sends.
pub(crate) fn lire_date(v: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()
}

/// The participant's dates in the opération.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parcours {
    pub entree: NaiveDate,
    pub sortie: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub numero: String,
    pub nom: String,
}

/// One participant in one opération: one questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// parafe's reference of the participant.
    pub reference: String,
    /// Who must complete the questionnaire (the référent's name).
    pub referent: String,
    pub operation: Operation,
    pub parcours: Parcours,
    pub reponses: Reponses,
}
