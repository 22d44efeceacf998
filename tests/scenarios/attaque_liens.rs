//! Attacks on signing links, one-time codes, account links and accounts (issue 15, points 2 to
//! 6, 12, 13, 16 and 17), against `parafe serve` over HTTP with the real SMTP server of the
//! tests: each scenario is what an attacker or a careless operator did, and what must hold.

use crate::service::{
    code_recu, confirmer_code, contrat_donnees, fiche_plie, lien, participant_ref, signature, Plie,
    Reglages, Service, Smtp, EXTRACTION,
};
use crate::support::{parafe, sha256_hex, text};
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MOT_DE_PASSE: &str = "le chat dort sur le radiateur";

/// A browser without JavaScript: one session cookie, forms sent from parafe's own pages.
struct Navigateur<'a> {
    service: &'a Service,
    client: Client,
    cookie: RefCell<Option<String>>,
}

/// Status, headers and body of an answer.
type Reponse = (StatusCode, HeaderMap, String);

impl<'a> Navigateur<'a> {
    fn new(service: &'a Service) -> Self {
        Navigateur {
            service,
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            cookie: RefCell::new(None),
        }
    }

    fn envoyer(&self, requete: reqwest::blocking::RequestBuilder) -> Reponse {
        let requete = match self.cookie.borrow().as_deref() {
            Some(c) => requete.header("cookie", c),
            None => requete,
        };
        let r = requete.send().unwrap();
        if let Some(c) = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()) {
            *self.cookie.borrow_mut() = c.split(';').next().map(str::to_owned);
        }
        let (status, entetes) = (r.status(), r.headers().clone());
        (status, entetes, r.text().unwrap_or_default())
    }

    fn get(&self, chemin: &str) -> Reponse {
        self.envoyer(self.client.get(format!("{}{chemin}", self.service.url)))
    }

    fn formulaire(&self, chemin: &str, champs: &[(&str, &str)]) -> Reponse {
        self.envoyer(
            self.client
                .post(format!("{}{chemin}", self.service.url))
                .header("origin", &self.service.url)
                .form(champs),
        )
    }

    fn json(&self, chemin: &str, csrf: &str, corps: &Value) -> Reponse {
        self.envoyer(
            self.client
                .post(format!("{}{chemin}", self.service.url))
                .header("origin", &self.service.url)
                .header("x-csrf-token", csrf)
                .json(corps),
        )
    }

    fn connecter(&self, email: &str) {
        let (status, entetes, page) = self.formulaire(
            "/connexion",
            &[("email", email), ("mot_de_passe", MOT_DE_PASSE)],
        );
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "connexion de {email} : {page}"
        );
        assert!(self.cookie.borrow().is_some(), "{entetes:?}");
    }
}

/// The CSRF token of a staff page's forms.
fn csrf(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("pas de jeton anti-CSRF : {page}"))
        .to_owned()
}

