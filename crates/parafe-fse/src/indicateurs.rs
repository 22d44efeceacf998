//! The common indicators of a programme, computed from the participants' answers as the
//! questionnaire file declares them: per indicator, how many and who.

use crate::definition::{dans_les_bornes, Cas, Questionnaire};
use crate::dossier::Participant;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Compte {
    pub code: String,
    pub libelle: String,
    pub nombre: usize,
    /// Resting on a sensitive question: who is behind it is itself a sensitive answer.
    pub sensible: bool,
    /// The participants behind the count, in the given order. Never serialized with the
    /// count: a list is handed out by whoever checks the caller may read it.
    #[serde(skip)]
    pub participants: Vec<String>,
}

/// Every indicator of the questionnaire over these participants, in the file's order.
pub fn indicateurs<'a, I>(q: &Questionnaire, participants: I) -> Vec<Compte>
where
    I: IntoIterator<Item = &'a Participant>,
    I::IntoIter: Clone,
{
    let participants = participants.into_iter();
    q.indicateurs
        .iter()
        .map(|i| {
            let qui: Vec<String> = participants
                .clone()
                .filter(|p| i.cas.iter().any(|c| remplit(q, c, p)))
                .map(|p| p.reference.clone())
                .collect();
            Compte {
                code: i.code.clone(),
                libelle: i.libelle.clone(),
                nombre: qui.len(),
                sensible: q.indicateur_sensible(i),
                participants: qui,
            }
        })
        .collect()
}

fn remplit(q: &Questionnaire, cas: &Cas, p: &Participant) -> bool {
    let age_ok = match cas.age {
        None => true,
        // Age at entry, in whole years; unknown birth date: not counted.
        Some(b) => q
            .naissance
            .as_deref()
            .and_then(|n| p.reponses.date(n))
            .and_then(|naissance| p.parcours.entree.years_since(naissance))
            .is_some_and(|age| dans_les_bornes(i64::from(age), b.min, b.max)),
    };
    age_ok
        && cas
            .si
            .iter()
            .all(|c| c.satisfaite(p.reponses.valeur(&c.question)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dossier::{Reponse, Reponses};
    use crate::essais::{avec, j, participant, plus};

    fn qui(comptes: &[Compte], code: &str) -> Vec<String> {
        comptes
            .iter()
            .find(|c| c.code == code)
            .map(|c| {
                assert_eq!(c.nombre, c.participants.len());
                c.participants.clone()
            })
            .unwrap()
    }

    fn p(reference: &str, valeurs: &[(&str, &str)]) -> Participant {
        let mut r = Reponses::new();
        avec(&mut r, valeurs);
        participant(reference, r)
    }

    #[test]
    fn les_indicateurs_communs_fse_plus_comptent_et_nomment() {
        // Entered on 2025-01-06.
        let mut participants = vec![
            p(
                "a",
                &[
                    ("date_naissance", "1990-04-12"),
                    ("q1", "non"),
                    ("q1f", "oui"),
                    ("q1g", "14"),
                    ("q2", "cite_0_2"),
                    ("nationalite", "pays_tiers"),
                ],
            ),
            // 21 at entry, 8 months of search: long-term unemployed below 25.
            p(
                "b",
                &[
                    ("date_naissance", "2003-06-01"),
                    ("q1", "non"),
                    ("q1f", "oui"),
                    ("q1g", "8"),
                    ("q2", "cite_3_4"),
                ],
            ),
            // 55 the day before entry.
            p(
                "c",
                &[
                    ("date_naissance", "1970-01-05"),
                    ("q1", "1b"),
                    ("q2", "cite_5_8"),
                    ("handicap", "oui"),
                ],
            ),
            p(
                "d",
                &[
                    ("date_naissance", "2008-02-01"),
                    ("q1", "non"),
                    ("q1f", "non"),
                    ("q1e", "oui"),
                ],
            ),
            // 30 at entry, 12 months: not more than 12.
            p(
                "e",
                &[
                    ("date_naissance", "1994-12-01"),
                    ("q1", "non"),
                    ("q1f", "oui"),
                    ("q1g", "12"),
                ],
            ),
        ];
        participants[3]
            .reponses
            .inserer("handicap", Reponse::NeSePrononcePas);
        participants[1].parcours.sortie = Some(j("2025-04-01"));
        avec(
            &mut participants[1].reponses,
            &[("s1", "1c"), ("s2", "oui")],
        );
        let c = indicateurs(&plus(), &participants);
        assert_eq!(qui(&c, "EECO01"), ["a", "b", "c", "d", "e"]);
        assert_eq!(qui(&c, "EECO02"), ["a", "b", "e"]);
        assert_eq!(qui(&c, "EECO03"), ["a", "b"]);
        assert_eq!(qui(&c, "EECO04"), ["d"]);
        assert_eq!(qui(&c, "EECO05"), ["c"]);
        assert_eq!(qui(&c, "EECO06"), ["d"]);
        assert_eq!(qui(&c, "EECO07"), ["b"]);
        assert_eq!(qui(&c, "EECO08"), ["c"]);
        assert_eq!(qui(&c, "EECO09"), ["a"]);
        assert_eq!(qui(&c, "EECO11"), ["c"]);
        // « Ne se prononce pas » counts in no indicator.
        assert_eq!(qui(&c, "EECO12"), ["c"]);
        assert_eq!(qui(&c, "EECO13"), ["a"]);
        assert_eq!(qui(&c, "EECR03"), ["b"]);
        assert_eq!(qui(&c, "EECR04"), ["b"]);
        assert!(qui(&c, "EECR05").is_empty());
    }
}
