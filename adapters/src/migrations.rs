//! The event log's migrations (`migrations/{postgres,sqlite}/*.sql`), in the order they run; the storage
//! seam's migration runner applies them, with the read models' after them, once each.

use consentry_store::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration::each(
        "0001_events.sql",
        include_str!("../migrations/postgres/0001_events.sql"),
        include_str!("../migrations/sqlite/0001_events.sql"),
    ),
    Migration::each(
        "0002_event_feed.sql",
        include_str!("../migrations/postgres/0002_event_feed.sql"),
        include_str!("../migrations/sqlite/0002_event_feed.sql"),
    ),
    Migration::both(
        "0004_sca_states.sql",
        include_str!("../migrations/both/0004_sca_states.sql"),
    ),
    Migration::both("0005_tenants.sql", include_str!("../migrations/both/0005_tenants.sql")),
    // SQLite has no notifications: its projections poll.
    Migration::postgres_only(
        "0006_event_feed_notify.sql",
        include_str!("../migrations/postgres/0006_event_feed_notify.sql"),
    ),
    Migration::both(
        "0007_sca_state_subjects.sql",
        include_str!("../migrations/both/0007_sca_state_subjects.sql"),
    ),
];
