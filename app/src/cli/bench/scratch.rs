//! The benchmarks' databases: a scratch database of their own on the store `DATABASE_URL` names (its server,
//! for PostgreSQL), or a temporary SQLite file.

use consentry_store::{Backend, ScratchDatabase};

use super::BenchResult;

/// A new empty database of the kind `url` names (SQLite when `None`), on its server.
pub async fn create(url: Option<&str>, label: &str) -> BenchResult<ScratchDatabase> {
    let backend = Backend::of_url(url)?;
    Ok(ScratchDatabase::create(backend, url.unwrap_or_default(), label).await?)
}
