//! Issue 15, point 20: every time a person reads is Paris time, on the sealed PDFs as on the
//! pages, and the exact UTC instant stays in the evidence JSON attached to the PDF. The service's
//! clock starts at 22:29 UTC on 14 October 2025: already 00:29 on the 15th in Paris (summer
//! time), so that a time or a day shown in UTC cannot pass for Paris's.

use crate::service::{
    confirmer_code, contrat_donnees, lien, participant_ref, signature, Plie, Service,
};
use crate::support::{pdf_text, tool};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;

const DEPART: &str = "2025-10-14T22:29:30Z";

fn instant(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// « 15/10/2025 à 00:29 », as the documents print a time.
fn a_paris(t: DateTime<Utc>, format: &str) -> String {
    t.with_timezone(&chrono_tz::Europe::Paris)
        .format(format)
        .to_string()
}

/// The sealed PDF of a document, its text (pdftotext) and its attached evidence (qpdf).
fn pdf_scelle(service: &Service, jeton: &str, reference: &str, dir: &Path) -> (String, Value) {
    let chemin = dir.join(format!("{reference}.pdf"));
    std::fs::write(&chemin, service.pdf(jeton, reference)).unwrap();
    let out = tool(
        "qpdf",
        &["--show-attachment=preuves.json", &chemin.to_string_lossy()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = serde_json::from_slice(&out.stdout).unwrap();
    // Spaces collapsed: a sentence cut by the layout is still found.
    let texte = pdf_text(&chemin)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (texte, json)
}

/// The signed signers of a document (API), with their instant.
fn signes(v: &Value) -> Vec<(String, DateTime<Utc>)> {
    v["signataires"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["etat"] == "signe")
        .map(|s| {
            (
                s["nom"].as_str().unwrap().to_owned(),
                instant(&s["signe_le"]),
            )
        })
        .collect()
}

/// Each signer's time, in the evidence JSON, is the same instant as the API's, in UTC.
fn preuves_en_utc(preuves: &Value, signes: &[(String, DateTime<Utc>)]) {
    let signatures = preuves["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), signes.len(), "{preuves}");
    for (s, (nom, t)) in signatures.iter().zip(signes) {
        let brut = s["signe_le"].as_str().unwrap();
        assert!(
            brut.ends_with('Z') || brut.ends_with("+00:00"),
            "{nom} : {brut} n'est pas un instant UTC"
        );
        assert_eq!(instant(&s["signe_le"]), *t, "{nom}");
    }
}

#[test]
fn les_heures_des_preuves_sont_celles_de_paris_et_le_contrat_porte_le_jour_de_sa_signature() {
    let Plie {
        dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(Some(DEPART));
    let samira = participant_ref(&service, &referent, "Benali");
    let karim = participant_ref(&service, &referent, "Durand");

    // A contract entered on 04/03/2025, signed by link (one-time code) then on the tablet.
    let (contrat, version) = service.creer_et_envoyer(
        &referent,
        &json!({
            "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees(),
            "signataires": [{ "role": "participant", "methode": "lien" }],
        }),
    );
    let jeton = lien(&smtp.attendre("samira.benali@exemple.fr", "/signer/"));
    confirmer_code(&service, &smtp, "samira.benali@exemple.fr", &jeton);
    service.ok(
        "POST",
        &format!("/api/signature/{jeton}"),
        "",
        Some(&signature(&version)),
    );
    service.ok(
        "POST",
        &format!("/api/documents/{contrat}/signatures"),
        &referent,
        Some(&json!({ "rang": 1, "signature": signature(&version) })),
    );
    let v = service.attendre_etat(&referent, &contrat, "delivre");
    let signes_contrat = signes(&v);
    assert_eq!(signes_contrat.len(), 2);
    let (texte, preuves) = pdf_scelle(&service, &referent, &contrat, dir.path());
    for (nom, t) in &signes_contrat {
        let heure = a_paris(*t, "%d/%m/%Y à %H:%M");
        assert!(heure.starts_with("15/10/2025 à 00:"), "{heure}");
        assert!(
            texte.contains(&format!("Signé le {heure}")),
            "bloc de {nom} sans « Signé le {heure} » :\n{texte}"
        );
        assert!(
            texte.contains(&format!("le {heure}")),
            "certificat sans l'heure de {nom}"
        );
    }
    assert!(
        texte.contains("code à usage unique reçu à cette adresse et confirmé sur ce")
            && texte.contains("lien le 15/10/2025 à 00:"),
        "{texte}"
    );
    assert!(texte.contains("heure de Paris"), "heures non étiquetées");
    assert!(
        !texte.contains("14/10/2025 à 22:") && !texte.contains("à 22:"),
        "une heure UTC imprimée :\n{texte}"
    );
    // « Fait à …, le » : the day it was signed (in Paris), not the day of entry.
    assert!(
        texte.contains("Fait à Mauguio, le 15/10/2025"),
        "date de signature du contrat :\n{texte}"
    );
    preuves_en_utc(&preuves, &signes_contrat);

    // A workshop sheet on the tablet: the attendees' times, the closing, the page.
    let tablette = service.connecter(&smtp, "t.garnier@plie.fr");
    let f = tablette.ouvrir_atelier("Atelier CV", "2025-10-15", &[&samira, &karim]);
    for nom in ["Karim DURAND", "Samira BENALI"] {
        let (status, v) = tablette.signer(&f, nom, json!({ "signataire": f.id(nom) }));
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let (status, v) = tablette.cloturer(&f, "cloture", signature(&f.version));
    assert_eq!(status, StatusCode::OK, "{v}");
    let v = service.attendre_etat(&referent, &f.document, "depose");
    let signes_feuille = signes(&v);
    let (texte, preuves) = pdf_scelle(&service, &referent, &f.document, dir.path());
    let (animateur, cloture) = signes_feuille.last().unwrap().clone();
    assert_eq!(animateur, "Thomas GARNIER");
    for (nom, t) in &signes_feuille[..2] {
        let heure = a_paris(*t, "%d/%m/%Y à %H:%M");
        assert!(
            texte.contains(&format!("signé le {heure}")),
            "{nom} sans « signé le {heure} » :\n{texte}"
        );
    }
    assert!(
        texte.contains(&format!(
            "clôt la feuille le {}",
            a_paris(cloture, "%d/%m/%Y à %H:%M")
        )),
        "{texte}"
    );
    assert!(texte.contains("heure de Paris"), "heures non étiquetées");
    assert!(
        !texte.contains("14/10/2025"),
        "un jour UTC imprimé :\n{texte}"
    );
    preuves_en_utc(&preuves, &signes_feuille);
    // The document's page shows the same times as the sealed sheet.
    let (status, page) = tablette.get(&format!("/documents/{}", f.document));
    assert_eq!(status, StatusCode::OK);
    for (nom, t) in &signes_feuille {
        let heure = a_paris(*t, "%d/%m/%Y %H:%M");
        assert!(
            page.contains(&heure),
            "page sans l'heure de {nom} ({heure})"
        );
    }
}
