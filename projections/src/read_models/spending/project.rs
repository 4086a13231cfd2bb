//! The `spending` projection: booked transactions, categorised, added to the totals per user, month, category, currency
//! and flow.

use std::collections::BTreeMap;

use consentry_domain::account_data::AccountDataEvent;
use consentry_domain::{TenantId, UserId};
use consentry_store::{Backend, Statement};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::feed::{self, Interest};
use crate::read_models::account_information::{account_data, facts, PlanContext};
use crate::read_models::read_model::{Needs, ReadModel, Shadow};
use crate::read_models::write::Write;
use crate::{FeedEvent, ProjectionError};

/// Totals grow by what the batch booked: integer millionths, so both stores add exactly.
const ADD: Statement = Statement::each(include_str!("sql/add.postgres.sql"), include_str!("sql/add.sqlite.sql"));

/// Millionths per currency unit in `spending.total_micros`.
pub const MICROS: i64 = 1_000_000;

/// Empties the real table at the end of a rebuild on SQLite.
const CLEAR: &[&str] = &[include_str!("sql/clear.sqlite.sql")];

const SHADOWS: &[Shadow] = &[Shadow {
    create: include_str!("sql/shadow.sqlite.sql"),
    key: include_str!("sql/shadow_key.sqlite.sql"),
    copy: include_str!("sql/copy_shadow.sqlite.sql"),
}];

/// Projection `spending`.
pub(crate) struct Spending;

impl ReadModel for Spending {
    fn name(&self) -> &'static str {
        "spending"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["spending"]
    }

    fn clear(&self) -> &'static [&'static str] {
        CLEAR
    }

    fn shadows(&self) -> &'static [Shadow] {
        SHADOWS
    }

    fn interest(&self) -> Interest {
        feed::ACCOUNT_INFORMATION_INTEREST
    }

    fn needs(&self) -> Needs {
        Needs::OwnersAndRules
    }

    fn plan(&self, events: &[FeedEvent], _: Backend, context: &PlanContext) -> Result<Vec<Write>, ProjectionError> {
        plan(events, context)
    }
}

/// (tenant, user, month, category, currency, flow).
type SpendingKey = (TenantId, UserId, String, String, String, &'static str);

#[derive(Debug, Serialize)]
struct SpendingRow {
    tenant_id: TenantId,
    user_id: UserId,
    month: String,
    category: String,
    currency: String,
    flow: &'static str,
    total_micros: i64,
    count: i64,
}

/// An absolute amount in exact millionths of its unit.
pub(in crate::read_models) fn to_micros(amount: Decimal) -> Result<i64, ProjectionError> {
    let scaled = amount.abs() * Decimal::from(MICROS);
    if scaled.fract() != Decimal::ZERO {
        return Err(ProjectionError::AmountPrecision(amount.to_string()));
    }
    scaled
        .to_i64()
        .ok_or_else(|| ProjectionError::AmountPrecision(amount.to_string()))
}

/// Booked transactions only (a pending one is not spent yet), absolute amounts summed within their flow, so
/// income never offsets spending.
pub(in crate::read_models) fn plan(events: &[FeedEvent], context: &PlanContext) -> Result<Vec<Write>, ProjectionError> {
    let mut totals: BTreeMap<SpendingKey, (i64, i64)> = BTreeMap::new();
    for decoded in account_data(events) {
        let (stored, event, at) = decoded?;
        let AccountDataEvent::TransactionsObserved {
            booked, booked_pending, ..
        } = event
        else {
            continue;
        };
        let owner = context.owner(&stored.aggregate_id)?;
        let categoriser = context.categoriser(owner.tenant_id)?;
        let bookings = booked.into_iter().chain(booked_pending.into_iter().map(|b| b.booked));
        for transaction in bookings {
            let description = transaction.description();
            let categorised = categoriser.categorise(&facts(&transaction, &description));
            let day = transaction.date().unwrap_or_else(|| at.date_naive());
            let key = (
                owner.tenant_id,
                owner.user_id,
                day.format("%Y-%m").to_string(),
                categorised.category.to_owned(),
                transaction.amount.currency().code().to_owned(),
                categorised.flow.as_str(),
            );
            let micros = to_micros(transaction.amount.amount())?;
            let entry = totals.entry(key).or_default();
            entry.0 += micros;
            entry.1 += 1;
        }
    }
    let rows: Vec<SpendingRow> = totals
        .into_iter()
        .map(
            |((tenant_id, user_id, month, category, currency, flow), (total_micros, count))| SpendingRow {
                tenant_id,
                user_id,
                month,
                category,
                currency,
                flow,
                total_micros,
                count,
            },
        )
        .collect();
    Ok(Write::json(ADD, &rows)?.into_iter().collect())
}
