//! The web screens, in French, rendered on the server (maud): staff login and accounts, the
//! référent's participants and documents, signing by link or on the signer's phone, the
//! émargement kiosk on a tablet.
//! Every script, style and font is served by parafe itself; every answer carries strict
//! security headers; every form that changes something carries the session's CSRF token.

// Handlers answer `Result<_, Response>` (the axum idiom): a large error variant is expected here.
#![allow(clippy::result_large_err)]

mod a_faire;
mod actifs;
mod apercu;
mod chiffres;
mod comptes;
mod controle;
mod dossiers;
mod formulaire;
mod gabarit;
mod import;
mod justificatifs;
mod kiosque;
mod operations;
mod plies;
mod qr;
mod questionnaire;
mod reglages;
mod signer;
mod telephone;

pub use comptes::lire_courriel;

use crate::erreur::ApiError;
use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Router;
use maud::Markup;
use parafe_service::auth::session::{self, Session};
use parafe_service::{App, Erreur};

/// Every screen, merged into the service's router by [`crate::routeur::routeur`].
pub fn routes() -> Router<App> {
    Router::new()
        .merge(actifs::routes())
        .merge(a_faire::routes())
        .merge(chiffres::routes())
        .merge(comptes::routes())
        .merge(dossiers::routes())
        .merge(import::routes())
        .merge(controle::routes())
        .merge(justificatifs::routes())
        .merge(questionnaire::routes())
        .merge(reglages::routes())
        .merge(signer::routes())
        .merge(telephone::routes())
        .merge(kiosque::routes())
        .merge(operations::routes())
        .merge(plies::routes())
}

/// A submitted form of a staff screen: refused when it comes from another site (`Origin`), or
/// when the request belongs to a session and lacks that session's CSRF token (the `csrf` field,
/// or the `X-CSRF-Token` header). Every staff form goes through it.
pub struct Formulaire<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<App> for Formulaire<T> {
    type Rejection = Response;

    async fn from_request(requete: Request, app: &App) -> Result<Self, Response> {
        let (parts, corps) = requete.into_parts();
        refuser_autre_site(app, &parts.headers)?;
        let octets = axum::body::to_bytes(corps, 4 << 20).await.map_err(|_| {
            page_erreur(StatusCode::PAYLOAD_TOO_LARGE, "Formulaire trop volumineux.")
        })?;
        let jeton = parts
            .headers
            .get(session::EN_TETE_CSRF)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| {
                form_urlencoded::parse(&octets)
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.into_owned())
            });
        exiger_csrf(app, &parts.headers, jeton.as_deref()).await?;
        lire_formulaire(parts, octets).await.map(Formulaire)
    }
}

/// A form with nothing but its CSRF token (a button: send, cancel, log out…).
#[derive(serde::Deserialize)]
pub struct Vide {}

/// A form of a page without session (login, signing link): refused only from another site.
pub struct FormulairePublic<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<App> for FormulairePublic<T> {
    type Rejection = Response;

    async fn from_request(requete: Request, app: &App) -> Result<Self, Response> {
        let (parts, corps) = requete.into_parts();
        refuser_autre_site(app, &parts.headers)?;
        let octets = axum::body::to_bytes(corps, 1 << 20).await.map_err(|_| {
            page_erreur(StatusCode::PAYLOAD_TOO_LARGE, "Formulaire trop volumineux.")
        })?;
        lire_formulaire(parts, octets).await.map(FormulairePublic)
    }
}

/// A JSON body sent by a staff page's script, with the session's token in `X-CSRF-Token`.
pub struct JsonSur<T>(pub T);

impl<T: serde::de::DeserializeOwned> FromRequest<App> for JsonSur<T> {
    type Rejection = Response;

    async fn from_request(requete: Request, app: &App) -> Result<Self, Response> {
        let entetes = requete.headers().clone();
        refuser_autre_site(app, &entetes)
            .map_err(|_| erreur_json(Erreur::Interdit("requête venue d'un autre site".into())))?;
        let jeton = entetes
            .get(session::EN_TETE_CSRF)
            .and_then(|v| v.to_str().ok());
        if let Err(r) = exiger_csrf(app, &entetes, jeton).await {
            return Err(if r.status() == StatusCode::FORBIDDEN {
                erreur_json(Erreur::Interdit(CSRF_REFUSE.into()))
            } else {
                r
            });
        }
        crate::corps::Corps::<T>::from_request(requete, app)
            .await
            .map(|crate::corps::Corps(t)| JsonSur(t))
            .map_err(IntoResponse::into_response)
    }
}

