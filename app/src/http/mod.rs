//! Consentry's HTTP interface (axum), served by `consentry serve`: the tenant's API under `/v1/...`, with
//! `Authorization: Bearer <api key>` (every query is scoped to the key's tenant, so one tenant's key never reads
//! another tenant's data), the SCA callback `/callback/sca`, and the OpenAPI document `/openapi.json`. Each
//! capability writes its own routes beside its service code (`consents::routes`, `account_information::routes`,
//! `payments::routes`), documented where they are written (`#[utoipa::path]`), so a route and its document
//! cannot part; this module composes them, answers every error as a problem document (`problem`), and serves
//! them with limits: a body size, a header-read and a request timeout, a concurrency limit, per-tenant rates,
//! and a graceful shutdown. `observability` adds `/metrics`, `/healthz` and `/readyz` beside the API.

pub(crate) mod api;
mod idempotent;
mod openapi;
pub mod problem;
mod rate_limit;
mod server;
pub(crate) mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Extension, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use consentry_domain::rates::RatesPort;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::Instrument;

pub use openapi::openapi;
pub use problem::{ProblemType, PROBLEM_BASE, PROBLEM_JSON};
pub use rate_limit::RateLimit;

use self::api::ApiError;
pub(crate) use self::idempotent::idempotent;
use self::rate_limit::RateLimiter;
use crate::Engine;

/// The server's limits. The defaults suit a service behind a TLS-terminating proxy.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The largest request body, in bytes (default 1 MiB): larger ones are answered 413.
    pub body_limit: usize,
    /// How long a client may take to send a request's headers before the connection is closed.
    pub header_read_timeout: Duration,
    /// How long a request may take, from its headers to the answer (including waiting for a slot).
    pub request_timeout: Duration,
    /// Requests served at once; the others wait for a slot (within their timeout).
    pub max_concurrent_requests: usize,
    /// Requests per tenant.
    pub rate_limit: RateLimit,
    /// How long a shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 256,
            rate_limit: RateLimit::default(),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// What every route is given: the engine, the rates for totals, where banks send users back to, and the
/// server's limits that routes apply themselves (bodies, rates).
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) engine: Arc<Engine>,
    pub(crate) rates: Arc<dyn RatesPort>,
    pub(crate) callback_url: String,
    pub(crate) body_limit: usize,
    pub(crate) rate_limits: Arc<RateLimiter>,
}

/// The limits every request passes through before its route.
struct Limits {
    slots: Semaphore,
    request_timeout: Duration,
    body_limit: usize,
}

/// Refuses a body announced too large at once, waits for a slot, bounds the request's time, and logs it.
/// The header that carries a request's id, in and out.
const REQUEST_ID: &str = "x-request-id";

/// Every request gets an id: the caller's `X-Request-ID` when it is a UUID, else a new one. It names the span
/// every log line of the request is written in, and comes back in the answer's `X-Request-ID`.
async fn identified(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v.trim()).ok())
        .unwrap_or_else(uuid::Uuid::new_v4);
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = header::HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

