//! Staff sessions: a random secret in a cookie (`HttpOnly`, `SameSite=Strict`, `Secure` when the
//! service is reached over https), its SHA-256 in the `session` table with a per-session CSRF
//! token, an idle expiry and an absolute one. A session may be locked on a kiosk sheet: it then
//! opens nothing but that sheet until the staff member types the password again.

use super::{nouveau_secret, Acteur, Moyen};
use crate::db::{self, Pool};
use crate::roles::empreinte_secret;
use axum::http::HeaderMap;
use chrono::{DateTime, TimeDelta, Utc};
use parafe_core::model::PlieId;

/// Name of the session cookie.
pub const COOKIE: &str = "parafe_session";
/// Header carrying the CSRF token on `fetch` requests.
pub const EN_TETE_CSRF: &str = "x-csrf-token";
/// Without a request for this long, the session ends.
pub const INACTIVITE: TimeDelta = TimeDelta::hours(4);
/// Whatever happens, a session ends after this.
pub const DUREE_MAX: TimeDelta = TimeDelta::hours(12);

/// A logged-in staff member, as the web screens see him.
#[derive(Debug, Clone)]
pub struct Session {
    pub acteur: Acteur,
    /// `Prénom NOM`, for the page header.
    pub nom: String,
    pub email: String,
    /// Token to put in every form (`csrf` field) and `fetch` (`X-CSRF-Token` header).
    pub csrf: String,
    /// The kiosk sheet this session is locked on, if any.
    pub kiosque: Option<i64>,
    /// SHA-256 of the cookie's secret: how this session is named in the table.
    pub empreinte: String,
}

/// Opens a session; returns the cookie's secret (never stored) and the session.
pub async fn ouvrir(
    db: &Pool,
    personnel_id: i64,
    maintenant: DateTime<Utc>,
    ip: &str,
    agent: &str,
) -> Result<String, sqlx::Error> {
    let (secret, empreinte) = nouveau_secret();
    let (csrf, _) = nouveau_secret();
    db::sessions::ouvrir(
        db,
        &db::sessions::NouvelleSession {
            empreinte: &empreinte,
            personnel_id,
            csrf: &csrf,
            le: maintenant,
            expire_le: maintenant + DUREE_MAX,
            ip,
            agent: &agent.chars().take(300).collect::<String>(),
        },
    )
    .await?;
    Ok(secret)
}

/// The session a cookie secret opens, if it is still valid and the account active; refreshes
/// its last-seen time (at most once a minute, to spare the database).
pub async fn par_secret(
    db: &Pool,
    secret: &str,
    maintenant: DateTime<Utc>,
) -> Result<Option<Session>, sqlx::Error> {
    let empreinte = empreinte_secret(secret);
    let Some(db::sessions::SessionActive {
        personnel_id: id,
        plie,
        role,
        prenom,
        nom,
        email,
        csrf,
        kiosque_id: kiosque,
        vu_le,
    }) = db::sessions::active(db, &empreinte, maintenant, maintenant - INACTIVITE).await?
    else {
        return Ok(None);
    };
    let Ok(plie) = PlieId::new(&plie) else {
        return Ok(None);
    };
    if maintenant - vu_le > TimeDelta::minutes(1) {
        db::sessions::vue(db, &empreinte, maintenant).await?;
    }
    Ok(Some(Session {
        acteur: Acteur {
            personnel_id: id,
            plie,
            role,
            moyen: Moyen::Session,
        },
        nom: format!("{prenom} {}", nom.to_uppercase()),
        email,
        csrf,
        kiosque,
        empreinte,
    }))
}

/// The session of a request's cookie, if any.
pub async fn de_la_requete(
    db: &Pool,
    headers: &HeaderMap,
    maintenant: DateTime<Utc>,
) -> Result<Option<Session>, sqlx::Error> {
    match secret_du_cookie(headers) {
        Some(secret) => par_secret(db, &secret, maintenant).await,
        None => Ok(None),
    }
}

/// The session secret carried by the request's `Cookie` header.
pub fn secret_du_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(nom, _)| *nom == COOKIE)
        .map(|(_, valeur)| valeur.trim().to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 64)
}

/// Whether a request's CSRF token is the session's (constant-time comparison).
pub fn csrf_valide(session: &Session, jeton: Option<&str>) -> bool {
    let Some(jeton) = jeton else {
        return false;
    };
    let (a, b) = (session.csrf.as_bytes(), jeton.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `Set-Cookie` value opening a session.
pub fn cookie(secret: &str, securise: bool) -> String {
    format!(
        "{COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        DUREE_MAX.num_seconds(),
        if securise { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value erasing the session cookie.
pub fn cookie_efface(securise: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if securise { "; Secure" } else { "" }
    )
}

pub use db::sessions::{fermer, fermer_toutes, verrouiller};
