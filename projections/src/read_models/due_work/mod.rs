//! Read model `due_work`: the work that must happen later, and when — polling a submitted payment's status,
//! reconciling a payment whose initiation outcome is unknown, expiring a consent at the end of its validUntil,
//! syncing a valid consent unattended. It is derived from the log like every read model (`project`), so a
//! rebuild reproduces it and a restart resumes it; the schedule's rules are the domain's
//! (`consentry_domain::schedule`).
//!
//! The scheduler's workers claim due rows with a lease (`query`): on PostgreSQL in batches with `FOR UPDATE
//! SKIP LOCKED`, so any number of instances share the work and a crashed instance's leases simply expire; on
//! SQLite (one instance) with the same statements' plain form. A worker acts on an aggregate through a
//! command, so a stale worker's write loses on the aggregate's version.

mod project;
mod query;

pub(crate) use project::DueWork;
pub use query::{
    claim, due_of, leases, next_due, release, settle, status, Claimed, KindStatus, LeaseHolder, Settled, WorkKind,
};
