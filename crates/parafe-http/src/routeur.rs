//! One router for the whole service: the JSON API and the screens, each with its security headers.

use super::entetes;
use axum::middleware::map_response;
use axum::Router;
use parafe_service::App;

/// Every route of `parafe serve`.
pub fn routeur() -> Router<App> {
    Router::new()
        .merge(crate::api::routes().layer(map_response(entetes::api)))
        .merge(crate::web::routes().layer(map_response(entetes::pages)))
}
