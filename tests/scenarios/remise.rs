//! Issue 20: a participant without e-mail gets their copy by hand. Their contrat, signed on the
//! tablet, sealed and filed, stays « déposé au coffre » with its copy owed; the référent records
//! the hand-over on the document's page (a contact needs a name, a date after today is refused,
//! an assistant cannot); the document then reads « remis aux destinataires », its page says how
//! and when, and the journal holds the hand-over, never the contact's name.

use crate::service::{journal, Plie};
use reqwest::StatusCode;
use serde_json::Value;

/// A participant of the Hérault with no e-mail (a CCAS sends him).
const SANS_COURRIEL: &str = "P-2025-0420;Monsieur;Roux;Didier;03/07/1970;;;34000;Montpellier;34;t.garnier@plie.fr;Garnier;Thomas;202500417;CCAS de Montpellier;;02/06/2025;Non;;;";

#[test]
fn copie_d_un_participant_sans_courriel_remise_en_main_propre_puis_consignee() {
    let plie = Plie::pret(Some("2025-06-20T08:00:00Z"));
    let service = &plie.service;
    let (status, v) = service.importer_lignes(&plie.coordinateur, &[SANS_COURRIEL]);
    assert_eq!(status, StatusCode::OK, "{v}");
    let (_, reference, version) = service.contrat_sur_tablette(&plie.referent, "Roux");
    for rang in [0, 1] {
        let (status, v) = service.signer_en_presence(&plie.referent, &reference, &version, rang);
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    service.attendre_etat(&plie.referent, &reference, "depose");
    service.attendre_outbox_vide(&plie.referent);
    let etat = |reference: &str| -> Value {
        service.ok(
            "GET",
            &format!("/api/documents/{reference}"),
            &plie.referent,
            None,
        )["document"]["etat"]
            .clone()
    };
    assert_eq!(
        etat(&reference),
        "depose",
        "sans courriel, la copie du participant reste à remettre"
    );

    let copies_a_remettre = || -> Vec<Value> {
        service.ok("GET", "/api/a-faire", &plie.referent, None)["echeances"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "copie_a_remettre")
            .cloned()
            .collect()
    };
    let dues = copies_a_remettre();
    assert_eq!(dues.len(), 1, "{dues:?}");
    assert_eq!(dues[0]["nom"], "Roux");
    assert_eq!(dues[0]["echeance"], "2025-06-27");

    let referent = service.connecter(&plie.smtp, "t.garnier@plie.fr");
    let page_du_document = format!("/documents/{reference}");
    let (_, page) = referent.get(&page_du_document);
    assert!(page.contains("Copie du participant"), "{page}");
    assert!(page.contains("Consigner la remise"), "{page}");
    let remise = format!("/documents/{reference}/remise");

    let (status, page) = referent.formulaire(
        &remise,
        &[
            ("mode", "contact"),
            ("remis_a", " "),
            ("remis_le", "2025-06-20"),
        ],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("indiquez à qui la copie a été remise"),
        "{page}"
    );
    let (status, page) = referent.formulaire(
        &remise,
        &[("mode", "main_propre"), ("remis_le", "2025-06-21")],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("après aujourd'hui"), "{page}");
    let (status, page) = referent.formulaire(
        &remise,
        &[("mode", "par_pigeon"), ("remis_le", "2025-06-20")],
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("en main propre"), "{page}");
    assert_eq!(etat(&reference), "depose", "un refus ne consigne rien");

    // An assistant reads the page but records nothing.
    service.compte("assistante@plie.fr", "assistant", Some("plie-test"));
    let assistante = service.connecter(&plie.smtp, "assistante@plie.fr");
    let (_, page) = assistante.get(&page_du_document);
    assert!(!page.contains("Consigner la remise"), "{page}");
    let (status, _) = assistante.formulaire(
        &remise,
        &[("mode", "main_propre"), ("remis_le", "2025-06-20")],
    );
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, lieu) = referent.formulaire(
        &remise,
        &[
            ("mode", "contact"),
            ("remis_a", "Mme Vidal, CCAS de Montpellier"),
            ("remis_le", "2025-06-20"),
        ],
    );
    assert_eq!(status, StatusCode::SEE_OTHER, "{lieu}");
    assert!(lieu.ends_with("?message=remise"), "{lieu}");
    service.attendre_etat(&plie.referent, &reference, "delivre");
    let (_, page) = referent.get(&page_du_document);
    assert!(
        page.contains("Copie remise à son contact, Mme Vidal, CCAS de Montpellier le 20/06/2025"),
        "{page}"
    );
    assert!(!page.contains("Consigner la remise"), "{page}");
    assert!(
        copies_a_remettre().is_empty(),
        "la remise consignée sort de « à faire »"
    );
    let (status, page) = referent.formulaire(
        &remise,
        &[("mode", "main_propre"), ("remis_le", "2025-06-20")],
    );
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "une copie se consigne une fois"
    );
    assert!(page.contains("aucune copie"), "{page}");

    service.attendre_outbox_vide(&plie.referent);
    let journal = journal(&plie.dir.path().join("data"));
    let ligne = journal
        .lines()
        .find(|l| l.contains("document_handed_over"))
        .expect("la remise est au journal");
    assert!(ligne.contains("\"mode\":\"contact\""), "{ligne}");
    assert!(ligne.contains("\"handed_on\":\"2025-06-20\""), "{ligne}");
    assert!(
        !journal.contains("Vidal"),
        "le nom du contact n'est pas au journal"
    );
}
