//! Issue 18, the PLIE's figures: seven participants of opération 202500417 imported through the
//! API (exits in the import's columns, one recorded later by the API), their questionnaires put
//! through the API, a time sheet of September signed by the employee then his manager; on 15
//! October 2025 the year's figures and the interim bilan at 31 May are checked against what
//! the plan below gives by hand: counts, positive-exit rate, the lists behind them, missing
//! questionnaires and time sheets; the screen and the spreadsheet (read back by calamine) give
//! the JSON's totals; an assistant sees every count but no list behind a sensitive indicator,
//! a référent none; a sensitive list read is in the journal.

use crate::pack::evenements as journal;
use crate::service::{signature, Service, Smtp};
use crate::temps::feuille_du_mois;
use calamine::{Data, DataType, Reader, Xlsx};
use parafe::model::JournalEvent;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const AU: &str = "2025-10-15T08:00:00Z";
const OPERATION: &str = "202500417";
const REFERENT: &str = "t.garnier@plie.fr";
const COORDINATEUR: &str = "coord@plie.fr";

/// A participant of the plan: parcours id, name, entry, exit and its reason in the import,
/// the entry questionnaire's disability answer (none: no entry questionnaire), the day his exit
/// data were collected.
struct Prevu {
    id: &'static str,
    nom: &'static str,
    entree: &'static str,
    sortie: &'static str,
    motif: &'static str,
    handicap: Option<&'static str>,
    sortie_recueillie: Option<&'static str>,
}

const PLAN: &[Prevu] = &[
    Prevu {
        id: "C-01",
        nom: "Benali",
        entree: "03/02/2025",
        sortie: "",
        motif: "",
        handicap: Some("oui"),
        sortie_recueillie: None,
    },
    Prevu {
        id: "C-02",
        nom: "Durand",
        entree: "03/03/2025",
        sortie: "20/05/2025",
        motif: "Emploi CDI",
        handicap: Some("non"),
        sortie_recueillie: Some("2025-06-02"),
    },
    Prevu {
        id: "C-03",
        nom: "Roux",
        entree: "10/03/2025",
        sortie: "02/06/2025",
        motif: "Déménagement",
        handicap: Some("non"),
        sortie_recueillie: None,
    },
    // Exit recorded by the API afterwards (1 September, « CDD de 8 mois »).
    Prevu {
        id: "C-04",
        nom: "Petit",
        entree: "07/04/2025",
        sortie: "",
        motif: "",
        handicap: Some("non"),
        sortie_recueillie: Some("2025-09-10"),
    },
    // No entry questionnaire.
    Prevu {
        id: "C-05",
        nom: "Moreau",
        entree: "02/06/2025",
        sortie: "",
        motif: "",
        handicap: None,
        sortie_recueillie: None,
    },
    // Left in 2024: in no figure of 2025.
    Prevu {
        id: "C-06",
        nom: "Girard",
        entree: "02/09/2024",
        sortie: "15/12/2024",
        motif: "Emploi CDI",
        handicap: Some("non"),
        sortie_recueillie: None,
    },
    // Entered in 2024, still in the parcours.
    Prevu {
        id: "C-07",
        nom: "Lambert",
        entree: "04/11/2024",
        sortie: "",
        motif: "",
        handicap: Some("non"),
        sortie_recueillie: None,
    },
];

fn extraction() -> String {
    let mut csv = parafe::import::en_tete();
    csv.push('\n');
    for p in PLAN {
        csv.push_str(&format!(
            "{};Madame;{};Camille;01/02/1985;;;34400;Lunel;34;{REFERENT};Garnier;Thomas;{OPERATION};France Travail Lunel;;{};Non;;{};{}\n",
            p.id, p.nom, p.entree, p.sortie, p.motif
        ));
    }
    csv
}

fn valeur(v: &str) -> Value {
    json!({ "valeur": v })
}

fn jour_iso(francais: &str) -> String {
    let [j, m, a]: [&str; 3] = francais.split('/').collect::<Vec<_>>().try_into().unwrap();
    format!("{a}-{m}-{j}")
}

fn entree(date: &str, handicap: &str) -> Value {
    json!({ "reponses": {
        "sexe": valeur("femme"), "commune_naissance": valeur("34400 Lunel"),
        "adresse": valeur("3 rue des Écoles"), "date_questionnaire": valeur(date),
        "q1": valeur("non"), "q1e": valeur("non"), "q1f": valeur("oui"), "q1g": valeur("14"),
        "q2": valeur("cite_3_4"), "handicap": valeur(handicap), "nationalite": valeur("francaise"),
        "origine": valeur("non"), "minorite": valeur("non"), "logement": "ne_se_prononce_pas",
        "zone_rurale": valeur("non"),
    } })
}

