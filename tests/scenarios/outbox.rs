//! The outbox tells a permanent failure from a transient one: an e-mail the SMTP server refuses
//! for good (550) is tried once, given up with its reason, and shown to staff (`/api/sante`,
//! the document's API view and page); an SMTP server that is down is tried again until it is
//! back.

use crate::service::{alterer_la_base, contrat_donnees, participant_ref, sql, Plie, Service, Smtp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A contract for Samira Benali to sign by link at `email`, sent: its reference.
fn contrat_envoye(service: &Service, referent: &str, email: &str) -> String {
    let samira = participant_ref(service, referent, "Benali");
    let cree = service.ok(
        "POST",
        "/api/documents",
        referent,
        Some(&json!({
            "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees(),
            "signataires": [{ "role": "participant", "methode": "lien", "email": email }],
        })),
    );
    let reference = cree["document"]["ref"].as_str().unwrap().to_owned();
    service.ok(
        "POST",
        &format!("/api/documents/{reference}/envoi"),
        referent,
        None,
    );
    reference
}

/// Waits until `pret` holds for the document's API view; that view.
fn attendre_vue(
    service: &Service,
    jeton: &str,
    reference: &str,
    pret: impl Fn(&Value) -> bool,
) -> Value {
    let debut = Instant::now();
    loop {
        let v = service.ok("GET", &format!("/api/documents/{reference}"), jeton, None);
        if pret(&v) {
            return v;
        }
        assert!(debut.elapsed() < Duration::from_secs(60), "{v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn courriel_refuse_pour_de_bon_tente_une_fois_et_montre_au_personnel() {
    let Plie {
        dir: _dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let reference = contrat_envoye(&service, &referent, "refuse.samira@exemple.fr");

    let vue = attendre_vue(&service, &referent, &reference, |v| {
        v["echecs"].as_array().is_some_and(|e| !e.is_empty())
    });
    let echec = &vue["echecs"][0];
    assert_eq!(echec["genre"], "courriel", "{vue}");
    assert!(
        echec["raison"].as_str().unwrap().contains("550"),
        "la raison donne la réponse du serveur : {vue}"
    );
    // Past several of the delays a transient failure would be retried after (2 s, 4 s…),
    // the refused address was tried once.
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(smtp.refus(), vec!["refuse.samira@exemple.fr".to_owned()]);
    let sante = service.ok("GET", "/api/sante", "", None);
    assert_eq!(sante["outbox"]["abandons"], 1, "{sante}");
    assert_eq!(sante["outbox"]["en_attente"], 0, "{sante}");

    // The document's page says it, in French, with the reason.
    let nav = service.connecter(&smtp, "t.garnier@plie.fr");
    let (status, page) = nav.get(&format!("/documents/{reference}"));
    assert!(status.is_success(), "{status}");
    assert!(
        page.contains("L'envoi d'un courriel pour ce document a échoué définitivement")
            && page.contains("ne sera plus réessayé")
            && page.contains("550"),
        "{page}"
    );
}

#[test]
fn serveur_smtp_arrete_reessaye_jusqu_a_son_retour() {
    let Plie {
        dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let port = smtp.port;
    drop(smtp);
    let reference = contrat_envoye(&service, &referent, "samira.benali@exemple.fr");

    // Refused connections: the invitation waits, tried again, never given up.
    let debut = Instant::now();
    loop {
        let sante = service.ok("GET", "/api/sante", "", None);
        if sante["outbox"]["en_echec"].as_i64().unwrap() > 0 {
            assert_eq!(sante["outbox"]["abandons"], 0, "{sante}");
            break;
        }
        assert!(debut.elapsed() < Duration::from_secs(60), "{sante}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let vue = service.ok(
        "GET",
        &format!("/api/documents/{reference}"),
        &referent,
        None,
    );
    assert_eq!(vue["echecs"], json!([]), "{vue}");

    // The server back on its port: the next attempt delivers the invitation.
    let smtp = Smtp::start_sur(&dir.path().join("smtp"), port);
    let invitation = smtp.attendre("samira.benali@exemple.fr", "/signer/");
    assert!(invitation.contains("à signer"), "{invitation}");
    service.attendre_outbox_vide(&referent);
    let sante = service.ok("GET", "/api/sante", "", None);
    assert_eq!(sante["outbox"]["abandons"], 0, "{sante}");
}

/// A task whose payload no longer reads (altered by hand) would fail the same way at every
/// attempt: it is given up with the reason, not left waiting for ever.
#[test]
fn tache_a_la_charge_illisible_abandonnee_avec_sa_raison() {
    let Plie {
        dir: _dir,
        smtp,
        service,
        referent,
        ..
    } = Plie::pret(None);
    drop(smtp);
    contrat_envoye(&service, &referent, "samira.benali@exemple.fr");
    // The invitation waits for the SMTP server.
    let debut = Instant::now();
    while service.ok("GET", "/api/sante", "", None)["outbox"]["en_echec"] == 0 {
        assert!(debut.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(100));
    }
    alterer_la_base(
        &service,
        "UPDATE outbox SET charge = '{\"document\": tronqu' WHERE etat = 'attente' AND genre = 'courriel';",
    );
    let debut = Instant::now();
    loop {
        let sante = service.ok("GET", "/api/sante", "", None);
        // Other tasks of the sending (its journal entry) may still be on their way.
        if sante["outbox"]["abandons"] != 0 && sante["outbox"]["en_attente"] == 0 {
            assert_eq!(sante["outbox"]["abandons"], 1, "{sante}");
            break;
        }
        assert!(debut.elapsed() < Duration::from_secs(30), "{sante}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let raison = sql(
        &service,
        "SELECT derniere_erreur FROM outbox WHERE etat = 'abandon'",
    );
    assert!(raison.contains("charge de la tâche illisible"), "{raison}");
}
