//! A host's own axum service that embeds Consentry (`cargo run --example embed`; `-- --serve` keeps serving).
//!
//! The host opens an `Engine` on its own database (`DATABASE_URL`, or a temporary SQLite file), gives it banks
//! (here the sandbox bank, in-process), runs its projections, and connects a bank for one of its users through
//! the engine. Then it serves a route of its own, `GET /users/{user}/banks`, which reads the `consents` read
//! model with plain SQL, as docs/read-models.md promises a host can: the tables are the host's to query.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use consentry::banks::Banks;
use consentry::config::sandbox_banks;
use consentry::consents::ConnectRequest;
use consentry::{Engine, RequestContext};
use consentry_adapters::SystemClock;
use consentry_domain::consent::ConsentAccess;
use consentry_domain::{Clock, TenantId, UserId};
use consentry_sandbox::{Sandbox, SandboxConfig};
use consentry_store::on_pool;
use serde::Serialize;

/// The host's own query on Consentry's `consents` table.
const CONSENTS_OF_USER: &str = include_str!("consents_of_user.sql");

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What the host's route answers: one line per bank the user connected.
#[derive(Debug, Serialize, sqlx::FromRow)]
struct BankLine {
    bank: String,
    status: String,
    valid_until: Option<String>,
}

#[derive(Clone)]
struct HostState {
    engine: Arc<Engine>,
    tenant: TenantId,
}

async fn banks_of_user(
    State(host): State<HostState>,
    Path(user): Path<String>,
) -> Result<Json<Vec<BankLine>>, (axum::http::StatusCode, String)> {
    let tenant = host.tenant.to_string();
    let lines: Result<Vec<BankLine>, sqlx::Error> = on_pool!(host.engine.database(), pool => {
        sqlx::query_as(CONSENTS_OF_USER).bind(&tenant).bind(&user).fetch_all(pool).await
    });
    lines
        .map(Json)
        .map_err(|error| (axum::http::StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let serve = std::env::args().any(|a| a == "--serve");
    let scratch = std::env::temp_dir().join(format!("consentry-embed-{}.db", uuid::Uuid::new_v4().simple()));
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}", scratch.display()));
    let answer = run(&url, serve).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", scratch.display()));
    }
    println!("{}", answer?);
    Ok(())
}

/// Embeds Consentry on the store `url` names, serves the host's route, and returns what it answered.
async fn run(url: &str, serve: bool) -> Result<String, Failure> {
    // Consentry, embedded: an engine on the host's database, with banks, following the log.
    let clock = Arc::new(SystemClock);
    let sandbox = Sandbox::start(SandboxConfig::default()).await?;
    let banks = Banks::from_config(&sandbox_banks(&sandbox.base_url())?)?;
    let engine = Arc::new(Engine::open(Some(url), clock.clone()).await?.with_banks(banks));
    let _projections = engine.start_projections();

    // The host's tenant and one of its users connect a bank (the sandbox approves at once).
    let (tenant, _api_key) = engine.create_tenant("embedding host").await?;
    let user = UserId::new();
    let ctx = RequestContext::user(tenant, user);
    let started = engine
        .connect_bank(
            &ctx,
            ConnectRequest {
                bank: "swedbank".into(),
                psu_ip_address: "192.0.2.10".into(),
                psu_id: None,
                access: ConsentAccess::AllPsd2,
                valid_until: clock.today() + chrono::Duration::days(89),
                frequency_per_day: 4,
                callback_url: "http://127.0.0.1/callback/sca".into(),
                approach: None,
                renewal_of: None,
            },
        )
        .await?;
    engine.refresh_consent_status(&ctx, started.consent).await?;
    engine.projection_runner().catch_up().await?;

    // The host's own service, with its own route over Consentry's read model.
    let app = Router::new()
        .route("/users/{user}/banks", get(banks_of_user))
        .with_state(HostState {
            engine: engine.clone(),
            tenant,
        });
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let route = format!("http://{address}/users/{user}/banks");
    let answer = reqwest::get(&route).await?.text().await?;
    if serve {
        println!("serving on http://{address} until Ctrl-C");
        tokio::signal::ctrl_c().await?;
    }
    server.abort();
    engine.database().close().await;
    Ok(format!("GET {route}\n{answer}"))
}

#[cfg(test)]
mod tests {
    use consentry_store::{Backend, ScratchDatabase};

    /// The host's route reads the consent its user connected, on both stores.
    async fn the_host_reads_the_read_model(backend: Backend) {
        let server = std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| url.starts_with("postgres"))
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let database = ScratchDatabase::create(backend, &server, "example")
            .await
            .expect("database");
        let answer = super::run(database.url(), false).await.expect("the example runs");
        assert!(answer.contains(r#""bank":"swedbank","status":"valid""#), "{answer}");
        database.remove().await;
    }

    #[tokio::test]
    async fn on_sqlite() {
        the_host_reads_the_read_model(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn on_postgres() {
        the_host_reads_the_read_model(Backend::Postgres).await;
    }
}
