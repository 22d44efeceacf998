//! Attacks and careless files through the import, the exports and file names (issue 15,
//! items 9, 10, 15 and 16): formulas in the spreadsheet export, real extractions (Windows-1252,
//! 100 000 lines), an import that would rename staff or reveal another PLIE's accounts, file
//! names that lose their extension or reverse their text. Everything goes through
//! `parafe serve`: the API with a coordinateur's token, the pages with a session.

use crate::pack::{deposer_http, pdf_simple};
use crate::service::{participant_ref, Plie};
use reqwest::StatusCode;

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
