//! Issue 18, staff time sheets: the time a staff member partly assigned to the opération spends
//! on it, detailed by day, signed each month by him then by his manager, each from his own
//! account (told by e-mail when his turn comes: the workflow declares its signers `designe`);
//! sealed, filed under the opération, handed over in its pack with its hash. The pack checks
//! each staff member's months, not the opération's: a month without his sheet shows as missing
//! there even when a colleague's covers it; and a month ended without it gives him one e-mail
//! and a line on his « à faire » page.

use crate::pack::{depose_sous, manifeste_de, pack_http};
use crate::service::{signature, Plie, Service, EXTRACTION};
use crate::support::{pdf_text, sha256_hex, text, tool};
use reqwest::StatusCode;
use serde_json::{json, Value};

const OPERATION: &str = "202500417";
const SALARIE: &str = "t.garnier@plie.fr";
const COLLEGUE: &str = "a.martin@plie.fr";
const RESPONSABLE: &str = "coord@plie.fr";
/// The service's day: 20 November 2025, 10:00 in Paris; then 2 December.
const NOVEMBRE: &str = "2025-11-20T09:00:00Z";
const DECEMBRE: &str = "2025-12-02T09:00:00Z";

/// October 2025 for Thomas Garnier, working days only: 23 lines, 86.5 hours.
fn feuille_d_octobre() -> Value {
    feuille_du_mois(2025, 10)
}

/// A month's time sheet of Thomas Garnier on opération 202500417, working days only: 3.5 hours
/// on even days, 4 on odd ones, half of his time.
pub(crate) fn feuille_du_mois(annee: i32, mois: u32) -> Value {
    feuille(annee, mois, "Garnier", "Thomas", SALARIE)
}

/// The sheet of a month for a staff member, working days only.
fn feuille(annee: i32, mois: u32, nom: &str, prenom: &str, email: &str) -> Value {
    let mut jours = Vec::new();
    let mut total = 0.0;
    let mut dernier = None;
    for jour in 1..=31u32 {
        let Some(date) = chrono::NaiveDate::from_ymd_opt(annee, mois, jour) else {
            break;
        };
        dernier = Some(date);
        if chrono::Datelike::weekday(&date).number_from_monday() > 5 {
            continue;
        }
        let heures = if jour % 2 == 0 { 3.5 } else { 4.0 };
        total += heures;
        jours.push(json!({ "date": date.to_string(), "heures": heures, "activite": "Entretiens individuels de suivi" }));
    }
    json!({
        "workflow": "feuille-temps",
        "donnees": {
            "operation": { "numero": OPERATION },
            "salarie": { "nom": nom, "prenom": prenom, "fonction": "Conseiller en insertion professionnelle", "email": email },
            "responsable": { "nom": "Vidal", "prenom": "Hélène", "qualite": "Directrice du PLIE", "email": RESPONSABLE },
            "periode": "mois", "du": format!("{annee}-{mois:02}-01"), "au": dernier.map(|d| d.to_string()),
            "jours": jours,
            "total_heures": total,
            "part_operation": 50,
        },
    })
}

/// The time sheets the PLIE holds.
fn feuilles(service: &Service, jeton: &str) -> usize {
    service.ok("GET", "/api/documents?workflow=feuille-temps", jeton, None)["documents"]
        .as_array()
        .map_or(0, Vec::len)
}

/// Hostile input is refused, each fault named where it is, and nothing is written.
fn refusee(service: &Service, jeton: &str, demande: &Value, chemin: &str, attendu: &str) {
    let (status, v) = service.appel("POST", "/api/documents", jeton, Some(demande));
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{chemin} : {v}");
    let fautes = v["champs"].as_array().cloned().unwrap_or_default();
    assert!(
        fautes
            .iter()
            .any(|f| f["champ"] == format!("donnees.{chemin}")
                && f["message"].as_str().is_some_and(|m| m.contains(attendu)))
            || (v["champ"] == chemin && v["erreur"].as_str().is_some_and(|m| m.contains(attendu))),
        "{chemin} : {v}"
    );
    assert_eq!(feuilles(service, jeton), 0, "rien n'est écrit : {v}");
}

