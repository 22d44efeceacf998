//! The contrôle routes of the API: justificatifs (multipart upload, download), checklists of a
//! participant and of an opération, the search of pieces, audit packs made in the background
//! (start, progress, download). Thin handlers over [`crate::service::controle`].

use super::{ApiError, Corps, Reponse};
use crate::auth::Acteur;
use crate::justificatif::Refus;
use crate::service::controle::{self, DemandeExport, DepotRefuse, Recherche};
use crate::service::App;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
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

/// The status of a refused piece: 413 past the size limit, 400 for an interrupted upload, 507
/// or 503 when it could not be written, 422 for everything the person must fix in the file.
pub(crate) fn statut_refus(r: &Refus) -> StatusCode {
    match r {
        Refus::TropGros { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Refus::Lecture { .. } => StatusCode::BAD_REQUEST,
        Refus::Stockage { panne } => {
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
                champs: Vec::new(),
            },
        }
    }
}

/// `Content-Disposition` of a download: the name in ASCII, and in UTF-8 for browsers that read
/// it (RFC 6266).
pub(crate) fn piece_jointe(nom: &str) -> HeaderValue {
    let ascii: String = crate::pack::plan::ascii(nom.rsplit_once('.').map_or(nom, |(n, _)| n));
    let extension = nom
        .rsplit_once('.')
        .map(|(_, e)| crate::pack::plan::ascii(e))
        .filter(|e| !e.is_empty())
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let utf8 = crate::web::encoder(nom).replace('+', "%20");
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
    acteur: Acteur,
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
    acteur: Acteur,
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
    acteur: Acteur,
    Path(reference): Path<String>,
) -> Reponse<Json<controle::EtatParticipant>> {
    Ok(Json(
        controle::etat_participant(&app, &acteur, &reference).await?,
    ))
}

async fn etat_operation(
    State(app): State<App>,
    acteur: Acteur,
    Path(code): Path<String>,
) -> Reponse<Json<controle::EtatOperation>> {
    Ok(Json(controle::etat_operation(&app, &acteur, &code).await?))
}

async fn rechercher(
    State(app): State<App>,
    acteur: Acteur,
    Query(r): Query<Recherche>,
) -> Reponse<Json<controle::Resultats>> {
    Ok(Json(controle::rechercher(&app, &acteur, &r).await?))
}

async fn lancer_export(
    State(app): State<App>,
    acteur: Acteur,
    Corps(d): Corps<DemandeExport>,
) -> Reponse<(StatusCode, Json<Value>)> {
    let e = controle::lancer_export(&app, &acteur, d).await?;
    Ok((StatusCode::ACCEPTED, Json(controle::vue_export(&e))))
}

async fn exports(State(app): State<App>, acteur: Acteur) -> Reponse<Json<Value>> {
    let liste = controle::exports(&app, &acteur).await?;
    Ok(Json(
        json!({ "exports": liste.iter().map(controle::vue_export).collect::<Vec<_>>() }),
    ))
}

async fn export(
    State(app): State<App>,
    acteur: Acteur,
    Path(reference): Path<String>,
) -> Reponse<Json<Value>> {
    let e = controle::export_de(&app, &acteur, &reference).await?;
    Ok(Json(controle::vue_export(&e)))
}

async fn zip(
    State(app): State<App>,
    acteur: Acteur,
    Path(reference): Path<String>,
) -> Reponse<Response> {
    let pack = controle::telecharger_export(&app, &acteur, &reference).await?;
    Ok(flux(
        &pack.nom,
        "application/zip",
        Some(pack.taille),
        pack.fichier,
    ))
}