const CSRF_REFUSE: &str = "Formulaire refusé : son jeton de sécurité est absent ou périmé. Rechargez la page et recommencez.";

fn refuser_autre_site(app: &App, entetes: &HeaderMap) -> Result<(), Response> {
    if meme_origine(app, entetes) {
        Ok(())
    } else {
        Err(page_erreur(
            StatusCode::FORBIDDEN,
            "Requête refusée : elle vient d'un autre site.",
        ))
    }
}

/// The file of a form sent as `multipart/form-data` (fields `csrf`, then `fichier`), read into
/// memory up to `taille_max` bytes: its name and bytes, None when none was chosen. The session's
/// CSRF token is checked before the file is read; beyond the size, `trop_gros` says what to do.
pub(crate) async fn fichier_du_formulaire(
    app: &App,
    entetes: &HeaderMap,
    mut multipart: axum::extract::Multipart,
    taille_max: usize,
    trop_gros: fn() -> String,
) -> Result<Option<(String, Vec<u8>)>, Response> {
    let illisible = |e: axum::extract::multipart::MultipartError| {
        page_erreur(
            StatusCode::BAD_REQUEST,
            &format!(
                "Envoi illisible ou interrompu : {} ; recommencez.",
                e.body_text()
            ),
        )
    };
    let mut jeton = false;
    let mut fichier = None;
    while let Some(mut champ) = multipart.next_field().await.map_err(illisible)? {
        let nom = champ.name().unwrap_or_default().to_owned();
        let mut octets = Vec::new();
        let limite = if nom == "fichier" { taille_max } else { 1024 };
        if nom == "fichier" && !jeton {
            // The token comes first in the form: a file without it is not read.
            exiger_csrf(app, entetes, None).await?;
        }
        while let Some(morceau) = champ.chunk().await.map_err(illisible)? {
            if octets.len() + morceau.len() > limite {
                return Err(if nom == "fichier" {
                    page_erreur(StatusCode::PAYLOAD_TOO_LARGE, &trop_gros())
                } else {
                    page_erreur(
                        StatusCode::BAD_REQUEST,
                        "Formulaire illisible : champ trop long.",
                    )
                });
            }
            octets.extend_from_slice(&morceau);
        }
        match nom.as_str() {
            "csrf" => {
                exiger_csrf(app, entetes, Some(&String::from_utf8_lossy(&octets))).await?;
                jeton = true;
            }
            "fichier" => {
                let nom = champ.file_name().unwrap_or_default().to_owned();
                fichier = Some((nom, octets)).filter(|(nom, _)| !nom.is_empty());
            }
            _ => {}
        }
    }
    if !jeton {
        exiger_csrf(app, entetes, None).await?;
    }
    Ok(fichier)
}

/// With a session cookie, the session's CSRF token is required.
async fn exiger_csrf(app: &App, entetes: &HeaderMap, jeton: Option<&str>) -> Result<(), Response> {
    let session = session::de_la_requete(&app.db, entetes, app.horloge.maintenant())
        .await
        .map_err(|e| erreur(e.into()))?;
    match session {
        Some(s) if !session::csrf_valide(&s, jeton) => {
            tracing::warn!(
                personnel = s.acteur.personnel_id,
                "formulaire refusé : jeton anti-CSRF faux"
            );
            Err(page_erreur(StatusCode::FORBIDDEN, CSRF_REFUSE))
        }
        _ => Ok(()),
    }
}

async fn lire_formulaire<T: serde::de::DeserializeOwned>(
    parts: Parts,
    octets: axum::body::Bytes,
) -> Result<T, Response> {
    axum::Form::<T>::from_request(Request::from_parts(parts, Body::from(octets)), &())
        .await
        .map(|axum::Form(t)| t)
        .map_err(|e| {
            page_erreur(
                StatusCode::BAD_REQUEST,
                &format!("Formulaire illisible : {}", e.body_text()),
            )
        })
}

/// Whether the request's `Origin` (when the browser sends one) is parafe's own.
pub(crate) fn meme_origine(app: &App, entetes: &HeaderMap) -> bool {
    let Some(origine) = entetes.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origine == app.url_publique() {
        return true;
    }
    let hote = entetes
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let meme = origine
        .split_once("://")
        .is_some_and(|(_, reste)| !hote.is_empty() && reste == hote);
    if !meme {
        tracing::warn!(origine, hote, "requête d'un autre site refusée");
    }
    meme
}

