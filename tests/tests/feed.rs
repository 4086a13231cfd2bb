//! The ordered event feed: with 16 concurrent writers and a reader running alongside, the reader sees every
//! event exactly once and positions only ever grow, on both stores.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::NaiveDate;
use consentry::RequestContext;
use consentry_domain::{TenantId, UserId};
use consentry_projections::FeedPosition;
use consentry_tests::{consent_input, Backend, TestDb};

const WRITERS: usize = 16;

async fn feed_sees_each_event_once_in_order(store: TestDb, per_writer: usize) {
    let engine = Arc::new(store.engine_at_start().await.0);
    let feed = engine.feed();
    let done = Arc::new(AtomicBool::new(false));

    let reader = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut seen = HashSet::new();
            let mut last = FeedPosition::START;
            loop {
                // Read the flag before the batch: once writers are done, one more empty read ends it.
                let finished = done.load(Ordering::SeqCst);
                let batch = feed.read_after(last, 37).await.expect("read feed");
                for event in &batch {
                    let at = event.feed_position();
                    assert!(at > last, "position {at} after {last}");
                    last = at;
                    assert!(
                        seen.insert((event.aggregate_id.clone(), event.sequence)),
                        "event seen twice"
                    );
                }
                if batch.is_empty() {
                    if finished {
                        return (seen, last);
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
    };

    let tenant = TenantId::new();
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let engine = engine.clone();
        writers.push(tokio::spawn(async move {
            let ctx = RequestContext::user(tenant, UserId::new());
            let mut written = HashSet::new();
            for _ in 0..per_writer {
                let id = engine
                    .request_consent(
                        &ctx,
                        consent_input("swedbank", NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()),
                    )
                    .await
                    .expect("request consent");
                written.insert((id.to_string(), 1i64));
            }
            written
        }));
    }
    let mut written = HashSet::new();
    for writer in writers {
        written.extend(writer.await.expect("writer"));
    }
    // On PostgreSQL the last writers' transactions must leave the horizon before the feed shows them; the
    // reader keeps reading until a read after this point comes back empty.
    done.store(true, Ordering::SeqCst);
    let (seen, last) = reader.await.expect("reader");
    assert_eq!(
        engine.feed().head().await.expect("head"),
        last,
        "the reader ended at the head"
    );
    assert_eq!(written.len(), WRITERS * per_writer);
    assert_eq!(seen, written, "the reader saw exactly the events written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_feed_with_concurrent_writers() {
    feed_sees_each_event_once_in_order(TestDb::create(Backend::Postgres).await, 40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_feed_with_concurrent_writers() {
    feed_sees_each_event_once_in_order(TestDb::create(Backend::Sqlite).await, 20).await;
}
