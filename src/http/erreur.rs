//! The error answer of the JSON API (and of the screens' JSON requests): status, French message,
//! and the field to fix when there is one.

use crate::auth::Refus;
use crate::justificatif;
use crate::service::controle::DepotRefuse;
use crate::service::Erreur;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error answer: status, French message, and the field to fix when there is one.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub champ: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut corps = json!({ "erreur": self.message });
        if let Some(champ) = self.champ {
            corps["champ"] = json!(champ);
        }
        (self.status, Json(corps)).into_response()
    }
}

impl From<Erreur> for ApiError {
    fn from(e: Erreur) -> ApiError {
        let (status, champ) = match &e {
            Erreur::Introuvable(_) => (StatusCode::NOT_FOUND, None),
            Erreur::Interdit(_) => (StatusCode::FORBIDDEN, None),
            Erreur::Invalide { champ, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, Some(champ.clone()))
            }
            Erreur::Conflit(_) => (StatusCode::CONFLICT, None),
            Erreur::Stockage { panne, detail } => {
                tracing::error!("stockage : {detail}");
                return ApiError {
                    status: StatusCode::from_u16(panne.statut())
                        .unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                    message: panne.to_string(),
                    champ: None,
                };
            }
            Erreur::TropDeDemandes(_) => (StatusCode::TOO_MANY_REQUESTS, None),
            Erreur::Interne(detail) => {
                tracing::error!("erreur interne : {detail}");
                return ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message:
                        "erreur interne du service ; elle est consignée dans le journal du serveur"
                            .into(),
                    champ: None,
                };
            }
        };
        let message = match e {
            Erreur::Invalide { message, .. } => message,
            autre => autre.to_string(),
        };
        ApiError {
            status,
            message,
            champ,
        }
    }
}

impl From<Refus> for ApiError {
    fn from(r: Refus) -> ApiError {
        match r {
            Refus::NonAuthentifie => ApiError {
                status: StatusCode::UNAUTHORIZED,
                message: r.to_string(),
                champ: None,
            },
            Refus::Interdit => ApiError {
                status: StatusCode::FORBIDDEN,
                message: r.to_string(),
                champ: None,
            },
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
                status: statut_refus(&p),
                message: p.to_string(),
                champ: Some("fichier".into()),
            },
        }
    }
}
