//! The security headers of every answer: strict for the pages, stricter for the JSON API, and
//! HSTS when the service is reached over https.

use axum::http::{header, HeaderValue};
use axum::response::Response;

/// Content-Security-Policy of every page: nothing from elsewhere, no inline script or style, no
/// framing, forms only to parafe.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                   font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                   base-uri 'none'; manifest-src 'self'; worker-src 'self'";

/// Content-Security-Policy of the JSON API: its answers load nothing and are never framed.
const CSP_API: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The security headers of every page.
pub async fn pages(reponse: Response) -> Response {
    entetes(reponse, CSP)
}

/// The security headers of the pages, with the API's own policy, for every API answer.
pub async fn api(reponse: Response) -> Response {
    entetes(reponse, CSP_API)
}

fn entetes(mut reponse: Response, csp: &'static str) -> Response {
    let h = reponse.headers_mut();
    let fixe = |v: &'static str| HeaderValue::from_static(v);
    h.insert(header::CONTENT_SECURITY_POLICY, fixe(csp));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, fixe("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, fixe("DENY"));
    // Signing and account links carry their secret in the path: never tell another site
    // (`same-origin` rather than `no-referrer`, with which browsers send `Origin: null` and the
    // same-origin check of forms could not tell parafe's own pages from a sandboxed attacker).
    h.insert(header::REFERRER_POLICY, fixe("same-origin"));
    h.insert(
        "permissions-policy",
        fixe("camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    );
    h.insert("cross-origin-opener-policy", fixe("same-origin"));
    h.insert("cross-origin-resource-policy", fixe("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, fixe("no-store"));
    }
    reponse
}

/// `Strict-Transport-Security` on every answer of a service reached over https
/// (`url_publique`): browsers then never try it in clear again, for a year.
pub async fn hsts(mut reponse: Response) -> Response {
    reponse.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    reponse
}
