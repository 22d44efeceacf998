//! The PLIE's figures for an opération over a period (the bilans d'exécution: interim at 31 May
//! and 30 September, final at 31 December): entries, people in the parcours, exits by reason
//! and the positive-exit rate, the common indicators, the questionnaires missing; each count
//! with the participants behind it. Pure: the participants are given, the day too.

use crate::definition::Questionnaire;
use crate::dossier::Participant;
use crate::indicateurs::{indicateurs, Compte};
use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;
use std::collections::BTreeSet;

/// The periods the coordinator reports on, all from 1 January of the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Preset {
    /// The calendar year.
    #[serde(rename = "annee")]
    Annee,
    /// The interim bilan of June: to 31 May.
    #[serde(rename = "31-mai")]
    TrenteEtUnMai,
    /// The interim bilan of October: to 30 September.
    #[serde(rename = "30-septembre")]
    TrenteSeptembre,
    /// The final bilan (due by 31 January): to 31 December, from the opération's start when it
    /// began in an earlier year, so that a multi-year opération is reported whole.
    #[serde(rename = "final")]
    Final,
}

impl Preset {
    pub const TOUS: [Preset; 4] = [
        Preset::Annee,
        Preset::TrenteEtUnMai,
        Preset::TrenteSeptembre,
        Preset::Final,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Preset::Annee => "annee",
            Preset::TrenteEtUnMai => "31-mai",
            Preset::TrenteSeptembre => "30-septembre",
            Preset::Final => "final",
        }
    }

    pub fn libelle(self) -> &'static str {
        match self {
            Preset::Annee => "Année",
            Preset::TrenteEtUnMai => "Bilan intermédiaire au 31 mai",
            Preset::TrenteSeptembre => "Bilan intermédiaire au 30 septembre",
            Preset::Final => "Bilan final au 31 décembre",
        }
    }

    pub fn depuis_code(code: &str) -> Option<Preset> {
        Preset::TOUS.into_iter().find(|p| p.code() == code)
    }
}

/// A period of the figures, both days included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Periode {
    pub preset: Preset,
    pub annee: i32,
    pub du: NaiveDate,
    pub au: NaiveDate,
}

impl Periode {
    /// The period of `preset` in `annee`; `debut_operation` only moves the final bilan's start.
    /// None for a year chrono cannot hold.
    pub fn de(preset: Preset, annee: i32, debut_operation: Option<NaiveDate>) -> Option<Periode> {
        let jour = |m, j| NaiveDate::from_ymd_opt(annee, m, j);
        let premier = jour(1, 1)?;
        let (du, au) = match preset {
            Preset::Annee => (premier, jour(12, 31)?),
            Preset::TrenteEtUnMai => (premier, jour(5, 31)?),
            Preset::TrenteSeptembre => (premier, jour(9, 30)?),
            Preset::Final => (
                debut_operation.map_or(premier, |d| d.min(premier)),
                jour(12, 31)?,
            ),
        };
        Some(Periode {
            preset,
            annee,
            du,
            au,
        })
    }

    pub fn contient(&self, jour: NaiveDate) -> bool {
        self.du <= jour && jour <= self.au
    }

    /// The first day of each month of the period.
    pub fn mois(&self) -> Vec<NaiveDate> {
        let mut mois = Vec::new();
        let mut m = premier_du_mois(self.du);
        while m <= self.au {
            mois.push(m);
            m = m + Months::new(1);
        }
        mois
    }
}

fn premier_du_mois(jour: NaiveDate) -> NaiveDate {
    jour.with_day(1).unwrap_or(jour)
}

const MOIS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// « mars 2025 ».
pub fn nom_du_mois(jour: NaiveDate) -> String {
    format!("{} {}", MOIS[jour.month0() as usize], jour.year())
}

/// Whether an exit's reason is a positive exit: it contains one of the PLIE's positive
/// reasons (`[suivi_emploi] motifs` of the follow-up rules), case aside.
pub fn sortie_positive(motif: &str, motifs_positifs: &[String]) -> bool {
    let motif = motif.to_lowercase();
    motifs_positifs
        .iter()
        .any(|m| motif.contains(&m.to_lowercase()))
}

/// One participant as the figures take him: his questionnaire's answers (every moment
/// recorded), his exit's reason, which moments were collected.
#[derive(Debug, Clone)]
pub struct Suivi {
    pub participant: Participant,
    pub motif_sortie: Option<String>,
    pub entree_recueillie: bool,
    pub sortie_recueillie: bool,
}

/// The exits of one reason.
#[derive(Debug, Clone, Serialize)]
pub struct Motif {
    #[serde(flatten)]
    pub compte: Compte,
    pub positif: bool,
}

