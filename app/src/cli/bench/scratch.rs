//! The benchmarks' scratch databases: created on the server `DATABASE_URL` names, or as temporary SQLite files,
//! and dropped afterwards.

use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::BenchResult;

/// A database of the benchmark's own, removed by [`Scratch::remove`].
pub enum Scratch {
    Postgres {
        admin_url: String,
        name: String,
        url: String,
    },
    Sqlite {
        path: std::path::PathBuf,
    },
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

pub fn is_postgres(url: Option<&str>) -> bool {
    url.is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

impl Scratch {
    pub async fn postgres(server_url: &str, label: &str) -> BenchResult<Self> {
        let admin_url = with_database(server_url, "postgres");
        let name = format!("consentry_bench_{label}_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await?;
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let url = with_database(server_url, &name);
        Ok(Scratch::Postgres { admin_url, name, url })
    }

    pub async fn for_url(url: Option<&str>, label: &str) -> BenchResult<Self> {
        match url {
            Some(url) if is_postgres(Some(url)) => Self::postgres(url, label).await,
            _ => Ok(Scratch::Sqlite {
                path: std::env::temp_dir().join(format!("consentry-bench-{label}-{}.db", Uuid::new_v4())),
            }),
        }
    }

    pub fn url(&self) -> String {
        match self {
            Scratch::Postgres { url, .. } => url.clone(),
            Scratch::Sqlite { path } => format!("sqlite://{}", path.display()),
        }
    }

    pub async fn remove(self) {
        match self {
            Scratch::Postgres { admin_url, name, .. } => {
                let dropped = async {
                    let mut admin = PgConnection::connect(&admin_url).await?;
                    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut admin)
                        .await
                }
                .await;
                if let Err(error) = dropped {
                    tracing::warn!(%error, database = %name, "could not drop the scratch database");
                }
            }
            Scratch::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
        }
    }
}