#[test]
fn une_feuille_de_temps_signee_par_le_salarie_puis_son_responsable_va_jusqu_au_pack() {
    let Plie {
        dir,
        smtp,
        mut service,
        coordinateur,
        referent: garnier,
        ..
    } = Plie::pret(Some(NOVEMBRE));

    // A day of 25 hours, a 32nd line, a total its lines contradict, someone without an account.
    let mut demande = feuille_d_octobre();
    demande["donnees"]["jours"][2]["heures"] = json!(25);
    refusee(
        &service,
        &coordinateur,
        &demande,
        "jours[3].heures",
        "dépasse le maximum 24",
    );
    let mut demande = feuille_d_octobre();
    let ligne = demande["donnees"]["jours"][0].clone();
    demande["donnees"]["jours"] = json!(vec![ligne; 32]);
    refusee(&service, &coordinateur, &demande, "jours", "au plus 31");
    let mut demande = feuille_d_octobre();
    demande["donnees"]["total_heures"] = json!(100);
    refusee(
        &service,
        &coordinateur,
        &demande,
        "total_heures",
        "ne concorde pas",
    );
    let mut demande = feuille_d_octobre();
    demande["donnees"]["salarie"]["email"] = json!("inconnu@plie.fr");
    refusee(
        &service,
        &coordinateur,
        &demande,
        "salarie.email",
        "aucun compte actif",
    );

    let demande = feuille_d_octobre();
    let (reference, version) = service.creer_et_envoyer(&coordinateur, &demande);
    // The employee is told by e-mail: the document's page, no link that signs.
    let avis = smtp.attendre(SALARIE, &format!("/documents/{reference}"));
    assert!(!avis.contains("/signer/"), "{avis}");

    let salarie = service.connecter(&smtp, SALARIE);
    let responsable = service.connecter(&smtp, RESPONSABLE);
    let signer = |qui: &crate::service::Navigateur, rang: i64| {
        qui.json(
            "POST",
            &format!("/documents/{reference}/signer/{rang}"),
            Some(&signature(&version)),
        )
    };
    // The manager signs after the employee, and nobody signs another's line.
    let (status, v) = signer(&responsable, 1);
    assert!(
        status.is_client_error(),
        "responsable avant le salarié : {status} {v}"
    );
    let (status, v) = signer(&responsable, 0);
    assert_eq!(status, StatusCode::FORBIDDEN, "case du salarié : {v}");
    let (status, v) = signer(&salarie, 0);
    assert_eq!(status, StatusCode::OK, "{v}");
    smtp.attendre(RESPONSABLE, &format!("/documents/{reference}"));
    let (status, v) = signer(&responsable, 1);
    assert_eq!(status, StatusCode::OK, "{v}");

    // Sealed, filed, sent to both.
    let pdf = service.pdf_scelle(&coordinateur, &reference, "delivre");
    let scelle = sha256_hex(&pdf);
    let chemin = dir.path().join("feuille-temps.pdf");
    std::fs::write(&chemin, &pdf).unwrap();
    let sceau = text(&tool("pdfsig", &["-nocert", &chemin.to_string_lossy()]).stdout);
    assert!(
        sceau.contains("Signature Validation: Signature is Valid."),
        "{sceau}"
    );
    let texte = pdf_text(&chemin);
    for attendu in [
        "Feuille de temps",
        "mois d’octobre 2025",
        "GARNIER Thomas",
        "n° 202500417",
        "sur la période : 86,5 h.",
        "50 %.",
        "Le supérieur hiérarchique",
        "signataire authentifié (session du navigateur",
    ] {
        assert!(texte.contains(attendu), "« {attendu} » absent :\n{texte}");
    }
    assert_eq!(texte.matches("Signé le ").count(), 2, "{texte}");

    // Filed under its opération, in the opération's pack once with its hash; September has
    // no sheet, and the pack says so.
    depose_sous(&service, &scelle, OPERATION);
    let entrees = pack_http(
        &service,
        &coordinateur,
        &json!({ "operation": OPERATION, "du": "2025-09-01", "au": "2025-10-31" }),
        &dir.path().join("pack.zip"),
    );
    let trouvees: Vec<&String> = entrees
        .iter()
        .filter(|(_, octets)| sha256_hex(octets) == scelle)
        .map(|(nom, _)| nom)
        .collect();
    assert_eq!(trouvees.len(), 1, "{trouvees:?}");
    assert!(
        trouvees[0].starts_with("operation/") && trouvees[0].ends_with("-feuille-temps.pdf"),
        "{}",
        trouvees[0]
    );
    let manifeste = manifeste_de(&entrees);
    assert!(
        manifeste["fichiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["sha256"] == json!(scelle) && l["nature"] == "document"),
        "feuille absente du manifeste"
    );
    assert_eq!(
        mois_manquants(&manifeste),
        [(
            "Feuille de temps du personnel signée, chaque mois — Thomas GARNIER".to_owned(),
            "septembre 2025".to_owned()
        )],
        "{manifeste}"
    );

    // A colleague's September sheet, signed by her then the manager: the pack counts each
    // staff member's months, so October is missing for her and September still for him
    // (counted for the opération as a whole, both months would pass).
    service.compte(COLLEGUE, "referent", Some("plie-test"));
    // The parcours software names her, as it names every référent.
    let (status, v) = service.importer(
        &coordinateur,
        &EXTRACTION.replacen(
            "t.garnier@plie.fr;Garnier;Thomas",
            &format!("{COLLEGUE};Martin;Alice"),
            1,
        ),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    let (sienne, version) = service.creer_et_envoyer(
        &coordinateur,
        &feuille(2025, 9, "Martin", "Alice", COLLEGUE),
    );
    smtp.attendre(COLLEGUE, &format!("/documents/{sienne}"));
    let martin = service.connecter(&smtp, COLLEGUE);
    for (qui, rang) in [(&martin, 0), (&responsable, 1)] {
        let (status, v) = qui.json(
            "POST",
            &format!("/documents/{sienne}/signer/{rang}"),
            Some(&signature(&version)),
        );
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    service.pdf_scelle(&coordinateur, &sienne, "delivre");
    let entrees = pack_http(
        &service,
        &coordinateur,
        &json!({ "operation": OPERATION, "du": "2025-09-01", "au": "2025-10-31" }),
        &dir.path().join("pack-2.zip"),
    );
    let mut manquants = mois_manquants(&manifeste_de(&entrees));
    manquants.sort();
    assert_eq!(
        manquants,
        [
            (
                "Feuille de temps du personnel signée, chaque mois — Alice MARTIN".to_owned(),
                "octobre 2025".to_owned()
            ),
            (
                "Feuille de temps du personnel signée, chaque mois — Thomas GARNIER".to_owned(),
                "septembre 2025".to_owned()
            ),
        ]
    );

    // On 20 November, no month since each one's first sheet has ended without it: no reminder,
    // nothing on Thomas Garnier's page.
    let rappel = "est échu et votre feuille de temps";
    assert!(smtp.recus(SALARIE, rappel).is_empty());
    assert!(feuilles_a_faire(&service, &garnier).is_empty());
    // 2 December: November has ended without their sheets. One e-mail each for November
    // (Alice Martin's October too), a line on Thomas Garnier's page, none for the manager.
    // The service is killed (SIGKILL) to move its clock: nothing left half-sent first.
    service.attendre_outbox_vide(&coordinateur);
    service.horloge = Some(DECEMBRE.to_owned());
    service.redemarrer();
    let courriel = smtp.attendre(SALARIE, "Feuille de temps de novembre 2025");
    assert!(
        courriel.contains("opération 202500417") && courriel.contains("Bonjour Thomas GARNIER"),
        "{courriel}"
    );
    smtp.attendre(COLLEGUE, "Feuille de temps d'octobre 2025");
    smtp.attendre(COLLEGUE, "Feuille de temps de novembre 2025");
    let lignes = feuilles_a_faire(&service, &garnier);
    assert_eq!(lignes.len(), 1, "{lignes:?}");
    assert_eq!(
        (
            &lignes[0]["echeance"],
            &lignes[0]["urgence"],
            &lignes[0]["participant"]
        ),
        (&json!("2025-11-30"), &json!("en_retard"), &json!("")),
        "{lignes:?}"
    );
    assert!(
        lignes[0]["libelle"]
            .as_str()
            .unwrap()
            .contains("novembre 2025 (opération 202500417)"),
        "{lignes:?}"
    );
    let (status, page) = service.session(SALARIE).get("/a-faire");
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("data-action=\"feuille_de_temps\""), "{page}");
    // Its button: the opération's expected pieces, his month missing under his name.
    let bureau = service.session(SALARIE);
    let (status, page) = bureau.get(lignes[0]["bouton"]["url"].as_str().unwrap());
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Feuille de temps du personnel signée, chaque mois — Thomas GARNIER")
            && page.contains("novembre 2025"),
        "{page}"
    );
    // Once: the schedule runs every second, and again after a restart.
    service.attendre_outbox_vide(&coordinateur);
    service.redemarrer();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(smtp.recus(SALARIE, rappel).len(), 1, "un seul rappel");
    assert_eq!(smtp.recus(COLLEGUE, rappel).len(), 2, "octobre et novembre");
    assert!(
        smtp.recus(RESPONSABLE, rappel).is_empty(),
        "le responsable ne remplit pas de feuille"
    );
}

/// The pack's missing time sheets: (label, month).
fn mois_manquants(manifeste: &Value) -> Vec<(String, String)> {
    manifeste["manquants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["exigence"] == "feuilles-temps")
        .map(|m| {
            (
                m["libelle"].as_str().unwrap_or_default().to_owned(),
                m["precision"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The time-sheet lines of a staff member's « à faire » list.
fn feuilles_a_faire(service: &Service, jeton: &str) -> Vec<Value> {
    service.ok("GET", "/api/a-faire", jeton, None)["echeances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "feuille_de_temps")
        .cloned()
        .collect()
}
