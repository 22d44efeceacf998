//! Issue 18: the FSE questionnaire in the service. Participants imported through the API, their
//! questionnaires recorded through the API on the service's day (18 June 2025): every rule
//! caught with a French message naming its question, nothing written on a refusal; the exit
//! and six-month collections' states; need-to-know (another référent: 404, the assistant: no
//! sensitive answer) and every read journaled; the export of an opération of 30 complete
//! participants to Ma Démarche FSE as its column map declares it, the incomplete one reported.

use crate::pack::evenements as journal;
use crate::service::{Reglages, Service, Smtp};
use crate::support::repo;
use parafe::model::JournalEvent;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const AU: &str = "2025-06-18T08:00:00Z";
const REFERENT: &str = "t.garnier@plie.fr";
const AUTRE: &str = "a.martin@plie.fr";
const EN_TETE: &str = "Identifiant;Civilité;Nom;Prénom;Date de naissance;Email;Téléphone;Code postal;Commune;Département;Email référent;Nom référent;Prénom référent;Opération;Prescripteur;Email prescripteur;Date d'entrée;RSA;Début CER;Date de sortie;Motif de sortie\n";

/// A line of the parcours software's extraction for Thomas Garnier's portfolio (or another
/// référent's), in opération 202500417.
fn ligne(id: &str, nom: &str, referent: &str, entree: &str, sortie: &str) -> String {
    let motif = if sortie.is_empty() { "" } else { "Emploi CDI" };
    let (nom_ref, prenom_ref) = if referent == REFERENT {
        ("Garnier", "Thomas")
    } else {
        ("Martin", "Alice")
    };
    format!(
        "{id};Madame;{nom};Samira;01/02/1985;{}@exemple.fr;0612345678;34400;Lunel;34;{referent};{nom_ref};{prenom_ref};202500417;France Travail Lunel;;{entree};Non;;{sortie};{motif}\n",
        nom.to_lowercase()
    )
}

fn valeur(v: &str) -> Value {
    json!({ "valeur": v })
}

const NSP: &str = "ne_se_prononce_pas";

/// Entry answers a référent types on 5 March 2025: what the record prefills (names, birth
/// date, commune, phone, e-mail) left out.
fn entree() -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("sexe", valeur("femme")),
        ("commune_naissance", valeur("34400 Lunel")),
        ("adresse", valeur("3 rue des Écoles")),
        ("date_questionnaire", valeur("2025-03-05")),
        ("q1", valeur("non")),
        ("q1e", valeur("non")),
        ("q1f", valeur("oui")),
        ("q1g", valeur("14")),
        ("q2", valeur("cite_3_4")),
        ("handicap", valeur("non")),
        ("nationalite", valeur("francaise")),
        ("origine", valeur("non")),
        ("minorite", valeur("non")),
        ("logement", json!(NSP)),
        ("zone_rurale", valeur("non")),
    ])
}

fn sortie(le: &str) -> BTreeMap<&'static str, Value> {
    BTreeMap::from([
        ("date_recueil_sortie", valeur(le)),
        ("s1", valeur("1b")),
        ("s2", valeur("non")),
    ])
}

fn corps(reponses: &BTreeMap<&str, Value>) -> Value {
    json!({ "reponses": reponses })
}

fn chemin(participant: &str, moment: &str) -> String {
    format!("/api/participants/{participant}/questionnaire/{moment}")
}

/// The service on 18 June 2025, its coordinateur's token, and the import's answer.
fn service_du_jour(dir: &tempfile::TempDir, csv: &str) -> (Service, String) {
    let service = Service::lancer(
        &dir.path().join("data"),
        Reglages {
            horloge: Some(AU),
            ..Reglages::default()
        },
    );
    let coordinateur = service.compte("coord@plie.fr", "coordinateur", Some("plie-test"));
    let (status, import) = service.importer(&coordinateur, &format!("{EN_TETE}{csv}"));
    assert_eq!(status, StatusCode::OK, "{import}");
    (service, coordinateur)
}

