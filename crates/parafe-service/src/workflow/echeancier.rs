//! When bilans BRSA fall due: at the months the workflow file gives (5, 11 and 17 by default)
//! after the start of the CER, or at an early exit.
//!
//! Month-end rule: the due date is the same day of the month, N months later; when that month is
//! shorter, the last day of that month (a CER starting on 31 January has its 5-month bilan due
//! on 30 June, a 1-month one would fall on 28 or 29 February). This is chrono's
//! `checked_add_months`, so the rule is the same everywhere dates are added.

use chrono::{Months, NaiveDate};

/// Which bilan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bilan {
    /// The bilan due N months after the CER start.
    Mois(u32),
    /// The bilan written when the participant leaves before the last scheduled one.
    SortieAnticipee,
}

/// Where a due bilan stands on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EtatBilan {
    AVenir,
    /// Its due date has passed (whether it was written is the service's to know).
    Echue,
    /// Cancelled by an early exit.
    Annulee,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echeance {
    pub bilan: Bilan,
    pub due: NaiveDate,
    pub annule: bool,
}

impl Echeance {
    /// Its state on `aujourdhui` (the clock is the caller's, so that schedules can be tested).
    pub fn etat(&self, aujourdhui: NaiveDate) -> EtatBilan {
        match (self.annule, aujourdhui > self.due) {
            (true, _) => EtatBilan::Annulee,
            (false, true) => EtatBilan::Echue,
            (false, false) => EtatBilan::AVenir,
        }
    }
}

/// The bilans of a CER starting on `debut`, for the given months, with an optional exit date:
/// bilans due after the exit are cancelled and a "sortie anticipée" bilan is due on the exit
/// date. Months too far in the future to be a date are left out.
pub fn bilans_brsa(debut: NaiveDate, mois: &[u32], sortie: Option<NaiveDate>) -> Vec<Echeance> {
    let mut echeances: Vec<Echeance> = mois
        .iter()
        .filter_map(|&m| {
            let due = debut.checked_add_months(Months::new(m))?;
            Some(Echeance {
                bilan: Bilan::Mois(m),
                due,
                annule: sortie.is_some_and(|s| s < due),
            })
        })
        .collect();
    if let Some(sortie) = sortie.filter(|_| echeances.iter().any(|e| e.annule)) {
        echeances.push(Echeance {
            bilan: Bilan::SortieAnticipee,
            due: sortie,
            annule: false,
        });
    }
    echeances.sort_by_key(|e| e.due);
    echeances
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_cer_starting_on_15_january_2025() {
        let dues: Vec<_> = bilans_brsa(day("2025-01-15"), &[5, 11, 17], None)
            .iter()
            .map(|e| e.due)
            .collect();
        assert_eq!(
            dues,
            [day("2025-06-15"), day("2025-12-15"), day("2026-06-15")]
        );
    }

    #[test]
    fn month_ends_fall_on_the_last_day_of_shorter_months() {
        let dues: Vec<_> = bilans_brsa(day("2025-01-31"), &[1, 5, 11, 13], None)
            .iter()
            .map(|e| e.due)
            .collect();
        assert_eq!(
            dues,
            [
                day("2025-02-28"),
                day("2025-06-30"),
                day("2025-12-31"),
                day("2026-02-28")
            ]
        );
        let leap: Vec<_> = bilans_brsa(day("2027-01-31"), &[1], None)
            .iter()
            .map(|e| e.due)
            .collect();
        assert_eq!(leap, [day("2027-02-28")]);
        assert_eq!(
            bilans_brsa(day("2028-01-31"), &[1], None)[0].due,
            day("2028-02-29")
        );
    }

    #[test]
    fn an_exit_in_month_8_cancels_the_11_and_17_month_bilans() {
        let plan = bilans_brsa(day("2025-01-15"), &[5, 11, 17], Some(day("2025-09-10")));
        let summary: Vec<_> = plan.iter().map(|e| (e.bilan, e.due, e.annule)).collect();
        assert_eq!(
            summary,
            [
                (Bilan::Mois(5), day("2025-06-15"), false),
                (Bilan::SortieAnticipee, day("2025-09-10"), false),
                (Bilan::Mois(11), day("2025-12-15"), true),
                (Bilan::Mois(17), day("2026-06-15"), true),
            ]
        );
        assert_eq!(plan[0].etat(day("2025-09-11")), EtatBilan::Echue);
        assert_eq!(plan[1].etat(day("2025-09-10")), EtatBilan::AVenir);
        assert_eq!(plan[2].etat(day("2025-09-11")), EtatBilan::Annulee);
    }

    #[test]
    fn an_exit_after_the_last_bilan_adds_nothing() {
        let plan = bilans_brsa(day("2025-01-15"), &[5, 11, 17], Some(day("2026-07-01")));
        assert_eq!(plan.len(), 3);
        assert!(plan.iter().all(|e| !e.annule));
    }
}
