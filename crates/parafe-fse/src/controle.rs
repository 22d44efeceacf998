//! The checks of one moment's answers (entry, exit, six months after): every question asked
//! answered, « ne se prononce pas » only where allowed, values of the question's kind, the date
//! of collection against the parcours, the address or référent. Each fault names its question.

use crate::definition::{dans_les_bornes, Genre, Moment, Question, Questionnaire};
use crate::dossier::{lire_date, Parcours, Reponse, Reponses};
use chrono::NaiveDate;
use serde::Serialize;
use std::fmt::Display;
use std::num::IntErrorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Faute {
    SansReponse,
    NspInterdit,
    /// Answered although its condition does not hold (1g without 1f = oui).
    SansObjet,
    HorsChoix,
    Format,
    HorsBornes,
    Majuscules,
    /// Birth commune without its postal code, or abroad without 99999.
    Commune,
    DateFuture,
    /// Questionnaire dated before the entry date.
    AvantEntree,
    AvantSortie,
    /// Six-month situation collected before it was due.
    AvantEcheance,
    /// Collected after the delay: it no longer counts in the result indicators.
    HorsDelai,
    /// Neither an address nor a référent's contact.
    Contact,
    /// A character the export's encoding cannot write.
    Encodage,
}

/// One fault, in French, naming its question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Defaut {
    pub question: String,
    pub libelle: String,
    pub moment: Moment,
    pub faute: Faute,
    pub message: String,
}

impl Defaut {
    pub(crate) fn new(q: &Question, faute: Faute, detail: impl Display) -> Defaut {
        Defaut {
            question: q.id.clone(),
            libelle: q.libelle.clone(),
            moment: q.moment,
            faute,
            message: format!("{} « {} » : {detail}", q.id, q.libelle),
        }
    }
}

