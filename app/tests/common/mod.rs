//! Throw-away stores for tests: a PostgreSQL database of its own (created on the server of `DATABASE_URL`, or
//! the local one, and dropped with FORCE when the guard goes, also on panic) or a temporary SQLite file.

// Each test binary compiles this module and uses part of it.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use consentry::Engine;
use consentry_adapters::SimulatedClock;
use sqlx::Connection;

const LOCAL_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The maintenance database of the server tests use.
fn admin_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => with_database(&url, "postgres"),
        _ => LOCAL_SERVER.to_owned(),
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let server = base.rsplit_once('/').map(|(server, _)| server).unwrap_or(base);
    format!("{server}/{name}{query}")
}

pub enum TestStore {
    Postgres { url: String, name: String },
    Sqlite { path: std::path::PathBuf },
}

impl TestStore {
    pub async fn postgres() -> Self {
        let name = format!("consentry_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url())
            .await
            .expect("PostgreSQL server");
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        TestStore::Postgres {
            url: with_database(&admin_url(), &name),
            name,
        }
    }

    pub fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("consentry-test-{}.db", uuid::Uuid::new_v4()));
        TestStore::Sqlite { path }
    }

    pub fn url(&self) -> String {
        match self {
            TestStore::Postgres { url, .. } => url.clone(),
            TestStore::Sqlite { path } => format!("sqlite://{}", path.display()),
        }
    }

    /// An engine on this store with a simulated clock at 2026-01-05 08:00 UTC.
    pub async fn engine(&self) -> Engine {
        self.engine_with_clock().await.0
    }

    /// An engine and the simulated clock it runs on.
    pub async fn engine_with_clock(&self) -> (Engine, Arc<SimulatedClock>) {
        let start = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
        let clock = Arc::new(SimulatedClock::starting_at(start));
        let engine = Engine::open(Some(&self.url()), clock.clone()).await.expect("engine");
        (engine, clock)
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        match self {
            TestStore::Postgres { name, .. } => {
                let name = name.clone();
                // Drop runs outside async code (maybe during a panic): a thread with its own runtime drops the
                // database.
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                    runtime.block_on(async {
                        let mut admin = sqlx::PgConnection::connect(&admin_url()).await?;
                        sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .await?;
                        Ok::<_, sqlx::Error>(())
                    })?;
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
                })
                .join();
                if !matches!(dropped, Ok(Ok(()))) {
                    eprintln!("could not drop test database");
                }
            }
            TestStore::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
        }
    }
}

/// A small deterministic generator (xorshift), seeded per test, so runs are random yet reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}
