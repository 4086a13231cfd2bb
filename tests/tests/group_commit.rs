//! The PostgreSQL event repository batches concurrent commands into one statement (group commit). These tests
//! drive it directly with many racing writers, so batches mix winners, losers and commands of several events:
//! each command's events are stored all or none, exactly one writer wins each sequence, and loads batched
//! together each get their own aggregate's events in order.

use std::collections::BTreeMap;

use consentry_adapters::group_commit::GroupCommitRepository;
use consentry_domain::consent::Consent;
use consentry_store::Database;
use consentry_tests::{Backend, TestDb};
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use cqrs_es::Aggregate;
use serde_json::json;

const AGGREGATES: usize = 40;
const WRITERS: usize = 6;

async fn repository(db: &TestDb) -> (GroupCommitRepository, sqlx::PgPool) {
    let database = db.database().await;
    database
        .migrate(&[consentry_adapters::MIGRATIONS])
        .await
        .expect("migrate");
    let Database::Postgres(pool) = database else {
        panic!("a PostgreSQL test database was asked for");
    };
    (GroupCommitRepository::new(pool.clone()), pool)
}

/// `count` events of `writer` for `aggregate`, from sequence `from`.
fn command(aggregate: &str, writer: usize, from: usize, count: usize) -> Vec<SerializedEvent> {
    (0..count)
        .map(|i| {
            SerializedEvent::new(
                aggregate.to_owned(),
                from + i,
                Consent::TYPE.to_owned(),
                format!("Writer{writer}"),
                "1.0".to_owned(),
                json!({ "writer": writer, "part": i }),
                json!({ "occurred_at": "2026-02-02T09:00:00Z" }),
            )
        })
        .collect()
}

/// Every stored event as (aggregate, sequence, event type), grouped by aggregate.
async fn stored(pool: &sqlx::PgPool) -> BTreeMap<String, Vec<(i64, String)>> {
    let rows: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT aggregate_id, sequence, event_type FROM events ORDER BY aggregate_id, sequence")
            .fetch_all(pool)
            .await
            .expect("read events");
    let mut by_aggregate: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for (aggregate, sequence, event_type) in rows {
        by_aggregate.entry(aggregate).or_default().push((sequence, event_type));
    }
    by_aggregate
}

/// Runs one round: on every aggregate, `WRITERS` writers race to append commands of 1 to 3 events from
/// `from(aggregate)`. Returns the winners' commands, keyed by aggregate.
async fn race(
    repository: &GroupCommitRepository,
    aggregates: &[String],
    from: impl Fn(&str) -> usize,
) -> BTreeMap<String, Vec<SerializedEvent>> {
    let mut tasks = Vec::new();
    for aggregate in aggregates {
        for writer in 0..WRITERS {
            let events = command(aggregate, writer, from(aggregate), 1 + (writer % 3));
            let repository = repository.clone();
            tasks.push(tokio::spawn(async move {
                let outcome = repository.persist::<Consent>(&events, None).await;
                (events, outcome)
            }));
        }
    }
    let mut winners = BTreeMap::new();
    for task in tasks {
        let (events, outcome) = task.await.expect("writer task");
        match outcome {
            Ok(()) => {
                let aggregate = events[0].aggregate_id.clone();
                assert!(
                    winners.insert(aggregate.clone(), events).is_none(),
                    "two writers won {aggregate}"
                );
            }
            Err(PersistenceError::OptimisticLockError) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    winners
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_commands_of_several_events_are_stored_all_or_none() {
    let db = TestDb::create(Backend::Postgres).await;
    let (repository, pool) = repository(&db).await;
    let aggregates: Vec<String> = (0..AGGREGATES).map(|_| uuid::Uuid::new_v4().to_string()).collect();

    let first = race(&repository, &aggregates, |_| 1).await;
    assert_eq!(first.len(), AGGREGATES, "every aggregate has exactly one winner");
    let lengths: BTreeMap<String, usize> = first.iter().map(|(id, events)| (id.clone(), events.len())).collect();
    let second = race(&repository, &aggregates, |id| lengths[id] + 1).await;
    assert_eq!(second.len(), AGGREGATES);

    let stored = stored(&pool).await;
    for aggregate in &aggregates {
        let expected: Vec<(i64, String)> = first[aggregate]
            .iter()
            .chain(&second[aggregate])
            .map(|e| (e.sequence as i64, e.event_type.clone()))
            .collect();
        assert_eq!(
            stored[aggregate], expected,
            "{aggregate}: the winners' events, nothing of the losers"
        );
    }

    // Loads that wait together each get their own aggregate's events, in sequence order.
    let loads: Vec<_> = aggregates
        .iter()
        .cloned()
        .chain(std::iter::once("never-written".to_owned()))
        .map(|aggregate| {
            let repository = repository.clone();
            tokio::spawn(async move {
                let events = repository.get_events::<Consent>(&aggregate).await.expect("load");
                (aggregate, events)
            })
        })
        .collect();
    for load in loads {
        let (aggregate, events) = load.await.expect("load task");
        let loaded: Vec<(i64, String)> = events
            .iter()
            .map(|e| (e.sequence as i64, e.event_type.clone()))
            .collect();
        let expected = stored.get(&aggregate).cloned().unwrap_or_default();
        assert_eq!(loaded, expected, "{aggregate}");
        assert!(events.iter().all(|e| e.aggregate_id == aggregate));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_command_with_no_events_stores_nothing() {
    let db = TestDb::create(Backend::Postgres).await;
    let (repository, pool) = repository(&db).await;
    repository
        .persist::<Consent>(&[], None)
        .await
        .expect("nothing to store");
    assert!(stored(&pool).await.is_empty());
}
