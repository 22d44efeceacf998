//! The FSE questionnaire routes of the API: a participant's answers for a moment (read,
//! recorded, made into a sealed PDF), and an opération's export to Ma Démarche FSE with its completeness report. Thin
//! handlers over [`parafe_service::questionnaire`].

use super::Reponse;
use crate::acteur::Appelant;
use crate::corps::Corps;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parafe_service::questionnaire::{self, Saisie};
use parafe_service::App;
use serde::Deserialize;
use serde_json::{json, Value};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/api/participants/{reference}/questionnaire/{moment}",
            get(lire).put(enregistrer),
        )
        .route(
            "/api/participants/{reference}/questionnaire/{moment}/pdf",
            post(pdf),
        )
        .route("/api/operations/{numero}/mdfse", get(mdfse))
        .route("/api/operations/{numero}/mdfse/rapport", get(rapport))
}

async fn lire(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path((reference, moment)): Path<(String, String)>,
) -> Reponse<Json<Value>> {
    let moment = questionnaire::moment(&moment)?;
    let (_, lecture) = questionnaire::lire(&app, &acteur, &reference, moment).await?;
    Ok(Json(json!(lecture)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Saisi {
    reponses: Saisie,
}

async fn enregistrer(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path((reference, moment)): Path<(String, String)>,
    Corps(saisi): Corps<Saisi>,
) -> Reponse<Json<Value>> {
    let moment = questionnaire::moment(&moment)?;
    let fait =
        questionnaire::enregistrer(&app, &acteur, &reference, moment, saisi.reponses).await?;
    Ok(Json(json!(fait)))
}

/// The PDF of a moment's answers, made as a document of the participant: 201 and the document,
/// sealed and filed by the outbox (or first signed by the participant, as the workflow says).
async fn pdf(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path((reference, moment)): Path<(String, String)>,
) -> Reponse<(StatusCode, Json<Value>)> {
    let moment = questionnaire::moment(&moment)?;
    let document = questionnaire::pdf(&app, &acteur, &reference, moment).await?;
    Ok((StatusCode::CREATED, super::vue(&app, document).await?))
}

async fn mdfse(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(numero): Path<String>,
) -> Reponse<Response> {
    let export = questionnaire::exporter_mdfse(&app, &acteur, &numero).await?;
    let mut reponse = export.csv.into_response();
    let h = reponse.headers_mut();
    // As the map declares it (encoding_rs names UTF-8 in capitals).
    let charset = export.encodage.to_ascii_lowercase();
    if let Ok(t) = HeaderValue::from_str(&format!("text/csv; charset={charset}")) {
        h.insert(header::CONTENT_TYPE, t);
    }
    h.insert(
        header::CONTENT_DISPOSITION,
        super::controle::piece_jointe(&export.nom),
    );
    Ok(reponse)
}

async fn rapport(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(numero): Path<String>,
) -> Reponse<Json<Value>> {
    let rapport = questionnaire::rapport_mdfse(&app, &acteur, &numero).await?;
    Ok(Json(json!({ "operation": numero, "rapport": rapport })))
}