pub(crate) fn jour_fr(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// A value quoted in a message, cut short: it may be anything.
fn cite(v: &str) -> String {
    const MAX: usize = 40;
    match v.char_indices().nth(MAX) {
        Some((i, _)) => format!("« {}… »", &v[..i]),
        None => format!("« {v} »"),
    }
}

/// The faults of `moment`'s answers on `aujourdhui`. Missing answers count once the moment is
/// due (entry date, exit, exit + six months); values given are checked whenever.
pub fn verifier(
    q: &Questionnaire,
    moment: Moment,
    parcours: &Parcours,
    reponses: &Reponses,
    aujourdhui: NaiveDate,
) -> Vec<Defaut> {
    let delais = &q.delais;
    let du = match moment {
        Moment::Entree => Some(parcours.entree),
        Moment::Sortie => parcours.sortie,
        Moment::SixMois => parcours.sortie.map(|s| delais.six_mois(s)),
    }
    .filter(|d| *d <= aujourdhui);
    let manque = match (moment, parcours.sortie) {
        (Moment::Sortie, Some(s)) => format!(
            "réponse manquante (données de sortie à recueillir au plus tard le {})",
            jour_fr(delais.limite_sortie(s))
        ),
        (Moment::SixMois, Some(s)) => format!(
            "réponse manquante (situation à six mois due le {})",
            jour_fr(delais.six_mois(s))
        ),
        _ => "réponse manquante".to_owned(),
    };
    let mut defauts = Vec::new();
    for question in q.toutes().filter(|x| x.moment == moment) {
        let applicable = q.applicable(question, reponses);
        match reponses.get(&question.id) {
            None => {
                if applicable && question.obligatoire && du.is_some() {
                    defauts.push(Defaut::new(question, Faute::SansReponse, &manque));
                }
            }
            Some(_) if !applicable => {
                let detail = match &question.si {
                    Some(c) => format!(
                        "réponse à une question sans objet ici (posée seulement si « {} » vaut {})",
                        c.question,
                        c.parmi.join(" ou ")
                    ),
                    None => "réponse à une question sans objet ici".to_owned(),
                };
                defauts.push(Defaut::new(question, Faute::SansObjet, detail));
            }
            Some(Reponse::NeSePrononcePas) => {
                if !question.nsp {
                    defauts.push(Defaut::new(
                        question,
                        Faute::NspInterdit,
                        "« ne se prononce pas » n'est pas permis pour cette question",
                    ));
                }
            }
            Some(Reponse::Valeur(v)) => {
                if let Some((faute, detail)) = controler_valeur(question, v.trim(), aujourdhui) {
                    defauts.push(Defaut::new(question, faute, detail));
                }
            }
        }
    }
    if let (Some(question), Some(le)) = (
        q.question_du_recueil(moment),
        q.date_du_recueil(moment, reponses),
    ) {
        if let Some((faute, detail)) = controler_recueil(q, moment, parcours, le) {
            defauts.push(Defaut::new(question, faute, detail));
        }
    }
    if let (Moment::Entree, Some(_), Some(c)) = (moment, du, &q.contact) {
        let complet = |ids: &[String]| ids.iter().all(|id| reponses.valeur(id).is_some());
        if !complet(&c.adresse) && !complet(&c.referent) {
            if let Some(premiere) = c.adresse.first().and_then(|id| q.question(id)) {
                defauts.push(Defaut::new(
                    premiere,
                    Faute::Contact,
                    format!(
                        "adresse incomplète ({}) et pas de référent à contacter ({}) : pour une personne sans domicile fixe, les coordonnées d'un proche ou des services sociaux",
                        c.adresse.join(", "),
                        c.referent.join(", ")
                    ),
                ));
            }
        }
    }
    defauts
}

/// The day of collection `le` against the parcours.
fn controler_recueil(
    q: &Questionnaire,
    moment: Moment,
    parcours: &Parcours,
    le: NaiveDate,
) -> Option<(Faute, String)> {
    let delais = &q.delais;
    match (moment, parcours.sortie) {
        (Moment::Entree, _) => (le < parcours.entree).then(|| {
            (
                Faute::AvantEntree,
                format!(
                    "questionnaire du {}, avant la date d'entrée du {} (la date d'entrée peut précéder le questionnaire, pas le suivre)",
                    jour_fr(le),
                    jour_fr(parcours.entree)
                ),
            )
        }),
        (_, None) => Some((
            Faute::AvantSortie,
            format!("recueillie le {} sans sortie enregistrée", jour_fr(le)),
        )),
        (Moment::Sortie, Some(s)) if le < s => Some((
            Faute::AvantSortie,
            format!("recueillie le {}, avant la sortie du {}", jour_fr(le), jour_fr(s)),
        )),
        (Moment::Sortie, Some(s)) => (le > delais.limite_sortie(s)).then(|| {
            (
                Faute::HorsDelai,
                format!(
                    "recueillie le {}, plus de {} jours après la sortie du {} : hors délai, elle ne compte plus dans les indicateurs de résultat immédiat",
                    jour_fr(le),
                    delais.sortie_jours,
                    jour_fr(s)
                ),
            )
        }),
        (Moment::SixMois, Some(s)) if le < delais.six_mois(s) => Some((
            Faute::AvantEcheance,
            format!(
                "recueillie le {}, avant les six mois après la sortie ({})",
                jour_fr(le),
                jour_fr(delais.six_mois(s))
            ),
        )),
        (Moment::SixMois, Some(s)) => (le > delais.limite_six_mois(s)).then(|| {
            (
                Faute::HorsDelai,
                format!(
                    "recueillie le {}, après la fin de la fenêtre de recueil ({})",
                    jour_fr(le),
                    jour_fr(delais.limite_six_mois(s))
                ),
            )
        }),
    }
}

fn chiffres(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
}

fn bornes(q: &Question) -> String {
    match (q.min, q.max) {
        (Some(a), Some(b)) => format!("entre {a} et {b}"),
        (Some(a), None) => format!("d'au moins {a}"),
        (None, Some(b)) => format!("d'au plus {b}"),
        (None, None) => "tenant sur 64 bits".to_owned(),
    }
}

/// The fault of a value given to `q`, if any.
fn controler_valeur(q: &Question, v: &str, aujourdhui: NaiveDate) -> Option<(Faute, String)> {
    match q.genre {
        Genre::Texte => None,
        Genre::Majuscules => v.chars().any(char::is_lowercase).then(|| {
            (
                Faute::Majuscules,
                format!("à écrire en capitales : {}", cite(&v.to_uppercase())),
            )
        }),
        Genre::Date => match lire_date(v) {
            None => Some((
                Faute::Format,
                format!("date au format AAAA-MM-JJ attendue, reçu {}", cite(v)),
            )),
            Some(d) if d > aujourdhui => Some((
                Faute::DateFuture,
                format!("le {} est dans le futur", jour_fr(d)),
            )),
            Some(_) => None,
        },
        Genre::Choix | Genre::OuiNon => (!q.choix.iter().any(|c| c.code == v)).then(|| {
            (
                Faute::HorsChoix,
                format!("{} n'est pas un des choix ({})", cite(v), q.codes()),
            )
        }),
        Genre::Nombre => match v.parse::<i64>() {
            Ok(n) if dans_les_bornes(n, q.min, q.max) => None,
            Err(e)
                if !matches!(
                    e.kind(),
                    IntErrorKind::PosOverflow | IntErrorKind::NegOverflow
                ) =>
            {
                Some((
                    Faute::Format,
                    format!("nombre entier attendu, reçu {}", cite(v)),
                ))
            }
            _ => Some((
                Faute::HorsBornes,
                format!("nombre {} attendu, reçu {}", bornes(q), cite(v)),
            )),
        },
        Genre::Commune => {
            let code = v.get(..5).filter(|c| chiffres(c));
            match code {
                None => Some((
                    Faute::Commune,
                    format!(
                        "code postal à 5 chiffres puis la commune, 99999 si à l'étranger ; reçu {}",
                        cite(v)
                    ),
                )),
                Some("99999") => None,
                Some(_) => v[5..].trim().is_empty().then(|| {
                    (
                        Faute::Commune,
                        "le nom de la commune manque après le code postal (99999 si à l'étranger)"
                            .to_owned(),
                    )
                }),
            }
        }
        Genre::CodePostal => (!(v.len() == 5 && chiffres(v))).then(|| {
            (
                Faute::Format,
                format!("code postal à 5 chiffres attendu, reçu {}", cite(v)),
            )
        }),
        Genre::Telephone => {
            let n: String = v
                .chars()
                .filter(|c| !matches!(c, ' ' | '.' | '-'))
                .collect();
            let valide = match n.strip_prefix('+') {
                Some(international) => {
                    chiffres(international) && (8..=15).contains(&international.len())
                }
                None => chiffres(&n) && n.len() == 10 && n.starts_with('0'),
            };
            (!valide).then(|| {
                (
                    Faute::Format,
                    format!(
                        "numéro à 10 chiffres (ou +indicatif) attendu, reçu {}",
                        cite(v)
                    ),
                )
            })
        }
        Genre::Courriel => {
            let valide = match v.split_once('@') {
                Some((local, domaine)) => {
                    !local.is_empty()
                        && !domaine.contains('@')
                        && domaine.contains('.')
                        && !domaine.starts_with('.')
                        && !domaine.ends_with('.')
                        && !v.chars().any(char::is_whitespace)
                }
                None => false,
            };
            (!valide).then(|| {
                (
                    Faute::Format,
                    format!("adresse de courriel attendue, reçu {}", cite(v)),
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::essais::{avec, entree_pon, j, parcours, pon};

    fn entree(r: &Reponses) -> Vec<Defaut> {
        verifier(&pon(), Moment::Entree, &parcours(), r, j("2025-01-15"))
    }

    /// (question, fault) of the faults.
    fn fautes(d: &[Defaut]) -> Vec<(&str, Faute)> {
        d.iter().map(|d| (d.question.as_str(), d.faute)).collect()
    }

    #[test]
    fn un_questionnaire_complet_n_a_aucun_defaut() {
        assert_eq!(entree(&entree_pon()), vec![]);
    }

    #[test]
    fn une_reponse_manquante_est_nommee() {
        let mut r = entree_pon();
        avec(&mut r, &[("q2", "  ")]);
        let d = entree(&r);
        assert_eq!(fautes(&d), vec![("q2", Faute::SansReponse)]);
        assert_eq!(
            d[0].message,
            "q2 « Question 2. Quel est le plus haut niveau de diplôme atteint ou l'année d'études la plus élevée à l'entrée dans l'opération ? » : réponse manquante"
        );
    }

    #[test]
    fn ne_se_prononce_pas_seulement_pour_le_logement_et_l_origine() {
        let mut r = entree_pon();
        r.inserer("q3", Reponse::NeSePrononcePas);
        r.inserer("q6", Reponse::NeSePrononcePas);
        let d = entree(&r);
        // q5 (logement) and q6 (origine) may; q3 (handicap) may not.
        assert_eq!(fautes(&d), vec![("q3", Faute::NspInterdit)]);
        assert!(d[0]
            .message
            .starts_with("q3 « Question 3. Avez-vous une reconnaissance officielle d'un handicap"));
        assert!(d[0]
            .message
            .ends_with("« ne se prononce pas » n'est pas permis pour cette question"));
    }

    #[test]
    fn un_questionnaire_date_d_avant_l_entree_est_refuse() {
        let mut r = entree_pon();
        avec(&mut r, &[("date_questionnaire", "2025-01-03")]);
        let d = entree(&r);
        assert_eq!(fautes(&d), vec![("date_questionnaire", Faute::AvantEntree)]);
        assert_eq!(
            d[0].message,
            "date_questionnaire « Date de remplissage du questionnaire » : questionnaire du 03/01/2025, avant la date d'entrée du 06/01/2025 (la date d'entrée peut précéder le questionnaire, pas le suivre)"
        );
        // The same day, or later, is fine.
        avec(&mut r, &[("date_questionnaire", "2025-01-06")]);
        assert_eq!(entree(&r), vec![]);
    }

    #[test]
    fn q1e_q1f_seulement_sans_emploi_1g_seulement_si_1f_oui() {
        let mut emploi = entree_pon();
        avec(
            &mut emploi,
            &[("q1", "1b"), ("q1e", ""), ("q1f", ""), ("q1g", "")],
        );
        assert_eq!(entree(&emploi), vec![]);
        avec(&mut emploi, &[("q1g", "3")]);
        let d = entree(&emploi);
        assert_eq!(fautes(&d), vec![("q1g", Faute::SansObjet)]);
        assert!(d[0].message.contains("posée seulement si « q1f » vaut oui"));

        let mut inactif = entree_pon();
        avec(&mut inactif, &[("q1f", "non"), ("q1g", ""), ("q1e", "")]);
        assert_eq!(fautes(&entree(&inactif)), vec![("q1e", Faute::SansReponse)]);
    }

    #[test]
    fn les_valeurs_hostiles_sont_nommees() {
        let cas = [
            ("q1g", "99999999999999999999999", Faute::HorsBornes),
            ("q1g", "-1", Faute::HorsBornes),
            ("q1g", "douze", Faute::Format),
            ("date_naissance", "12/04/1990", Faute::Format),
            ("date_naissance", "2090-04-12", Faute::DateFuture),
            ("nom", "Benali", Faute::Majuscules),
            ("commune_naissance", "Alger (Algérie)", Faute::Commune),
            ("commune_naissance", "69003", Faute::Commune),
            ("q2", "2e", Faute::HorsChoix),
            ("q3", "peut-être", Faute::HorsChoix),
            ("telephone_mobile", "12", Faute::Format),
            ("code_postal", "6900", Faute::Format),
            ("courriel", "samira@", Faute::Format),
        ];
        for (question, valeur, faute) in cas {
            let mut r = entree_pon();
            avec(&mut r, &[(question, valeur)]);
            assert_eq!(
                fautes(&entree(&r)),
                vec![(question, faute)],
                "{question} = {valeur}"
            );
        }
        // A huge value is quoted cut short.
        let mut r = entree_pon();
        avec(&mut r, &[("q1g", &"9".repeat(5000))]);
        let attendu = format!(
            "nombre entre 0 et 600 attendu, reçu « {}… »",
            "9".repeat(40)
        );
        assert!(entree(&r)[0].message.ends_with(&attendu));
        avec(&mut r, &[("q1g", "14"), ("commune_naissance", "Alger")]);
        assert!(entree(&r)[0].message.contains("99999 si à l'étranger"));
        // Born abroad, an international number: both fine.
        avec(
            &mut r,
            &[
                ("commune_naissance", "99999"),
                ("telephone_mobile", "+213 555 12 34 56"),
            ],
        );
        assert_eq!(entree(&r), vec![]);
    }

    #[test]
    fn sans_domicile_fixe_les_coordonnees_d_un_referent() {
        let mut r = entree_pon();
        avec(
            &mut r,
            &[("adresse", ""), ("code_postal", ""), ("commune", "")],
        );
        let d = entree(&r);
        assert_eq!(fautes(&d), vec![("adresse", Faute::Contact)]);
        assert!(d[0]
            .message
            .contains("les coordonnées d'un proche ou des services sociaux"));
        avec(
            &mut r,
            &[
                ("referent_nom", "CCAS de Lyon 8e"),
                ("referent_telephone", "04 72 00 00 00"),
            ],
        );
        assert_eq!(entree(&r), vec![]);
    }

    fn sorti() -> Parcours {
        Parcours {
            entree: j("2025-01-06"),
            sortie: Some(j("2025-03-03")),
        }
    }

    #[test]
    fn une_sortie_recueillie_apres_quatre_semaines_est_hors_delai() {
        let mut r = entree_pon();
        avec(
            &mut r,
            &[
                ("date_recueil_sortie", "2025-04-07"),
                ("s1", "1b"),
                ("s2", "non"),
            ],
        );
        let d = verifier(&pon(), Moment::Sortie, &sorti(), &r, j("2025-04-08"));
        assert_eq!(fautes(&d), vec![("date_recueil_sortie", Faute::HorsDelai)]);
        assert_eq!(
            d[0].message,
            "date_recueil_sortie « Date du recueil de la situation à la sortie » : recueillie le 07/04/2025, plus de 28 jours après la sortie du 03/03/2025 : hors délai, elle ne compte plus dans les indicateurs de résultat immédiat"
        );
        avec(&mut r, &[("date_recueil_sortie", "2025-03-31")]);
        assert_eq!(
            verifier(&pon(), Moment::Sortie, &sorti(), &r, j("2025-04-08")),
            vec![]
        );
    }

    #[test]
    fn les_donnees_de_sortie_manquent_une_fois_sorti() {
        let r = entree_pon();
        // Not exited yet: nothing due.
        assert_eq!(
            verifier(&pon(), Moment::Sortie, &parcours(), &r, j("2025-03-10")),
            vec![]
        );
        let d = verifier(&pon(), Moment::Sortie, &sorti(), &r, j("2025-03-10"));
        // s1e and s1f depend on s1, not answered.
        assert_eq!(
            fautes(&d),
            vec![
                ("date_recueil_sortie", Faute::SansReponse),
                ("s1", Faute::SansReponse),
                ("s2", Faute::SansReponse)
            ]
        );
        assert!(d[1].message.ends_with(
            "réponse manquante (données de sortie à recueillir au plus tard le 31/03/2025)"
        ));
    }

    #[test]
    fn la_situation_a_six_mois_arrive_a_echeance() {
        let r = entree_pon();
        let veille = verifier(&pon(), Moment::SixMois, &sorti(), &r, j("2025-09-02"));
        assert_eq!(veille, vec![]);
        let d = verifier(&pon(), Moment::SixMois, &sorti(), &r, j("2025-09-03"));
        // m2 (improved situation) is asked of those in work at entry only.
        assert_eq!(
            fautes(&d),
            vec![
                ("date_recueil_six_mois", Faute::SansReponse),
                ("m1", Faute::SansReponse)
            ]
        );
        assert_eq!(
            d[1].message,
            "m1 « Six mois après la sortie. Occupez-vous un emploi ? » : réponse manquante (situation à six mois due le 03/09/2025)"
        );
        let mut tot = r.clone();
        avec(
            &mut tot,
            &[("date_recueil_six_mois", "2025-08-20"), ("m1", "1c")],
        );
        let d = verifier(&pon(), Moment::SixMois, &sorti(), &tot, j("2025-09-03"));
        assert_eq!(
            fautes(&d),
            vec![("date_recueil_six_mois", Faute::AvantEcheance)]
        );
    }
}
