//! Consentry's HTTP interface (axum), served by `consentry serve`. `/callback/sca` is where banks send the user
//! back after the redirect SCA: it is verified (a state this engine issued, used once, recent) and the consent's
//! status is read back from the bank before anything changes.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::{Engine, EngineError};

#[derive(Deserialize)]
struct CallbackParameters {
    state: Option<String>,
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    (status, Html(html)).into_response()
}

async fn sca_callback(State(engine): State<Arc<Engine>>, Query(parameters): Query<CallbackParameters>) -> Response {
    let Some(state) = parameters.state else {
        return page(StatusCode::BAD_REQUEST, "Connection refused", "The link has no state.");
    };
    match engine.complete_sca_callback(&state).await {
        Ok((_, status)) => page(
            StatusCode::OK,
            "Bank connection",
            &format!("The bank reports this connection {status}."),
        ),
        Err(EngineError::CallbackRefused(_)) => page(
            StatusCode::BAD_REQUEST,
            "Connection refused",
            "This link is unknown, was already used, or has expired. Start connecting the bank again.",
        ),
        Err(error) => {
            tracing::warn!(%error, "SCA callback could not be completed");
            page(
                StatusCode::BAD_GATEWAY,
                "Bank unavailable",
                "The bank could not confirm the connection; try again.",
            )
        }
    }
}

pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/callback/sca", get(sca_callback))
        .with_state(engine)
}

/// A running HTTP server.
pub struct HttpServer {
    address: SocketAddr,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl HttpServer {
    pub async fn start(engine: Arc<Engine>, address: SocketAddr) -> Result<Self, std::io::Error> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move { axum::serve(listener, router(engine)).await });
        Ok(Self { address, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The URL banks send users back to.
    pub fn callback_url(&self) -> String {
        format!("{}/callback/sca", self.base_url())
    }

    pub async fn wait(self) -> Result<(), std::io::Error> {
        self.task.await.map_err(std::io::Error::other)?
    }

    pub fn stop(self) {
        self.task.abort();
    }
}
