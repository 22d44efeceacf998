//! Issue 18: the PDF of a participant's FSE answers. A participant imported through the API in
//! an FSE+ opération entered by the coordinateur, his entry answers recorded through the API,
//! their PDF asked for through the API: sealed (pdfsig, against the API's hash), the answers'
//! labels in its text (never their codes), filed under the opération with its retention (read
//! back from moto with Object Lock), e-mailed to the participant; out of reach of the assistant,
//! left out of a pack without sensitive data and listed with its hash in one with them. Where
//! the PLIE's workflow says so, the participant signs it on the tablet first (asked for from the
//! questionnaire's screen).

use crate::operations::{fin_d_annee, replie, Coffre};
use crate::pack::{depose_sous, evenements, manifeste_de, pack_http};
use crate::questionnaire::{
    chemin, corps, entree, ligne, refs, service_et_courriels, EN_TETE, REFERENT,
};
use crate::service::{fiche_plie, Reglages, Service};
use crate::support::{pdf_text, repo, sha256_hex, text, tool};
use parafe::model::JournalEvent;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;

const OPERATION: &str = "202500417";

/// The FSE+ opération of the questionnaires, entered by the coordinateur: kept until
/// 31/12/2031 (5 years after the end of its period, no payment yet).
fn operation_fse_plus(service: &Service, coordinateur: &str) {
    let cree = service.ok(
        "POST",
        "/api/operations",
        coordinateur,
        Some(&json!({
            "numero": OPERATION, "intitule": "Accompagnement renforcé vers l'emploi 2025-2026",
            "programme": "fse-plus-2021-2027", "debut": "2025-01-01", "fin": "2026-12-31",
        })),
    );
    assert_eq!(cree["conservation_jusqu_au"], "31/12/2031", "{cree}");
}

/// Samira Benali imported in the opération with her entry answers recorded by her référent:
/// the service's coordinateur and référent tokens, and her ref.
fn samira_et_ses_reponses(service: &Service) -> (String, String, String) {
    let coordinateur = service.compte("coord@plie.fr", "coordinateur", Some("plie-test"));
    fiche_plie(service, &coordinateur);
    operation_fse_plus(service, &coordinateur);
    let csv = ligne("Q-001", "Benali", REFERENT, "03/03/2025", "");
    let (status, v) = service.importer(&coordinateur, &format!("{EN_TETE}{csv}"));
    assert_eq!(status, StatusCode::OK, "{v}");
    let referent = service.compte(REFERENT, "referent", Some("plie-test"));
    let samira = refs(service, &referent)["Q-001"].clone();
    service.ok(
        "PUT",
        &chemin(&samira, "entree"),
        &referent,
        Some(&corps(&entree())),
    );
    (coordinateur, referent, samira)
}

fn demander_pdf(
    service: &Service,
    jeton: &str,
    participant: &str,
    moment: &str,
) -> (StatusCode, Value) {
    service.appel(
        "POST",
        &format!("{}/pdf", chemin(participant, moment)),
        jeton,
        None,
    )
}

/// The sealed PDF written to `chemin`: its seal valid, its text with lines rejoined.
fn scelle_et_texte(pdf: &[u8], chemin: &Path) -> String {
    std::fs::write(chemin, pdf).unwrap();
    let sceau = text(&tool("pdfsig", &["-nocert", &chemin.to_string_lossy()]).stdout);
    assert!(
        sceau.contains("Signature Validation: Signature is Valid."),
        "{sceau}"
    );
    replie(&pdf_text(chemin))
}

fn lectures_du_questionnaire(service: &Service) -> usize {
    evenements(service)
        .iter()
        .filter(|e| matches!(e.event, JournalEvent::QuestionnaireRead { .. }))
        .count()
}

