//! Turning a bank's non-2xx answer into a typed [`BankError`]: Berlin Group `tppMessages`, RFC 7807
//! `application/problem+json` with a `code`, and 429 with an optional `Retry-After`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use consentry_domain::bank::{BankError, RetryAfter};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// How much of an unexpected body an error keeps, so logs and messages stay short.
const EXCERPT_CHARS: usize = 200;

fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(EXCERPT_CHARS).collect()
}

/// The first message's code and text, from either error format.
fn code_and_text(body: &Value) -> Option<(String, String)> {
    if let Some(message) = body
        .get("tppMessages")
        .and_then(Value::as_array)
        .and_then(|m| m.first())
    {
        let code = message.get("code")?.as_str()?.to_owned();
        let text = message
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        return Some((code, text));
    }
    let code = body.get("code")?.as_str()?.to_owned();
    let text = ["detail", "title"]
        .iter()
        .find_map(|key| body.get(*key).and_then(Value::as_str))
        .unwrap_or_default()
        .to_owned();
    Some((code, text))
}

/// `Retry-After` (RFC 9110): a number of seconds, or an HTTP date. A date is read against the answer's own
/// `Date` header when it has one, so the wait does not depend on how far this machine's clock is from the
/// bank's; otherwise it is kept as a moment for the caller to compare with its clock.
fn retry_after(headers: &HeaderMap) -> Option<RetryAfter> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(RetryAfter::Delay(Duration::from_secs(seconds)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let sent = headers
        .get(reqwest::header::DATE)
        .and_then(|date| date.to_str().ok())
        .and_then(|date| httpdate::parse_http_date(date.trim()).ok());
    Some(match sent {
        Some(sent) => RetryAfter::Delay(at.duration_since(sent).unwrap_or_default()),
        None => RetryAfter::At(DateTime::<Utc>::from(at)),
    })
}

pub(crate) fn bank_error(status: u16, headers: &HeaderMap, body: &[u8]) -> BankError {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let message = parsed.as_ref().and_then(code_and_text);
    if status == 429 {
        let text = message.map(|(_, text)| text).unwrap_or_default();
        return BankError::AccessExceeded {
            text,
            retry_after: retry_after(headers),
        };
    }
    let Some((code, text)) = message else {
        return BankError::UnexpectedStatus {
            status,
            body: excerpt(body),
        };
    };
    match code.as_str() {
        "CONSENT_EXPIRED" => BankError::ConsentExpired(text),
        "CONSENT_INVALID" => BankError::ConsentInvalid(text),
        "CONSENT_UNKNOWN" => BankError::ConsentUnknown(text),
        "ACCESS_EXCEEDED" => BankError::AccessExceeded {
            text,
            retry_after: retry_after(headers),
        },
        "FORMAT_ERROR" => BankError::FormatError(text),
        "RESOURCE_UNKNOWN" => BankError::ResourceUnknown(text),
        "STATUS_INVALID" => BankError::StatusInvalid(text),
        "CANCELLATION_INVALID" => BankError::CancellationInvalid(text),
        "PAYMENT_FAILED" => BankError::PaymentFailed(text),
        "PERIOD_INVALID" => BankError::PeriodInvalid(text),
        "PRODUCT_INVALID" | "PRODUCT_UNKNOWN" => BankError::ProductInvalid(text),
        _ => BankError::UnexpectedStatus {
            status,
            body: excerpt(body),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn both_error_formats_map_to_typed_errors() {
        let headers = HeaderMap::new();
        let tpp = br#"{"tppMessages":[{"category":"ERROR","code":"CONSENT_EXPIRED","text":"gone"}]}"#;
        assert_eq!(bank_error(401, &headers, tpp), BankError::ConsentExpired("gone".into()));
        let problem = br#"{"type":"https://berlin-group.org/problem/PERIOD_INVALID","code":"PERIOD_INVALID",
            "detail":"dateFrom after dateTo"}"#;
        assert_eq!(
            bank_error(400, &headers, problem),
            BankError::PeriodInvalid("dateFrom after dateTo".into())
        );
        assert!(matches!(
            bank_error(500, &headers, b"<html>oops"),
            BankError::UnexpectedStatus { status: 500, .. }
        ));
    }

    #[test]
    fn too_many_requests_keeps_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("7"));
        let error = bank_error(429, &headers, b"");
        assert_eq!(
            error,
            BankError::AccessExceeded {
                text: String::new(),
                retry_after: Some(RetryAfter::Delay(Duration::from_secs(7)))
            }
        );
    }

    #[test]
    fn retry_after_as_an_http_date() {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"),
        );
        let BankError::AccessExceeded { retry_after, .. } = bank_error(429, &headers, b"") else {
            panic!("429 is AccessExceeded");
        };
        let at = DateTime::parse_from_rfc3339("2026-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after, Some(RetryAfter::At(at)));

        headers.insert(
            reqwest::header::DATE,
            HeaderValue::from_static("Wed, 21 Oct 2026 07:27:30 GMT"),
        );
        let BankError::AccessExceeded { retry_after, .. } = bank_error(429, &headers, b"") else {
            panic!("429 is AccessExceeded");
        };
        assert_eq!(retry_after, Some(RetryAfter::Delay(Duration::from_secs(30))));

        headers.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("soon"));
        let BankError::AccessExceeded { retry_after, .. } = bank_error(429, &headers, b"") else {
            panic!("429 is AccessExceeded");
        };
        assert_eq!(retry_after, None);
    }
}
