//! Issue 20: a second PLIE in the same deployment, opened from the screen by the deployment's
//! administrator, with its own seal. Its first administrator activates his account from the
//! e-mailed link and cannot see the deployment's PLIEs; each PLIE's contrat carries its own
//! seal (pdfsig, pyHanko against the certificates the pack hands over); the seal survives a
//! restart. In production, a PLIE's seal is the PKCS#12 file of `[seal.plies.<id>]`: without
//! one its documents wait, signed, and are sealed once it is configured, nothing lost.

use crate::service::{participant_ref, Navigateur, Plie, Reglages, Service, Smtp};
use crate::support::{parafe, text, tool};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;

/// The deployment's administrator, in the PLIE of `[service] plie`, in his browser.
fn administrateur_du_deploiement(plie: &Plie) -> Navigateur {
    plie.service
        .compte("admin@plie.fr", "admin", Some("plie-test"));
    plie.service.connecter(&plie.smtp, "admin@plie.fr")
}

/// The « Ouvrir un PLIE » form sent by the deployment's administrator.
fn formulaire_plie(admin: &Navigateur, id: &str, nom: &str, email: &str) -> (StatusCode, String) {
    admin.formulaire(
        "/admin/plies",
        &[
            ("id", id),
            ("nom", nom),
            ("prenom_admin", "Nadia"),
            ("nom_admin", "Roche"),
            ("email_admin", email),
        ],
    )
}

/// Opens a PLIE from the screen; its first administrator chooses his password from the link
/// of the e-mail he receives (the activation form asks his identity too).
fn ouvrir(service: &Service, smtp: &Smtp, admin: &Navigateur, id: &str, nom: &str, email: &str) {
    let (status, page) = formulaire_plie(admin, id, nom, email);
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("ouvert : un lien d'activation part vers"),
        "{page}"
    );
    let courriel = smtp.attendre(email, "/compte/");
    service.choisir_le_mot_de_passe(
        &courriel,
        &[("prenom", "Nadia"), ("nom", "Roche"), ("email", email)],
    );
}

/// The line of the parcours extraction for a participant of `plie`, followed by `referent`.
fn ligne(identifiant: &str, nom: &str, referent: &str, operation: &str) -> String {
    format!("{identifiant};Madame;{nom};Inès;14/09/1990;;;34500;Béziers;34;{referent};Martin;Rémi;{operation};France Travail Béziers;;02/06/2025;Non;;;")
}