/// The token that follows `prefixe` in a message (`/signer/`, `/compte/`).
fn jeton_apres(texte: &str, prefixe: &str) -> String {
    let debut = texte
        .find(prefixe)
        .unwrap_or_else(|| panic!("« {prefixe} » absent de : {texte}"));
    texte[debut + prefixe.len()..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect()
}

/// Chooses the password of a staff account through « mot de passe oublié », as its owner would.
fn choisir_mot_de_passe(nav: &Navigateur, smtp: &Smtp, email: &str) {
    let deja = smtp.recus(email, "/compte/").len();
    nav.formulaire("/mot-de-passe-oublie", &[("email", email)]);
    let jeton = jeton_apres(&smtp.attendre_nouveau(email, "/compte/", deja), "/compte/");
    let (status, _, page) = nav.formulaire(
        &format!("/compte/{jeton}"),
        &[
            ("mot_de_passe", MOT_DE_PASSE),
            ("confirmation", MOT_DE_PASSE),
        ],
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
}

/// A contract for a participant who signs by link, sent; its reference, version and link.
fn contrat_par_lien(plie: &Plie, nom: &str, email: &str) -> (String, String, String) {
    let p = participant_ref(&plie.service, &plie.referent, nom);
    let deja = plie.smtp.recus(email, "/signer/").len();
    let (reference, version) = plie.service.creer_et_envoyer(
        &plie.referent,
        &json!({
            "workflow": "contrat-engagement", "participant": p, "donnees": contrat_donnees(),
            "signataires": [{ "role": "participant", "methode": "lien" }],
        }),
    );
    let jeton = lien(&plie.smtp.attendre_nouveau(email, "/signer/", deja));
    (reference, version, jeton)
}

/// The evidence a sealed PDF carries in its `preuves.json` attachment (PDF/A-3), as poppler's
/// pdfdetach extracts it.
fn preuves(dir: &Path, pdf: &[u8]) -> Value {
    let chemin = dir.join("scelle.pdf");
    std::fs::write(&chemin, pdf).unwrap();
    let sortie = dir.join("preuves.json");
    let out = crate::support::tool(
        "pdfdetach",
        &[
            "-savefile",
            "preuves.json",
            "-o",
            &sortie.to_string_lossy(),
            &chemin.to_string_lossy(),
        ],
    );
    assert!(out.status.success(), "pdfdetach : {}", text(&out.stderr));
    serde_json::from_str(&std::fs::read_to_string(&sortie).unwrap()).unwrap()
}

// ——— Point 2 : un lien relancé ne signe pas sans code ———

#[test]
fn un_lien_relance_ne_signe_pas_sans_son_propre_code_et_la_preuve_nomme_le_lien() {
    let plie = Plie::pret(None);
    let (service, smtp) = (&plie.service, &plie.smtp);
    let email = "samira.benali@exemple.fr";
    let (reference, version, premier) = contrat_par_lien(&plie, "Benali", email);
    confirmer_code(service, smtp, email, &premier);

    // The référent reminds: a new link; the first one, and the code confirmed on it, are void.
    let deja = smtp.recus(email, "Rappel").len();
    service.ok(
        "POST",
        &format!("/api/documents/{reference}/relance"),
        &plie.referent,
        None,
    );
    let second = lien(&smtp.attendre_nouveau(email, "Rappel", deja));
    assert_ne!(premier, second);
    let (status, _) = service.appel("GET", &format!("/api/signature/{premier}"), "", None);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v) = service.appel(
        "POST",
        &format!("/api/signature/{second}"),
        "",
        Some(&signature(&version)),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "signé sans code : {v}");
    let ouvert = service.ok("GET", &format!("/api/signature/{second}"), "", None);
    assert_eq!(ouvert["code_confirme"], false, "{ouvert}");
    assert!(
        v["erreur"]
            .as_str()
            .unwrap()
            .contains("confirmez d'abord le code"),
        "{v}"
    );

    // Its own code, then the signature; the référent signs on the tablet; sealed.
    confirmer_code(service, smtp, email, &second);
    service.ok(
        "POST",
        &format!("/api/signature/{second}"),
        "",
        Some(&signature(&version)),
    );
    service.ok(
        "POST",
        &format!("/api/documents/{reference}/signatures"),
        &plie.referent,
        Some(&json!({ "rang": 1, "signature": signature(&version) })),
    );
    service.attendre_etat(&plie.referent, &reference, "delivre");
    let pdf = service.pdf(&plie.referent, &reference);
    let preuves = preuves(plie.dir.path(), &pdf);
    // Each signature keeps where it came from: the caller's address and browser.
    for s in preuves["signatures"].as_array().unwrap() {
        assert_eq!(s["ip"], "127.0.0.1", "{s}");
        assert!(
            s["agent"].as_str().unwrap().contains("parafe-essais"),
            "{s}"
        );
    }
    let verification = preuves["signatures"][0]["verification"].as_str().unwrap();
    // The link is named by the start of its SHA-256, never by the token.
    let empreinte = sha256_hex(second.as_bytes());
    assert!(
        verification.contains(&format!("lien personnel n° {}", &empreinte[..12]))
            && verification.contains("confirmé sur ce lien le"),
        "{verification}"
    );
    assert!(!verification.contains(&second) && !verification.contains(&premier));
    assert!(
        !String::from_utf8_lossy(&pdf).contains(&second),
        "le jeton n'est pas dans le PDF"
    );
}

#[test]
fn une_confirmation_du_code_expire() {
    let mut plie = Plie::pret(None);
    let email = "samira.benali@exemple.fr";
    let (_, version, jeton) = contrat_par_lien(&plie, "Benali", email);
    confirmer_code(&plie.service, &plie.smtp, email, &jeton);
    // 31 minutes later (the link itself lasts 72 hours): the code must be confirmed again.
    let plus_tard = chrono::Utc::now() + chrono::TimeDelta::minutes(31);
    plie.service.horloge = Some(plus_tard.to_rfc3339());
    plie.service.redemarrer();
    let service = &plie.service;
    let (status, v) = service.appel(
        "POST",
        &format!("/api/signature/{jeton}"),
        "",
        Some(&signature(&version)),
    );
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "signé sur une confirmation périmée : {v}"
    );
    let ouvert = service.ok("GET", &format!("/api/signature/{jeton}"), "", None);
    assert_eq!(ouvert["code_confirme"], false, "{ouvert}");
    confirmer_code(service, &plie.smtp, email, &jeton);
    service.ok(
        "POST",
        &format!("/api/signature/{jeton}"),
        "",
        Some(&signature(&version)),
    );
}

// ——— Point 5 : ce qu'un lien lit ou fait exige le code ———

#[test]
fn le_pdf_les_pages_et_le_refus_du_lien_exigent_le_code() {
    let plie = Plie::pret(None);
    let (service, smtp) = (&plie.service, &plie.smtp);
    let email = "samira.benali@exemple.fr";
    let (reference, _, jeton) = contrat_par_lien(&plie, "Benali", email);
    let nav = Navigateur::new(service);
    for chemin in [
        format!("/api/signature/{jeton}/pdf"),
        format!("/signer/{jeton}/pages/1"),
    ] {
        let (status, _, corps) = nav.get(&chemin);
        assert_eq!(status, StatusCode::FORBIDDEN, "{chemin} : {corps}");
        assert!(!corps.starts_with("%PDF") && !corps.contains("Benali"));
    }
    let (status, v) = service.appel(
        "POST",
        &format!("/api/signature/{jeton}/refus"),
        "",
        Some(&json!({ "motif": "je tue ce document" })),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, _, _) = nav.formulaire(
        &format!("/signer/{jeton}/refus"),
        &[("motif", "je tue ce document")],
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    let etat = service.ok(
        "GET",
        &format!("/api/documents/{reference}"),
        &plie.referent,
        None,
    );
    assert_eq!(etat["document"]["etat"], "envoye", "le refus n'a rien tué");
    // The page before the code names neither the signer nor the participant.
    let (status, _, page) = nav.get(&format!("/signer/{jeton}"));
    assert_eq!(status, StatusCode::OK);
    assert!(
        !page.contains("Samira") && !page.contains("BENALI") && !page.contains("Benali"),
        "{page}"
    );
    // Once the code is confirmed, the link reads its PDF.
    confirmer_code(service, smtp, email, &jeton);
    let (status, _, pdf) = nav.get(&format!("/api/signature/{jeton}/pdf"));
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with("%PDF"));
}

