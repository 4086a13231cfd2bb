//! The projection runner on both stores: after a random interleaving of commands every read model equals a
//! fresh rebuild; a runner killed mid-batch or failing on an event resumes to the same tables; two runners
//! started at once never both apply a batch; readers see the old tables until a rebuild commits; a rebuild stops
//! neither commands nor the other live projections; on PostgreSQL, notifications wake the live runner, and a
//! rebuild's new tables keep the old ones' indexes, views and grants, or the old ones stay when it fails.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use consentry::{ConsentInput, Engine, RequestContext};
use consentry_domain::consent::{ConsentAccess, ConsentCommand, ExpiryCause, RevokedBy};
use consentry_domain::payment::{BankPayment, PaymentCommand, TransactionStatus};
use consentry_domain::sca::ScaLinks;
use consentry_domain::{TenantId, UserId};
use consentry_projections::{Projection, ProjectionRunner};
use consentry_store::Database;
use consentry_tests::{consent_input, dump_read_models, on_both_stores, payment_input, settle, Backend, Rng, TestDb};

/// Every read-model table as sorted text rows, for comparing two states of the read side.
async fn dump(store: &Database) -> Vec<String> {
    dump_read_models(store, &Projection::ALL).await
}

async fn execute(store: &Database, sql: &str) {
    match store {
        Database::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
        Database::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
    }
    .expect("statement");
}

fn store_of(engine: &Engine) -> Database {
    engine.database().clone()
}

/// Runs `tasks` concurrent clients, each creating a consent and a payment and then pushing them through
/// random commands (some refused by the aggregates, which is part of the mix).
async fn random_commands(engine: Arc<Engine>, seed: u64, tasks: usize, steps: usize) {
    let tenant = TenantId::new();
    let mut handles = Vec::new();
    for task in 0..tasks {
        let engine = engine.clone();
        handles.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(task as u64 + 1));
            let user = UserId::new();
            let ctx = RequestContext::user(tenant, user);
            let system = RequestContext::system(tenant, Some(user));
            let consent = engine
                .request_consent(
                    &ctx,
                    ConsentInput {
                        bank: ["swedbank", "seb", "luminor"][rng.below(3) as usize].into(),
                        access: ConsentAccess::AllPsd2,
                        recurring_indicator: true,
                        valid_until: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
                        frequency_per_day: 4,
                        renewal_of: None,
                    },
                )
                .await
                .expect("consent");
            let payment = engine
                .request_payment(
                    &ctx,
                    payment_input("swedbank", &format!("{}.{:02}", 1 + rng.below(500), rng.below(100))),
                )
                .await
                .expect("payment");
            for _ in 0..steps {
                let outcome = match rng.below(9) {
                    0 => {
                        let sca = ScaLinks {
                            redirect_url: Some(format!("https://bank.invalid/sca/{consent}")),
                            ..ScaLinks::default()
                        };
                        let command = ConsentCommand::RecordBankConsent {
                            bank_consent_id: format!("bank-{consent}"),
                            sca,
                        };
                        engine.execute_consent(&system, consent, command).await
                    }
                    1 => {
                        engine
                            .execute_consent(&system, consent, ConsentCommand::Authorise)
                            .await
                    }
                    2 => {
                        let command = ConsentCommand::CountUnattendedAccess {
                            resources: vec!["accounts".into()],
                        };
                        engine.execute_consent(&system, consent, command).await
                    }
                    3 if rng.below(4) == 0 => {
                        let command = ConsentCommand::Revoke { by: RevokedBy::Psu };
                        engine.execute_consent(&ctx, consent, command).await
                    }
                    4 if rng.below(6) == 0 => {
                        let command = ConsentCommand::Expire {
                            cause: ExpiryCause::BankReportedExpired,
                        };
                        engine.execute_consent(&system, consent, command).await
                    }
                    5 => {
                        engine
                            .execute_payment(&system, payment, PaymentCommand::StartInitiationAttempt)
                            .await
                    }
                    6 => {
                        let bank = BankPayment {
                            bank_payment_id: format!("pmt-{payment}"),
                            status: TransactionStatus::Rcvd,
                            sca: ScaLinks::default(),
                        };
                        engine
                            .execute_payment(&system, payment, PaymentCommand::RecordBankPayment(bank))
                            .await
                    }
                    7 => {
                        let status = [
                            TransactionStatus::Actc,
                            TransactionStatus::Acsp,
                            TransactionStatus::Acsc,
                        ][rng.below(3) as usize];
                        engine
                            .execute_payment(&system, payment, PaymentCommand::ObserveStatus(status))
                            .await
                    }
                    _ => {
                        let command = PaymentCommand::RecordUnknownOutcome {
                            reason: "timeout".into(),
                            bank_payment_id: None,
                        };
                        engine.execute_payment(&system, payment, command).await
                    }
                };
                // Refusals are expected (a random command is often not allowed in the current state).
                drop(outcome);
            }
        }));
    }
    for handle in handles {
        handle.await.expect("client task");
    }
}

