//! The operator dashboard: `GET /dashboard`, one page for someone holding a tenant's API key, showing a user's
//! connections, balances, spending, transactions and payments. The page is static and embedded in the binary
//! (no CDN, so it works offline); its script reads the key and the user from the form or from the URL fragment
//! (`#key=…&user=…`, which browsers never send to a server) and calls the `/v1` API with the key as the bearer
//! token, so the dashboard sees exactly what the API answers and nothing more. Script and style are served as
//! files of their own so the Content-Security-Policy can forbid every inline script and style.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::http::AppState;

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// Scripts and styles from the server alone, fetches to the API alone, and no framing: data inserted by the
/// script can never run as code, and the key typed into the page cannot leave for another origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(|| async { asset("text/html; charset=utf-8", PAGE) }))
        .route(
            "/dashboard/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/dashboard/app.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}

/// One of the dashboard's files with the headers that keep it safe: the policy above, nothing cached (the page
/// shows a tenant's data), no sniffing of types, and no referrer sent to anyone.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        assert!(PAGE.contains(r#"<script src="/dashboard/app.js""#));
        assert!(PAGE.contains(r#"<link rel="stylesheet" href="/dashboard/app.css">"#));
        assert_eq!(PAGE.matches("<script").count(), 1, "one script, from its own file");
        assert!(!PAGE.contains("<style") && !PAGE.contains("style="));
        assert!(
            !PAGE.contains("http://") && !PAGE.contains("https://"),
            "nothing from elsewhere"
        );
    }

    #[test]
    fn the_script_never_writes_markup_from_data() {
        assert!(!SCRIPT.contains("innerHTML") && !SCRIPT.contains("outerHTML"));
        assert!(!SCRIPT.contains("insertAdjacentHTML") && !SCRIPT.contains("document.write"));
        assert!(!SCRIPT.contains("eval("));
    }
}