/// Whether the service is reached over https: cookies are then `Secure`, answers carry HSTS.
pub fn securise(app: &App) -> bool {
    app.url_publique().starts_with("https://")
}

/// A logged-in staff member on an ordinary screen. Without a session: to the login page;
/// with a session locked on a kiosk sheet: back to that sheet.
pub struct Connecte(pub Session);

impl FromRequestParts<App> for Connecte {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        let s = EnKiosque::from_request_parts(parts, app).await?.0;
        if let Some(kiosque) = s.kiosque {
            let k = parafe_service::db::kiosque::par_id(&app.db, kiosque)
                .await
                .map_err(|e| erreur(e.into()))?;
            if let Some(k) = k {
                return Err(Redirect::to(&format!("/kiosque/{}", k.reference)).into_response());
            }
        }
        Ok(Connecte(s))
    }
}

/// A logged-in staff member, locked on a kiosk sheet or not (the kiosk's own routes).
pub struct EnKiosque(pub Session);

impl FromRequestParts<App> for EnKiosque {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Response> {
        match session::de_la_requete(&app.db, &parts.headers, app.horloge.maintenant()).await {
            Ok(Some(s)) => Ok(EnKiosque(s)),
            Ok(None) => {
                let chemin = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let suite = if parts.method == Method::GET && chemin.starts_with('/') {
                    format!("?suite={}", crate::lien::encoder(chemin))
                } else {
                    String::new()
                };
                Err(Redirect::to(&format!("/connexion{suite}")).into_response())
            }
            Err(e) => Err(erreur(e.into())),
        }
    }
}

/// A plain error page.
pub(crate) fn page_erreur(statut: StatusCode, message: &str) -> Response {
    let titre = match statut {
        StatusCode::NOT_FOUND => "Introuvable",
        StatusCode::FORBIDDEN => "Accès refusé",
        StatusCode::CONFLICT => "Action impossible",
        StatusCode::TOO_MANY_REQUESTS => "Trop de demandes",
        s if s.is_server_error() => "Erreur du service",
        _ => "Demande refusée",
    };
    let corps: Markup = maud::html! {
        h1 { (titre) }
        p.alerte.erreur role="alert" { (message) }
        p { a href="/" { "Retour à l'accueil" } }
    };
    (statut, gabarit::page_simple(titre, corps)).into_response()
}

/// A service error as a page, by the one mapping of errors to HTTP ([`ApiError`]).
pub(crate) fn erreur(e: Erreur) -> Response {
    page_de(ApiError::from(e))
}

/// An error answer as a page: a failure of the service is written as a sentence.
/// A public signing page (link or phone) that no longer signs: a page in the signer's words, 404
/// for an unknown token, 403 for another document's, 429 when the tries are spent, 410 for a
/// used, expired or abandoned one.
pub(crate) fn refus_de_signer(e: Erreur, titre: &str, h1: &str, conseil: &str) -> Response {
    let refus = ApiError::from(e);
    let statut = match refus.status {
        s if s.is_server_error() => return page_de(refus),
        s @ (StatusCode::NOT_FOUND | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS) => s,
        _ => StatusCode::GONE,
    };
    let corps = maud::html! {
        div.carte.etroite {
            h1 { (h1) }
            (gabarit::alerte("erreur", &refus.message))
            p { (conseil) }
        }
    };
    (statut, gabarit::page_simple(titre, corps)).into_response()
}

pub(crate) fn page_de(r: ApiError) -> Response {
    if r.status.is_server_error() {
        let mut lettres = r.message.chars();
        let phrase: String = lettres
            .next()
            .into_iter()
            .flat_map(char::to_uppercase)
            .chain(lettres)
            .collect();
        return page_erreur(r.status, &format!("{phrase}."));
    }
    page_erreur(r.status, &r.message)
}

/// The French message of an error, as the mapping to HTTP gives it to the person.
pub(crate) fn message(e: &Erreur) -> String {
    ApiError::from(e).message
}

/// A service error as a JSON answer `{"erreur", "champ"}` (for the pages' scripts).
pub(crate) fn erreur_json(e: Erreur) -> Response {
    crate::erreur::ApiError::from(e).into_response()
}

type Page = Result<Response, Response>;