// ——— Point 6 : chacun signe sa propre case, la preuve dit comment il s'est authentifié ———

#[test]
fn un_membre_du_personnel_ne_signe_pas_la_case_d_un_autre() {
    let plie = Plie::pret(None);
    let service = &plie.service;
    // Participant and référent both sign on the tablet.
    let (_, reference, version) = service.contrat_sur_tablette(&plie.referent, "Benali");
    // The coordinateur vouches for the participant, by his API token…
    service.ok(
        "POST",
        &format!("/api/documents/{reference}/signatures"),
        &plie.coordinateur,
        Some(&json!({ "rang": 0, "signature": signature(&version) })),
    );
    // …but cannot sign the référent's line.
    let (status, v) = service.appel(
        "POST",
        &format!("/api/documents/{reference}/signatures"),
        &plie.coordinateur,
        Some(&json!({ "rang": 1, "signature": signature(&version) })),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "case du référent : {v}");
    assert!(
        v["erreur"].as_str().unwrap().contains("propre compte"),
        "{v}"
    );
    // The référent signs his own line from his browser session.
    let nav = Navigateur::new(service);
    choisir_mot_de_passe(&nav, &plie.smtp, "t.garnier@plie.fr");
    nav.connecter("t.garnier@plie.fr");
    let (_, _, page) = nav.get(&format!("/documents/{reference}/signer/1"));
    let (status, _, corps) = nav.json(
        &format!("/documents/{reference}/signer/1"),
        page.split("data-csrf=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap(),
        &signature(&version),
    );
    assert_eq!(status, StatusCode::OK, "{corps}");
    service.attendre_etat(&plie.referent, &reference, "delivre");
    let preuves = preuves(plie.dir.path(), &service.pdf(&plie.referent, &reference));
    let verification = |i: usize| {
        preuves["signatures"][i]["verification"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        verification(0).starts_with("signature en présence de personnel-")
            && verification(0).ends_with("(jeton d'API)"),
        "{}",
        verification(0)
    );
    assert_eq!(
        verification(1),
        "signataire authentifié (session du navigateur ouverte par mot de passe)"
    );
}

// ——— Point 12 : essais du code comptés d'un coup, demandes de code limitées ———

/// `n` requests sent at once, each from its own thread: their answers, in order.
fn ensemble<T: Send>(n: usize, requete: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barriere = std::sync::Barrier::new(n);
    std::thread::scope(|s| {
        let fils: Vec<_> = (0..n)
            .map(|i| {
                let (barriere, requete) = (&barriere, &requete);
                s.spawn(move || {
                    barriere.wait();
                    requete(i)
                })
            })
            .collect();
        fils.into_iter().map(|f| f.join().unwrap()).collect()
    })
}

#[test]
fn des_codes_faux_envoyes_ensemble_n_en_font_verifier_que_cinq() {
    let plie = Plie::pret(None);
    let (service, smtp) = (&plie.service, &plie.smtp);
    let email = "samira.benali@exemple.fr";
    let (_, _, jeton) = contrat_par_lien(&plie, "Benali", email);
    let code = code_recu(service, smtp, email, &jeton);
    let faux = |i: usize| {
        format!(
            "{:06}",
            (code.parse::<usize>().unwrap() + 1 + i) % 1_000_000
        )
    };
    let reponses: Vec<(StatusCode, String)> = ensemble(20, |i| {
        let (status, v) = service.appel(
            "POST",
            &format!("/api/signature/{jeton}/verification"),
            "",
            Some(&json!({ "code": faux(i) })),
        );
        (status, v["erreur"].as_str().unwrap_or_default().to_owned())
    });
    // Exactly five wrong codes compared: four answered with the attempts left, the fifth
    // locking the link; every other request refused without its code being looked at.
    let restants = reponses
        .iter()
        .filter(|(s, m)| *s == StatusCode::UNPROCESSABLE_ENTITY && m.contains("il vous reste"))
        .count();
    let cinquieme = reponses
        .iter()
        .filter(|(s, m)| *s == StatusCode::FORBIDDEN && m.starts_with("code erroné, le 5e"))
        .count();
    let refuses = reponses
        .iter()
        .filter(|(s, m)| *s == StatusCode::FORBIDDEN && m.starts_with("trop de codes erronés"))
        .count();
    assert_eq!((restants, cinquieme, refuses), (4, 1, 15), "{reponses:#?}");
    let (status, _) = service.appel(
        "POST",
        &format!("/api/signature/{jeton}/verification"),
        "",
        Some(&json!({ "code": code })),
    );
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "le bon code après le blocage"
    );
}

#[test]
fn les_demandes_de_code_sont_limitees_par_lien_et_par_adresse() {
    let plie = Plie::pret(None);
    let (service, smtp) = (&plie.service, &plie.smtp);
    let email = "samira.benali@exemple.fr";
    let (reference, _, premier) = contrat_par_lien(&plie, "Benali", email);
    // 50 requests at once for one link: one code sent, the others told to wait.
    let statuts: Vec<(StatusCode, Value)> = ensemble(50, |_| {
        service.appel("POST", &format!("/api/signature/{premier}/code"), "", None)
    });
    let envoyes = statuts
        .iter()
        .filter(|(s, _)| *s == StatusCode::NO_CONTENT)
        .count();
    assert_eq!(envoyes, 1, "{statuts:?}");
    for (status, v) in statuts.iter().filter(|(s, _)| *s != StatusCode::NO_CONTENT) {
        assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{v}");
        assert!(
            v["erreur"]
                .as_str()
                .unwrap()
                .contains("un code vient de vous être envoyé"),
            "{v}"
        );
    }
    service.attendre_outbox_vide(&plie.referent);
    assert_eq!(smtp.recus(email, "Votre code").len(), 1);

    // Each reminder gives a new link, with its own allowance; the address has ten an hour.
    for n in 2..=11 {
        let deja = smtp.recus(email, "Rappel").len();
        service.ok(
            "POST",
            &format!("/api/documents/{reference}/relance"),
            &plie.referent,
            None,
        );
        let jeton = lien(&smtp.attendre_nouveau(email, "Rappel", deja));
        let (status, v) = service.appel("POST", &format!("/api/signature/{jeton}/code"), "", None);
        if n <= 10 {
            assert_eq!(status, StatusCode::NO_CONTENT, "code n° {n} : {v}");
            // Received before the next reminder, which would make it void.
            smtp.attendre_nouveau(email, "Votre code", n - 1);
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "code n° {n} : {v}");
            assert!(
                v["erreur"].as_str().unwrap().contains("cette adresse"),
                "{v}"
            );
        }
    }
    service.attendre_outbox_vide(&plie.referent);
    assert_eq!(smtp.recus(email, "Votre code").len(), 10);
}