async fn limited(State(limits): State<Arc<Limits>>, request: Request, next: Next) -> Response {
    let started = tokio::time::Instant::now();
    let (method, path) = (request.method().clone(), request.uri().path().to_owned());
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let response = if announced.is_some_and(|length| length > limits.body_limit as u64) {
        ApiError::new(
            problem::ProblemType::PayloadTooLarge,
            format!("the body is larger than {} bytes", limits.body_limit),
        )
        .into_response()
    } else {
        let served = async {
            let _slot = limits.slots.acquire().await;
            next.run(request).await
        };
        match tokio::time::timeout(limits.request_timeout, served).await {
            Ok(response) => response,
            Err(_) => ApiError::new(
                problem::ProblemType::RequestTimeout,
                format!("no answer within {} s", limits.request_timeout.as_secs()),
            )
            .into_response(),
        }
    };
    tracing::info!(
        target: "consentry::access",
        %method,
        path,
        status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// An error answer a layer or extractor made without a body of ours becomes a problem document too.
async fn problems_everywhere(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !(status.is_client_error() || status.is_server_error())
        || content_type.starts_with(PROBLEM_JSON)
        || content_type.starts_with("text/html")
    {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let (_, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let detail = match String::from_utf8_lossy(&text).trim() {
        "" => status.canonical_reason().unwrap_or("error").to_owned(),
        text => text.to_owned(),
    };
    let mut problem = ApiError::new(ProblemType::of_status(status), detail).into_response();
    if let Some(allow) = allow {
        problem.headers_mut().insert(header::ALLOW, allow);
    }
    problem
}

async fn unknown_route(request: Request) -> ApiError {
    ApiError::new(
        ProblemType::UnknownRoute,
        format!("no route is {} {}", request.method(), request.uri().path()),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        ProblemType::MethodNotAllowed,
        format!("{} is not allowed on {}", request.method(), request.uri().path()),
    )
}

/// Every route of the API with its document.
pub(crate) fn routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::with_openapi(openapi::base())
        .merge(crate::consents::routes::router())
        .merge(crate::account_information::routes::router())
        .merge(crate::payments::routes::router())
        .merge(crate::observability::router())
        .merge(openapi::router())
}

/// The API's router: every route (the service's own, `/metrics`, `/healthz` and `/readyz` among them, counted
/// by route template), the fallbacks, the limits.
fn router(state: AppState, config: &HttpConfig) -> Router {
    let (api, document) = routes().split_for_parts();
    let limits = Arc::new(Limits {
        slots: Semaphore::new(config.max_concurrent_requests.max(1)),
        request_timeout: config.request_timeout,
        body_limit: config.body_limit,
    });
    crate::observability::install();
    api.route_layer(axum::middleware::from_fn(crate::observability::track))
        // The operator's pages: served beside the API, not part of its document.
        .merge(crate::dashboard::router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(Extension(Arc::new(document)))
        .layer(Extension(state.clone()))
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(axum::middleware::from_fn(problems_everywhere))
        .layer(axum::middleware::from_fn_with_state(limits, limited))
        .layer(axum::middleware::from_fn(identified))
}

/// The walk a test makes over what the router registered: every path of the API's router, as axum's
/// `Debug` spells them (axum offers no other way to list them).
pub fn registered_paths() -> Vec<String> {
    let (api, _) = routes().split_for_parts();
    let printed = format!("{api:?}");
    // The fallback router that follows registers catch-alls of its own.
    let routes = printed.split("fallback_router").next().unwrap_or_default();
    let mut paths: Vec<String> = routes
        .split('"')
        .filter(|p| p.starts_with('/') && !p.contains(char::is_whitespace))
        .map(str::to_owned)
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

/// A running HTTP server.
pub struct HttpServer {
    address: SocketAddr,
    callback_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl HttpServer {
    /// Serves `engine` on `address` (port 0: any free port), with `rates` for totals and the default limits.
    /// Banks send users back to `public_url`'s `/callback/sca` (default: the address served, which suits a
    /// local setup).
    pub async fn start(
        engine: Arc<Engine>,
        rates: Arc<dyn RatesPort>,
        address: SocketAddr,
        public_url: Option<&str>,
    ) -> Result<Self, std::io::Error> {
        Self::start_with(engine, rates, address, public_url, HttpConfig::default()).await
    }

    /// [`HttpServer::start`] with the limits of `config`.
    pub async fn start_with(
        engine: Arc<Engine>,
        rates: Arc<dyn RatesPort>,
        address: SocketAddr,
        public_url: Option<&str>,
        config: HttpConfig,
    ) -> Result<Self, std::io::Error> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let base = public_url.map_or_else(
            || format!("http://{address}"),
            |url| url.trim_end_matches('/').to_owned(),
        );
        let callback_url = format!("{base}/callback/sca");
        let app = router(
            AppState {
                engine,
                rates,
                callback_url: callback_url.clone(),
                body_limit: config.body_limit,
                rate_limits: Arc::new(RateLimiter::new(config.rate_limit)),
            },
            &config,
        );
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(server::serve(listener, app, config, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            address,
            callback_url,
            stop: Some(stop),
            task,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The URL banks send users back to.
    pub fn callback_url(&self) -> String {
        self.callback_url.clone()
    }

    pub async fn wait(self) -> Result<(), std::io::Error> {
        self.task.await.map_err(std::io::Error::other)?
    }

    /// Serves until `signal` completes, then stops accepting and lets the requests in flight finish (within
    /// the shutdown grace).
    pub async fn serve_until(mut self, signal: impl Future<Output = ()>) -> Result<(), std::io::Error> {
        tokio::select! {
            served = &mut self.task => return served.map_err(std::io::Error::other)?,
            () = signal => {}
        }
        self.shutdown().await
    }

    /// Stops accepting, and returns when the requests in flight are answered (within the shutdown grace).
    pub async fn shutdown(mut self) -> Result<(), std::io::Error> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.map_err(std::io::Error::other)?
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// Completes on SIGTERM or Ctrl-C: what `consentry serve` stops on.
pub async fn termination_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "Ctrl-C cannot be awaited");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "SIGTERM cannot be awaited");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderValue, StatusCode};

    use super::*;

    #[test]
    fn a_problem_names_its_type_and_field() {
        let error = ApiError::new(ProblemType::InvalidField, "is not a UUID").with_field("consentId");
        let problem = serde_json::to_value(error.problem()).expect("json");
        assert_eq!(problem["type"], "https://consentry.dev/problems/invalid-field");
        assert_eq!(problem["status"], 400);
        assert_eq!(problem["field"], "consentId");
        let response = ApiError::new(ProblemType::RateLimited, "slow down")
            .retry_after(3)
            .into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(3u64))
        );
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static(PROBLEM_JSON))
        );
    }
}
