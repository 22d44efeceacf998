//! Issue 18, staff time sheets: the time a staff member partly assigned to the opération spends
//! on it, detailed by day, signed each month by him then by his manager, each from his own
//! account; sealed, filed under the opération, handed over in its pack with its hash, and a
//! month without a sheet shows as missing there.

use crate::pack::{depose_sous, manifeste_de, pack_http};
use crate::service::{signature, Plie, Service};
use crate::support::{pdf_text, sha256_hex, text, tool};
use reqwest::StatusCode;
use serde_json::{json, Value};

const OPERATION: &str = "202500417";
const SALARIE: &str = "t.garnier@plie.fr";
const RESPONSABLE: &str = "coord@plie.fr";

/// October 2025 for Thomas Garnier, working days only: 23 lines, 86.5 hours.
fn feuille_d_octobre() -> Value {
    feuille_du_mois(2025, 10)
}

/// A month's time sheet of Thomas Garnier on opération 202500417, working days only: 3.5 hours
/// on even days, 4 on odd ones, half of his time.
pub(crate) fn feuille_du_mois(annee: i32, mois: u32) -> Value {
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
            "salarie": { "nom": "Garnier", "prenom": "Thomas", "fonction": "Conseiller en insertion professionnelle", "email": SALARIE },
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
        service,
        coordinateur,
        ..
    } = Plie::pret(None);

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
    let mois_manquants: Vec<&str> = manifeste["manquants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["exigence"] == "feuilles-temps")
        .filter_map(|m| m["precision"].as_str())
        .collect();
    assert_eq!(mois_manquants, ["septembre 2025"], "{manifeste}");
}
