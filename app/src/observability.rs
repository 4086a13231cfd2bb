//! Observability: `GET /metrics` (the Prometheus text format), `GET /healthz` (the process answers) and
//! `GET /readyz` (the store answers and every projection is within a few seconds of the log), and the HTTP
//! layer's own metrics (requests by route template and status, with latency). Bank calls, bank error codes and
//! unattended calls refused by the budget are counted where they happen (the Berlin Group client, the sync)
//! through the `metrics` facade; projection lag is read from the checkpoints when scraped. No label takes
//! unbounded values: no user, consent or payment id, only route templates, bank ids, operations and codes.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDateTime, Utc};
use consentry_projections::ProjectionStatus;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::AppState;

/// A projection further behind the log than this is not ready.
const READY_LAG_SECONDS: f64 = 5.0;

/// Latency buckets in seconds, for HTTP requests and bank calls alike.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The process's metrics recorder, installed once (several servers in one process share it).
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed (a host's own): render what this one would hold, which is nothing.
            Err(error) => {
                tracing::warn!(%error, "a metrics recorder is already installed; /metrics shows only its own");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}

/// Installs the recorder, so metrics recorded from now on are kept; the server calls it when it starts.
pub fn install() {
    recorder();
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(metrics))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// Counts every request by route template (never the raw path, which holds ids), method and status, with its
/// latency.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("consentry_http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("consentry_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// How long ago a checkpoint moved, when it lags; it does not lag by time when it has caught up.
fn lag_seconds(status: &ProjectionStatus, now: DateTime<Utc>) -> f64 {
    if status.lag == 0 {
        return 0.0;
    }
    let updated = DateTime::parse_from_rfc3339(&status.updated_at)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| {
            DateTime::parse_from_str(&status.updated_at, "%Y-%m-%d %H:%M:%S%.f%#z").map(|at| at.with_timezone(&Utc))
        })
        .or_else(|_| NaiveDateTime::parse_from_str(&status.updated_at, "%Y-%m-%d %H:%M:%S").map(|at| at.and_utc()));
    match updated {
        Ok(updated) => (now - updated).num_milliseconds().max(0) as f64 / 1000.0,
        Err(_) => f64::INFINITY,
    }
}

/// Prometheus metrics of this process (text format); no key needed.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(()),
    responses((status = 200, description = "Metrics in the Prometheus text format", body = String, content_type = "text/plain"))
)]
async fn metrics(State(app): State<AppState>) -> Response {
    match app.engine.projection_status().await {
        Ok(statuses) => {
            let now = Utc::now();
            for status in &statuses {
                let projection = status.projection.clone();
                metrics::gauge!("consentry_projection_lag_events", "projection" => projection.clone())
                    .set(status.lag as f64);
                metrics::gauge!("consentry_projection_lag_seconds", "projection" => projection)
                    .set(lag_seconds(status, now));
            }
        }
        Err(error) => tracing::warn!(%error, "projection status unavailable for /metrics"),
    }
    crate::scheduler::record_gauges(&app.engine).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        recorder().render(),
    )
        .into_response()
}

/// The process answers; no key needed.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The process answers", body = String, content_type = "text/plain"))
)]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: what is not ready, per projection.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Readiness {
    ready: bool,
    store: bool,
    projections: Vec<ProjectionReadiness>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ProjectionReadiness {
    projection: String,
    lag_events: i64,
    lag_seconds: f64,
    last_error: Option<String>,
}

/// The store answers and every projection is within a few seconds of the log; no key needed.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready: the store does not answer or a projection lags", body = Readiness)
    )
)]
async fn readyz(State(app): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let now = Utc::now();
    let readiness = match app.engine.projection_status().await {
        Ok(statuses) => {
            let projections: Vec<ProjectionReadiness> = statuses
                .iter()
                .map(|status| ProjectionReadiness {
                    projection: status.projection.clone(),
                    lag_events: status.lag,
                    lag_seconds: lag_seconds(status, now),
                    last_error: status.last_error.clone(),
                })
                .collect();
            let ready = projections.iter().all(|p| p.lag_seconds <= READY_LAG_SECONDS);
            Readiness {
                ready,
                store: true,
                projections,
            }
        }
        Err(error) => {
            tracing::warn!(%error, "readiness: the store does not answer");
            Readiness {
                ready: false,
                store: false,
                projections: Vec::new(),
            }
        }
    };
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(readiness))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(lag: i64, updated_at: &str) -> ProjectionStatus {
        ProjectionStatus {
            projection: "consents".into(),
            transaction_id: 0,
            position: 0,
            events_applied: 0,
            updated_at: updated_at.into(),
            last_error: None,
            last_error_at: None,
            failures: 0,
            lag,
        }
    }

    #[test]
    fn a_projection_lags_by_time_only_while_events_wait() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T10:00:10Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(lag_seconds(&status(0, "2026-11-30T09:00:00Z"), now), 0.0);
        assert_eq!(lag_seconds(&status(3, "2026-11-30T10:00:00.000Z"), now), 10.0);
        assert_eq!(lag_seconds(&status(3, "2026-11-30 10:00:05.5+00"), now), 4.5);
        assert!(lag_seconds(&status(3, "yesterday"), now).is_infinite());
    }
}
