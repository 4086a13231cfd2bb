//! The sandbox's SCA redirect page (`_links.scaRedirect`): a plain HTML page that shows what the user is asked
//! to authorise, with Approve and Deny buttons posting a form back to the same URL. After the decision the
//! browser is sent to the TPP's `TPP-Redirect-URI` (or `TPP-Nok-Redirect-URI` on deny) when one was given.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::state::{AuthorisationTarget, BankState};
use super::SandboxState;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:32em;margin:3em auto\"><h1>{title}</h1>{body}</body></html>",
        title = escape(title)
    );
    (status, Html(html)).into_response()
}

/// What the user is asked to approve, in words.
fn describe(bank_state: &BankState, target: &AuthorisationTarget) -> String {
    match target {
        AuthorisationTarget::Consent(id) => match bank_state.consents.get(id) {
            Some(c) => format!(
                "Allow the app to read your account information{} until {}, up to {} times a day without you.",
                if c.recurring { " repeatedly" } else { " once" },
                c.valid_until,
                c.frequency_per_day
            ),
            None => "Allow the app to read your account information.".into(),
        },
        AuthorisationTarget::Payment(id) | AuthorisationTarget::Cancellation(id) => {
            let verb = if matches!(target, AuthorisationTarget::Payment(_)) {
                "Pay"
            } else {
                "Cancel the payment of"
            };
            match bank_state.payments.get(id) {
                Some(p) => format!("{verb} {} to account {}.", p.amount, p.creditor.masked()),
                None => format!("{verb} a payment."),
            }
        }
    }
}

pub(crate) async fn show(
    State(state): State<Arc<SandboxState>>,
    Path((bank, authorisation_id)): Path<(String, String)>,
) -> Response {
    let shown = state.with_bank(&bank, |bank_state, _| {
        Ok(bank_state
            .authorisations
            .get(&authorisation_id)
            .map(|a| (describe(bank_state, &a.target), a.sca_status.is_final())))
    });
    match shown {
        Ok(Some((_, true))) => page(
            StatusCode::CONFLICT,
            "Already decided",
            "<p>This request was already decided.</p>",
        ),
        Ok(Some((what, false))) => page(
            StatusCode::OK,
            &format!("{bank}: confirm"),
            &format!(
                "<p>{}</p><form method=\"post\">\
                 <button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button> \
                 <button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
                escape(&what)
            ),
        ),
        _ => page(
            StatusCode::NOT_FOUND,
            "Unknown request",
            "<p>There is nothing to authorise here.</p>",
        ),
    }
}

#[derive(Deserialize)]
pub(crate) struct Decision {
    decision: String,
}

pub(crate) async fn decide(
    State(state): State<Arc<SandboxState>>,
    Path((bank, authorisation_id)): Path<(String, String)>,
    form: Result<Form<Decision>, FormRejection>,
) -> Response {
    let approve = match form.as_ref().map(|f| f.decision.as_str()) {
        Ok("approve") => true,
        Ok("deny") => false,
        _ => return page(StatusCode::BAD_REQUEST, "Bad request", "<p>Choose Approve or Deny.</p>"),
    };
    let decided = state.with_bank(&bank, |bank_state, state| {
        let redirect = bank_state
            .authorisations
            .get(&authorisation_id)
            .map(|a| a.redirect.clone());
        let changed = bank_state.decide(&authorisation_id, approve, state.now());
        Ok((redirect, changed))
    });
    match decided {
        Ok((Some(_), false)) => page(
            StatusCode::CONFLICT,
            "Already decided",
            "<p>This request was already decided.</p>",
        ),
        Ok((Some(redirect), true)) => {
            tracing::info!(%bank, %authorisation_id, approve, "sandbox SCA decided");
            let target = redirect.and_then(|r| if approve { Some(r.ok) } else { r.nok.or(Some(r.ok)) });
            match target {
                Some(uri) => (StatusCode::SEE_OTHER, [(header::LOCATION, uri)]).into_response(),
                None if approve => page(StatusCode::OK, "Approved", "<p>You can return to the app.</p>"),
                None => page(StatusCode::OK, "Denied", "<p>You can return to the app.</p>"),
            }
        }
        _ => page(
            StatusCode::NOT_FOUND,
            "Unknown request",
            "<p>There is nothing to authorise here.</p>",
        ),
    }
}
