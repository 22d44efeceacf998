//! The PLIE's figures in JSON: an opération's counts over a period, and the participants behind
//! one of them. Thin handlers over [`parafe_service::chiffres`].

use super::Reponse;
use crate::acteur::Appelant;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use parafe_service::chiffres::{self, Demande};
use parafe_service::App;
use serde_json::{json, Value};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/operations/{numero}/chiffres", get(chiffres_json))
        .route("/api/operations/{numero}/chiffres/{mesure}", get(liste))
}

async fn chiffres_json(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(numero): Path<String>,
    Query(demande): Query<Demande>,
) -> Reponse<Json<Value>> {
    let t = chiffres::tableau(&app, &acteur, &numero, &demande).await?;
    let liste = format!(
        "/api/operations/{numero}/chiffres/{{code}}?{}",
        Demande::requete(&t.chiffres.periode)
    );
    let mut v = json!(t);
    v["liste"] = json!(liste);
    Ok(Json(v))
}

async fn liste(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path((numero, mesure)): Path<(String, String)>,
    Query(demande): Query<Demande>,
) -> Reponse<Json<Value>> {
    let t = chiffres::tableau(&app, &acteur, &numero, &demande).await?;
    let (compte, participants) = chiffres::liste(&app, &acteur, &t, &mesure).await?;
    Ok(Json(
        json!({ "operation": numero, "periode": t.chiffres.periode, "compte": compte, "participants": participants }),
    ))
}
