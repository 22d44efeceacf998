//! What the tests share: days, the embedded questionnaires, a complete set of answers.

use crate::{Operation, Parcours, Participant, Questionnaire, Reponse, Reponses};
use chrono::NaiveDate;

pub fn j(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn pon() -> Questionnaire {
    Questionnaire::embarque("pon-2014-2020").unwrap()
}

pub fn plus() -> Questionnaire {
    Questionnaire::embarque("fse-plus-2021-2027").unwrap()
}

pub fn avec(r: &mut Reponses, valeurs: &[(&str, &str)]) {
    for (q, v) in valeurs {
        r.inserer(*q, Reponse::Valeur((*v).to_owned()));
    }
}

/// Samira Benali's entry answers to the 2014-2020 questionnaire, all given, on 2025-01-10.
pub fn entree_pon() -> Reponses {
    let mut r = Reponses::new();
    avec(
        &mut r,
        &[
            ("nom", "BENALI"),
            ("prenom", "SAMIRA"),
            ("date_naissance", "1990-04-12"),
            ("sexe", "femme"),
            ("commune_naissance", "69003 Lyon"),
            ("adresse", "12 rue des Lilas"),
            ("code_postal", "69008"),
            ("commune", "Lyon"),
            ("telephone_mobile", "06 12 34 56 78"),
            ("courriel", "samira.benali@example.org"),
            ("date_questionnaire", "2025-01-10"),
            ("q1", "non"),
            ("q1e", "non"),
            ("q1f", "oui"),
            ("q1g", "14"),
            ("q2", "2c"),
            ("q3", "non"),
            ("q4", "oui"),
            ("q6", "non"),
        ],
    );
    r.inserer("q5", Reponse::NeSePrononcePas);
    r
}

/// Entered on 2025-01-06, not exited.
pub fn parcours() -> Parcours {
    Parcours {
        entree: j("2025-01-06"),
        sortie: None,
    }
}

pub fn participant(reference: &str, reponses: Reponses) -> Participant {
    Participant {
        reference: reference.into(),
        referent: "Claire Martin".into(),
        operation: Operation {
            numero: "202400123".into(),
            nom: "PLIE Lyon — accompagnement renforcé".into(),
        },
        parcours: parcours(),
        reponses,
    }
}