/// Participant refs by the parcours software's identifier, as the référent lists them.
pub(crate) fn refs(service: &Service, jeton: &str) -> BTreeMap<String, String> {
    let v = service.ok("GET", "/api/participants", jeton, None);
    v["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["identifiant_externe"].as_str().unwrap().to_owned(),
                p["ref"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The questionnaire reads of the journal: (actor, participant).
fn lectures(service: &Service) -> Vec<(String, String)> {
    journal(service)
        .into_iter()
        .filter_map(|e| match e.event {
            JournalEvent::QuestionnaireRead { actor, participant } => Some((actor, participant)),
            _ => None,
        })
        .collect()
}

/// A refusal: 422, the question named in `champ`, its French message.
fn refus(
    service: &Service,
    jeton: &str,
    participant: &str,
    moment: &str,
    r: &BTreeMap<&str, Value>,
) -> (String, String) {
    let (status, v) = service.appel("PUT", &chemin(participant, moment), jeton, Some(&corps(r)));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    (
        v["champ"].as_str().unwrap_or_default().to_owned(),
        v["erreur"].as_str().unwrap_or_default().to_owned(),
    )
}

#[test]
fn les_regles_du_questionnaire_nomment_la_question_et_chaque_lecture_est_journalisee() {
    let dir = tempfile::tempdir().unwrap();
    let csv = [
        ligne("Q-001", "Benali", REFERENT, "03/03/2025", ""),
        // Left on 2 May: the exit data were due by 30 May.
        ligne("Q-002", "Durand", REFERENT, "06/01/2025", "02/05/2025"),
        // Left on 10 December: the six-month situation is due since 10 June.
        ligne("Q-003", "Roux", REFERENT, "02/09/2024", "10/12/2024"),
        ligne("Q-900", "Ailleurs", AUTRE, "03/03/2025", ""),
    ]
    .concat();
    let (service, coordinateur) = service_du_jour(&dir, &csv);
    let referent = service.compte(REFERENT, "referent", Some("plie-test"));
    let autre = service.compte(AUTRE, "referent", Some("plie-test"));
    let assistant = service.compte("assistante@plie.fr", "assistant", Some("plie-test"));
    let r = refs(&service, &referent);
    let (samira, karim, lucie) = (&r["Q-001"], &r["Q-002"], &r["Q-003"]);

    // Before anything is recorded, the record prefills the identity questions.
    let v = service.ok("GET", &chemin(samira, "entree"), &referent, None);
    assert_eq!(v["enregistre"], false, "{v}");
    assert_eq!(v["programme"], "fse-plus-2021-2027");
    assert_eq!(v["reponses"]["nom"], valeur("BENALI"), "{v}");
    assert_eq!(v["reponses"]["prenom"], valeur("SAMIRA"));
    assert_eq!(v["reponses"]["date_naissance"], valeur("1985-02-01"));
    assert_eq!(v["reponses"]["commune"], valeur("Lunel"));
    assert_eq!(v["reponses"]["code_postal"], valeur("34400"));
    assert_eq!(v["reponses"]["telephone_mobile"], valeur("0612345678"));
    assert_eq!(v["reponses"]["courriel"], valeur("benali@exemple.fr"));

    // A missing answer.
    let mut r = entree();
    r.remove("q2");
    let (champ, message) = refus(&service, &referent, samira, "entree", &r);
    assert_eq!(champ, "q2");
    assert!(
        message.contains("q2 « Quel est le plus haut niveau de diplôme atteint à l'entrée dans l'opération ? » : réponse manquante"),
        "{message}"
    );
    // « Ne se prononce pas » where the rules do not allow it (the housing question allows it).
    let mut r = entree();
    r.insert("nationalite", json!(NSP));
    let (champ, message) = refus(&service, &referent, samira, "entree", &r);
    assert_eq!(champ, "nationalite");
    assert!(
        message.contains("nationalite « Quelle est votre nationalité ? » : « ne se prononce pas » n'est pas permis pour cette question"),
        "{message}"
    );
    // A questionnaire dated before the entry.
    let mut r = entree();
    r.insert("date_questionnaire", valeur("2025-02-20"));
    let (champ, message) = refus(&service, &referent, samira, "entree", &r);
    assert_eq!(champ, "date_questionnaire");
    assert!(
        message.contains("questionnaire du 20/02/2025, avant la date d'entrée du 03/03/2025"),
        "{message}"
    );
    // Nothing was written.
    let v = service.ok("GET", &chemin(samira, "entree"), &referent, None);
    assert_eq!(v["enregistre"], false, "{v}");

    // Complete: recorded, the prefill beneath.
    let v = service.ok(
        "PUT",
        &chemin(samira, "entree"),
        &referent,
        Some(&corps(&entree())),
    );
    assert_eq!(v["recueilli_le"], "2025-03-05", "{v}");
    let v = service.ok("GET", &chemin(samira, "entree"), &referent, None);
    assert_eq!(v["enregistre"], true, "{v}");
    assert_eq!(v["reponses"]["nom"], valeur("BENALI"));
    assert_eq!(v["reponses"]["logement"], json!(NSP));
    assert_eq!(v["reponses"]["handicap"], valeur("non"));
    assert_eq!(v["masquees"], json!([]));

    // Exit data answered after the 4 weeks: refused, late.
    service.ok(
        "PUT",
        &chemin(karim, "entree"),
        &referent,
        Some(&corps(&entree())),
    );
    let (champ, message) = refus(&service, &referent, karim, "sortie", &sortie("2025-06-10"));
    assert_eq!(champ, "date_recueil_sortie");
    assert!(
        message.contains(
            "recueillie le 10/06/2025, plus de 28 jours après la sortie du 02/05/2025 : hors délai"
        ),
        "{message}"
    );
    let v = service.ok("GET", &chemin(karim, "sortie"), &referent, None);
    assert_eq!(v["enregistre"], false);
    assert_eq!(v["echeance"]["limite"], "2025-05-30", "{v}");
    assert_eq!(v["echeance"]["etat"], "en_retard", "{v}");
    // His six-month situation comes due on 2 November.
    let v = service.ok("GET", &chemin(karim, "six_mois"), &referent, None);
    assert_eq!(
        (&v["echeance"]["due"], &v["echeance"]["etat"]),
        (&json!("2025-11-02"), &json!("a_venir")),
        "{v}"
    );
    // Lucie's six-month follow-up is due, to collect by 8 July.
    let v = service.ok("GET", &chemin(lucie, "six_mois"), &referent, None);
    assert_eq!(v["echeance"]["due"], "2025-06-10", "{v}");
    assert_eq!(v["echeance"]["limite"], "2025-07-08", "{v}");
    assert_eq!(v["echeance"]["etat"], "du", "{v}");

    // Another référent's portfolio: as if there were no such participant.
    for methode in ["GET", "PUT"] {
        let (status, v) = service.appel(
            methode,
            &chemin(samira, "entree"),
            &autre,
            Some(&corps(&entree())),
        );
        assert_eq!(status, StatusCode::NOT_FOUND, "{methode} {v}");
        assert!(
            v["erreur"].as_str().unwrap().contains("aucun participant"),
            "{v}"
        );
    }
    // The assistant reads no sensitive answer, and records nothing.
    let v = service.ok("GET", &chemin(samira, "entree"), &assistant, None);
    assert_eq!(
        v["masquees"],
        json!(["handicap", "origine", "minorite", "logement"]),
        "{v}"
    );
    for sensible in ["handicap", "origine", "minorite", "logement"] {
        assert!(v["reponses"].get(sensible).is_none(), "{sensible} : {v}");
    }
    assert_eq!(v["reponses"]["q2"], valeur("cite_3_4"));
    let (status, _) = service.appel(
        "PUT",
        &chemin(samira, "entree"),
        &assistant,
        Some(&corps(&entree())),
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The coordinateur reads them all.
    let v = service.ok("GET", &chemin(samira, "entree"), &coordinateur, None);
    assert_eq!(v["reponses"]["logement"], json!(NSP), "{v}");

    // Every read is in the journal, by pseudonyms; no answer, no name.
    let lues = lectures(&service);
    let samira_lue: Vec<&(String, String)> = lues.iter().filter(|(_, p)| p == samira).collect();
    assert_eq!(
        samira_lue.len(),
        5,
        "3 lectures du référent, 1 de l'assistante, 1 du coordinateur : {lues:?}"
    );
    assert_eq!(
        lues.len(),
        5 + 3,
        "et celles de Karim (2) et Lucie (1) : {lues:?}"
    );
    assert!(
        lues.iter().all(|(a, _)| a.starts_with("personnel-")),
        "{lues:?}"
    );
    let acteurs: std::collections::BTreeSet<&String> = samira_lue.iter().map(|(a, _)| a).collect();
    assert_eq!(acteurs.len(), 3, "{samira_lue:?}");
    let texte = crate::service::journal(&service.data);
    for donnee in ["BENALI", "Benali", "cite_3_4", "Lunel", "0612345678"] {
        assert!(!texte.contains(donnee), "{donnee} au journal");
    }
}

/// The declared map: (encoding, column names in order), read from the repository's file.
fn carte_declaree() -> (String, Vec<String>) {
    let texte = std::fs::read_to_string(repo().join("fse/mdfse/fse-plus-2021-2027.toml")).unwrap();
    let entre_guillemets = |l: &str| l.split('"').nth(1).unwrap().to_owned();
    let encodage = texte
        .lines()
        .find(|l| l.starts_with("encodage = "))
        .map(entre_guillemets)
        .unwrap();
    let colonnes = texte
        .lines()
        .filter(|l| l.starts_with("colonne = "))
        .map(entre_guillemets)
        .collect();
    (encodage, colonnes)
}

#[test]
fn export_ma_demarche_fse_de_30_participants_et_rapport_de_completude() {
    let dir = tempfile::tempdir().unwrap();
    // 30 participants, 5 of them gone on 2 June with their exit data collected, and a 31st gone
    // the same day whose exit data are still to collect.
    let mut csv = String::new();
    for n in 1..=31 {
        let sortie = if n > 25 { "02/06/2025" } else { "" };
        csv.push_str(&ligne(
            &format!("M-{n:03}"),
            &format!("Dossier{n:02}"),
            REFERENT,
            "03/03/2025",
            sortie,
        ));
    }
    let (service, coordinateur) = service_du_jour(&dir, &csv);
    let referent = service.compte(REFERENT, "referent", Some("plie-test"));
    let assistant = service.compte("assistante@plie.fr", "assistant", Some("plie-test"));
    let r = refs(&service, &referent);
    assert_eq!(r.len(), 31);
    let situations = ["1a", "1b", "1c", "1d", "non"];
    for n in 1..=31 {
        let p = &r[&format!("M-{n:03}")];
        let mut reponses = entree();
        let q1 = situations[(n - 1) % 5];
        reponses.insert("q1", valeur(q1));
        if q1 != "non" {
            for sans_objet in ["q1e", "q1f", "q1g"] {
                reponses.remove(sans_objet);
            }
        }
        if n == 7 {
            reponses.insert("handicap", json!(NSP));
        }
        service.ok(
            "PUT",
            &chemin(p, "entree"),
            &referent,
            Some(&corps(&reponses)),
        );
        if (26..=30).contains(&n) {
            service.ok(
                "PUT",
                &chemin(p, "sortie"),
                &referent,
                Some(&corps(&sortie("2025-06-10"))),
            );
        }
    }
    let incomplet = &r["M-031"];

    // Coordinateurs and administrateurs only.
    for jeton in [&referent, &assistant] {
        for route in [
            "/api/operations/202500417/mdfse",
            "/api/operations/202500417/mdfse/rapport",
        ] {
            let (status, v) = service.appel("GET", route, jeton, None);
            assert_eq!(status, StatusCode::FORBIDDEN, "{route} {v}");
        }
    }
    let (status, _) = service.appel(
        "GET",
        "/api/operations/209900001/mdfse",
        &coordinateur,
        None,
    );
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The report first: who is missing what, and who must act.
    let v = service.ok(
        "GET",
        "/api/operations/202500417/mdfse/rapport",
        &coordinateur,
        None,
    );
    let rapport = &v["rapport"];
    assert_eq!(rapport["exportes"].as_array().unwrap().len(), 30, "{v}");
    let incomplets = rapport["incomplets"].as_array().unwrap();
    assert_eq!(incomplets.len(), 1, "{v}");
    assert_eq!(incomplets[0]["participant"], incomplet.as_str());
    assert_eq!(incomplets[0]["referent"], "Thomas GARNIER");
    let manques: Vec<&str> = incomplets[0]["defauts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["question"].as_str().unwrap())
        .collect();
    assert_eq!(manques, ["date_recueil_sortie", "s1", "s2"], "{v}");
    assert!(
        incomplets[0]["defauts"][1]["message"]
            .as_str()
            .unwrap()
            .contains(
                "réponse manquante (données de sortie à recueillir au plus tard le 30/06/2025)"
            ),
        "{v}"
    );

    // The file: as the map declares it.
    let reponse = service
        .client
        .get(format!("{}/api/operations/202500417/mdfse", service.url))
        .bearer_auth(&coordinateur)
        .send()
        .unwrap();
    assert_eq!(reponse.status(), StatusCode::OK);
    let (encodage, colonnes) = carte_declaree();
    let entete = |nom: &str| reponse.headers()[nom].to_str().unwrap().to_owned();
    assert_eq!(
        entete("content-type"),
        format!("text/csv; charset={encodage}")
    );
    assert!(
        entete("content-disposition")
            .starts_with("attachment; filename=\"mdfse-202500417-2025-06-18.csv\""),
        "{}",
        entete("content-disposition")
    );
    let octets = reponse.bytes().unwrap();
    assert_eq!(encodage, "utf-8");
    let texte = std::str::from_utf8(&octets).expect("le CSV est en UTF-8, comme déclaré");
    let mut lecteur = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(texte.as_bytes());
    let en_tetes: Vec<String> = lecteur
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(en_tetes, colonnes);
    let lignes: Vec<BTreeMap<String, String>> = lecteur
        .records()
        .map(|l| {
            en_tetes
                .iter()
                .cloned()
                .zip(l.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect();
    assert_eq!(lignes.len(), 30, "une ligne par participant complet");
    assert!(
        !texte.contains(incomplet.as_str()),
        "l'incomplet n'est pas dans le fichier"
    );
    let de = |n: usize| {
        let p = &r[&format!("M-{n:03}")];
        lignes
            .iter()
            .find(|l| l["Identifiant du participant"] == *p)
            .unwrap_or_else(|| panic!("M-{n:03} absent du fichier"))
    };
    for l in &lignes {
        assert_eq!(l["Numéro de l'opération"], "202500417");
        assert_eq!(l["Sexe"], "2", "femme : 2");
        assert_eq!(l["Date de naissance"], "01/02/1985");
        assert_eq!(l["Date d'entrée"], "03/03/2025");
        assert_eq!(l["Niveau CITE"], "CITE 3-4");
        assert_eq!(
            l["Sans domicile fixe ou exclusion du logement"],
            "Ne se prononce pas"
        );
        assert_eq!(l["Commune"], "Lunel");
    }
    // Codes of each answer; a question without object (1e-1g for a person in work) empty.
    let m5 = de(5);
    assert_eq!(
        (
            m5["Situation emploi"].as_str(),
            m5["Mois de recherche"].as_str()
        ),
        ("5", "14")
    );
    assert_eq!(m5["Nom"], "DOSSIER05");
    let m6 = de(6);
    assert_eq!(
        (
            m6["Situation emploi"].as_str(),
            m6["Recherche d'emploi"].as_str()
        ),
        ("1", "")
    );
    assert_eq!(de(7)["Handicap"], "Ne se prononce pas");
    assert_eq!(de(8)["Handicap"], "Non");
    let m26 = de(26);
    assert_eq!(m26["Date de sortie"], "02/06/2025");
    assert_eq!(m26["Situation emploi à la sortie"], "2");
    assert_eq!(m26["Qualification obtenue"], "Non");
    assert_eq!(de(1)["Date de sortie"], "");

    // The routes are described for integrators.
    let api: Value = service
        .client
        .get(format!("{}/openapi.json", service.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    for route in [
        "/api/participants/{reference}/questionnaire/{moment}",
        "/api/operations/{numero}/mdfse",
        "/api/operations/{numero}/mdfse/rapport",
    ] {
        assert!(
            api["paths"].get(route).is_some(),
            "{route} absent de /openapi.json"
        );
    }

    // Both journaled, without a name.
    let exports: Vec<String> = journal(&service)
        .into_iter()
        .filter_map(|e| match e.event {
            JournalEvent::ExportMade { actor, operation } => {
                assert!(actor.starts_with("personnel-"));
                Some(operation)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        exports,
        [
            "202500417 : rapport de complétude Ma Démarche FSE (30 participants complets, 1 incomplets)",
            "202500417 : fichier Ma Démarche FSE (30 participants complets, 1 incomplets)",
        ]
    );
}

#[test]
fn l_ecran_du_questionnaire_depuis_le_dossier_garde_la_saisie_sur_un_refus() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir.path().join("smtp"));
    let service = Service::lancer(
        &dir.path().join("data"),
        Reglages {
            smtp: Some(smtp.port),
            horloge: Some(AU),
            ..Reglages::default()
        },
    );
    let coordinateur = service.compte("coord@plie.fr", "coordinateur", Some("plie-test"));
    let csv = [
        ligne("Q-001", "Benali", REFERENT, "03/03/2025", ""),
        ligne("Q-003", "Roux", REFERENT, "02/09/2024", "10/12/2024"),
    ]
    .concat();
    let (status, import) = service.importer(&coordinateur, &format!("{EN_TETE}{csv}"));
    assert_eq!(status, StatusCode::OK, "{import}");
    let referent = service.compte(REFERENT, "referent", Some("plie-test"));
    let r = refs(&service, &referent);
    let (samira, lucie) = (&r["Q-001"], &r["Q-003"]);
    let navigateur = service.connecter(&smtp, REFERENT);

    // The file: each moment's state; Lucie's six-month situation is due.
    let (status, page) = navigateur.get(&format!("/participants/{lucie}"));
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Questionnaire FSE"), "{page}");
    assert!(
        page.contains("en retard (limite du 07/01/2025)"),
        "sortie : {page}"
    );
    assert!(
        page.contains("due : à recueillir d'ici le 08/07/2025"),
        "six mois : {page}"
    );
    let (_, page) = navigateur.get(&format!("/participants/{samira}"));
    assert!(
        page.contains(&format!(
            "href=\"/participants/{samira}/questionnaire/entree\""
        )),
        "{page}"
    );
    assert!(
        !page.contains("questionnaire/sortie"),
        "pas de sortie : {page}"
    );

    // The form, from the definition: radios, « ne se prononce pas » where allowed only, the
    // conditional questions with their condition, the record's prefill.
    let (status, page) = navigateur.get(&format!("/participants/{samira}/questionnaire/entree"));
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Quelle est votre nationalité ?"));
    assert!(
        page.contains("type=\"radio\" name=\"q1\" value=\"non\""),
        "{page}"
    );
    assert!(page.contains("name=\"logement\" value=\"__nsp\""));
    assert!(!page.contains("name=\"nationalite\" value=\"__nsp\""));
    assert!(
        page.contains("data-chemin=\"q1g\" data-si=\"q1f\" data-parmi=\"oui\""),
        "{page}"
    );
    assert!(page.contains("name=\"nom\" value=\"BENALI\""), "{page}");

    // A refusal keeps what was typed and says each fault beside its question.
    let mut champs: Vec<(&str, &str)> = vec![
        ("nom", "BENALI"),
        ("prenom", "SAMIRA"),
        ("date_naissance", "1985-02-01"),
        ("code_postal", "34400"),
        ("commune", "Lunel"),
        ("sexe", "femme"),
        ("commune_naissance", "34400 Lunel"),
        ("adresse", "3 rue des Écoles"),
        ("date_questionnaire", "2025-02-20"),
        ("q1", "non"),
        ("q1e", "non"),
        ("q1f", "non"),
        ("handicap", "non"),
        ("nationalite", "francaise"),
        ("origine", "non"),
        ("minorite", "non"),
        ("logement", "__nsp"),
        ("zone_rurale", "non"),
    ];
    let chemin_ecran = format!("/participants/{samira}/questionnaire/entree");
    let (status, page) = navigateur.formulaire(&chemin_ecran, &champs);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("Questionnaire non enregistré : 2 question(s) à corriger."),
        "{page}"
    );
    assert!(page.contains("réponse manquante"), "q2 : {page}");
    assert!(
        page.contains("avant la date d'entrée du 03/03/2025"),
        "{page}"
    );
    assert!(
        page.contains("value=\"3 rue des Écoles\""),
        "saisie gardée : {page}"
    );
    assert!(
        page.contains("name=\"logement\" value=\"__nsp\" checked"),
        "{page}"
    );
    // Corrected: recorded, back to the file.
    champs.retain(|(k, _)| *k != "date_questionnaire");
    champs.extend([("date_questionnaire", "2025-03-05"), ("q2", "cite_0_2")]);
    let (status, lieu) = navigateur.formulaire(&chemin_ecran, &champs);
    assert_eq!(status, StatusCode::SEE_OTHER, "{lieu}");
    assert_eq!(lieu, format!("/participants/{samira}#questionnaire"));
    let v = service.ok("GET", &chemin(samira, "entree"), &referent, None);
    assert_eq!(v["reponses"]["logement"], json!(NSP), "{v}");
    assert_eq!(v["reponses"]["q2"], valeur("cite_0_2"));
    let (_, page) = navigateur.get(&format!("/participants/{samira}"));
    assert!(page.contains("recueillies le 05/03/2025"), "{page}");
    // The form's page reads the answers as the API does: both journaled (the file's states
    // and a refused form read none).
    assert_eq!(lectures(&service).len(), 2);
}
