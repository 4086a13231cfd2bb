//! Consentry's HTTP interface (axum), served by `consentry serve`: the tenant's API under `/v1/...`, with
//! `Authorization: Bearer <api key>` (every query is scoped to the key's tenant, so one tenant's key never reads
//! another tenant's data), and the SCA callback `/callback/sca`. Each capability writes its own routes beside its
//! service code (`consents::routes`, `account_information::routes`, `payments::routes`); this module composes
//! them and serves them, and `api` holds what every route shares (the tenant, errors, parameters).

pub(crate) mod api;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use consentry_domain::rates::RatesPort;
use tokio::net::TcpListener;

use crate::Engine;

/// What every route is given: the engine, the rates for totals, and where banks send users back to.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) engine: Arc<Engine>,
    pub(crate) rates: Arc<dyn RatesPort>,
    pub(crate) callback_url: String,
}

fn router(state: AppState) -> Router {
    crate::observability::install();
    Router::new()
        .merge(crate::consents::routes::router())
        .merge(crate::account_information::routes::router())
        .merge(crate::payments::routes::router())
        .merge(crate::observability::router())
        .merge(crate::dashboard::router())
        .route_layer(axum::middleware::from_fn(crate::observability::track))
        .with_state(state)
}

/// A running HTTP server.
pub struct HttpServer {
    address: SocketAddr,
    callback_url: String,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl HttpServer {
    /// Serves `engine` on `address` (port 0: any free port), with `rates` for totals. Banks send users back to
    /// `public_url`'s `/callback/sca` (default: the address served, which suits a local setup).
    pub async fn start(
        engine: Arc<Engine>,
        rates: Arc<dyn RatesPort>,
        address: SocketAddr,
        public_url: Option<&str>,
    ) -> Result<Self, std::io::Error> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let base = public_url.map_or_else(
            || format!("http://{address}"),
            |url| url.trim_end_matches('/').to_owned(),
        );
        let callback_url = format!("{base}/callback/sca");
        let app = router(AppState {
            engine,
            rates,
            callback_url: callback_url.clone(),
        });
        let task = tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            address,
            callback_url,
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

    pub fn stop(self) {
        self.task.abort();
    }
}
