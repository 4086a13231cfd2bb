//! Throw-away databases for tests and benchmarks: an SQLite file in the temporary directory, or a PostgreSQL
//! database created on a server and dropped afterwards (with `WITH (FORCE)`, so lingering connections do not
//! keep it alive).

use std::path::PathBuf;

use sqlx::Connection as _;

use crate::Backend;

/// A database of its own, removed by [`ScratchDatabase::remove`] or, failing that, when dropped.
#[derive(Debug)]
pub struct ScratchDatabase {
    url: String,
    place: Place,
}

#[derive(Debug, Clone)]
enum Place {
    File(PathBuf),
    Postgres { admin_url: String, name: String },
    Removed,
}

impl ScratchDatabase {
    /// A new empty database of `backend`; on PostgreSQL on the server `server_url` names (its database name
    /// is replaced). `label` makes the name recognisable (`consentry_{label}_{uuid}`).
    pub async fn create(backend: Backend, server_url: &str, label: &str) -> Result<Self, sqlx::Error> {
        let name = format!("consentry_{label}_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Ok(Self {
                    url: format!("sqlite://{}", path.display()),
                    place: Place::File(path),
                })
            }
            Backend::Postgres => {
                let admin_url = with_database(server_url, "postgres");
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await?;
                Ok(Self {
                    url: with_database(server_url, &name),
                    place: Place::Postgres { admin_url, name },
                })
            }
        }
    }

    /// The URL to connect to it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Removes the database now.
    pub async fn remove(mut self) {
        let place = std::mem::replace(&mut self.place, Place::Removed);
        remove(place).await;
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let place = std::mem::replace(&mut self.place, Place::Removed);
        if matches!(place, Place::Removed) {
            return;
        }
        // Drop may run inside an async runtime, which cannot block on a future: use a thread of its own.
        let removed =
            std::thread::spawn(
                move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime.block_on(remove(place)),
                    Err(error) => tracing::warn!(%error, "no runtime to remove a scratch database"),
                },
            );
        let _ = removed.join();
    }
}

async fn remove(place: Place) {
    match place {
        Place::File(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        Place::Postgres { admin_url, name } => {
            let dropped = async {
                let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
            }
            .await;
            if let Err(error) = dropped {
                tracing::warn!(%error, database = %name, "could not drop a scratch database");
            }
        }
        Place::Removed => {}
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let server = base.rsplit_once('/').map(|(server, _)| server).unwrap_or(base);
    format!("{server}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_options_kept() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h/db", "x"), "postgres://u@h/x");
    }
}