fn sortie(le: &str) -> Value {
    json!({ "reponses": {
        "date_recueil_sortie": valeur(le), "s1": valeur("1b"), "s2": valeur("non"),
    } })
}

fn api(periode: &str) -> String {
    format!("/api/operations/{OPERATION}/chiffres?periode={periode}&annee=2025")
}

fn liste_api(mesure: &str, periode: &str) -> String {
    format!("/api/operations/{OPERATION}/chiffres/{mesure}?periode={periode}&annee=2025")
}

/// The parcours ids behind a count, through the API, sorted.
fn qui(service: &Service, jeton: &str, mesure: &str, periode: &str) -> Vec<String> {
    let v = service.ok("GET", &liste_api(mesure, periode), jeton, None);
    let mut ids: Vec<String> = v["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["identifiant"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    assert_eq!(v["compte"]["nombre"], json!(ids.len()), "{v}");
    ids
}

/// The number a page shows for count `mesure` (the link or the plain number).
fn a_l_ecran(page: &str, mesure: &str) -> u64 {
    let marque = format!("data-mesure=\"{mesure}\"");
    let i = page
        .find(&marque)
        .unwrap_or_else(|| panic!("{mesure} absent"));
    let debut = i + page[i..].find('>').unwrap() + 1;
    page[debut..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[test]
fn les_chiffres_de_l_operation_leurs_listes_l_ecran_et_le_tableur_concordent() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir.path().join("smtp"));
    let service = Service::lancer(
        &dir.path().join("data"),
        crate::service::Reglages {
            smtp: Some(smtp.port),
            horloge: Some(AU),
            ..Default::default()
        },
    );
    let coordinateur = service.compte(COORDINATEUR, "coordinateur", Some("plie-test"));
    crate::service::fiche_plie(&service, &coordinateur);
    let (status, import) = service.importer(&coordinateur, &extraction());
    assert_eq!(status, StatusCode::OK, "{import}");
    crate::service::decrire_l_operation(&service, &coordinateur);
    let referent = service.compte(REFERENT, "referent", Some("plie-test"));
    let assistant = service.compte("assistante@plie.fr", "assistant", Some("plie-test"));

    let refs = crate::questionnaire::refs(&service, &referent);
    // C-04 leaves on 1 September, recorded as the référent records an exit.
    service.ok(
        "PATCH",
        &format!("/api/participants/{}", refs["C-04"]),
        &referent,
        Some(&json!({ "date_sortie": "2025-09-01", "motif_sortie": "CDD de 8 mois" })),
    );
    for p in PLAN {
        let chemin =
            |moment: &str| format!("/api/participants/{}/questionnaire/{moment}", refs[p.id]);
        if let Some(h) = p.handicap {
            service.ok(
                "PUT",
                &chemin("entree"),
                &referent,
                Some(&entree(&jour_iso(p.entree), h)),
            );
        }
        if let Some(le) = p.sortie_recueillie {
            service.ok("PUT", &chemin("sortie"), &referent, Some(&sortie(le)));
        }
    }

    // September's time sheet, signed by Thomas Garnier then his manager from their accounts.
    let (reference, version) = service.creer_et_envoyer(&coordinateur, &feuille_du_mois(2025, 9));
    let salarie = service.connecter(&smtp, REFERENT);
    let responsable = service.connecter(&smtp, COORDINATEUR);
    for (qui, rang) in [(&salarie, 0), (&responsable, 1)] {
        let (status, v) = qui.json(
            "POST",
            &format!("/documents/{reference}/signer/{rang}"),
            Some(&signature(&version)),
        );
        assert_eq!(status, StatusCode::OK, "{v}");
    }

    // The year: 6 in the parcours (C-06 left in 2024), 5 entries, 3 exits of which 2 positive.
    let annee = service.ok("GET", &api("annee"), &coordinateur, None);
    assert_eq!(annee["periode"]["du"], "2025-01-01", "{annee}");
    assert_eq!(annee["periode"]["au"], "2025-12-31");
    let n = |v: &Value, k: &str| v[k]["nombre"].as_u64().unwrap();
    assert_eq!(n(&annee, "en_parcours"), 6, "{annee}");
    assert_eq!(n(&annee, "entrees"), 5);
    assert_eq!(n(&annee, "sorties"), 3);
    assert_eq!(n(&annee, "sorties_positives"), 2);
    let taux = annee["taux_sorties_positives"].as_f64().unwrap();
    assert!((taux - 200.0 / 3.0).abs() < 1e-9, "{taux}");
    assert!(
        annee.get("participants").is_none() && annee["entrees"].get("participants").is_none(),
        "les listes ne viennent qu'avec leur lien : {annee}"
    );
    let motifs: Vec<(String, u64, bool)> = annee["sorties_par_motif"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["libelle"].as_str().unwrap().to_owned(),
                m["nombre"].as_u64().unwrap(),
                m["positif"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        motifs,
        [
            ("CDD de 8 mois".to_owned(), 1, true),
            ("Déménagement".to_owned(), 1, false),
            ("Emploi CDI".to_owned(), 1, true),
        ]
    );
    let par_mois = |k: &str| -> Vec<u64> {
        annee[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["nombre"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        par_mois("entrees_par_mois"),
        [0, 1, 2, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        par_mois("sorties_par_mois"),
        [0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0]
    );
    assert_eq!(n(&annee, "sans_questionnaire_entree"), 1);
    assert_eq!(n(&annee, "sans_questionnaire_sortie"), 1);
    let indicateur = |code: &str| {
        annee["indicateurs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["code"] == code)
            .cloned()
            .unwrap()
    };
    assert_eq!(indicateur("EECO01")["nombre"], 6);
    assert_eq!(
        indicateur("EECO02")["nombre"],
        5,
        "tous sauf C-05, sans questionnaire"
    );
    assert_eq!(indicateur("EECO12")["nombre"], 1);
    assert_eq!(indicateur("EECO12")["sensible"], true);
    assert_eq!(indicateur("EECR04")["nombre"], 2);
    // Months over by 15 October without a signed sheet: all but September.
    let feuilles = annee["feuilles_temps"].as_array().unwrap();
    assert_eq!(feuilles.len(), 1, "{annee}");
    assert_eq!(feuilles[0]["nom"], "Garnier");
    let mois: Vec<&str> = feuilles[0]["mois"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(
        mois,
        [
            "2025-01-01",
            "2025-02-01",
            "2025-03-01",
            "2025-04-01",
            "2025-05-01",
            "2025-06-01",
            "2025-07-01",
            "2025-08-01"
        ]
    );

    // The lists behind the counts.
    let c = &coordinateur;
    assert_eq!(
        qui(&service, c, "entrees", "annee"),
        ["C-01", "C-02", "C-03", "C-04", "C-05"]
    );
    assert_eq!(
        qui(&service, c, "sorties-positives", "annee"),
        ["C-02", "C-04"]
    );
    assert_eq!(qui(&service, c, "motif-déménagement", "annee"), ["C-03"]);
    assert_eq!(
        qui(&service, c, "sans-questionnaire-entree", "annee"),
        ["C-05"]
    );
    assert_eq!(
        qui(&service, c, "sans-questionnaire-sortie", "annee"),
        ["C-03"]
    );
    assert_eq!(qui(&service, c, "sorties-2025-09", "annee"), ["C-04"]);
    let avant = journal(&service).len();
    assert_eq!(qui(&service, c, "EECO12", "annee"), ["C-01"]);
    // A sensitive list read is journaled: who (pseudonym) read whose answers (reference).
    let lectures: Vec<(String, String)> = journal(&service)[avant..]
        .iter()
        .filter_map(|e| match &e.event {
            JournalEvent::QuestionnaireRead { actor, participant } => {
                Some((actor.clone(), participant.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(lectures.len(), 1, "{lectures:?}");
    assert!(lectures[0].0.starts_with("personnel-"), "{lectures:?}");
    assert_eq!(lectures[0].1, refs["C-01"]);

    // The interim bilan at 31 May: C-05 not entered yet, C-02 the only exit.
    let mai = service.ok("GET", &api("31-mai"), c, None);
    assert_eq!(mai["periode"]["au"], "2025-05-31");
    assert_eq!(n(&mai, "en_parcours"), 5);
    assert_eq!(n(&mai, "entrees"), 4);
    assert_eq!(n(&mai, "sorties"), 1);
    assert_eq!(mai["taux_sorties_positives"].as_f64(), Some(100.0));
    assert_eq!(qui(&service, c, "sorties", "31-mai"), ["C-02"]);
    let (status, v) = service.appel("GET", &api("juin"), c, None);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["champ"], "periode");

    // The assistant: every count, the lists of non-sensitive ones, not EECO12's; a référent
    // nothing.
    let vue = service.ok("GET", &api("annee"), &assistant, None);
    assert_eq!(
        indicateur("EECO12")["nombre"],
        vue["indicateurs"][11]["nombre"]
    );
    assert_eq!(n(&vue, "en_parcours"), 6);
    assert_eq!(qui(&service, &assistant, "EECO02", "annee").len(), 5);
    let (status, v) = service.appel("GET", &liste_api("EECO12", "annee"), &assistant, None);
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert!(
        v["erreur"].as_str().unwrap().contains("réponse sensible"),
        "{v}"
    );
    let (status, v) = service.appel("GET", &api("annee"), &referent, None);
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");

    // The screen shows the JSON's numbers, each linked to its list; the spreadsheet too.
    let (status, page) = responsable.get(&format!(
        "/operations/{OPERATION}/chiffres?periode=annee&annee=2025"
    ));
    assert_eq!(status, StatusCode::OK, "{page}");
    for (mesure, cle) in [
        ("entrees", "entrees"),
        ("en-parcours", "en_parcours"),
        ("sorties", "sorties"),
        ("sorties-positives", "sorties_positives"),
    ] {
        assert_eq!(a_l_ecran(&page, mesure), n(&annee, cle), "{mesure}");
    }
    assert!(page.contains("66,7 %"), "taux à l'écran");
    assert!(page.contains(&format!(
        "href=\"/operations/{OPERATION}/chiffres/EECO12?periode=annee&amp;annee=2025\""
    )));
    assert!(
        page.contains("<svg class=\"graphique\""),
        "graphiques dessinés par le serveur"
    );
    let (status, liste) = responsable.get(&format!(
        "/operations/{OPERATION}/chiffres/sorties-positives?periode=annee&annee=2025"
    ));
    assert_eq!(status, StatusCode::OK);
    for id in ["C-02", "C-04"] {
        assert!(
            liste.contains(&format!("href=\"/participants/{}\"", refs[id])),
            "{id}"
        );
    }

    let (status, type_, octets) = responsable.octets(&format!(
        "/operations/{OPERATION}/chiffres.xlsx?periode=annee&annee=2025"
    ));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        type_,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let mut classeur: Xlsx<_> = Xlsx::new(std::io::Cursor::new(octets)).expect("XLSX lisible");
    let synthese = classeur.worksheet_range("Synthèse").unwrap();
    let mut lignes = synthese.rows();
    assert_eq!(
        lignes.next().unwrap(),
        [
            Data::String("Code".into()),
            Data::String("Mesure".into()),
            Data::String("Nombre".into())
        ]
    );
    let en_tableur: BTreeMap<String, f64> = lignes
        .filter_map(|l| Some((l[0].to_string(), l[2].get_float()?)))
        .collect();
    for (code, cle) in [
        ("entrees", "entrees"),
        ("en-parcours", "en_parcours"),
        ("sorties", "sorties"),
        ("sorties-positives", "sorties_positives"),
        ("sans-questionnaire-entree", "sans_questionnaire_entree"),
        ("sans-questionnaire-sortie", "sans_questionnaire_sortie"),
    ] {
        assert_eq!(en_tableur[code], n(&annee, cle) as f64, "{code}");
    }
    assert_eq!(en_tableur["taux-sorties-positives"], 66.7);
    let mois = classeur.worksheet_range("Par mois").unwrap();
    let totaux = mois.rows().skip(1).fold((0.0, 0.0), |(e, s), l| {
        (e + l[1].get_float().unwrap(), s + l[2].get_float().unwrap())
    });
    assert_eq!(totaux, (5.0, 3.0));
    assert!(
        matches!(mois.get((1, 0)), Some(Data::DateTime(_))),
        "les mois sont des dates : {:?}",
        mois.get((1, 0))
    );
    let indicateurs = classeur.worksheet_range("Indicateurs").unwrap();
    let eeco12 = indicateurs
        .rows()
        .find(|l| l[0] == Data::String("EECO12".into()))
        .unwrap();
    assert_eq!(eeco12[2].get_float(), Some(1.0));
    let feuilles = classeur.worksheet_range("Feuilles de temps").unwrap();
    assert_eq!(feuilles.rows().skip(1).count(), 8);
}
