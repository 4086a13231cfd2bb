//! The event store on SQLite and PostgreSQL: concurrent writers never lose or duplicate an event, metadata is
//! stored with every event, bad input stores nothing, and the store survives a restart.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry::{ConsentInput, Engine, EngineError, PaymentInput, RequestContext};
use consentry_domain::consent::{
    Consent, ConsentAccess, ConsentCommand, ConsentError, ConsentEvent, ConsentRequest, ConsentServices,
};
use consentry_domain::sca::ScaLinks;
use consentry_domain::{Actor, BankId, ConsentId, TenantId, UserId};
use consentry_tests::{consent_input, count_events, on_both_stores, payment_input, Backend, TestDb};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 2, 2)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid time")
        .and_utc()
}

async fn received_consent(engine: &Engine, ctx: &RequestContext) -> ConsentId {
    let id = engine
        .request_consent(
            ctx,
            consent_input("swedbank", start().date_naive() + Duration::days(90)),
        )
        .await
        .expect("request");
    let record = ConsentCommand::RecordBankConsent {
        bank_consent_id: "b-1".into(),
        sca: ScaLinks::default(),
    };
    engine.execute_consent(ctx, id, record).await.expect("record");
    id
}

/// 32 writers each count an access to a resource of their own on one consent at once: every one of them is
/// stored exactly once, and the sequence numbers have no gap.
async fn thirty_two_writers_lose_and_duplicate_nothing(store: Backend) {
    let db = TestDb::create(store).await;
    let (engine, _clock) = db.engine(start()).await;
    let engine = Arc::new(engine);
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let id = received_consent(&engine, &ctx).await;
    engine
        .execute_consent(&ctx, id, ConsentCommand::Authorise)
        .await
        .expect("authorise");

    let writers: Vec<_> = (0..32)
        .map(|n| {
            let engine = engine.clone();
            tokio::spawn(async move {
                let command = ConsentCommand::CountUnattendedAccess {
                    resources: vec![format!("accounts/{n}/balances")],
                };
                engine.execute_consent(&ctx, id, command).await
            })
        })
        .collect();
    for writer in writers {
        writer
            .await
            .expect("writer task")
            .expect("every writer succeeds after retrying");
    }

    let history = engine.consent_history(id).await.expect("history");
    let sequences: Vec<usize> = history.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=35).collect::<Vec<_>>());
    let mut resources: Vec<String> = history
        .iter()
        .filter_map(|e| match &e.event {
            ConsentEvent::UnattendedAccessCounted { resources, .. } if resources.len() == 1 => {
                Some(resources[0].clone())
            }
            _ => None,
        })
        .collect();
    resources.sort();
    resources.dedup();
    assert_eq!(resources.len(), 32);
    assert_eq!(count_events(engine.database()).await, 35);
}
on_both_stores!(thirty_two_writers, thirty_two_writers_lose_and_duplicate_nothing);

