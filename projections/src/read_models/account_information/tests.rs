//! The account-information projections planned over one batch with its context: owners, categories, bookings.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use consentry_domain::account_data::{AccountDataEvent, ObservedTransaction, PendingBooking};
use consentry_domain::consent::{ConsentAccess, ConsentEvent, ConsentRequest};
use consentry_domain::{BankId, Money, TenantId, UserId};
use consentry_store::Backend;
use rust_decimal::Decimal;
use serde_json::Value;

use super::PlanContext;
use crate::feed;
use crate::read_models::spending::to_micros;
use crate::read_models::{spending, transactions, Write};
use crate::FeedEvent;

const CONSENT: &str = "0b7c0a3e-6d2b-4c39-9d6c-1f2a3b4c5d6e";

fn stored(aggregate_type: &str, sequence: i64, event_type: &str, payload: String) -> FeedEvent {
    FeedEvent {
        transaction_id: 0,
        position: sequence,
        aggregate_type: aggregate_type.into(),
        aggregate_id: CONSENT.into(),
        sequence,
        event_type: event_type.into(),
        event_version: "1.0".into(),
        payload: Some(payload),
        metadata: Some(format!(r#"{{"occurred_at":"2026-05-{:02}T08:00:00Z"}}"#, sequence + 1)),
        decoded: Default::default(),
    }
}

fn transaction(id: &str, amount: &str, day: u32, name: &str) -> ObservedTransaction {
    ObservedTransaction {
        id: id.into(),
        entry_reference: None,
        booking_date: NaiveDate::from_ymd_opt(2026, 5, day),
        value_date: NaiveDate::from_ymd_opt(2026, 5, day),
        amount: Money::parse("amount", amount, "EUR").expect("amount"),
        counterparty_name: Some(name.into()),
        counterparty_iban: None,
        remittance_information: None,
        bank_transaction_code: None,
    }
}

fn observed(sequence: i64, event: AccountDataEvent) -> FeedEvent {
    let event_type = match event {
        AccountDataEvent::TransactionsObserved { .. } => "TransactionsObserved",
        _ => "Other",
    };
    let payload = serde_json::to_string(&event).expect("payload");
    stored(feed::ACCOUNT_DATA, sequence, event_type, payload)
}

fn report(
    booked: Vec<ObservedTransaction>,
    pending: Vec<ObservedTransaction>,
    booked_pending: Vec<PendingBooking>,
    vanished: Vec<String>,
) -> AccountDataEvent {
    AccountDataEvent::TransactionsObserved {
        account: "acc-1".into(),
        date_from: NaiveDate::from_ymd_opt(2026, 5, 1).expect("date"),
        date_to: NaiveDate::from_ymd_opt(2026, 5, 31).expect("date"),
        booked,
        pending,
        booked_pending,
        vanished,
    }
}

/// A consent, a pending card payment booked later under a new id, a pending hold that vanishes, and a
/// salary: all in one batch.
fn batch() -> (Vec<FeedEvent>, PlanContext) {
    let request = ConsentEvent::ConsentRequested(ConsentRequest {
        tenant: TenantId::new(),
        user: UserId::new(),
        bank: BankId::parse("seb").expect("bank"),
        access: ConsentAccess::AllPsd2,
        recurring_indicator: true,
        valid_until: NaiveDate::from_ymd_opt(2026, 8, 1).expect("date"),
        frequency_per_day: 4,
        renewal_of: None,
    });
    let events = vec![
        stored(
            feed::CONSENT,
            0,
            "ConsentRequested",
            serde_json::to_string(&request).expect("payload"),
        ),
        observed(
            1,
            report(
                vec![transaction("salary", "2500.00", 2, "Employer salary")],
                vec![
                    transaction("p-1", "-12.30", 3, "Maxima"),
                    transaction("p-2", "-40.00", 3, "Hotel hold"),
                ],
                Vec::new(),
                Vec::new(),
            ),
        ),
        observed(
            2,
            report(
                Vec::new(),
                Vec::new(),
                vec![PendingBooking {
                    pending_id: "p-1".into(),
                    booked: transaction("b-1", "-12.30", 4, "Maxima"),
                }],
                vec!["p-2".into()],
            ),
        ),
    ];
    let mut context = PlanContext::default();
    let missing = context.absorb(&events).expect("absorb");
    assert!(missing.is_empty(), "the batch itself names the owner");
    let tenants = context.tenants_to_load(&events);
    context.add_rules(&tenants, Vec::new());
    (events, context)
}

fn rows(write: &Write) -> Vec<Value> {
    match write {
        Write::Json { rows, .. } => serde_json::from_str(rows).expect("rows"),
        _ => panic!("JSON rows expected"),
    }
}

fn sql(write: &Write) -> &str {
    match write {
        Write::Json { statement, .. } | Write::Run(statement) => statement.sql(Backend::Postgres),
        Write::Columns { sql, .. } | Write::Copy { sql, .. } => sql,
    }
}

/// The writes that carry rows (a merge's staging, creation and emptying carry none).
fn with_rows(writes: &[Write]) -> Vec<&Write> {
    writes.iter().filter(|w| matches!(w, Write::Json { .. })).collect()
}

#[test]
fn a_booking_replaces_its_pending_row_and_a_vanished_one_is_kept() {
    let (events, context) = batch();
    // The batch's ConsentRequested names the owner, recorded once per batch by the runner.
    let owners = context
        .owner_write(Backend::Sqlite)
        .expect("owners")
        .expect("an owner row");
    assert_eq!(rows(&owners).len(), 1);
    let writes = transactions::plan(&events, &context).expect("plan");
    // The hold vanishes in the batch that saw it pending, so its row is written as vanished at once.
    let [deleted, upserted] = with_rows(&writes)[..] else {
        panic!("deletes and upserts expected, got {} writes", writes.len());
    };
    assert!(sql(deleted).contains("DELETE"));
    assert!(sql(upserted).contains("incoming_transactions"));
    let merged = writes.iter().map(sql).filter(|s| s.contains("ON CONFLICT"));
    assert_eq!(merged.count(), 1, "the staged rows are merged once");
    assert_eq!(rows(deleted)[0]["transaction_id"], "p-1");
    let upserted = rows(upserted);
    let status: BTreeMap<&str, &str> = upserted
        .iter()
        .filter_map(|r| Some((r["transaction_id"].as_str()?, r["status"].as_str()?)))
        .collect();
    assert_eq!(
        status,
        BTreeMap::from([("b-1", "booked"), ("p-2", "vanished"), ("salary", "booked")])
    );
    let maxima = upserted.iter().find(|r| r["transaction_id"] == "b-1").expect("b-1");
    assert_eq!(
        (&maxima["category"], &maxima["flow"]),
        (&"groceries".into(), &"spending".into())
    );

    // Seen in a later batch, the vanishing marks the stored row.
    let later = transactions::plan(&events[2..], &context).expect("plan");
    let vanished = later.last().expect("vanished write");
    assert!(sql(vanished).contains("'vanished'"));
    assert_eq!(rows(vanished)[0]["transaction_id"], "p-2");
}

#[test]
fn spending_counts_bookings_only_and_keeps_income_apart() {
    let (events, context) = batch();
    let writes = spending::plan(&events, &context).expect("plan");
    let [totals] = writes.as_slice() else {
        panic!("totals expected, got {} writes", writes.len());
    };
    let totals: BTreeMap<(String, String), (i64, i64)> = rows(totals)
        .iter()
        .map(|r| {
            (
                (
                    r["category"].as_str().unwrap_or_default().to_owned(),
                    r["flow"].as_str().unwrap_or_default().to_owned(),
                ),
                (
                    r["total_micros"].as_i64().unwrap_or_default(),
                    r["count"].as_i64().unwrap_or_default(),
                ),
            )
        })
        .collect();
    assert_eq!(
        totals,
        BTreeMap::from([
            (("groceries".into(), "spending".into()), (12_300_000, 1)),
            (("salary".into(), "income".into()), (2_500_000_000, 1)),
        ])
    );
}

#[test]
fn an_amount_beyond_a_millionth_is_refused() {
    assert_eq!(to_micros(Decimal::new(-1230, 2)).ok(), Some(12_300_000));
    assert!(to_micros(Decimal::new(1, 7)).is_err());
}