/// An opération's figures over a period; every count names its participants (the list a link
/// opens), in the order given.
#[derive(Debug, Clone, Serialize)]
pub struct Chiffres {
    pub periode: Periode,
    pub entrees: Compte,
    pub en_parcours: Compte,
    pub sorties: Compte,
    pub sorties_positives: Compte,
    /// Positive exits among the exits, in percent; none without exits.
    pub taux_sorties_positives: Option<f64>,
    /// One per month of the period (`entrees-AAAA-MM`).
    pub entrees_par_mois: Vec<Compte>,
    pub sorties_par_mois: Vec<Compte>,
    /// Most frequent first.
    pub sorties_par_motif: Vec<Motif>,
    /// Over the people in the parcours during the period, in the definition's order.
    pub indicateurs: Vec<Compte>,
    /// In the parcours during the period without their entry questionnaire.
    pub sans_questionnaire_entree: Compte,
    /// Exited during the period without their exit data.
    pub sans_questionnaire_sortie: Compte,
}

impl Chiffres {
    /// Every count, each once.
    pub fn comptes(&self) -> impl Iterator<Item = &Compte> {
        [
            &self.entrees,
            &self.en_parcours,
            &self.sorties,
            &self.sorties_positives,
            &self.sans_questionnaire_entree,
            &self.sans_questionnaire_sortie,
        ]
        .into_iter()
        .chain(&self.entrees_par_mois)
        .chain(&self.sorties_par_mois)
        .chain(self.sorties_par_motif.iter().map(|m| &m.compte))
        .chain(&self.indicateurs)
    }

    /// The count of code `code` (what a link names).
    pub fn compte(&self, code: &str) -> Option<&Compte> {
        self.comptes().find(|c| c.code == code)
    }
}

fn compte(code: impl Into<String>, libelle: impl Into<String>, qui: Vec<String>) -> Compte {
    Compte {
        code: code.into(),
        libelle: libelle.into(),
        nombre: qui.len(),
        sensible: false,
        participants: qui,
    }
}

fn ceux<'a>(suivis: &'a [Suivi], f: impl Fn(&Suivi) -> bool + 'a) -> Vec<String> {
    suivis
        .iter()
        .filter(|s| f(s))
        .map(|s| s.participant.reference.clone())
        .collect()
}

/// A reason as a link names it: lower case, letters and digits, dashes between.
fn code_du_motif(motif: &str) -> String {
    let mut code = String::from("motif");
    for mot in motif
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|m| !m.is_empty())
    {
        code.push('-');
        code.push_str(mot);
    }
    code
}

const SANS_MOTIF: &str = "Motif non renseigné";

