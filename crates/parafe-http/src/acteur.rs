//! Who is calling: an API token (`Authorization: Bearer`) or a browser session, turned into the
//! [`Acteur`] every staff handler takes (as [`Appelant`]); and from where ([`Temoin`]), as the
//! evidence a signature keeps.

use super::erreur::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use parafe_service::auth::{par_jeton_api, session, Acteur, Refus};
use parafe_service::App;

/// The caller of a staff route, as an extractor: `Appelant(acteur): Appelant`.
pub struct Appelant(pub Acteur);

impl FromRequestParts<App> for Appelant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(jeton) = bearer {
            if let Some(acteur) = par_jeton_api(&app.db, jeton.trim(), app.horloge.maintenant())
                .await
                .map_err(Refus::from)?
            {
                return Ok(Appelant(acteur));
            }
        }
        // A browser session: its CSRF token must come with every request that changes
        // something, and a tablet locked on a kiosk sheet reaches nothing else.
        if let Some(s) = session::de_la_requete(&app.db, &parts.headers, app.horloge.maintenant())
            .await
            .map_err(Refus::from)?
        {
            let refus = |message: &str| ApiError {
                status: axum::http::StatusCode::FORBIDDEN,
                message: message.to_owned(),
                champ: None,
                champs: Vec::new(),
            };
            if s.kiosque.is_some() {
                return Err(refus(
                    "cette tablette est verrouillée sur une feuille d'émargement",
                ));
            }
            let sure = matches!(
                parts.method,
                axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
            );
            let jeton = parts
                .headers
                .get(session::EN_TETE_CSRF)
                .and_then(|v| v.to_str().ok());
            if !sure && !session::csrf_valide(&s, jeton) {
                return Err(refus(
                    "jeton anti-CSRF absent ou faux (en-tête X-CSRF-Token) : rechargez la page",
                ));
            }
            return Ok(Appelant(s.acteur));
        }
        Err(Refus::NonAuthentifie.into())
    }
}

/// Client address (when the server records it: `into_make_service_with_connect_info`) and
/// browser, kept as evidence of a signature or a login.
pub struct Temoin(pub parafe_service::signature::Contexte);

impl<S: Send + Sync> FromRequestParts<S> for Temoin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let adresse = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        let agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Ok(Temoin(parafe_service::signature::Contexte {
            ip: adresse.unwrap_or_default(),
            agent: agent.unwrap_or_default().to_owned(),
        }))
    }
}
