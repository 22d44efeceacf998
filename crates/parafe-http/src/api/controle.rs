//! The contrôle routes of the API: justificatifs (multipart upload, download), checklists of a
//! participant and of an opération, the search of pieces, audit packs made in the background
//! (start, progress, download). Thin handlers over [`parafe_service::controle`].

use super::Reponse;
use crate::acteur::Appelant;
use crate::corps::Corps;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parafe_service::controle::{self, DemandeExport, Recherche};
use parafe_service::App;
use serde_json::{json, Value};

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/api/justificatifs",
            // The piece streams to disk and its size is checked as it comes, against the
            // catalogue's limit: no limit on the body here.
            post(deposer).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/justificatifs/{id}", get(justificatif))
        .route(
            "/api/participants/{reference}/justificatifs",
            get(etat_participant),
        )
        .route("/api/operations/{code}/justificatifs", get(etat_operation))
        .route("/api/recherche", get(rechercher))
        .route("/api/exports", post(lancer_export).get(exports))
        .route("/api/exports/{reference}", get(export))
        .route("/api/exports/{reference}/zip", get(zip))
}

/// `Content-Disposition` of a download: the name in ASCII, and in UTF-8 for browsers that read
/// it (RFC 6266).
pub(crate) fn piece_jointe(nom: &str) -> HeaderValue {
    let ascii: String =
        parafe_service::pack::plan::ascii(nom.rsplit_once('.').map_or(nom, |(n, _)| n));
    let extension = nom
        .rsplit_once('.')
        .map(|(_, e)| parafe_service::pack::plan::ascii(e))
        .filter(|e| !e.is_empty())
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let utf8 = crate::lien::encoder(nom).replace('+', "%20");
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}{extension}\"; filename*=UTF-8''{utf8}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// A file answered as it is read (a pack of several GB never sits in memory).
pub(crate) fn flux(
    nom: &str,
    type_mime: &str,
    taille: Option<u64>,
    lecteur: impl tokio::io::AsyncRead + Send + 'static,
) -> Response {
    let mut reponse = Body::from_stream(tokio_util::io::ReaderStream::with_capacity(
        lecteur,
        256 * 1024,
    ))
    .into_response();
    let h = reponse.headers_mut();
    if let Ok(t) = HeaderValue::from_str(type_mime) {
        h.insert(header::CONTENT_TYPE, t);
    }
    h.insert(header::CONTENT_DISPOSITION, piece_jointe(nom));
    if let Some(t) = taille {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(t));
    }
    reponse
}

async fn deposer(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    multipart: Multipart,
) -> Reponse<(StatusCode, Json<Value>)> {
    let catalogue = controle::catalogue(&app, &acteur.plie)?;
    let (champs, recu) = controle::recevoir(&app, catalogue.depot.taille_max, multipart).await?;
    let depot = controle::deposer(&app, &acteur, &catalogue, champs, recu).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "justificatif": depot, "libelle": catalogue.libelle(&depot.genre) })),
    ))
}

async fn justificatif(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(id): Path<i64>,
) -> Reponse<Response> {
    let piece = controle::lire_justificatif(&app, &acteur, id).await?;
    Ok(flux(
        &piece.nom,
        &piece.type_mime,
        piece.taille.and_then(|t| u64::try_from(t).ok()),
        piece.corps.into_async_read(),
    ))
}

async fn etat_participant(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(reference): Path<String>,
) -> Reponse<Json<controle::EtatParticipant>> {
    Ok(Json(
        controle::etat_participant(&app, &acteur, &reference).await?,
    ))
}

async fn etat_operation(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(code): Path<String>,
) -> Reponse<Json<controle::EtatOperation>> {
    Ok(Json(controle::etat_operation(&app, &acteur, &code).await?))
}

async fn rechercher(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Query(r): Query<Recherche>,
) -> Reponse<Json<controle::Resultats>> {
    Ok(Json(controle::rechercher(&app, &acteur, &r).await?))
}

async fn lancer_export(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Corps(d): Corps<DemandeExport>,
) -> Reponse<(StatusCode, Json<Value>)> {
    let e = controle::lancer_export(&app, &acteur, d).await?;
    Ok((StatusCode::ACCEPTED, Json(controle::vue_export(&e))))
}

async fn exports(State(app): State<App>, Appelant(acteur): Appelant) -> Reponse<Json<Value>> {
    let liste = controle::exports(&app, &acteur).await?;
    Ok(Json(
        json!({ "exports": liste.iter().map(controle::vue_export).collect::<Vec<_>>() }),
    ))
}

async fn export(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(reference): Path<String>,
) -> Reponse<Json<Value>> {
    let e = controle::export_de(&app, &acteur, &reference).await?;
    Ok(Json(controle::vue_export(&e)))
}

async fn zip(
    State(app): State<App>,
    Appelant(acteur): Appelant,
    Path(reference): Path<String>,
) -> Reponse<Response> {
    let pack = controle::telecharger_export(&app, &acteur, &reference).await?;
    Ok(flux(
        &pack.nom,
        "application/zip",
        Some(pack.taille),
        pack.corps,
    ))
}