// ——— Point 4 : la boîte de développement, par PLIE ———

/// The account links sent to `email` in the development mailbox (whatever its folders), newest
/// last, as the machine's operator reads them.
fn liens_de_la_boite(data: &Path, email: &str) -> Vec<String> {
    let mut messages = fichiers(&data.join("courriels"));
    messages.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
    messages
        .iter()
        .map(|(_, octets)| parafe::web::lire_courriel(octets))
        .filter(|(a, _, texte)| a.contains(email) && texte.contains("/compte/"))
        .map(|(_, _, texte)| jeton_apres(&texte, "/compte/"))
        .collect()
}

fn attendre_lien_de_la_boite(data: &Path, email: &str, deja: usize) -> String {
    let debut = Instant::now();
    loop {
        let liens = liens_de_la_boite(data, email);
        if liens.len() > deja {
            return liens.last().unwrap().clone();
        }
        assert!(
            debut.elapsed() < Duration::from_secs(60),
            "aucun lien pour {email}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn la_boite_de_developpement_ne_montre_a_un_administrateur_que_le_courrier_de_son_plie() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let service = Service::lancer(&data, Reglages::default());
    service.compte("admin@plie-a.fr", "admin", Some("plie-test"));
    service.compte("admin@plie-b.fr", "admin", Some("plie-b"));
    let connecte = |email: &str| {
        let nav = Navigateur::new(&service);
        nav.formulaire("/mot-de-passe-oublie", &[("email", email)]);
        let jeton = attendre_lien_de_la_boite(&data, email, 0);
        nav.formulaire(
            &format!("/compte/{jeton}"),
            &[
                ("mot_de_passe", MOT_DE_PASSE),
                ("confirmation", MOT_DE_PASSE),
            ],
        );
        nav.connecter(email);
        nav
    };
    let a = connecte("admin@plie-a.fr");
    let b = connecte("admin@plie-b.fr");
    // PLIE B's admin asks for a reset of PLIE A's admin, then looks into his mailbox.
    b.formulaire("/mot-de-passe-oublie", &[("email", "admin@plie-a.fr")]);
    let jeton = attendre_lien_de_la_boite(&data, "admin@plie-a.fr", 1);
    let (status, _, page) = b.get("/admin/courriels");
    assert_eq!(status, StatusCode::OK);
    assert!(
        !page.contains("admin@plie-a.fr"),
        "courrier d'un autre PLIE : {page}"
    );
    assert!(
        page.contains("admin@plie-b.fr"),
        "son propre courrier : {page}"
    );
    assert!(page.contains("Développement uniquement"), "{page}");
    let fichiers: Vec<String> = std::fs::read_dir(data.join("courriels/plie-test"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for nom in &fichiers {
        let (status, _, corps) = b.get(&format!("/admin/courriels/{nom}"));
        assert_eq!(status, StatusCode::NOT_FOUND, "{nom}");
        assert!(!corps.contains(&jeton));
    }
    // PLIE A's admin reads it in his own mailbox.
    let (_, _, page) = a.get("/admin/courriels");
    assert!(page.contains("admin@plie-a.fr") && !page.contains("admin@plie-b.fr"));
}

// ——— Point 13 : redirection après connexion ———

#[test]
fn la_connexion_ne_renvoie_que_vers_un_ecran_de_parafe() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir.path().join("smtp"));
    let service = Service::start(&dir.path().join("data"), smtp.port, None);
    service.compte("t.garnier@plie.fr", "referent", Some("plie-test"));
    let nav = Navigateur::new(&service);
    choisir_mot_de_passe(&nav, &smtp, "t.garnier@plie.fr");
    let (_, _, page) = nav.get("/connexion?suite=/%09/attaquant.exemple");
    assert!(page.contains("name=\"suite\" value=\"/accueil\""), "{page}");
    for (suite, attendu) in [
        ("/\t/attaquant.exemple", "/accueil"),
        ("/\n/attaquant.exemple", "/accueil"),
        ("/\\attaquant.exemple", "/accueil"),
        ("//attaquant.exemple", "/accueil"),
        ("/attaquant.exemple", "/accueil"),
        (
            "/controle?operation=202500417",
            "/controle?operation=202500417",
        ),
    ] {
        let nav = Navigateur::new(&service);
        let (status, entetes, _) = nav.formulaire(
            "/connexion",
            &[
                ("email", "t.garnier@plie.fr"),
                ("mot_de_passe", MOT_DE_PASSE),
                ("suite", suite),
            ],
        );
        assert_eq!(status, StatusCode::SEE_OTHER, "{suite:?}");
        assert_eq!(entetes["location"], attendu, "{suite:?}");
    }
}

// ——— Point 16 ———

#[test]
fn un_refus_de_connexion_ne_dit_pas_quels_comptes_existent() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir.path().join("smtp"));
    let service = Service::start(&dir.path().join("data"), smtp.port, None);
    service.compte("t.garnier@plie.fr", "referent", Some("plie-test"));
    let essais = |email: &str| -> Vec<(StatusCode, String)> {
        (0..6)
            .map(|i| {
                let nav = Navigateur::new(&service);
                let (status, _, page) = nav.formulaire(
                    "/connexion",
                    &[("email", email), ("mot_de_passe", &format!("faux {i}"))],
                );
                let alerte = page
                    .split("class=\"alerte erreur\"")
                    .nth(1)
                    .and_then(|r| r.split("</").next())
                    .unwrap_or_default()
                    .to_owned();
                (status, alerte)
            })
            .collect()
    };
    let existant = essais("t.garnier@plie.fr");
    let inconnu = essais("personne@plie.fr");
    assert_eq!(existant, inconnu, "le compte existant se reconnaît");
    assert!(existant.iter().all(|(s, _)| *s == StatusCode::UNAUTHORIZED));
    assert!(existant[0].1.contains("incorrect"), "{:?}", existant[0]);
}

