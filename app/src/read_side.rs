//! The Engine's read side: it hands the event store's database to the projections, runs their migrations with
//! the event log's, and starts, inspects and rebuilds the projection runner.

use std::sync::LazyLock;

use consentry_adapters::migrations::Migration;
use consentry_adapters::{Database, MigrationSet};
use consentry_projections::migrations::{self as read_models, SqlMigration};
use consentry_projections::{
    Feed, Projection, ProjectionRunner, ProjectionStatus, RebuildProgress, RunnerHandle, Store,
};

use crate::{Engine, EngineError};

fn adapt(migrations: &[SqlMigration]) -> Vec<Migration> {
    migrations
        .iter()
        .map(|m| Migration {
            name: m.name,
            sql: m.sql,
        })
        .collect()
}

static POSTGRES: LazyLock<Vec<Migration>> = LazyLock::new(|| adapt(read_models::POSTGRES));
static SQLITE: LazyLock<Vec<Migration>> = LazyLock::new(|| adapt(read_models::SQLITE));

/// The read models' migrations, in the form the event store's migration runner takes.
pub fn migrations() -> MigrationSet {
    MigrationSet {
        postgres: POSTGRES.as_slice(),
        sqlite: SQLITE.as_slice(),
    }
}

/// The projections' view of the event store's database.
pub fn store(database: &Database) -> Store {
    match database {
        Database::Postgres(pool) => Store::Postgres(pool.clone()),
        Database::Sqlite(pool) => Store::Sqlite(pool.clone()),
    }
}

impl From<consentry_projections::ProjectionError> for EngineError {
    fn from(error: consentry_projections::ProjectionError) -> Self {
        EngineError::Store(error.to_string())
    }
}

impl Engine {
    /// The ordered event feed of this engine's store.
    pub fn feed(&self) -> Feed {
        Feed::new(store(self.database()))
    }

    /// A runner of every projection on this engine's store.
    pub fn projection_runner(&self) -> ProjectionRunner {
        ProjectionRunner::new(store(self.database()))
    }

    /// Starts the projection runner: it catches up, then follows new events until the handle is dropped. Safe
    /// to call on every engine instance: no batch is applied twice.
    pub fn start_projections(&self) -> RunnerHandle {
        self.projection_runner().start()
    }

    /// Every projection's checkpoint, lag and last error.
    pub async fn projection_status(&self) -> Result<Vec<ProjectionStatus>, EngineError> {
        Ok(self.projection_runner().status().await?)
    }

    /// Rebuilds `projections` (all when empty) from the first event, atomically; returns the events replayed.
    pub async fn rebuild_projections(
        &self,
        projections: Vec<Projection>,
        progress: impl FnMut(RebuildProgress),
    ) -> Result<u64, EngineError> {
        let mut runner = self.projection_runner();
        if !projections.is_empty() {
            runner = runner.with_projections(projections);
        }
        Ok(runner.rebuild(progress).await?)
    }
}
