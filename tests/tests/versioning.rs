//! Event versioning: a `PaymentStatusObserved` stored in its 1.0 shape reads in the current shape through the
//! cqrs-es upcasters, both when the aggregate is loaded and when the projections replay it.

use consentry::{PaymentInput, RequestContext};
use consentry_domain::payment::{
    BankPayment, PaymentCommand, PaymentEvent, PaymentProduct, PaymentService, TransactionStatus,
};
use consentry_domain::sca::ScaLinks;
use consentry_domain::{TenantId, UserId};
use consentry_store::Database;
use consentry_tests::{Backend, TestDb};

/// Appends a 1.0 event the way an older Consentry stored it, reusing the metadata of the event before it.
const APPEND_1_0_POSTGRES: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT aggregate_type, aggregate_id, sequence + 1, 'PaymentStatusObserved', '1.0',
       '{\"paymentStatusObserved\":{\"status\":\"ACSC\"}}'::json, metadata
FROM events WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1";
const APPEND_1_0_SQLITE: &str = "
INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
SELECT aggregate_type, aggregate_id, sequence + 1, 'PaymentStatusObserved', '1.0',
       '{\"paymentStatusObserved\":{\"status\":\"ACSC\"}}', metadata
FROM events WHERE aggregate_id = $1 ORDER BY sequence DESC LIMIT 1";

async fn old_events_read_in_the_current_shape(store: TestDb) {
    let engine = store.engine_at_start().await.0;
    let ctx = RequestContext::system(TenantId::new(), Some(UserId::new()));
    let user = RequestContext::user(ctx.tenant, ctx.user.unwrap());
    let payment = engine
        .request_payment(
            &user,
            PaymentInput {
                bank: "swedbank".into(),
                service: PaymentService::Payments,
                product: PaymentProduct::SepaCreditTransfers,
                debtor_iban: "LT12 1000 0111 0100 1000".into(),
                creditor_iban: "LT73 7300 0100 0000 0003".into(),
                creditor_name: "Telia".into(),
                amount: "19.99".into(),
                currency: "EUR".into(),
                remittance_information: None,
            },
        )
        .await
        .unwrap();
    engine
        .execute_payment(&ctx, payment, PaymentCommand::StartInitiationAttempt)
        .await
        .unwrap();
    let bank = BankPayment {
        bank_payment_id: "p-1".into(),
        status: TransactionStatus::Rcvd,
        sca: ScaLinks::default(),
    };
    engine
        .execute_payment(&ctx, payment, PaymentCommand::RecordBankPayment(bank))
        .await
        .unwrap();
    let db = engine.database().clone();
    match &db {
        Database::Postgres(pool) => sqlx::query(APPEND_1_0_POSTGRES)
            .bind(payment.to_string())
            .execute(pool)
            .await
            .map(|_| ()),
        Database::Sqlite(pool) => sqlx::query(APPEND_1_0_SQLITE)
            .bind(payment.to_string())
            .execute(pool)
            .await
            .map(|_| ()),
    }
    .unwrap();

    // The aggregate loads through cqrs-es with the upcasters.
    let history = engine.payment_history(payment).await.unwrap();
    assert_eq!(
        history.last().map(|e| e.event.clone()),
        Some(PaymentEvent::PaymentStatusObserved {
            status: TransactionStatus::Acsc
        })
    );
    assert!(engine.payment(payment).await.unwrap().is_final());

    // The projections read the same event through the feed.
    engine.rebuild_projections(Vec::new(), |_| {}).await.unwrap();
    let status: (String,) = match &db {
        Database::Postgres(pool) => sqlx::query_as("SELECT status FROM payments").fetch_one(pool).await,
        Database::Sqlite(pool) => sqlx::query_as("SELECT status FROM payments").fetch_one(pool).await,
    }
    .unwrap();
    assert_eq!(status.0, "ACSC");

    // The stored event keeps its 1.0 shape: upcasting happens on every read, never by rewriting the log.
    let stored: (String,) = match &db {
        Database::Postgres(pool) => {
            sqlx::query_as("SELECT max(event_version) FROM events WHERE event_type = 'PaymentStatusObserved'")
                .fetch_one(pool)
                .await
        }
        Database::Sqlite(pool) => {
            sqlx::query_as("SELECT max(event_version) FROM events WHERE event_type = 'PaymentStatusObserved'")
                .fetch_one(pool)
                .await
        }
    }
    .unwrap();
    assert_eq!(stored.0, "1.0", "the old event is never rewritten");
}

#[tokio::test]
async fn postgres_old_event_shape_is_upcast() {
    old_events_read_in_the_current_shape(TestDb::create(Backend::Postgres).await).await;
}

#[tokio::test]
async fn sqlite_old_event_shape_is_upcast() {
    old_events_read_in_the_current_shape(TestDb::create(Backend::Sqlite).await).await;
}