#[test]
fn un_participant_hors_du_portefeuille_ne_revele_pas_sa_reference() {
    let plie = Plie::pret(None);
    let service = &plie.service;
    let samira = participant_ref(service, &plie.coordinateur, "Benali");
    let autre = service.compte("autre.referent@plie.fr", "referent", Some("plie-test"));
    // Asked by the identifier of the parcours software, as staff know her.
    let (status, v) = service.appel(
        "GET",
        "/api/participants/P-2025-0412/justificatifs",
        &autre,
        None,
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert!(!v.to_string().contains(&samira), "{v}");
    assert!(v["erreur"].as_str().unwrap().contains("P-2025-0412"), "{v}");
}

/// "A participant within the caller's reach" is one rule: the fiche and the justificatifs of a
/// participant accept the same names (parafe reference, parcours identifier) and refuse the same
/// way outside the caller's portfolio.
#[test]
fn la_fiche_et_les_justificatifs_d_un_participant_ont_la_meme_portee() {
    let plie = Plie::pret(None);
    let service = &plie.service;
    let samira = participant_ref(service, &plie.coordinateur, "Benali");
    let autre = service.compte("autre.referent@plie.fr", "referent", Some("plie-test"));
    let cas = [
        (&plie.referent, samira.as_str(), StatusCode::OK),
        (&plie.referent, "P-2025-0412", StatusCode::OK),
        (&plie.coordinateur, "P-2025-0412", StatusCode::OK),
        (&plie.referent, "P-2025-9999", StatusCode::NOT_FOUND),
        (&autre, samira.as_str(), StatusCode::NOT_FOUND),
        (&autre, "P-2025-0412", StatusCode::NOT_FOUND),
    ];
    for (jeton, cle, attendu) in cas {
        for route in [
            format!("/api/participants/{cle}"),
            format!("/api/participants/{cle}/justificatifs"),
        ] {
            let (status, v) = service.appel("GET", &route, jeton, None);
            assert_eq!(status, attendu, "{route} : {v}");
            if attendu == StatusCode::OK {
                assert_eq!(v["participant"]["ref"], samira.as_str(), "{route} : {v}");
            } else {
                let erreur = v["erreur"].as_str().unwrap();
                assert!(erreur.contains("aucun participant"), "{route} : {v}");
                assert!(erreur.contains(cle), "{route} : {v}");
            }
        }
    }
}

#[test]
fn comptes_ajouter_change_le_role_d_un_compte_existant() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir.path().join("smtp"));
    let service = Service::start(&dir.path().join("data"), smtp.port, None);
    let jeton = service.compte("t.garnier@plie.fr", "referent", Some("plie-test"));
    let fiche = crate::support::example("contrat-engagement")["plie"].clone();
    let (status, _) = service.appel("PUT", "/api/plie", &jeton, Some(&fiche));
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "un référent ne règle pas le PLIE"
    );
    let data = service.data.to_string_lossy().into_owned();
    let out = parafe(&[
        "comptes",
        "ajouter",
        "--data-dir",
        &data,
        "--email",
        "t.garnier@plie.fr",
        "--nom",
        "Garnier",
        "--prenom",
        "Thomas",
        "--role",
        "admin",
        "--plie",
        "plie-test",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sortie = text(&out.stdout);
    assert!(
        sortie.contains("rôle changé : referent → admin"),
        "{sortie}"
    );
    let (status, v) = service.appel("PUT", "/api/plie", &jeton, Some(&fiche));
    assert_eq!(status, StatusCode::OK, "le compte est administrateur : {v}");
}

#[test]
fn un_corps_json_de_50_mo_recoit_413_en_francais() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir.path().join("smtp"));
    let service = Service::start(&dir.path().join("data"), smtp.port, None);
    let jeton = service.compte("t.garnier@plie.fr", "referent", Some("plie-test"));
    // 50 MB of JSON written on one side of the connection; the answer read on the other, as
    // soon as it comes (the server need not read what it refuses).
    let hote = service.url.trim_start_matches("http://").to_owned();
    let mut flux = std::net::TcpStream::connect(&hote).unwrap();
    flux.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut ecrivain = flux.try_clone().unwrap();
    let envoi = std::thread::spawn(move || {
        let tete = format!(
            "POST /api/documents HTTP/1.1\r\nHost: {hote}\r\nAuthorization: Bearer {jeton}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            50 << 20
        );
        let debut = b"{\"workflow\": \"contrat-engagement\", \"donnees\": {\"x\": \"";
        let bloc = vec![b'a'; 1 << 20];
        let _ = ecrivain
            .write_all(tete.as_bytes())
            .and_then(|()| ecrivain.write_all(debut))
            .and_then(|()| (0..50).try_for_each(|_| ecrivain.write_all(&bloc)));
    });
    // The answer: its head, then as many bytes as it announces.
    let mut reponse = Vec::new();
    let mut bloc = [0u8; 4096];
    let complete = |r: &[u8]| {
        let texte = String::from_utf8_lossy(r);
        let Some((tete, corps)) = texte.split_once("\r\n\r\n") else {
            return false;
        };
        let longueur = tete
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        corps.len() >= longueur
    };
    while !complete(&reponse) {
        let n = flux.read(&mut bloc).unwrap();
        assert!(
            n > 0,
            "réponse coupée : {}",
            String::from_utf8_lossy(&reponse)
        );
        reponse.extend_from_slice(&bloc[..n]);
    }
    let reponse = String::from_utf8(reponse).unwrap();
    assert!(reponse.starts_with("HTTP/1.1 413"), "{reponse}");
    drop(flux);
    envoi.join().unwrap();
    let corps: Value = serde_json::from_str(reponse.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert!(
        corps["erreur"]
            .as_str()
            .unwrap()
            .contains("trop volumineux : 2 Mo au plus"),
        "{corps}"
    );
}

