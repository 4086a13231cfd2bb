//! The accept loop: HTTP/1.1 connections served by hyper with a header-read timeout (a client that trickles its
//! headers is cut off; `axum::serve` sets no timer, so it has none), and a graceful shutdown: on the signal the
//! listener is closed, idle connections end, and requests in flight finish within the grace.

use std::future::Future;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::HttpConfig;

pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    config: HttpConfig,
    signal: impl Future<Output = ()>,
) -> Result<(), std::io::Error> {
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!(%error, "a connection could not be accepted");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut signal => break,
        };
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
            .keep_alive(true);
        let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    tracing::info!("stopped accepting; finishing the requests in flight");
    if tokio::time::timeout(config.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_s = config.shutdown_grace.as_secs(),
            "requests still in flight after the grace; stopping anyway"
        );
    }
    Ok(())
}