/// Applies whatever is left, then checks the live tables against a rebuild from the first event.
async fn assert_equals_rebuild(engine: &Engine) {
    let store = store_of(engine);
    settle(engine).await;
    let live = dump(&store).await;
    assert!(live.iter().any(|r| r.starts_with("payment_status_changes")) || live.len() > 1);
    let total = engine
        .feed()
        .count_after(consentry_projections::FeedPosition::START)
        .await
        .expect("count");
    let replayed = engine.rebuild_projections(Vec::new(), |_| {}).await.expect("rebuild");
    assert_eq!(replayed as i64, total);
    assert_eq!(dump(&store).await, live, "live read models differ from a rebuild");
    for status in engine.projection_status().await.expect("status") {
        assert_eq!(status.lag, 0, "{} lags", status.projection);
        assert_eq!(status.events_applied, total, "{} applied count", status.projection);
    }
}

async fn live_runner_matches_rebuild(store: TestDb, seed: u64) {
    let engine = Arc::new(store.engine_at_start().await.0);
    let runner = engine.start_projections();
    random_commands(engine.clone(), seed, 8, 25).await;
    // Give the live runner a moment to follow, so most events went through it rather than the final catch-up.
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop(runner);
    assert_equals_rebuild(&engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_live_projections_equal_a_rebuild() {
    live_runner_matches_rebuild(TestDb::create(Backend::Postgres).await, 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_live_projections_equal_a_rebuild() {
    live_runner_matches_rebuild(TestDb::create(Backend::Sqlite).await, 11).await;
}

async fn killed_and_failing_runner_resumes(store: TestDb) {
    let engine = Arc::new(store.engine_at_start().await.0);
    let db = store_of(&engine);
    random_commands(engine.clone(), 3, 6, 20).await;

    // Kill runners at random moments, mid-batch, several times over (batches of 3 keep many in flight).
    for delay in [1, 3, 7, 15] {
        let handle = ProjectionRunner::new(db.clone()).with_batch_size(3).start();
        tokio::time::sleep(Duration::from_millis(delay)).await;
        drop(handle);
    }

    // An event that no longer decodes stops its projection, visibly, without being skipped.
    let insert = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
                  metadata) VALUES ('Consent', '00000000-0000-4000-8000-00000000b0e1', 1, 'ConsentBogus', '1.0', '{\"consentBogus\":{}}', '{}')";
    execute(&db, insert).await;
    let runner = ProjectionRunner::new(db.clone());
    // The killed runners' transactions may still be rolling back and hold the feed's horizon for a moment.
    let failure = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Err(error) = runner.catch_up().await {
                return error;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let failure = failure.expect("the broken event must stop the runner");
    assert!(failure.to_string().contains("ConsentBogus"), "{failure}");
    let statuses = runner.status().await.expect("status");
    let consents = statuses
        .iter()
        .find(|s| s.projection == "consents")
        .expect("consents status");
    assert!(consents.failures >= 1, "{statuses:?}");
    assert!(consents
        .last_error
        .as_deref()
        .unwrap_or_default()
        .contains("ConsentBogus"));
    assert!(consents.lag >= 1, "the broken event is still ahead of the checkpoint");

    // Repaired (here: replaced by a valid event), the runner goes on from where it stopped.
    let repair = "UPDATE events SET event_type = 'ConsentRevokedByPsu', payload = '\"consentRevokedByPsu\"', \
                  metadata = '{\"occurred_at\":\"2026-01-05T08:00:00Z\"}' WHERE aggregate_id = '00000000-0000-4000-8000-00000000b0e1'";
    execute(&db, repair).await;
    assert_equals_rebuild(&engine).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_killed_or_failing_runner_resumes_to_the_same_tables() {
    killed_and_failing_runner_resumes(TestDb::create(Backend::Postgres).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_killed_or_failing_runner_resumes_to_the_same_tables() {
    killed_and_failing_runner_resumes(TestDb::create(Backend::Sqlite).await).await;
}

async fn two_runners_never_apply_a_batch_twice(store: TestDb) {
    let first = Arc::new(store.engine_at_start().await.0);
    // A second engine instance: its own pool on the same database.
    let second = store.engine_at_start().await.0;
    random_commands(first.clone(), 5, 8, 20).await;
    let a = ProjectionRunner::new(store_of(&first)).with_batch_size(5);
    let b = ProjectionRunner::new(store_of(&second)).with_batch_size(5);
    let (applied_a, applied_b) = tokio::join!(a.catch_up(), b.catch_up());
    let applied = applied_a.expect("runner a") + applied_b.expect("runner b");
    let total = first
        .feed()
        .count_after(consentry_projections::FeedPosition::START)
        .await
        .expect("count");
    assert_eq!(
        applied as i64,
        total * Projection::ALL.len() as i64,
        "each event applied once per projection, by one runner or the other"
    );
    assert_equals_rebuild(&first).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_runners_never_both_apply_a_batch() {
    two_runners_never_apply_a_batch_twice(TestDb::create(Backend::Postgres).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_two_runners_never_both_apply_a_batch() {
    two_runners_never_apply_a_batch_twice(TestDb::create(Backend::Sqlite).await).await;
}

/// On PostgreSQL the live runner follows the log by LISTEN/NOTIFY: with its poll set to an hour, only the
/// events table's notifications can wake it. Each round issues one more consent and looks for all of them; a
/// round can miss its own consent when the woken batch ran while an older transaction still held the feed's
/// horizon, and the next round's notification picks it up. (The timeout only guards against a hang.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_notifications_wake_the_live_runner() {
    let db = TestDb::create(Backend::Postgres).await;
    let engine = db.engine_at_start().await.0;
    let Database::Postgres(pool) = store_of(&engine) else {
        unreachable!("a PostgreSQL test database")
    };
    let _runner = engine
        .projection_runner()
        .with_poll_interval(Duration::from_secs(3600))
        .start();
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let mut issued = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let consent = engine
                .request_consent(
                    &ctx,
                    consent_input("swedbank", NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()),
                )
                .await
                .expect("consent");
            issued.push(consent.to_string());
            tokio::time::sleep(Duration::from_millis(200)).await;
            let (projected,): (i64,) = sqlx::query_as("SELECT count(*) FROM consents WHERE consent_id::text = ANY($1)")
                .bind(&issued)
                .fetch_one(&pool)
                .await
                .expect("count");
            if issued.len() >= 3 && projected == issued.len() as i64 {
                return;
            }
        }
    })
    .await
    .expect("notifications keep the consents read model following the log");
}

/// Halfway through a rebuild (its first batch written, its transaction open), another connection still reads
/// the whole of the old tables; after the commit it reads the rebuilt ones. The rebuild is held at its first
/// progress report until the reader has looked.
async fn readers_see_the_old_tables_until_the_rebuild_commits(store: TestDb) {
    let engine = Arc::new(store.engine_at_start().await.0);
    random_commands(engine.clone(), 13, 4, 10).await;
    settle(&engine).await;
    let db = store_of(&engine);
    let before = dump(&db).await;
    let total = engine
        .feed()
        .count_after(consentry_projections::FeedPosition::START)
        .await
        .expect("count") as u64;

    let (reached, first_batch) = std::sync::mpsc::channel();
    let (resume, resumed) = std::sync::mpsc::channel::<()>();
    let runner = ProjectionRunner::new(db.clone()).with_rebuild_batch_size(7);
    let rebuild = tokio::spawn(async move {
        let mut held = false;
        runner
            .rebuild(move |progress| {
                if !held {
                    held = true;
                    reached.send(progress.events_done).expect("the test waits");
                    // Off the runtime's worker, whose other tasks move to another thread meanwhile.
                    tokio::task::block_in_place(|| resumed.recv()).expect("the test resumes the rebuild");
                }
            })
            .await
    });
    let done = tokio::task::spawn_blocking(move || first_batch.recv())
        .await
        .expect("waiting task")
        .expect("a first batch");
    assert!(done < total, "held mid-way: {done} of {total} events");
    assert_eq!(
        dump(&db).await,
        before,
        "a reader mid-rebuild sees the old tables, whole"
    );
    resume.send(()).expect("the rebuild waits");
    let replayed = rebuild.await.expect("rebuild task").expect("rebuild");
    assert_eq!(replayed, total);
    assert_eq!(dump(&db).await, before, "the rebuilt tables equal the live ones");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_readers_see_the_old_tables_until_the_rebuild_commits() {
    readers_see_the_old_tables_until_the_rebuild_commits(TestDb::create(Backend::Postgres).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_readers_see_the_old_tables_until_the_rebuild_commits() {
    readers_see_the_old_tables_until_the_rebuild_commits(TestDb::create(Backend::Sqlite).await).await;
}

/// A rebuild stops nothing else. Held half-way through rebuilding `payments` (its first batch written, its
/// transaction or shadow tables open), the engine still takes commands, and a live runner of every projection
/// applies their events to `consents` while the rebuild is open. That runner also runs `payments`, which must
/// neither lose nor repeat a batch across the rebuild: once it completes, every read model equals a fresh
/// rebuild.
async fn a_live_projection_advances_during_another_rebuild(store: Backend) {
    let db = TestDb::create(store).await;
    let engine = Arc::new(db.engine_at_start().await.0);
    random_commands(engine.clone(), 19, 4, 10).await;
    settle(&engine).await;
    let total = engine
        .feed()
        .count_after(consentry_projections::FeedPosition::START)
        .await
        .expect("count") as u64;

    let (reached, first_batch) = std::sync::mpsc::channel();
    let (resume, resumed) = std::sync::mpsc::channel::<()>();
    let runner = engine
        .projection_runner()
        .with_projections(vec![Projection::PAYMENTS])
        .with_rebuild_batch_size(7);
    let rebuild = tokio::spawn(async move {
        let mut held = false;
        runner
            .rebuild(move |progress| {
                if !held {
                    held = true;
                    reached.send(progress.events_done).expect("the test waits");
                    tokio::task::block_in_place(|| resumed.recv()).expect("the test resumes the rebuild");
                }
            })
            .await
    });
    let done = tokio::task::spawn_blocking(move || first_batch.recv())
        .await
        .expect("waiting task")
        .expect("a first batch");
    assert!(done < total, "held mid-way: {done} of {total} events");

    let live = engine
        .projection_runner()
        .with_poll_interval(Duration::from_millis(20))
        .start();
    let (tenant, user) = (TenantId::new(), UserId::new());
    let ctx = RequestContext::user(tenant, user);
    let advanced = tokio::time::timeout(Duration::from_secs(15), async {
        let consent = engine
            .request_consent(&ctx, consent_input("seb", NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()))
            .await
            .expect("a command during the rebuild");
        engine
            .request_payment(&ctx, payment_input("seb", "12.34"))
            .await
            .expect("a payment during the rebuild");
        loop {
            let consents = engine.consents(tenant, user).await.expect("consents");
            if consents.iter().any(|c| c.consent == consent) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    resume.send(()).expect("the rebuild waits");
    assert!(
        advanced.is_ok(),
        "the consents projection applies new events while payments is being rebuilt"
    );
    let replayed = rebuild.await.expect("rebuild task").expect("rebuild");
    assert!(replayed >= total, "{replayed} of {total} events replayed");
    drop(live);
    assert_equals_rebuild(&engine).await;
}

/// What a rebuild on PostgreSQL must carry over when it puts its shadow tables in the live ones' place: every
/// index and constraint of the schema's tables, the views over them, the grants on both, the tables' triggers
/// (`due_work` wakes the scheduler with one); and it must leave no shadow behind.
async fn postgres_catalog(pool: &sqlx::PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT kind || ' ' || name || ': ' || definition FROM ( \
           SELECT 'index' AS kind, indexname AS name, indexdef AS definition FROM pg_indexes \
           WHERE schemaname = 'public' \
           UNION ALL SELECT 'view', viewname, definition FROM pg_views WHERE schemaname = 'public' \
           UNION ALL SELECT 'grants on', c.relname, coalesce(c.relacl::text, 'none') \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v') \
           UNION ALL SELECT 'trigger', t.tgname, pg_get_triggerdef(t.oid) \
           FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname = 'public' AND NOT t.tgisinternal \
           UNION ALL SELECT 'shadow', c.relname, 'left behind' \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'consentry_rebuild' \
         ) catalog ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("catalog")
}

/// A rebuild on PostgreSQL swaps new tables in: they have the old ones' indexes, views and grants. One that fails
/// half-way (an event it cannot decode) leaves the live tables as they were, and no shadow table.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_rebuild_keeps_indexes_views_and_grants_and_a_failed_one_keeps_the_tables() {
    let db = TestDb::create(Backend::Postgres).await;
    let engine = Arc::new(db.engine_at_start().await.0);
    random_commands(engine.clone(), 23, 4, 10).await;
    settle(&engine).await;
    let store = store_of(&engine);
    let Database::Postgres(pool) = &store else {
        unreachable!("a PostgreSQL test database")
    };
    execute(
        &store,
        "GRANT SELECT ON consents, payment_status_changes TO PUBLIC; GRANT SELECT ON consent_overview TO PUBLIC",
    )
    .await;
    let catalog = postgres_catalog(pool).await;
    for expected in [
        "index consents_by_expiry",
        "index payment_status_changes_pkey",
        "view consent_overview",
        "grants on consent_overview: {",
    ] {
        assert!(
            catalog.iter().any(|c| c.starts_with(expected)),
            "{expected}: {catalog:#?}"
        );
    }
    let tables = dump(&store).await;
    engine.rebuild_projections(Vec::new(), |_| {}).await.expect("rebuild");
    assert_eq!(postgres_catalog(pool).await, catalog, "the rebuilt tables' catalog");
    assert_eq!(dump(&store).await, tables, "the rebuilt tables' rows");

    let insert = "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
                  metadata) VALUES ('Payment', '00000000-0000-4000-8000-00000000b0e2', 1, 'PaymentBogus', '1.0', \
                  '{\"paymentBogus\":{}}', '{\"occurred_at\":\"2026-01-05T08:00:00Z\"}')";
    execute(&store, insert).await;
    // The feed reads up to its horizon, which other tests' transactions on the same server may hold back for a
    // moment (a snapshot's xmin is the whole server's): until the event is past it, a rebuild does not see it
    // and rewrites the same tables.
    let mut attempts = 0;
    let failed = loop {
        match engine.rebuild_projections(Vec::new(), |_| {}).await {
            Err(failed) => break failed,
            Ok(_) if attempts < 100 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Ok(events) => panic!("an undecodable event fails the rebuild; {events} events rebuilt"),
        }
    };
    assert!(failed.to_string().contains("PaymentBogus"), "{failed}");
    assert_eq!(
        postgres_catalog(pool).await,
        catalog,
        "the catalog after a failed rebuild"
    );
    assert_eq!(dump(&store).await, tables, "the live tables after a failed rebuild");
}

on_both_stores!(
    live_projection_during_a_rebuild,
    a_live_projection_advances_during_another_rebuild
);