/// The figures of the participants `suivis` (those of the opération; the ones outside the
/// period are left out here) over `periode`.
pub fn chiffres(
    q: &Questionnaire,
    periode: Periode,
    suivis: Vec<Suivi>,
    motifs_positifs: &[String],
) -> Chiffres {
    let suivis: Vec<Suivi> = suivis
        .into_iter()
        .filter(|s| {
            let p = s.participant.parcours;
            p.entree <= periode.au && p.sortie.is_none_or(|x| x >= periode.du)
        })
        .collect();
    let sortie_dans = |s: &Suivi| {
        s.participant
            .parcours
            .sortie
            .filter(|d| periode.contient(*d))
    };
    let motif = |s: &Suivi| {
        s.motif_sortie
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or(SANS_MOTIF)
            .to_owned()
    };
    let positive = |s: &Suivi| {
        s.motif_sortie
            .as_deref()
            .is_some_and(|m| sortie_positive(m, motifs_positifs))
    };

    let entrees = ceux(&suivis, |s| periode.contient(s.participant.parcours.entree));
    let sorties = ceux(&suivis, |s| sortie_dans(s).is_some());
    let positives = ceux(&suivis, |s| sortie_dans(s).is_some() && positive(s));
    let taux = (!sorties.is_empty()).then(|| 100.0 * positives.len() as f64 / sorties.len() as f64);

    let mut entrees_par_mois = Vec::new();
    let mut sorties_par_mois = Vec::new();
    for mois in periode.mois() {
        let dans = |d: NaiveDate| premier_du_mois(d) == mois && periode.contient(d);
        let cle = mois.format("%Y-%m");
        entrees_par_mois.push(compte(
            format!("entrees-{cle}"),
            format!("Entrées en {}", nom_du_mois(mois)),
            ceux(&suivis, |s| dans(s.participant.parcours.entree)),
        ));
        sorties_par_mois.push(compte(
            format!("sorties-{cle}"),
            format!("Sorties en {}", nom_du_mois(mois)),
            ceux(&suivis, |s| sortie_dans(s).is_some_and(dans)),
        ));
    }

    // Reasons as typed, gathered regardless of case (the first spelling names the group).
    let mut libelles: Vec<String> = Vec::new();
    for s in suivis.iter().filter(|s| sortie_dans(s).is_some()) {
        let m = motif(s);
        if !libelles
            .iter()
            .any(|l| l.to_lowercase() == m.to_lowercase())
        {
            libelles.push(m);
        }
    }
    let mut sorties_par_motif: Vec<Motif> = libelles
        .into_iter()
        .map(|l| {
            let cle = l.to_lowercase();
            let qui = ceux(&suivis, |s| {
                sortie_dans(s).is_some() && motif(s).to_lowercase() == cle
            });
            Motif {
                positif: l != SANS_MOTIF && sortie_positive(&l, motifs_positifs),
                compte: compte(code_du_motif(&l), l, qui),
            }
        })
        .collect();
    sorties_par_motif.sort_by(|a, b| {
        b.compte
            .nombre
            .cmp(&a.compte.nombre)
            .then_with(|| a.compte.libelle.cmp(&b.compte.libelle))
    });

    let sans_entree = ceux(&suivis, |s| !s.entree_recueillie);
    let sans_sortie = ceux(&suivis, |s| {
        sortie_dans(s).is_some() && !s.sortie_recueillie
    });
    let indicateurs = indicateurs(q, suivis.iter().map(|s| &s.participant));

    Chiffres {
        periode,
        entrees: compte("entrees", "Entrées dans la période", entrees),
        en_parcours: compte(
            "en-parcours",
            "Personnes en parcours pendant la période",
            ceux(&suivis, |_| true),
        ),
        sorties: compte("sorties", "Sorties dans la période", sorties),
        sorties_positives: compte("sorties-positives", "Sorties positives", positives),
        taux_sorties_positives: taux,
        entrees_par_mois,
        sorties_par_mois,
        sorties_par_motif,
        indicateurs,
        sans_questionnaire_entree: compte(
            "sans-questionnaire-entree",
            "En parcours sans questionnaire d'entrée",
            sans_entree,
        ),
        sans_questionnaire_sortie: compte(
            "sans-questionnaire-sortie",
            "Sortis sans données de sortie",
            sans_sortie,
        ),
    }
}

