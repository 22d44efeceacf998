//! Styles, scripts, fonts and icons, compiled into the binary and served by parafe: no CDN, no
//! outside resource. URLs carry a hash of the content, so that browsers may keep them a year.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parafe_service::App;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

const FICHIERS: &[(&str, &str, &[u8])] = &[
    (
        "parafe.css",
        "text/css; charset=utf-8",
        include_bytes!("assets/parafe.css"),
    ),
    (
        "parafe.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/parafe.js"),
    ),
    (
        "formulaire.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/formulaire.js"),
    ),
    (
        "signature.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/signature.js"),
    ),
    (
        "signer.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/signer.js"),
    ),
    (
        "telephone.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/telephone.js"),
    ),
    (
        "kiosque.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/kiosque.js"),
    ),
    (
        "controle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/controle.js"),
    ),
    (
        "parafe.svg",
        "image/svg+xml",
        include_bytes!("assets/parafe.svg"),
    ),
    (
        "atkinson-400.woff2",
        "font/woff2",
        include_bytes!("assets/polices/atkinson-hyperlegible-latin-400-normal.woff2"),
    ),
    (
        "atkinson-700.woff2",
        "font/woff2",
        include_bytes!("assets/polices/atkinson-hyperlegible-latin-700-normal.woff2"),
    ),
    (
        "OFL.txt",
        "text/plain; charset=utf-8",
        include_bytes!("assets/polices/OFL.txt"),
    ),
];

/// The version tag of all assets (first hex digits of their combined hash).
fn version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let mut h = Sha256::new();
        for (nom, _, octets) in FICHIERS {
            h.update(nom.as_bytes());
            h.update(octets);
        }
        hex::encode(h.finalize())[..10].to_owned()
    })
}

/// The URL of an asset.
pub fn url(nom: &str) -> String {
    format!("/actifs/{}/{nom}", version())
}

pub fn routes() -> Router<App> {
    Router::new().route("/actifs/{version}/{nom}", get(servir))
}

async fn servir(Path((v, nom)): Path<(String, String)>) -> Response {
    let Some((_, genre, octets)) = FICHIERS.iter().find(|(n, ..)| *n == nom) else {
        return (StatusCode::NOT_FOUND, "fichier inconnu").into_response();
    };
    let cache = if v == version() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, *genre),
            (header::CACHE_CONTROL, cache),
        ],
        *octets,
    )
        .into_response()
}