#[test]
fn hsts_derriere_https_et_sante_publique_comme_le_dit_l_openapi() {
    let dir = tempfile::tempdir().unwrap();
    let https = Service::lancer(
        &dir.path().join("https"),
        Reglages {
            service: "url_publique = \"https://parafe.plie.exemple\"",
            ..Reglages::default()
        },
    );
    let clair = Service::lancer(&dir.path().join("clair"), Reglages::default());
    for chemin in [
        "/connexion",
        "/api/sante",
        "/openapi.json",
        "/signer/inconnu",
    ] {
        let r = https
            .client
            .get(format!("{}{chemin}", https.url))
            .send()
            .unwrap();
        assert_eq!(
            r.headers()
                .get("strict-transport-security")
                .and_then(|v| v.to_str().ok()),
            Some("max-age=31536000"),
            "{chemin}"
        );
        let r = clair
            .client
            .get(format!("{}{chemin}", clair.url))
            .send()
            .unwrap();
        assert!(r.headers().get("strict-transport-security").is_none());
    }
    // /api/sante answers without a token, and the OpenAPI description says so.
    let r = clair
        .client
        .get(format!("{}/api/sante", clair.url))
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let openapi: Value = clair
        .client
        .get(format!("{}/openapi.json", clair.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(openapi["paths"]["/api/sante"]["get"]["security"], json!([]));
}

#[test]
fn un_mot_de_passe_courant_ou_fait_des_noms_du_compte_est_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir.path().join("smtp"));
    let service = Service::start(&dir.path().join("data"), smtp.port, None);
    service.compte("t.garnier@plie.fr", "referent", Some("plie-test"));
    let nav = Navigateur::new(&service);
    nav.formulaire("/mot-de-passe-oublie", &[("email", "t.garnier@plie.fr")]);
    let jeton = jeton_apres(&smtp.attendre("t.garnier@plie.fr", "/compte/"), "/compte/");
    for (mot, raison) in [
        ("123456789012", "suite de caractères"),
        ("Azertyuiop2025!", "les plus courants"),
        ("Thomas et Marion 2025", "ni votre nom, ni votre prénom"),
    ] {
        let (status, _, page) = nav.formulaire(
            &format!("/compte/{jeton}"),
            &[("mot_de_passe", mot), ("confirmation", mot)],
        );
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{mot} accepté");
        assert!(page.contains(raison), "{mot} : {page}");
    }
    let (status, _, _) = nav.formulaire(
        &format!("/compte/{jeton}"),
        &[
            ("mot_de_passe", MOT_DE_PASSE),
            ("confirmation", MOT_DE_PASSE),
        ],
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
}

// ——— Point 17 : les droits de l'assistante ———

#[test]
fn l_assistante_depose_des_justificatifs_mais_ne_touche_a_aucun_document() {
    let plie = Plie::pret(None);
    let service = &plie.service;
    let (samira, reference, version) = service.contrat_sur_tablette(&plie.referent, "Benali");
    let assistante = service.compte("c.roux@plie.fr", "assistant", Some("plie-test"));
    // She files a justificatif received from outside…
    let pdf = plie.dir.path().join("contrat-travail.pdf");
    let out = parafe(&[
        "render",
        "contrat-engagement",
        "--data",
        &crate::support::examples()
            .join("contrat-engagement.json")
            .to_string_lossy(),
        "-o",
        &pdf.to_string_lossy(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, v) = crate::pack::deposer_http(
        service,
        &assistante,
        &[("participant", &samira), ("genre", "contrat-travail")],
        ("contrat-travail.pdf", &std::fs::read(&pdf).unwrap()),
    );
    assert_eq!(status, StatusCode::CREATED, "{v}");
    // …but creates, changes, sends, cancels and signs no document.
    let refus = [
        (
            "POST",
            "/api/documents".to_owned(),
            Some(
                json!({ "workflow": "contrat-engagement", "participant": samira, "donnees": contrat_donnees() }),
            ),
        ),
        (
            "POST",
            format!("/api/documents/{reference}/signatures"),
            Some(json!({ "rang": 0, "signature": signature(&version) })),
        ),
        ("POST", format!("/api/documents/{reference}/relance"), None),
        (
            "POST",
            format!("/api/documents/{reference}/annulation"),
            None,
        ),
        (
            "PATCH",
            format!("/api/participants/{samira}"),
            Some(json!({ "cer_debut": "2025-02-01" })),
        ),
    ];
    for (methode, chemin, corps) in refus {
        let (status, v) = service.appel(methode, &chemin, &assistante, corps.as_ref());
        assert_eq!(status, StatusCode::FORBIDDEN, "{methode} {chemin} : {v}");
        assert_eq!(
            v["erreur"],
            "une assistante consulte, exporte et dépose des justificatifs ; elle ne crée, ne modifie, n'envoie, n'annule ni ne signe aucun document",
            "{chemin}"
        );
    }
    let etat = service.ok(
        "GET",
        &format!("/api/documents/{reference}"),
        &assistante,
        None,
    );
    assert_eq!(etat["document"]["etat"], "envoye");
}

// ——— Point 3 : aucun secret au repos ———

/// Every file under `dossier` (none if it does not exist yet), with its bytes.
fn fichiers(dossier: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entree in std::fs::read_dir(dossier).into_iter().flatten().flatten() {
        let chemin = entree.path();
        if chemin.is_dir() {
            out.extend(fichiers(&chemin));
        } else if let Ok(octets) = std::fs::read(&chemin) {
            out.push((chemin, octets));
        }
    }
    out
}

fn contient(octets: &[u8], aiguille: &[u8]) -> bool {
    octets.windows(aiguille.len()).any(|w| w == aiguille)
}

/// A code as written in clear: its six digits not inside a longer run of letters or digits (a
/// hash or an identifier may hold any six digits).
fn contient_code(octets: &[u8], code: &str) -> bool {
    let code = code.as_bytes();
    octets.windows(code.len()).enumerate().any(|(i, w)| {
        w == code
            && (i == 0 || !octets[i - 1].is_ascii_alphanumeric())
            && octets
                .get(i + code.len())
                .is_none_or(|b| !b.is_ascii_alphanumeric())
    })
}

#[test]
fn aucun_secret_emis_ne_reste_au_repos_ni_dans_la_base_ni_dans_les_journaux() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir.path().join("smtp"));
    let data = dir.path().join("data");
    let log = dir.path().join("parafe-serve.log");
    let service = Service::lancer(
        &data,
        Reglages {
            smtp: Some(smtp.port),
            journal: Some(log.clone()),
            ..Reglages::default()
        },
    );
    // The first administrator's setup link, which the service writes in its log at first start:
    // used at once, as the README says.
    let premier = jeton_apres(&std::fs::read_to_string(&log).unwrap(), "/compte/");
    let admin = Navigateur::new(&service);
    let (status, _, page) = admin.formulaire(
        &format!("/compte/{premier}"),
        &[
            ("prenom", "Nadia"),
            ("nom", "Lambert"),
            ("email", "admin@plie.fr"),
            ("mot_de_passe", MOT_DE_PASSE),
            ("confirmation", MOT_DE_PASSE),
        ],
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    admin.connecter("admin@plie.fr");
    // An account opened by the administrator: activation link.
    let (_, _, page) = admin.get("/admin/comptes");
    let (status, _, page) = admin.formulaire(
        "/admin/comptes",
        &[
            ("csrf", &csrf(&page)),
            ("prenom", "Marion"),
            ("nom", "Roux"),
            ("email", "m.roux@plie.fr"),
            ("role", "referent"),
        ],
    );
    assert_eq!(status, StatusCode::OK, "{page}");
    let activation = jeton_apres(&smtp.attendre("m.roux@plie.fr", "/compte/"), "/compte/");
    // A password reset link.
    admin.formulaire("/mot-de-passe-oublie", &[("email", "admin@plie.fr")]);
    let reinitialisation = jeton_apres(&smtp.attendre("admin@plie.fr", "/compte/"), "/compte/");
    // Signing links (one reminded, one left unused) and one-time codes (one confirmed, one not).
    let coordinateur = service.compte("coord@plie.fr", "coordinateur", Some("plie-test"));
    fiche_plie(&service, &coordinateur);
    assert_eq!(
        service.importer(&coordinateur, EXTRACTION).0,
        StatusCode::OK
    );
    crate::service::decrire_l_operation(&service, &coordinateur);
    let referent = service.compte("t.garnier@plie.fr", "referent", Some("plie-test"));
    let contrat = |nom: &str, email: &str| {
        let p = participant_ref(&service, &referent, nom);
        let (reference, version) = service.creer_et_envoyer(
            &referent,
            &json!({
                "workflow": "contrat-engagement", "participant": p, "donnees": contrat_donnees(),
                "signataires": [{ "role": "participant", "methode": "lien" }],
            }),
        );
        (reference, version, lien(&smtp.attendre(email, "/signer/")))
    };
    let (samira, version, lien_1) = contrat("Benali", "samira.benali@exemple.fr");
    service.ok(
        "POST",
        &format!("/api/documents/{samira}/relance"),
        &referent,
        None,
    );
    let lien_2 = lien(&smtp.attendre("samira.benali@exemple.fr", "Rappel"));
    let code_1 = code_recu(&service, &smtp, "samira.benali@exemple.fr", &lien_2);
    service.ok(
        "POST",
        &format!("/api/signature/{lien_2}/verification"),
        "",
        Some(&json!({ "code": code_1 })),
    );
    service.ok(
        "POST",
        &format!("/api/signature/{lien_2}"),
        "",
        Some(&signature(&version)),
    );
    let (_, _, lien_3) = contrat("Durand", "karim.durand@exemple.fr");
    let code_2 = code_recu(&service, &smtp, "karim.durand@exemple.fr", &lien_3);
    service.attendre_outbox_vide(&referent);

    // What is at rest: every file of the data directory (database, its WAL, the evidence
    // journal, the store), the database's data when it lives elsewhere (PostgreSQL), and the
    // service's debug log.
    let mut a_lire = fichiers(&data);
    let vidage = PathBuf::from("pg_dump de la base du service");
    if let Some(octets) = service.vidage_de_la_base() {
        a_lire.push((vidage.clone(), octets));
    }
    a_lire.push((log.clone(), std::fs::read(&log).unwrap()));
    let est_la_base = |p: &Path| {
        p == vidage
            || p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("parafe.db"))
    };
    let base: Vec<u8> = a_lire
        .iter()
        .filter(|(p, _)| est_la_base(p))
        .flat_map(|(_, o)| o.clone())
        .collect();
    assert!(
        contient(&base, sha256_hex(lien_3.as_bytes()).as_bytes()),
        "la base lue est bien celle du service (l'empreinte du lien en attente y est)"
    );
    assert!(
        contient(a_lire.last().unwrap().1.as_slice(), b"DEBUG"),
        "le journal du service est au niveau debug"
    );
    for (nom, secret) in [
        ("lien d'activation", &activation),
        ("lien de réinitialisation", &reinitialisation),
        ("lien de signature relancé", &lien_1),
        ("lien de signature utilisé", &lien_2),
        ("lien de signature en attente", &lien_3),
    ] {
        for (chemin, octets) in &a_lire {
            assert!(
                !contient(octets, secret.as_bytes()),
                "{nom} {secret} en clair dans {}",
                chemin.display()
            );
        }
    }
    for (nom, code) in [("code confirmé", &code_1), ("code en attente", &code_2)] {
        for (chemin, octets) in a_lire.iter().filter(|(p, _)| {
            est_la_base(p) || {
                let p = p.to_string_lossy();
                p.contains("/journal/") || p.ends_with(".log")
            }
        }) {
            assert!(
                !contient_code(octets, code),
                "{nom} {code} en clair dans {}",
                chemin.display()
            );
        }
    }
    // The first administrator's link is in the log by design, and used: it opens nothing.
    let (status, _, _) = Navigateur::new(&service).get(&format!("/compte/{premier}"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    // And the links received still work: drawn at sending, not lost.
    let (status, _, _) = Navigateur::new(&service).get(&format!("/compte/{activation}"));
    assert_eq!(status, StatusCode::OK);
    service.ok("GET", &format!("/api/signature/{lien_3}"), "", None);
}
