//! What a read model is to the runner: the tables it owns, the events it reads, what its planning needs
//! loaded, and how a batch of events changes its rows.

use consentry_store::Backend;

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

    /// The statements that empty its tables on SQLite, children first: the rebuild's last transaction runs them
    /// before it copies the shadows in (they name `main`, past the rebuild's shadow tables).
    fn clear(&self) -> &'static [&'static str];

    /// Its tables as SQLite's rebuild shadows them (see [`Shadow`]).
    fn shadows(&self) -> &'static [Shadow];

    /// Those of its tables that a batch only ever inserts rows into (no upsert, update or delete by key). A
    /// rebuild on PostgreSQL fills their shadows without a key and builds it at the end; the others' shadows
    /// have their primary key from the start, for the upserts' `ON CONFLICT`.
    fn insert_only(&self) -> &'static [&'static str] {
        &[]
    }

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

/// One table of a read model as a rebuild on SQLite builds it: into a TEMP table of the same name on the
/// rebuild's own connection, which SQLite resolves before `main` for unqualified names, so the projection's
/// statements write to it unchanged while every other connection reads (and live runners write) the real
/// table. The shadow has the real table's columns and only the key its upserts' `ON CONFLICT` clauses name,
/// no other index; it is copied into the emptied real table in the rebuild's last, short transaction.
pub(crate) struct Shadow {
    /// Creates the shadow, empty, with the real table's columns.
    pub(crate) create: &'static str,
    /// The shadow's unique key.
    pub(crate) key: &'static str,
    /// Copies the shadow into the real table.
    pub(crate) copy: &'static str,
}
