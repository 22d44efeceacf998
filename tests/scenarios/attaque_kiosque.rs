//! Attacks on the émargement kiosk, over HTTP against `parafe serve` as a tablet sends them: a
//! person who signs a sheet twice, a closing refused half-way, a locked tablet that reads
//! other sheets.

use crate::service::{participant_ref, signature, Plie};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The attendee lines of a sheet, as the kiosk's state answers them.
fn presents(etat: &Value) -> Vec<String> {
    etat["signataires"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["role"] == "participant")
        .map(|s| s["nom"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn une_personne_ne_signe_qu_une_fois_une_feuille() {
    let Plie {
        dir: _dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    let karim = participant_ref(&service, &referent, "Durand");
    let tablette = service.connecter(&smtp, "t.garnier@plie.fr");
    // Expected twice (a form or an API call that repeats her): refused, nothing opened.
    let mut champs = vec![
        ("genre", "collectif"),
        ("intitule", "Atelier CV"),
        ("date", "2025-10-15"),
        ("heure_debut", "09:30"),
        ("heure_fin", "11:30"),
        ("lieu", "Maison de l'emploi"),
    ];
    champs.extend([&samira, &karim, &samira].map(|p| ("participants", p.as_str())));
    let (status, page) = tablette.formulaire("/kiosque", &champs);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("Samira BENALI figure deux fois parmi les présents"),
        "{page}"
    );
    let f = tablette.ouvrir_atelier("Atelier CV", "2025-10-15", &[&samira, &karim]);

    let (status, v) = tablette.signer(
        &f,
        "samira-1",
        json!({ "signataire": f.id("Samira BENALI") }),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    // She signs again as someone « not on the list »: however her name is typed, refused.
    for (i, (prenom, nom)) in [
        ("Samira", "BENALI"),
        (" samira ", "Bénali"),
        ("Benali", "Samira"),
    ]
    .into_iter()
    .enumerate()
    {
        let (status, v) = tablette.signer(
            &f,
            &format!("samira-{}", i + 2),
            json!({ "nouveau": { "prenom": prenom, "nom": nom } }),
        );
        assert_eq!(status, StatusCode::CONFLICT, "{prenom} {nom} : {v}");
        let message = v["erreur"].as_str().unwrap_or_default();
        assert!(
            message.contains("Samira BENALI a déjà signé cette feuille"),
            "{message}"
        );
    }
    // Karim is expected and has not signed: his own line, not a new one.
    let (status, v) = tablette.signer(
        &f,
        "karim-nouveau",
        json!({ "nouveau": { "prenom": "Karim", "nom": "Durand" } }),
    );
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v["erreur"]
            .as_str()
            .unwrap_or_default()
            .contains("Karim DURAND est déjà sur la feuille : touchez son nom pour signer"),
        "{v}"
    );
    // Someone the PLIE does not know, added on the spot: her signature refused first (nothing
    // drawn), she is not on the sheet; then signed, then again with a new key.
    let mut sans_trace = json!({ "nouveau": { "prenom": "Jeanne", "nom": "Petit-Martin" } });
    sans_trace["signature"] = signature(&f.version);
    sans_trace["signature"]["trace"]["traits"] = json!([]);
    let (status, v) = tablette.signer(&f, "jeanne-0", sans_trace);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, etat) = tablette.json("GET", &format!("/kiosque/{}/etat", f.kiosque), None);
    assert_eq!(
        presents(&etat),
        ["Samira BENALI", "Karim DURAND"],
        "une ligne ajoutée par une signature refusée"
    );
    let (status, v) = tablette.signer(
        &f,
        "jeanne-1",
        json!({ "nouveau": { "prenom": "Jeanne", "nom": "Petit-Martin" } }),
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = tablette.signer(
        &f,
        "jeanne-2",
        json!({ "nouveau": { "prenom": "JEANNE", "nom": "petit martin" } }),
    );
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    // The same send replayed after a network outage is still recorded once, without error.
    let (status, v) = tablette.signer(
        &f,
        "jeanne-1",
        json!({ "nouveau": { "prenom": "Jeanne", "nom": "Petit-Martin" } }),
    );
    assert_eq!((status, &v["deja"]), (StatusCode::OK, &json!(true)), "{v}");

    let (_, etat) = tablette.json("GET", &format!("/kiosque/{}/etat", f.kiosque), None);
    assert_eq!(
        presents(&etat),
        ["Samira BENALI", "Karim DURAND", "Jeanne PETIT-MARTIN"],
        "{etat}"
    );
    let (status, v) = tablette.cloturer(&f, "cloture", signature(&f.version));
    assert_eq!(status, StatusCode::OK, "{v}");
    let fini = service.attendre_etat(&referent, &f.document, "depose");
    let signes: Vec<&str> = fini["signataires"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["nom"].as_str().unwrap())
        .collect();
    assert_eq!(
        signes,
        ["Samira BENALI", "Jeanne PETIT-MARTIN", "Thomas GARNIER"],
        "une ligne par personne, l'absent retiré"
    );
}

#[test]
fn une_cloture_refusee_ne_retire_personne_de_la_feuille() {
    let Plie {
        dir: _dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    let karim = participant_ref(&service, &referent, "Durand");
    let tablette = service.connecter(&smtp, "t.garnier@plie.fr");
    let f = tablette.ouvrir_atelier("Atelier CV", "2025-10-15", &[&samira, &karim]);
    let (status, _) = tablette.signer(&f, "s", json!({ "signataire": f.id("Samira BENALI") }));
    assert_eq!(status, StatusCode::OK);

    let mut sans_trace = signature(&f.version);
    sans_trace["trace"]["traits"] = json!([]);
    let mut autre_consentement = signature(&f.version);
    autre_consentement["consentement"] = json!("Je signe.");
    for (cas, signature_animateur, champ) in [
        ("signature vide", sans_trace, "trace"),
        ("consentement modifié", autre_consentement, "consentement"),
        ("autre version", signature(&"0".repeat(64)), "version"),
    ] {
        let (status, v) = tablette.cloturer(&f, cas, signature_animateur);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{cas} : {v}");
        assert_eq!(v["champ"], champ, "{cas} : {v}");
        // Nothing moved: Karim is still expected, the sheet still open on the tablet.
        let (status, etat) = tablette.json("GET", &format!("/kiosque/{}/etat", f.kiosque), None);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(etat["etat"], "ouvert", "{cas} : {etat}");
        assert_eq!(etat["etat_document"], "partiellement_signe", "{cas}");
        assert_eq!(
            presents(&etat),
            ["Samira BENALI", "Karim DURAND"],
            "{cas} : un absent retiré par une clôture refusée"
        );
    }
    // Karim arrives late and signs: the sheet was never cut.
    let (status, v) = tablette.signer(&f, "k", json!({ "signataire": f.id("Karim DURAND") }));
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, v) = tablette.cloturer(&f, "cloture", signature(&f.version));
    assert_eq!(status, StatusCode::OK, "{v}");
    let fini = service.attendre_etat(&referent, &f.document, "depose");
    assert_eq!(fini["signataires"].as_array().unwrap().len(), 3, "{fini}");
}

#[test]
fn une_tablette_verrouillee_ne_lit_que_sa_feuille() {
    let Plie {
        dir: _dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    let karim = participant_ref(&service, &referent, "Durand");
    let premiere = service.connecter(&smtp, "t.garnier@plie.fr");
    let a = premiere.ouvrir_atelier("Atelier A", "2025-10-15", &[&samira]);
    let seconde = service.session("t.garnier@plie.fr");
    let b = seconde.ouvrir_atelier("Atelier B", "2025-10-15", &[&karim]);

    // Its own sheet: the list and the pictures of its pages.
    let (status, etat) = premiere.json("GET", &format!("/kiosque/{}/etat", a.kiosque), None);
    assert_eq!(status, StatusCode::OK, "{etat}");
    assert_eq!(
        premiere.get(&format!("/kiosque/{}/pages/1", a.kiosque)).0,
        StatusCode::OK
    );
    // The other tablet's sheet, by its reference: nothing, whatever the route.
    let (status, etat) = premiere.json("GET", &format!("/kiosque/{}/etat", b.kiosque), None);
    assert_eq!(status, StatusCode::FORBIDDEN, "{etat}");
    assert!(!etat.to_string().contains("DURAND"), "{etat}");
    assert!(
        etat["erreur"]
            .as_str()
            .unwrap_or_default()
            .contains("verrouillée sur une autre feuille"),
        "{etat}"
    );
    let (status, page) = premiere.get(&format!("/kiosque/{}/pages/1", b.kiosque));
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "image d'une page de l'autre feuille"
    );
    assert!(!page.starts_with("\u{89}PNG"));
    let (status, page) = premiere.get(&format!("/kiosque/{}", b.kiosque));
    assert!(status.is_client_error(), "{status}");
    assert!(!page.contains("DURAND"));
    let (status, v) = premiere.signer(&b, "intrus", json!({ "signataire": b.id("Karim DURAND") }));
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, v) = premiere.cloturer(&b, "intrus", signature(&b.version));
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, _) = premiere.formulaire(
        &format!("/kiosque/{}/sortir", b.kiosque),
        &[("mot_de_passe", crate::service::MOT_DE_PASSE)],
    );
    assert!(status.is_client_error(), "{status}");
    // The second tablet still holds its sheet, untouched.
    let (status, etat) = seconde.json("GET", &format!("/kiosque/{}/etat", b.kiosque), None);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(etat["etat"], "ouvert");
    assert_eq!(etat["etat_document"], "envoye", "{etat}");
}
