//! What a read model is to the runner: the tables it owns, the events it reads, what its planning needs
//! loaded, and how a batch of events changes its rows.

use consentry_store::{Backend, Statement};

use super::account_information::PlanContext;
use super::write::Write;
use crate::feed::Interest;
use crate::{FeedEvent, ProjectionError};

/// One concern of the read side: the tables it owns and how a batch of events changes them.
pub(crate) trait ReadModel: Sync {
    /// The projection's name: its checkpoint's key and what `consentry replay --projection` takes.
    fn name(&self) -> &'static str;

    /// The tables this projection owns.
    fn tables(&self) -> &'static [&'static str];

    /// The statements that empty its tables (a rebuild runs them in its transaction), children first.
    fn clear(&self) -> &'static [Statement];

    /// The events it reads: the live runner fetches only their payloads.
    fn interest(&self) -> Interest;

    /// What planning needs loaded besides the events.
    fn needs(&self) -> Needs;

    /// The rows a batch of events changes. A batch holds many events of one aggregate; they are folded into
    /// one row each, so a table takes one upsert per batch. `context` has been prepared for `events` as
    /// [`ReadModel::needs`] asks.
    fn plan(
        &self,
        events: &[FeedEvent],
        backend: Backend,
        context: &PlanContext,
    ) -> Result<Vec<Write>, ProjectionError>;
}

/// What a projection's planning needs loaded into its [`PlanContext`] first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// The events alone.
    Events,
    /// The owners (tenant, user, bank) of the consents whose account data the events carry.
    Owners,
    /// The owners, and their tenants' categorisation rules.
    OwnersAndRules,
}
