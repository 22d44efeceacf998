//! The time rules of the exit data (due within the file's delay after the exit, reminders
//! before) and of the situation six months after the exit, as functions of the given day.
//! Delays come from the questionnaire file ([`Delais`]).

use crate::definition::Delais;
use chrono::{Days, Months, NaiveDate};
use serde::Serialize;

/// Past chrono's last day (a file's absurd delay), the last day: never a panic.
fn plus_jours(d: NaiveDate, jours: u32) -> NaiveDate {
    d.checked_add_days(Days::new(u64::from(jours)))
        .unwrap_or(NaiveDate::MAX)
}

impl Delais {
    /// Last day to collect the exit data.
    pub fn limite_sortie(&self, sortie: NaiveDate) -> NaiveDate {
        plus_jours(sortie, self.sortie_jours)
    }

    /// The day the six-month situation is due.
    pub fn six_mois(&self, sortie: NaiveDate) -> NaiveDate {
        sortie
            .checked_add_months(Months::new(self.six_mois_mois))
            .unwrap_or(NaiveDate::MAX)
    }

    /// Last day to collect the six-month situation.
    pub fn limite_six_mois(&self, sortie: NaiveDate) -> NaiveDate {
        plus_jours(self.six_mois(sortie), self.six_mois_fenetre_jours)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EtatSortie {
    /// Before the first reminder.
    AFaire,
    /// Reminders have started; still within the delay.
    Relance,
    EnRetard,
    Recueillie {
        dans_les_delais: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcheanceSortie {
    pub sortie: NaiveDate,
    pub limite: NaiveDate,
    /// The reminder days, in order.
    pub relances: Vec<NaiveDate>,
    pub etat: EtatSortie,
}

/// Where the exit data stand on `aujourdhui`, collected on `recueillie` if they were.
pub fn echeance_sortie(
    delais: &Delais,
    sortie: NaiveDate,
    recueillie: Option<NaiveDate>,
    aujourdhui: NaiveDate,
) -> EcheanceSortie {
    let limite = delais.limite_sortie(sortie);
    let relances: Vec<NaiveDate> = delais
        .relances_jours
        .iter()
        .map(|j| plus_jours(sortie, *j))
        .collect();
    let etat = match recueillie {
        Some(le) => EtatSortie::Recueillie {
            dans_les_delais: le <= limite,
        },
        None if aujourdhui > limite => EtatSortie::EnRetard,
        None if relances.first().is_some_and(|r| aujourdhui >= *r) => EtatSortie::Relance,
        None => EtatSortie::AFaire,
    };
    EcheanceSortie {
        sortie,
        limite,
        relances,
        etat,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EtatSixMois {
    AVenir,
    Du,
    EnRetard,
    Recueillie { dans_les_delais: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcheanceSixMois {
    pub due: NaiveDate,
    pub limite: NaiveDate,
    pub etat: EtatSixMois,
}

/// Where the six-month situation stands on `aujourdhui`, collected on `recueillie` if it was.
pub fn echeance_six_mois(
    delais: &Delais,
    sortie: NaiveDate,
    recueillie: Option<NaiveDate>,
    aujourdhui: NaiveDate,
) -> EcheanceSixMois {
    let due = delais.six_mois(sortie);
    let limite = delais.limite_six_mois(sortie);
    let etat = match recueillie {
        Some(le) => EtatSixMois::Recueillie {
            dans_les_delais: le >= due && le <= limite,
        },
        None if aujourdhui > limite => EtatSixMois::EnRetard,
        None if aujourdhui >= due => EtatSixMois::Du,
        None => EtatSixMois::AVenir,
    };
    EcheanceSixMois { due, limite, etat }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::essais::{j, pon};

    #[test]
    fn les_donnees_de_sortie_a_faire_relancees_puis_en_retard() {
        let d = pon().delais;
        let sortie = j("2025-03-03");
        let etat = |au: &str| echeance_sortie(&d, sortie, None, j(au));
        let e = etat("2025-03-10");
        assert_eq!(e.etat, EtatSortie::AFaire);
        assert_eq!(e.limite, j("2025-03-31"));
        assert_eq!(e.relances, vec![j("2025-03-17"), j("2025-03-24")]);
        assert_eq!(etat("2025-03-17").etat, EtatSortie::Relance);
        assert_eq!(etat("2025-03-31").etat, EtatSortie::Relance);
        assert_eq!(etat("2025-04-01").etat, EtatSortie::EnRetard);
        let tard = echeance_sortie(&d, sortie, Some(j("2025-04-07")), j("2025-04-08"));
        assert_eq!(
            tard.etat,
            EtatSortie::Recueillie {
                dans_les_delais: false
            }
        );
    }

    #[test]
    fn la_situation_a_six_mois_a_venir_due_puis_en_retard() {
        let d = pon().delais;
        let sortie = j("2025-03-03");
        let etat = |au: &str| echeance_six_mois(&d, sortie, None, j(au)).etat;
        assert_eq!(etat("2025-09-02"), EtatSixMois::AVenir);
        assert_eq!(etat("2025-09-03"), EtatSixMois::Du);
        assert_eq!(etat("2025-10-01"), EtatSixMois::Du);
        assert_eq!(etat("2025-10-02"), EtatSixMois::EnRetard);
        let e = echeance_six_mois(&d, sortie, Some(j("2025-09-10")), j("2025-09-10"));
        assert_eq!((e.due, e.limite), (j("2025-09-03"), j("2025-10-01")));
        assert_eq!(
            e.etat,
            EtatSixMois::Recueillie {
                dans_les_delais: true
            }
        );
    }

    #[test]
    fn un_delai_absurde_ne_fait_pas_paniquer() {
        let mut d = pon().delais;
        d.sortie_jours = u32::MAX;
        d.six_mois_mois = u32::MAX;
        let e = echeance_sortie(&d, j("2025-03-03"), None, j("2025-04-01"));
        assert_eq!((e.limite, e.etat), (NaiveDate::MAX, EtatSortie::Relance));
        let e = echeance_six_mois(&d, j("2025-03-03"), None, j("2025-04-01"));
        assert_eq!((e.due, e.etat), (NaiveDate::MAX, EtatSixMois::AVenir));
    }

    #[test]
    fn les_delais_viennent_du_fichier() {
        let texte = crate::fichiers::texte(None, "questionnaires", "pon-2014-2020")
            .unwrap()
            .0
            .replace("sortie_jours = 28", "sortie_jours = 30");
        let q = crate::Questionnaire::lire(&texte, "essai.toml").unwrap();
        let e = echeance_sortie(&q.delais, j("2025-03-03"), None, j("2025-04-01"));
        assert_eq!((e.limite, e.etat), (j("2025-04-02"), EtatSortie::Relance));
    }
}