/// The coordinateur and the référent of a PLIE just opened (their API tokens), its card set, one
/// participant imported: the contrat of that participant signed on the tablet, sealed. Returns
/// the coordinateur's token and the sealed PDF.
fn contrat_signe(service: &Service, plie: &str, nom_plie: &str, nom: &str) -> (String, Vec<u8>) {
    let coordinateur = service.compte(&format!("coord@{plie}.fr"), "coordinateur", Some(plie));
    let mut fiche = crate::support::example("contrat-engagement")["plie"].clone();
    fiche["nom"] = json!(nom_plie);
    service.ok("PUT", "/api/plie", &coordinateur, Some(&fiche));
    service.ok("PUT", "/api/departements/34", &coordinateur, Some(&json!({
        "nom": "Hérault", "email_referent_unique": "ru@herault.exemple", "email_sdi": "sdi@herault.exemple"
    })));
    let referent_email = format!("r.martin@{plie}.fr");
    let (status, v) = service.importer_lignes(
        &coordinateur,
        &[&ligne("B-2025-0001", nom, &referent_email, "202500999")],
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    decrire(service, &coordinateur, "202500999");
    let referent = service.compte(&referent_email, "referent", Some(plie));
    let (_, reference, version) = service.contrat_sur_tablette(&referent, nom);
    for rang in [0, 1] {
        let (status, v) = service.signer_en_presence(&referent, &reference, &version, rang);
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    // Without an e-mail address, the participant's copy is handed over: « déposé » until then.
    let pdf = service.pdf_scelle(&referent, &reference, "depose");
    (coordinateur, pdf)
}

/// The opération an import named, described by the PLIE's coordinateur (an FSE+ one).
fn decrire(service: &Service, coordinateur: &str, numero: &str) {
    service.ok(
        "PUT",
        &format!("/api/operations/{numero}"),
        coordinateur,
        Some(&json!({
            "intitule": "Parcours vers l'emploi 2025", "programme": "fse-plus-2021-2027",
            "debut": "2025-01-01", "fin": "2025-12-31",
        })),
    );
}

/// The subject of a PEM certificate, as openssl prints it (UTF-8).
fn sujet(certificat: &Path) -> String {
    let out = tool(
        "openssl",
        &[
            "x509",
            "-noout",
            "-subject",
            "-nameopt",
            "utf8",
            "-in",
            &certificat.to_string_lossy(),
        ],
    );
    text(&out.stdout)
}

/// `pdfsig`'s report of a sealed PDF: its seal valid, signed by `nom`.
fn assert_scelle_par(pdf: &[u8], chemin: &Path, nom: &str) {
    std::fs::write(chemin, pdf).unwrap();
    let rapport = text(&tool("pdfsig", &["-nocert", &chemin.to_string_lossy()]).stdout);
    let cachet = rapport.split("Signature #2").next().unwrap_or_default();
    assert!(
        cachet.contains("Signature Validation: Signature is Valid."),
        "{rapport}"
    );
    assert!(
        cachet.contains(&format!("Signer Certificate Common Name: {nom}\n")),
        "cachet de « {nom} » attendu :\n{rapport}"
    );
}

#[test]
fn un_second_plie_ouvert_depuis_l_ecran_scelle_en_son_nom() {
    let mut plie = Plie::pret(Some("2025-06-20T08:00:00Z"));
    let admin = administrateur_du_deploiement(&plie);
    let service = &plie.service;

    // Only the deployment's administrator: not the coordinateur nor the référent of its PLIE.
    for email in ["coord@plie.fr", "t.garnier@plie.fr"] {
        let n = service.connecter(&plie.smtp, email);
        assert_eq!(n.get("/admin/plies").0, StatusCode::FORBIDDEN, "{email}");
    }
    let (_, comptes) = admin.get("/admin/comptes");
    assert!(comptes.contains("href=\"/admin/plies\""), "{comptes}");

    // A faulty identifier: the form comes back with its values, nothing written.
    let refuse = |id: &str, nom: &str, email: &str| -> String {
        let (status, page) = formulaire_plie(&admin, id, nom, email);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        page
    };
    let page = refuse("Béziers!", "PLIE de Béziers", "n.roche@plie-beziers.fr");
    assert!(
        page.contains("identifiant de PLIE « Béziers! » invalide"),
        "{page}"
    );
    assert!(page.contains("value=\"n.roche@plie-beziers.fr\""), "{page}");
    assert!(!page.contains("<code>Béziers!</code>"), "{page}");
    assert!(!plie.dir.path().join("data/cles/plies").exists());

    let nom = "PLIE de l'Agglomération Béziers Méditerranée, Hérault";
    ouvrir(
        service,
        &plie.smtp,
        &admin,
        "plie-beziers",
        nom,
        "n.roche@plie-beziers.fr",
    );
    let (_, page) = admin.get("/admin/plies");
    assert!(page.contains("<code>plie-beziers</code>"), "{page}");
    assert!(page.contains(&format!("<strong>{nom}</strong>")), "{page}");
    assert!(
        page.contains("certifié par « parafe AC de developpement (non qualifiee) »"),
        "{page}"
    );
    // The same identifier twice is refused.
    let page = refuse("plie-beziers", "Un autre", "p.vidal@exemple.fr");
    assert!(
        page.contains("est déjà l'identifiant d'un PLIE du déploiement"),
        "{page}"
    );

    // The new PLIE's administrator works in his PLIE, not on the deployment.
    let roche = service.session("n.roche@plie-beziers.fr");
    assert_eq!(roche.get("/admin/plies").0, StatusCode::FORBIDDEN);
    let (status, comptes) = roche.get("/admin/comptes");
    assert_eq!(status, StatusCode::OK);
    assert!(comptes.contains("n.roche@plie-beziers.fr") && !comptes.contains("admin@plie.fr"));
    assert!(!comptes.contains("href=\"/admin/plies\""));

    // Each PLIE's contrat is sealed by its own seal.
    let travail = tempfile::tempdir().unwrap();
    let (coordinateur, beziers) = contrat_signe(service, "plie-beziers", nom, "Fabre");
    assert_scelle_par(&beziers, &travail.path().join("beziers.pdf"), nom);
    let (_, reference, version) = service.contrat_sur_tablette(&plie.referent, "Benali");
    for rang in [0, 1] {
        service.signer_en_presence(&plie.referent, &reference, &version, rang);
    }
    let pays_de_l_or = service.pdf_scelle(&plie.referent, &reference, "delivre");
    assert_scelle_par(
        &pays_de_l_or,
        &travail.path().join("pays-de-l-or.pdf"),
        "Cachet du PLIE (developpement)",
    );

    // pyHanko, as a controller runs it, against the development CA.
    let ac = plie.dir.path().join("data/cles/ac-dev.pem");
    for pdf in ["beziers.pdf", "pays-de-l-or.pdf"] {
        let out = tool(
            "pyhanko",
            &[
                "sign",
                "validate",
                "--trust",
                &ac.to_string_lossy(),
                &travail.path().join(pdf).to_string_lossy(),
            ],
        );
        let rapport = text(&out.stdout) + &text(&out.stderr);
        assert!(
            out.status.success() && rapport.contains(":INTACT:TRUSTED"),
            "{pdf} :\n{rapport}"
        );
    }

    // Béziers' pack: its index sealed in Béziers' name, the seal handed over is Béziers', and
    // the controller's check of LISEZMOI passes.
    let zip = travail.path().join("pack.zip");
    let demande = json!({ "operation": "202500999", "du": "2025-01-01", "au": "2025-12-31" });
    std::fs::write(&zip, service.pack(&coordinateur, &demande)).unwrap();
    let pack = travail.path().join("pack");
    let out = tool(
        "unzip",
        &["-q", &zip.to_string_lossy(), "-d", &pack.to_string_lossy()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let index = std::fs::read(pack.join("index.pdf")).unwrap();
    assert_scelle_par(&index, &travail.path().join("index.pdf"), nom);
    let remis = sujet(&pack.join("certificats/cachet.pem"));
    assert!(remis.contains("Béziers Méditerranée"), "{remis}");
    let out = std::process::Command::new("pyhanko")
        .args([
            "sign",
            "validate",
            "--trust",
            "certificats/autorites.pem",
            "index.pdf",
        ])
        .current_dir(&pack)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );

    // A second process on the same data directory: the same seal, not a new one.
    let certificat = plie
        .dir
        .path()
        .join("data/cles/plies/plie-beziers/cachet.pem");
    let avant = std::fs::read(&certificat).unwrap();
    plie.service.redemarrer();
    let (_, page) = plie.service.session("admin@plie.fr").get("/admin/plies");
    assert!(page.contains("<code>plie-beziers</code>"), "{page}");
    assert_eq!(std::fs::read(&certificat).unwrap(), avant);
    let garde = sujet(&certificat);
    assert!(garde.contains("Béziers Méditerranée"), "{garde}");
}

/// A seal of its own for `nom`, as a PLIE gets one from a certification authority (here a
/// self-signed certificate made by openssl), in a PKCS#12 file protected by `mot_de_passe`.
fn pkcs12(dossier: &Path, fichier: &str, nom: &str, mot_de_passe: &str) {
    let cle = dossier.join(format!("{fichier}.cle.pem"));
    let cert = dossier.join(format!("{fichier}.pem"));
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let out = tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &s(&cle),
            "-out",
            &s(&cert),
            "-days",
            "365",
            "-utf8",
            "-subj",
            &format!("/CN={nom}/O={nom}/C=FR"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            &s(&cle),
            "-in",
            &s(&cert),
            "-passout",
            &format!("pass:{mot_de_passe}"),
            "-out",
            &s(&dossier.join(format!("{fichier}.p12"))),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::remove_file(cle).unwrap();
}

#[test]
fn en_production_le_cachet_de_chaque_plie_vient_de_sa_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The deployment's own seal: the development one exported as its PKCS#12 (the local TSA of
    // `parafe init` still timestamps).
    let out = parafe(&["init", "--data-dir", &data.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cles = data.join("cles");
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let out = tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            &s(&cles.join("cachet.cle.pem")),
            "-in",
            &s(&cles.join("cachet.pem")),
            "-certfile",
            &s(&cles.join("ac-dev.pem")),
            "-passout",
            "pass:mot de passe du déploiement",
            "-out",
            &s(&data.join("cachet.p12")),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    pkcs12(&data, "sete", "PLIE de Sète", "mot de passe de Sète");
    pkcs12(&data, "agde", "PLIE d'Agde", "mot de passe d'Agde");
    let seal = |agde: bool| {
        let mut toml = "[seal]\npkcs12 = \"cachet.p12\"\npkcs12_mot_de_passe_env = \"MDP_DEPLOIEMENT\"\n\n[seal.plies.plie-sete]\npkcs12 = \"sete.p12\"\npkcs12_mot_de_passe_env = \"MDP_SETE\"\n".to_owned();
        if agde {
            toml += "\n[seal.plies.plie-agde]\npkcs12 = \"agde.p12\"\npkcs12_mot_de_passe_env = \"MDP_AGDE\"\n";
        }
        toml
    };
    let env = vec![
        (
            "MDP_DEPLOIEMENT".to_owned(),
            "mot de passe du déploiement".to_owned(),
        ),
        ("MDP_SETE".to_owned(), "mot de passe de Sète".to_owned()),
        ("MDP_AGDE".to_owned(), "mot de passe d'Agde".to_owned()),
    ];
    let plie = Plie::pret_dans(
        dir,
        &data,
        Some("2025-06-20T08:00:00Z"),
        Reglages {
            toml: seal(false),
            env,
            ..Reglages::default()
        },
    );
    let admin = administrateur_du_deploiement(&plie);
    let service = &plie.service;
    ouvrir(
        service,
        &plie.smtp,
        &admin,
        "plie-sete",
        "PLIE de Sète",
        "n.roche@plie-sete.fr",
    );
    ouvrir(
        service,
        &plie.smtp,
        &admin,
        "plie-agde",
        "PLIE d'Agde",
        "n.roche@plie-agde.fr",
    );
    let (_, page) = admin.get("/admin/plies");
    assert!(page.contains("<strong>PLIE de Sète</strong>"), "{page}");
    assert!(page.contains("aucun cachet"), "{page}");
    assert!(page.contains("[seal.plies.plie-agde]"), "{page}");
    assert!(
        !data.join("cles/plies").exists(),
        "jamais de cachet de développement en production"
    );

    let travail = tempfile::tempdir().unwrap();
    let (_, sete) = contrat_signe(service, "plie-sete", "PLIE de Sète", "Fabre");
    assert_scelle_par(&sete, &travail.path().join("sete.pdf"), "PLIE de Sète");

    // Agde has no seal: its contrat waits, signed, its sealing retried.
    let coordinateur = service.compte("coord@plie-agde.fr", "coordinateur", Some("plie-agde"));
    let mut fiche = crate::support::example("contrat-engagement")["plie"].clone();
    fiche["nom"] = json!("PLIE d'Agde");
    service.ok("PUT", "/api/plie", &coordinateur, Some(&fiche));
    let (status, v) = service.importer_lignes(
        &coordinateur,
        &[&ligne(
            "A-2025-0001",
            "Vidal",
            "r.martin@plie-agde.fr",
            "202500998",
        )],
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    decrire(service, &coordinateur, "202500998");
    let referent = service.compte("r.martin@plie-agde.fr", "referent", Some("plie-agde"));
    let participant = participant_ref(service, &referent, "Vidal");
    let (reference, version) = service.creer_et_envoyer(
        &referent,
        &json!({ "workflow": "contrat-engagement", "participant": participant, "donnees": crate::service::contrat_donnees() }),
    );
    for rang in [0, 1] {
        let (status, v) = service.signer_en_presence(&referent, &reference, &version, rang);
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    std::thread::sleep(std::time::Duration::from_secs(3));
    let etat = |service: &Service| -> Value {
        service.ok(
            "GET",
            &format!("/api/documents/{reference}"),
            &referent,
            None,
        )["document"]["etat"]
            .clone()
    };
    assert_eq!(etat(service), "signe", "sans cachet, rien n'est scellé");

    // Its PKCS#12 configured, parafe restarted: the contrat is sealed in Agde's name.
    let mut plie = plie;
    let toml = std::fs::read_to_string(data.join("parafe.toml")).unwrap();
    std::fs::write(
        data.join("parafe.toml"),
        toml.replace(&seal(false), &seal(true)),
    )
    .unwrap();
    plie.service.redemarrer();
    let agde = plie.service.pdf_scelle(&referent, &reference, "depose");
    assert_scelle_par(&agde, &travail.path().join("agde.pdf"), "PLIE d'Agde");
}

/// The same PNG, its header saying it is 100 000 pixels square (CRC of the header set right).
fn png_qui_ment() -> Vec<u8> {
    let mut octets = crate::support::png(40, 20);
    octets[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    octets[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&octets[12..29]);
    octets[29..33].copy_from_slice(&crc.to_be_bytes());
    octets
}

fn crc32(octets: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &o in octets {
        crc ^= u32::from(o);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `pdfimages -list` of a PDF: the (width, height) of each image object it holds, however many
/// pages show it.
fn images_du_pdf(pdf: &[u8], chemin: &Path) -> Vec<(u32, u32)> {
    std::fs::write(chemin, pdf).unwrap();
    let out = tool("pdfimages", &["-list", &chemin.to_string_lossy()]);
    let mut images: Vec<(String, (u32, u32))> = text(&out.stdout)
        .lines()
        .skip(2)
        .filter_map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            let taille = (c.get(3)?.parse().ok()?, c.get(4)?.parse().ok()?);
            Some((c.get(10)?.to_string(), taille))
        })
        .collect();
    let pages = images.len();
    images.sort();
    images.dedup();
    assert!(pages >= 1, "le logo est à chaque page");
    images.into_iter().map(|(_, taille)| taille).collect()
}

#[test]
fn le_logo_du_plie_depose_dans_les_reglages_est_imprime_et_garde_par_chaque_document() {
    let plie = Plie::pret(Some("2025-06-20T08:00:00Z"));
    let service = &plie.service;
    let coordination = service.connecter(&plie.smtp, "coord@plie.fr");
    let travail = tempfile::tempdir().unwrap();

    // Hostile or wrong files: refused in French, nothing set.
    for (fichier, octets, attendu) in [
        ("logo.png", png_qui_ment(), "8 000 pixels"),
        (
            "logo.png",
            b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec(),
            "PNG ou JPEG",
        ),
        (
            "logo.png",
            crate::support::png(40, 20)[..60].to_vec(),
            "illisible",
        ),
    ] {
        let (status, page) = coordination.depot("/reglages/logo", (fichier, &octets));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        assert!(page.contains(attendu), "{attendu} : {page}");
        assert!(
            page.contains("Rien n&#39;a été enregistré")
                || page.contains("Rien n'a été enregistré"),
            "{page}"
        );
    }
    assert_eq!(coordination.get("/reglages/logo").0, StatusCode::NOT_FOUND);
    // The référent does not set it.
    let referent = service.connecter(&plie.smtp, "t.garnier@plie.fr");
    assert_eq!(
        referent
            .depot("/reglages/logo", ("logo.png", &crate::support::png(40, 20)))
            .0,
        StatusCode::FORBIDDEN
    );

    // A wide logo: brought within 600 pixels, printed in the header of the next documents.
    let (status, lieu) = coordination.depot(
        "/reglages/logo",
        ("logo.png", &crate::support::png(1200, 400)),
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{lieu}");
    assert!(lieu.contains("enregistre=logo"), "{lieu}");
    let (status, _, octets) = coordination.octets("/reglages/logo");
    assert_eq!(status, StatusCode::OK);
    let logo = image::load_from_memory(&octets).unwrap();
    assert_eq!((logo.width(), logo.height()), (600, 200));
    // The card saved again (as the API does) keeps the logo, whatever it says of it.
    let mut fiche = crate::support::example("contrat-engagement")["plie"].clone();
    fiche["logo"] = json!("../../cles/cachet.cle.pem");
    service.ok("PUT", "/api/plie", &plie.coordinateur, Some(&fiche));
    assert_eq!(coordination.octets("/reglages/logo").2, octets);

    // The PLIE's card as the screens take it: from the settings, not from the request.
    let mut donnees = crate::service::contrat_donnees();
    donnees.as_object_mut().unwrap().remove("plie");
    let contrat = |nom: &str| -> (String, Vec<u8>) {
        let participant = participant_ref(service, &plie.referent, nom);
        let (reference, version) = service.creer_et_envoyer(
            &plie.referent,
            &json!({ "workflow": "contrat-engagement", "participant": participant, "donnees": donnees }),
        );
        for rang in [0, 1] {
            service.signer_en_presence(&plie.referent, &reference, &version, rang);
        }
        let pdf = service.pdf_scelle(&plie.referent, &reference, "delivre");
        (reference, pdf)
    };
    let (premier, pdf) = contrat("Benali");
    assert_eq!(
        images_du_pdf(&pdf, &travail.path().join("a.pdf")),
        vec![(600, 200)]
    );
    std::fs::write(travail.path().join("contrat.pdf"), &pdf).unwrap();
    // Looked at: the header of the first page, as the captures of the screens are.
    std::fs::create_dir_all(crate::support::repo().join("target/captures")).unwrap();
    let out = tool(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "150",
            "-f",
            "1",
            "-l",
            "1",
            "-W",
            "1240",
            "-H",
            "260",
            &travail.path().join("contrat.pdf").to_string_lossy(),
            &crate::support::repo()
                .join("target/captures/contrat-avec-logo")
                .to_string_lossy(),
        ],
    );
    assert!(out.status.success());

    // Another logo: the next document carries it; the first one's page still shows it whole.
    let (status, _) = coordination.depot(
        "/reglages/logo",
        ("logo.png", &crate::support::png(300, 300)),
    );
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, pdf) = contrat("Durand");
    assert_eq!(
        images_du_pdf(&pdf, &travail.path().join("b.pdf")),
        vec![(300, 300)]
    );
    let (_, page) = coordination.get(&format!("/documents/{premier}"));
    assert!(!page.contains("erreur interne"), "{page}");

    // Taken off: documents made after it have no image.
    let (status, lieu) = coordination.formulaire("/reglages/logo/retrait", &[]);
    assert_eq!(status, StatusCode::SEE_OTHER, "{lieu}");
    assert_eq!(coordination.get("/reglages/logo").0, StatusCode::NOT_FOUND);
}
