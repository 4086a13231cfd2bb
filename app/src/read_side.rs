//! The Engine's read side: it hands the event store's database to the projections, and starts, inspects and
//! rebuilds the projection runner.

use consentry_projections::{Feed, Projection, ProjectionRunner, ProjectionStatus, RebuildProgress, RunnerHandle};

use crate::{Engine, EngineError};

impl From<consentry_projections::ProjectionError> for EngineError {
    fn from(error: consentry_projections::ProjectionError) -> Self {
        EngineError::Store(error.to_string())
    }
}

impl Engine {
    /// The ordered event feed of this engine's store.
    pub fn feed(&self) -> Feed {
        Feed::new(self.database().clone())
    }

    /// A runner of every projection on this engine's store.
    pub fn projection_runner(&self) -> ProjectionRunner {
        ProjectionRunner::new(self.database().clone())
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
