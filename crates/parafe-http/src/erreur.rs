//! The one mapping from a service error to HTTP: status, French message, and the fields to
//! fix. The API answers it as JSON `{"erreur", "champ", "champs"}`, the screens as a page
//! (`web::erreur`) or a form showing each field's error. A failure of the service itself
//! (storage, database, store, seal, SMTP…) reads as such, its typed cause going to the
//! server's log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use parafe_service::auth::Refus;
use parafe_service::controle::DepotRefuse;
use parafe_service::justificatif;
use parafe_service::Erreur;
use parafe_template::template::FieldError;
use serde_json::json;

/// What the person is told when the service itself failed.
const INTERNE: &str = "erreur interne du service ; elle est consignée dans le journal du serveur";

/// An error answer: status, French message, and the field(s) to fix when there are some.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// The (first) field to fix: `signataires[1].email`, `donnees.date_entree`…
    pub champ: Option<String>,
    /// Every field of the template's data to fix, with its label (paths under `donnees`).
    pub champs: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            champ: None,
            champs: Vec::new(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut corps = json!({ "erreur": self.message });
        if let Some(champ) = self.champ {
            corps["champ"] = json!(champ);
        }
        if !self.champs.is_empty() {
            corps["champs"] = self
                .champs
                .iter()
                .map(|e| {
                    json!({ "champ": format!("donnees.{}", e.chemin), "libelle": e.libelle, "message": e.message })
                })
                .collect();
        }
        (self.status, Json(corps)).into_response()
    }
}

impl From<&Erreur> for ApiError {
    fn from(e: &Erreur) -> ApiError {
        let status = match e {
            Erreur::Introuvable(_) => StatusCode::NOT_FOUND,
            Erreur::Interdit(_) => StatusCode::FORBIDDEN,
            Erreur::Invalide { champ, message } => {
                return ApiError {
                    champ: Some(champ.clone()),
                    ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message.clone())
                }
            }
            Erreur::Champs { champs } => {
                return ApiError {
                    champ: champs.first().map(|c| format!("donnees.{}", c.chemin)),
                    champs: champs.clone(),
                    ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
                }
            }
            Erreur::Conflit(_) => StatusCode::CONFLICT,
            Erreur::TropDeDemandes(_) => StatusCode::TOO_MANY_REQUESTS,
            // A configuration the administrator completes: named, nothing lost meanwhile.
            Erreur::Cachet(_) => StatusCode::SERVICE_UNAVAILABLE,
            Erreur::Stockage { panne, detail } => {
                tracing::error!("stockage : {detail}");
                return ApiError::new(
                    StatusCode::from_u16(panne.statut()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                    panne.to_string(),
                );
            }
            Erreur::Composition(_)
            | Erreur::Scellement(_)
            | Erreur::Coffre(_)
            | Erreur::Courriel(_)
            | Erreur::Base(_)
            | Erreur::Fichier { .. }
            | Erreur::Justificatifs(_)
            | Erreur::Illisible(_)
            | Erreur::Interrompue(_)
            | Erreur::Interne(_) => {
                tracing::error!(erreur = ?e, "erreur interne : {e}");
                return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNE);
            }
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<Erreur> for ApiError {
    fn from(e: Erreur) -> ApiError {
        ApiError::from(&e)
    }
}

impl From<Refus> for ApiError {
    fn from(r: Refus) -> ApiError {
        match r {
            Refus::NonAuthentifie => ApiError::new(StatusCode::UNAUTHORIZED, r.to_string()),
            Refus::Interdit => ApiError::new(StatusCode::FORBIDDEN, r.to_string()),
            Refus::Base(e) => Erreur::from(e).into(),
        }
    }
}

/// The status of a refused piece: 413 past the size limit, 400 for an interrupted upload, 507
/// or 503 when it could not be written, 422 for everything the person must fix in the file.
pub fn statut_refus(r: &justificatif::Refus) -> StatusCode {
    match r {
        justificatif::Refus::TropGros { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        justificatif::Refus::Lecture { .. } => StatusCode::BAD_REQUEST,
        justificatif::Refus::Stockage { panne } => {
            StatusCode::from_u16(panne.statut()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<DepotRefuse> for ApiError {
    fn from(r: DepotRefuse) -> ApiError {
        match r {
            DepotRefuse::Demande(e) => e.into(),
            DepotRefuse::Piece(p) => ApiError {
                champ: Some("fichier".into()),
                ..ApiError::new(statut_refus(&p), p.to_string())
            },
        }
    }
}