/// The months of `periode` over by `aujourdhui` (a month still running is not missing yet)
/// whose first day is not in `signes` (the months a signed time sheet covers).
pub fn mois_sans_feuille(
    periode: &Periode,
    aujourdhui: NaiveDate,
    signes: &BTreeSet<NaiveDate>,
) -> Vec<NaiveDate> {
    periode
        .mois()
        .into_iter()
        .filter(|m| *m + Months::new(1) <= aujourdhui && !signes.contains(m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dossier::{Parcours, Reponses};
    use crate::essais::{avec, j, participant, plus};

    fn suivi(
        reference: &str,
        entree: &str,
        sortie: Option<(&str, &str)>,
        valeurs: &[(&str, &str)],
    ) -> Suivi {
        let mut r = Reponses::new();
        avec(&mut r, valeurs);
        let mut p = participant(reference, r);
        p.parcours = Parcours {
            entree: j(entree),
            sortie: sortie.map(|(d, _)| j(d)),
        };
        Suivi {
            participant: p,
            motif_sortie: sortie.map(|(_, m)| m.to_owned()),
            entree_recueillie: !valeurs.is_empty(),
            sortie_recueillie: false,
        }
    }

    fn positifs() -> Vec<String> {
        ["emploi", "cdi", "cdd", "création"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn les_periodes_partent_du_premier_janvier() {
        let p = |preset| Periode::de(preset, 2025, Some(j("2024-03-01"))).unwrap();
        assert_eq!(
            (p(Preset::Annee).du, p(Preset::Annee).au),
            (j("2025-01-01"), j("2025-12-31"))
        );
        assert_eq!(p(Preset::TrenteEtUnMai).au, j("2025-05-31"));
        assert_eq!(p(Preset::TrenteSeptembre).au, j("2025-09-30"));
        // The final bilan of an opération begun in 2024 covers it whole.
        assert_eq!(p(Preset::Final).du, j("2024-03-01"));
        assert_eq!(p(Preset::TrenteEtUnMai).mois().len(), 5);
        assert_eq!(
            Preset::depuis_code("30-septembre"),
            Some(Preset::TrenteSeptembre)
        );
        assert_eq!(Preset::depuis_code("juin"), None);
    }

    #[test]
    fn entrees_parcours_sorties_par_motif_et_taux_avec_leurs_participants() {
        let suivis = vec![
            // Entered and left before the period: not counted anywhere.
            suivi(
                "avant",
                "2024-01-10",
                Some(("2024-12-20", "Emploi CDI")),
                &[],
            ),
            suivi("a", "2024-11-04", None, &[("q1", "non"), ("q1f", "oui")]),
            suivi(
                "b",
                "2025-02-03",
                Some(("2025-04-15", "Emploi CDI")),
                &[("q1", "1c")],
            ),
            suivi(
                "c",
                "2025-02-17",
                Some(("2025-05-02", "emploi cdi")),
                &[("q1", "non")],
            ),
            suivi(
                "d",
                "2025-03-03",
                Some(("2025-05-20", "Déménagement")),
                &[("q1", "non")],
            ),
            suivi("e", "2025-03-10", Some(("2025-05-28", " ")), &[]),
            // Left after 31 May: in the parcours, not an exit of the period.
            suivi(
                "f",
                "2025-04-01",
                Some(("2025-06-10", "Création d'entreprise")),
                &[],
            ),
            // Entered after the period.
            suivi("g", "2025-06-02", None, &[]),
        ];
        let periode = Periode::de(Preset::TrenteEtUnMai, 2025, None).unwrap();
        let c = chiffres(&plus(), periode, suivis, &positifs());
        assert_eq!(c.entrees.participants, ["b", "c", "d", "e", "f"]);
        assert_eq!(c.en_parcours.participants, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(c.sorties.participants, ["b", "c", "d", "e"]);
        assert_eq!(c.sorties_positives.participants, ["b", "c"]);
        assert_eq!(c.taux_sorties_positives, Some(50.0));
        let motifs: Vec<(&str, &str, usize, bool)> = c
            .sorties_par_motif
            .iter()
            .map(|m| {
                (
                    m.compte.code.as_str(),
                    m.compte.libelle.as_str(),
                    m.compte.nombre,
                    m.positif,
                )
            })
            .collect();
        assert_eq!(
            motifs,
            [
                ("motif-emploi-cdi", "Emploi CDI", 2, true),
                ("motif-déménagement", "Déménagement", 1, false),
                ("motif-motif-non-renseigné", "Motif non renseigné", 1, false),
            ]
        );
        let par_mois: Vec<usize> = c.entrees_par_mois.iter().map(|m| m.nombre).collect();
        assert_eq!(par_mois, [0, 2, 2, 1, 0]);
        let sorties: Vec<usize> = c.sorties_par_mois.iter().map(|m| m.nombre).collect();
        assert_eq!(sorties, [0, 0, 0, 1, 3]);
        assert_eq!(c.sorties_par_mois[4].code, "sorties-2025-05");
        assert_eq!(c.sorties_par_mois[4].libelle, "Sorties en mai 2025");
        assert_eq!(c.sans_questionnaire_entree.participants, ["e", "f"]);
        assert_eq!(
            c.sans_questionnaire_sortie.participants,
            ["b", "c", "d", "e"]
        );
        // The indicators over the people in the parcours.
        let eeco02 = c.compte("EECO02").unwrap();
        assert_eq!(eeco02.participants, ["a"]);
        assert!(!eeco02.sensible);
        assert!(c.compte("EECO12").unwrap().sensible);
        assert_eq!(c.compte("EECO01").unwrap().nombre, 6);
        assert_eq!(c.compte("motif-emploi-cdi").unwrap().nombre, 2);
    }

    #[test]
    fn sans_sortie_pas_de_taux() {
        let periode = Periode::de(Preset::Annee, 2025, None).unwrap();
        let c = chiffres(
            &plus(),
            periode,
            vec![suivi("a", "2025-01-06", None, &[])],
            &positifs(),
        );
        assert_eq!(c.taux_sorties_positives, None);
        assert!(c.sorties_par_motif.is_empty());
    }

    #[test]
    fn un_mois_sans_feuille_signee_manque_une_fois_fini() {
        let periode = Periode::de(Preset::Annee, 2025, None).unwrap();
        let signes = BTreeSet::from([j("2025-01-01"), j("2025-03-01")]);
        assert_eq!(
            mois_sans_feuille(&periode, j("2025-04-30"), &signes),
            [j("2025-02-01")]
        );
        assert_eq!(
            mois_sans_feuille(&periode, j("2025-05-01"), &signes),
            [j("2025-02-01"), j("2025-04-01")]
        );
    }
}