/// 32 writers authorise one consent at once: one wins, the other 31 see it already valid; one event stored.
async fn thirty_two_racing_authorisations_store_one_event(store: Backend) {
    let db = TestDb::create(store).await;
    let (engine, _clock) = db.engine(start()).await;
    let engine = Arc::new(engine);
    let ctx = RequestContext::system(TenantId::new(), None);
    let user_ctx = RequestContext::user(ctx.tenant, UserId::new());
    let id = received_consent(&engine, &user_ctx).await;

    let writers: Vec<_> = (0..32)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { engine.execute_consent(&ctx, id, ConsentCommand::Authorise).await })
        })
        .collect();
    let mut won = 0;
    for writer in writers {
        match writer.await.expect("writer task") {
            Ok(()) => won += 1,
            Err(EngineError::Consent {
                source: ConsentError::NotAllowed {
                    command: "Authorise", ..
                },
                ..
            }) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(won, 1);
    let authorised = engine
        .consent_history(id)
        .await
        .expect("history")
        .iter()
        .filter(|e| e.event == ConsentEvent::ConsentAuthorised)
        .count();
    assert_eq!(authorised, 1);
}
on_both_stores!(racing_authorisations, thirty_two_racing_authorisations_store_one_event);

/// Every event carries its metadata: time from the clock, tenant, user, actor, correlation and causation.
async fn events_carry_their_metadata(store: Backend) {
    let db = TestDb::create(store).await;
    let (engine, clock) = db.engine(start()).await;
    let (tenant, user) = (TenantId::new(), UserId::new());
    let ctx = RequestContext::user(tenant, user);
    let id = received_consent(&engine, &ctx).await;
    clock.advance(Duration::hours(5));
    let job = RequestContext::job(tenant, Some(user)).caused_by(ctx.correlation_id);
    engine
        .execute_consent(&job, id, ConsentCommand::Authorise)
        .await
        .expect("authorise");

    let history = engine.consent_history(id).await.expect("history");
    assert_eq!(history.len(), 3);
    let first = &history[0].metadata;
    assert_eq!(
        (first.tenant, first.user, first.actor),
        (tenant, Some(user), Actor::User)
    );
    assert_eq!(first.occurred_at, start());
    assert_eq!(first.correlation_id, ctx.correlation_id);
    let last = &history[2].metadata;
    assert_eq!(last.actor, Actor::Job);
    assert_eq!(last.occurred_at, start() + Duration::hours(5));
    assert_eq!(last.causation_id, ctx.correlation_id);
    assert_ne!(last.correlation_id, ctx.correlation_id);
}
on_both_stores!(metadata, events_carry_their_metadata);

/// Each bad input is refused with an error naming its field, and nothing reaches the event log.
async fn bad_input_is_refused_and_stores_nothing(store: Backend) {
    let db = TestDb::create(store).await;
    let (engine, _clock) = db.engine(start()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());

    let payments: Vec<(&str, PaymentInput)> = vec![
        (
            "creditorAccount.iban",
            PaymentInput {
                creditor_iban: "LT00 7300 0100 0000 0003".into(),
                ..payment_input("seb", "42.50")
            },
        ),
        (
            "debtorAccount.iban",
            PaymentInput {
                debtor_iban: "XX12".into(),
                ..payment_input("seb", "42.50")
            },
        ),
        (
            "instructedAmount.currency",
            PaymentInput {
                currency: "EUX".into(),
                ..payment_input("seb", "42.50")
            },
        ),
        (
            "instructedAmount.amount",
            PaymentInput {
                amount: "10.001".into(),
                ..payment_input("seb", "42.50")
            },
        ),
        (
            "instructedAmount.amount",
            PaymentInput {
                amount: "0".into(),
                ..payment_input("seb", "42.50")
            },
        ),
        (
            "instructedAmount.amount",
            PaymentInput {
                amount: "-5.00".into(),
                ..payment_input("seb", "42.50")
            },
        ),
        (
            "creditorName",
            PaymentInput {
                creditor_name: "  ".into(),
                ..payment_input("seb", "42.50")
            },
        ),
        (
            "bankId",
            PaymentInput {
                bank: "Not A Bank".into(),
                ..payment_input("seb", "42.50")
            },
        ),
    ];
    for (field, input) in payments {
        let error = engine
            .request_payment(&ctx, input)
            .await
            .expect_err("bad payment refused");
        let named = match &error {
            EngineError::InvalidInput(e) => e.field.clone(),
            EngineError::Payment {
                source: consentry_domain::payment::PaymentError::InvalidField(e),
                ..
            } => e.field.clone(),
            other => panic!("untyped error for {field}: {other}"),
        };
        assert_eq!(named, field, "{error}");
    }

    let today = start().date_naive();
    let consents = vec![
        ("validUntil", consent_input("swedbank", today - Duration::days(1))),
        (
            "frequencyPerDay",
            ConsentInput {
                frequency_per_day: 0,
                ..consent_input("swedbank", today)
            },
        ),
        (
            "frequencyPerDay",
            ConsentInput {
                frequency_per_day: 5,
                ..consent_input("swedbank", today)
            },
        ),
    ];
    for (field, input) in consents {
        match engine.request_consent(&ctx, input).await {
            Err(EngineError::Consent {
                source: ConsentError::InvalidField(e),
                ..
            }) => {
                assert_eq!(e.field, field, "{e}");
            }
            other => panic!("bad {field} not refused with a typed error: {other:?}"),
        }
    }
    assert_eq!(count_events(engine.database()).await, 0);
}
on_both_stores!(bad_input, bad_input_is_refused_and_stores_nothing);

/// Closing and reopening the store keeps every event, and running the migrations again changes nothing.
async fn events_survive_a_restart(store: Backend) {
    let db = TestDb::create(store).await;
    let (engine, clock) = db.engine(start()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let id = received_consent(&engine, &ctx).await;
    engine.database().close().await;

    let engine = Engine::open(Some(db.url()), clock).await.expect("reopen");
    engine
        .execute_consent(&ctx, id, ConsentCommand::Authorise)
        .await
        .expect("authorise after restart");
    assert_eq!(
        engine.consent(id).await.expect("load").status().map(|s| s.as_str()),
        Some("valid")
    );
    assert_eq!(count_events(engine.database()).await, 3);
}
on_both_stores!(restart, events_survive_a_restart);

/// A command that creates an aggregate is not preceded by a read of it; under an id that already has events
/// its commit conflicts on the first sequence and stores nothing, so the existing history is never overwritten
/// or extended out of order.
async fn creating_a_taken_id_conflicts_and_stores_nothing(store: Backend) {
    let db = TestDb::create(store).await;
    let (engine, _clock) = db.engine(start()).await;
    let database = engine.database();
    let clock: Arc<dyn consentry_domain::Clock> = Arc::new(consentry_adapters::SimulatedClock::starting_at(start()));
    let consents = consentry_adapters::repository::<Consent>(database, ConsentServices { clock: clock.clone() });
    let tenant = TenantId::new();
    let request = |user| {
        ConsentCommand::Request(ConsentRequest {
            tenant,
            user,
            bank: BankId::parse("swedbank").expect("bank"),
            access: ConsentAccess::AllPsd2,
            recurring_indicator: true,
            valid_until: start().date_naive() + Duration::days(90),
            frequency_per_day: 4,
            renewal_of: None,
        })
    };
    let id = ConsentId::new().to_string();
    let (first, second) = (UserId::new(), UserId::new());
    consents
        .create(&id, request(first), HashMap::new())
        .await
        .expect("the first create");
    let taken = consents.create(&id, request(second), HashMap::new()).await;
    assert!(
        matches!(taken, Err(cqrs_es::AggregateError::AggregateConflict)),
        "a create on a taken id is a conflict, got {taken:?}"
    );
    let history = consents.events(&id).await.expect("history");
    assert_eq!(history.len(), 1);
    assert!(matches!(&history[0].payload, ConsentEvent::ConsentRequested(r) if r.user == first));
    assert_eq!(count_events(database).await, 1);
}
on_both_stores!(create_on_taken_id, creating_a_taken_id_conflicts_and_stores_nothing);
