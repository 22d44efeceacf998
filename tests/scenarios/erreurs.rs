//! Errors as the person and the API read them: the faults of a document's data come field by
//! field, with the same messages, as a list an integration can show beside each input.

use crate::service::{participant_ref, Plie};
use reqwest::StatusCode;
use serde_json::json;

#[test]
fn les_erreurs_des_donnees_d_un_document_arrivent_champ_par_champ() {
    let Plie {
        dir: _dir,
        service,
        referent,
        ..
    } = Plie::pret(None);
    let samira = participant_ref(&service, &referent, "Benali");
    let (status, v) = service.appel(
        "POST",
        "/api/documents",
        &referent,
        Some(&json!({
            "workflow": "contrat-engagement", "participant": samira,
            "donnees": { "date_entree": "04/03/2025", "commission": { "date": "hier" } },
        })),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let champs = v["champs"]
        .as_array()
        .expect("la liste des champs à corriger");
    let nommes: Vec<&str> = champs
        .iter()
        .map(|c| c["champ"].as_str().unwrap())
        .collect();
    assert!(
        nommes.contains(&"donnees.date_entree") && nommes.contains(&"donnees.commission.date"),
        "{v}"
    );
    // The first field is the one `champ` names, and `erreur` says every one in words.
    assert_eq!(v["champ"], champs[0]["champ"], "{v}");
    let erreur = v["erreur"].as_str().unwrap();
    for c in champs {
        assert!(!c["libelle"].as_str().unwrap().is_empty(), "{c}");
        assert!(erreur.contains(c["message"].as_str().unwrap()), "{v}");
    }
}
