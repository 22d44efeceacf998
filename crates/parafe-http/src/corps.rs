//! The JSON body of a request, refused in French with the faulty field.

use super::erreur::ApiError;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::Json;

/// Largest JSON body accepted: axum's default limit, which every JSON route keeps.
const LIMITE_JSON: usize = 2 << 20;

/// A JSON body whose errors are answered in French with the faulty field.
pub struct Corps<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for Corps<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Corps(v)),
            Err(rejet) => {
                let (status, message) = match &rejet {
                    JsonRejection::MissingJsonContentType(_) => (
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "envoyez du JSON (Content-Type: application/json)".to_owned(),
                    ),
                    JsonRejection::JsonSyntaxError(_) => (
                        StatusCode::BAD_REQUEST,
                        format!("JSON mal formé : {}", cause(&rejet)),
                    ),
                    JsonRejection::JsonDataError(_) => (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        format!("JSON inattendu : {}", cause(&rejet)),
                    ),
                    _ if rejet.status() == StatusCode::PAYLOAD_TOO_LARGE => (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "corps de requête trop volumineux : {} Mo au plus pour du JSON",
                            LIMITE_JSON >> 20
                        ),
                    ),
                    _ => (
                        StatusCode::BAD_REQUEST,
                        "corps de requête illisible".to_owned(),
                    ),
                };
                // serde names the field first: « champ: message ».
                let champ = cause(&rejet)
                    .split_once(": ")
                    .map(|(c, _)| c.to_owned())
                    .filter(|c| !c.contains(' '));
                Err(ApiError {
                    status,
                    message,
                    champ,
                    champs: Vec::new(),
                })
            }
        }
    }
}

fn cause(rejet: &JsonRejection) -> String {
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(rejet);
    let mut dernier = rejet.body_text();
    while let Some(s) = source {
        dernier = s.to_string();
        source = s.source();
    }
    dernier
}