#[test]
fn le_pdf_des_reponses_est_scelle_depose_sous_l_operation_remis_et_sensible_au_pack() {
    let dir = tempfile::tempdir().unwrap();
    let coffre = Coffre::demarrer();
    let (service, smtp) = service_et_courriels(
        &dir,
        Reglages {
            toml: coffre.toml(),
            ..Reglages::default()
        },
    );
    let (coordinateur, referent, samira) = samira_et_ses_reponses(&service);
    let assistant = service.compte("assistante@plie.fr", "assistant", Some("plie-test"));

    // Nothing recorded at exit: no PDF, in French; the assistant makes none.
    let (status, v) = demander_pdf(&service, &referent, &samira, "sortie");
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(
        v["erreur"]
            .as_str()
            .unwrap()
            .contains("aucune réponse enregistrée pour les données sortie"),
        "{v}"
    );
    let (status, v) = demander_pdf(&service, &assistant, &samira, "entree");
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");

    // The référent asks for it: the answers are read for it (journaled), nobody signs (the
    // default policy), so it is sealed, filed and delivered at once.
    let lues = lectures_du_questionnaire(&service);
    let (status, v) = demander_pdf(&service, &referent, &samira, "entree");
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["signataires"], json!([]), "{v}");
    assert_eq!(v["document"]["modele"], "questionnaire-fse");
    let reference = v["document"]["ref"].as_str().unwrap().to_owned();
    let pdf = service.pdf_scelle(&referent, &reference, "delivre");
    let scelle = sha256_hex(&pdf);
    assert_eq!(lectures_du_questionnaire(&service), lues + 1);

    // Its text: every question asked with its answer's label, sections, who and when.
    let texte = scelle_et_texte(&pdf, &dir.path().join("questionnaire.pdf"));
    for attendu in [
        "Questionnaire FSE",
        "Données du participant à l'entrée dans l'opération",
        "Coordonnées du participant à l'entrée dans l'opération",
        "Situation sur le marché du travail et niveau d'études à l'entrée",
        "Autres données du participant",
        "Occupez-vous actuellement un emploi ? Non",
        "depuis combien de temps cherchez-vous ? (nombre de mois) 14",
        // The diploma's label, not its code (the cell's line breaks cut it).
        "Second cycle du secondaire ou post",
        "capacité en droit (CITE 3 et 4)",
        "Quelle est votre nationalité ? Française",
        "exclusion de votre logement ? Ne se prononce pas",
        "Date de remplissage du questionnaire 05/03/2025",
        "Date du recueil 5 mars 2025",
        "Enregistré par Thomas GARNIER, le 18/06/2025",
        "BENALI Samira",
        "Cofinancé par l'Union européenne",
    ] {
        assert!(texte.contains(attendu), "« {attendu} » absent :\n{texte}");
    }
    for code in ["cite_3_4", "francaise", "ne_se_prononce_pas", "Signé le"] {
        assert!(!texte.contains(code), "« {code} » dans le PDF :\n{texte}");
    }

    // Filed under the opération, kept in compliance mode until its retention date.
    depose_sous(&service, &scelle, OPERATION);
    assert_eq!(coffre.retenu_jusqu_a(&scelle), fin_d_annee(2031));

    // The participant gets her copy by e-mail, as every sealed document.
    let courriel = smtp.attendre("benali@exemple.fr", "signé et scellé");
    let copie = smtp.piece_jointe(&courriel, &format!("questionnaire-fse-{reference}.pdf"));
    assert_eq!(sha256_hex(&copie), scelle);

    // The assistant, who reads no sensitive answer, does not read it either.
    for route in [
        format!("/api/documents/{reference}"),
        format!("/api/documents/{reference}/pdf"),
    ] {
        let (status, _) = service.appel("GET", &route, &assistant, None);
        assert_eq!(status, StatusCode::NOT_FOUND, "{route}");
    }

    // A contrôle pack leaves it out unless sensitive data are asked for; then it is listed
    // with its hash.
    let demande = json!({ "operation": OPERATION, "du": "2025-01-01", "au": "2025-12-31" });
    let sans = pack_http(
        &service,
        &coordinateur,
        &demande,
        &dir.path().join("sans.zip"),
    );
    assert!(sans.iter().all(|(_, octets)| sha256_hex(octets) != scelle));
    let manifeste = manifeste_de(&sans);
    assert_eq!(manifeste["donnees_sensibles"], false, "{manifeste}");
    assert!(
        manifeste["fichiers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["genre"] != "questionnaire-fse" && f["sha256"] != json!(scelle)),
        "{manifeste}"
    );
    let mut demande = demande;
    demande["donnees_sensibles"] = json!(true);
    // The assistant, who reads no sensitive answer, packs none either.
    let (status, refus) = service.appel("POST", "/api/exports", &assistant, Some(&demande));
    assert_eq!(status, StatusCode::FORBIDDEN, "{refus}");
    assert!(
        refus["erreur"]
            .as_str()
            .unwrap_or_default()
            .contains("par un coordinateur"),
        "{refus}"
    );
    let avec = pack_http(
        &service,
        &coordinateur,
        &demande,
        &dir.path().join("avec.zip"),
    );
    let manifeste = manifeste_de(&avec);
    let listes: Vec<&Value> = manifeste["fichiers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["genre"] == "questionnaire-fse")
        .collect();
    assert_eq!(listes.len(), 1, "{manifeste}");
    assert_eq!(listes[0]["sha256"], json!(scelle));
    let chemin_du_pdf = listes[0]["chemin"].as_str().unwrap_or_default();
    assert!(
        avec.iter()
            .any(|(nom, octets)| nom == chemin_du_pdf && sha256_hex(octets) == scelle),
        "{chemin_du_pdf} absent du pack"
    );
}

#[test]
fn quand_le_workflow_du_plie_le_dit_le_participant_signe_ses_reponses() {
    let dir = tempfile::tempdir().unwrap();
    // The PLIE's policy: its deployment's questionnaire-fse workflow adds the participant.
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    let livre = std::fs::read_to_string(repo().join("workflows/questionnaire-fse.toml")).unwrap();
    std::fs::write(
        workflows.join("questionnaire-fse.toml"),
        format!("{livre}\n[[signataires]]\nrole = \"participant\"\nmethodes = [\"tablette\", \"lien\"]\n"),
    )
    .unwrap();
    let reglages = format!("workflows = \"{}\"", workflows.display());
    let (service, smtp) = service_et_courriels(
        &dir,
        Reglages {
            service: &reglages,
            ..Reglages::default()
        },
    );
    let (_, referent, samira) = samira_et_ses_reponses(&service);

    // From the questionnaire's screen this time: the button under the recorded answers.
    let navigateur = service.connecter(&smtp, REFERENT);
    let ecran = format!("/participants/{samira}/questionnaire/entree");
    let (status, page) = navigateur.get(&ecran);
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Faire le PDF des réponses"), "{page}");
    let (status, lieu) = navigateur.formulaire(&format!("{ecran}/pdf"), &[]);
    assert_eq!(status, StatusCode::SEE_OTHER, "{lieu}");
    let reference = lieu
        .strip_prefix("/documents/")
        .unwrap_or_else(|| panic!("{lieu}"))
        .to_owned();
    let v = service.ok(
        "GET",
        &format!("/api/documents/{reference}"),
        &referent,
        None,
    );
    assert_eq!(v["document"]["etat"], "envoye", "{v}");
    assert_eq!(v["signataires"][0]["role"], "participant", "{v}");
    let version = v["document"]["sha256_rendu"].as_str().unwrap().to_owned();
    // She reads and signs it on her référent's tablet.
    let (status, v) = service.signer_en_presence(&referent, &reference, &version, 0);
    assert_eq!(status, StatusCode::OK, "{v}");

    let pdf = service.pdf_scelle(&referent, &reference, "delivre");
    let texte = scelle_et_texte(&pdf, &dir.path().join("signe.pdf"));
    for attendu in [
        "Le participant Samira BENALI",
        "Certifie l'exactitude de ces réponses",
        "Signé le 18/06/2025",
        "sur tablette",
        "Quelle est votre nationalité ? Française",
    ] {
        assert!(texte.contains(attendu), "« {attendu} » absent :\n{texte}");
    }
    // Her copy, signed, by e-mail.
    let courriel = smtp.attendre("benali@exemple.fr", "signé et scellé");
    let copie = smtp.piece_jointe(&courriel, &format!("questionnaire-fse-{reference}.pdf"));
    assert_eq!(sha256_hex(&copie), sha256_hex(&pdf));
}
