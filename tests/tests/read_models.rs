//! The account-information read models after syncs against the sandbox, on both stores: they equal a fresh
//! rebuild; a pending transaction booked under a new id leaves one row; spending per month and category equals
//! a direct sum over the AccountData events; a tenant's new rule re-categorises history on replay; another
//! tenant reads nothing; a database from before the account-information read models upgrades to the same
//! tables.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry::account_information::TransactionCursor;
use consentry::{Engine, EngineError, RequestContext};
use consentry_domain::account_data::AccountDataEvent;
use consentry_domain::bank::{BalanceType, PsuContext};
use consentry_domain::{Clock, ConsentId, TenantId, UserId};
use consentry_projections::categorise::{default_rules, Categoriser, Condition, Flow, Rule, TransactionFacts};
use consentry_projections::feed::DomainEvent;
use consentry_projections::{FeedPosition, Projection};
use consentry_sandbox::SandboxConfig;
use consentry_store::Database;
use consentry_tests::{dump_read_models, on_both_stores, settle, Backend, World};
use rust_decimal::Decimal;

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 5, 4)
        .and_then(|d| d.and_hms_opt(0, 30, 0))
        .expect("valid time")
        .and_utc()
}

fn read_store(engine: &Engine) -> Database {
    engine.database().clone()
}

/// The account-information tables as sorted text rows.
async fn dump(store: &Database) -> Vec<String> {
    dump_read_models(
        store,
        &[Projection::ACCOUNTS, Projection::TRANSACTIONS, Projection::SPENDING],
    )
    .await
}

type SpendingKey = (String, String, String, String);

/// Spending straight from the AccountData events of `consents`: booked transactions (and pending ones booked
/// later), absolute amounts, per (month, category, currency, flow).
async fn direct_spending(
    engine: &Engine,
    consents: &[ConsentId],
    rules: Vec<Rule>,
) -> BTreeMap<SpendingKey, (Decimal, i64)> {
    let categoriser = Categoriser::new(rules).expect("rules");
    let consents: BTreeSet<String> = consents.iter().map(ToString::to_string).collect();
    let events = engine
        .feed()
        .read_after(FeedPosition::START, 1_000_000)
        .await
        .expect("feed");
    let mut totals: BTreeMap<SpendingKey, (Decimal, i64)> = BTreeMap::new();
    for stored in events.iter().filter(|e| consents.contains(&e.aggregate_id)) {
        let DomainEvent::AccountData(AccountDataEvent::TransactionsObserved {
            booked, booked_pending, ..
        }) = stored.decode().expect("decode")
        else {
            continue;
        };
        for transaction in booked.into_iter().chain(booked_pending.into_iter().map(|b| b.booked)) {
            let description = transaction.description();
            let facts = TransactionFacts {
                description: &description,
                counterparty_iban: transaction.counterparty_iban.as_deref(),
                bank_transaction_code: transaction.bank_transaction_code.as_deref(),
                amount: transaction.amount.amount(),
            };
            let categorised = categoriser.categorise(&facts);
            let flow = match categorised.flow {
                Flow::Spending => "spending",
                Flow::Income => "income",
            };
            let month = transaction.date().expect("booked date").format("%Y-%m").to_string();
            let key = (
                month,
                categorised.category.to_owned(),
                transaction.amount.currency().code().to_owned(),
                flow.to_owned(),
            );
            let entry = totals.entry(key).or_default();
            entry.0 += transaction.amount.amount().abs();
            entry.1 += 1;
        }
    }
    totals
}

/// Spending from the read model, for every month in `months`.
async fn read_spending(
    engine: &Engine,
    tenant: TenantId,
    user: UserId,
    months: &BTreeSet<String>,
) -> BTreeMap<SpendingKey, (Decimal, i64)> {
    let mut totals = BTreeMap::new();
    for month in months {
        for line in engine.spending(tenant, user, month).await.expect("spending") {
            let key = (
                month.clone(),
                line.category,
                line.total.currency().code().to_owned(),
                line.flow.to_string(),
            );
            totals.insert(key, (line.total.amount(), line.count));
        }
    }
    totals
}

async fn read_models_follow_account_data(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let (tenant, user) = (TenantId::new(), UserId::new());
    let ctx = RequestContext::user(tenant, user);
    let job = RequestContext::job(tenant, Some(user));
    let consents = vec![
        world.valid_consent(&ctx, "swedbank").await,
        world.valid_consent(&ctx, "seb").await,
    ];
    // A day of syncs for two weeks: pending transactions get booked (some under new ids), some vanish, and
    // every sync re-fetches an overlap of already known transactions.
    for _day in 0..14 {
        for &consent in &consents {
            world
                .engine
                .sync_consent(&job, consent, &PsuContext::absent())
                .await
                .expect("sync");
        }
        world.clock.advance(Duration::days(1));
    }
    // Another tenant's user at another bank, with data of its own.
    let (other, other_user) = (TenantId::new(), UserId::new());
    let other_ctx = RequestContext::user(other, other_user);
    let other_consent = world.valid_consent(&other_ctx, "luminor").await;
    world
        .engine
        .sync_consent(&other_ctx, other_consent, &PsuContext::present("192.0.2.10"))
        .await
        .expect("sync");
    settle(&world.engine).await;
    let engine = &world.engine;
    let mut matched = 0;
    for &consent in &consents {
        matched += engine.pending_bookings(consent).await.expect("pending bookings");
    }
    assert!(matched > 0, "the sandbox books some pending transactions under new ids");

    // Accounts and balances.
    let accounts = engine.accounts(tenant, user).await.expect("accounts");
    let mut expected_accounts = 0;
    for &consent in &consents {
        expected_accounts += engine.account_data(consent).await.expect("data").accounts.len();
    }
    assert_eq!(accounts.len(), expected_accounts);
    assert_eq!(
        accounts.iter().map(|a| a.bank.as_str()).collect::<BTreeSet<_>>(),
        BTreeSet::from(["seb", "swedbank"])
    );
    let balances = engine.balances(tenant, user).await.expect("balances");
    assert_eq!(balances.len(), accounts.len(), "one preferred balance per account");
    let all_types = engine
        .balances_preferring(tenant, user, &[BalanceType::ClosingBooked])
        .await
        .expect("balances");
    assert_eq!(all_types.len(), accounts.len());

    // Transactions: exactly the aggregate's booked and pending ones, no duplicates, newest first.
    let today = world.clock.today();
    let from = today - Duration::days(400);
    let transactions = engine
        .transactions(tenant, user, from, today)
        .await
        .expect("transactions");
    let keys: BTreeSet<_> = transactions
        .iter()
        .map(|t| (t.consent, t.account_id.clone(), t.transaction_id.clone()))
        .collect();
    assert_eq!(keys.len(), transactions.len(), "no duplicate rows");
    let dates: Vec<NaiveDate> = transactions
        .iter()
        .filter_map(|t| t.booking_date.or(t.value_date))
        .collect();
    assert!(dates.windows(2).all(|w| w[0] >= w[1]), "newest first");
    // Paged by 7 through the cursor (as the API passes it, encoded), the pages make up the same list.
    let mut paged = Vec::new();
    let mut cursor = None;
    loop {
        let page = engine
            .transactions_page(tenant, user, from, today, Some(7), cursor.as_ref())
            .await
            .expect("page");
        assert!(page.transactions.len() <= 7);
        paged.extend(page.transactions);
        match page.next {
            Some(next) => cursor = Some(TransactionCursor::decode(&next.encode()).expect("cursor")),
            None => break,
        }
    }
    assert_eq!(paged, transactions, "the pages in order are the whole list");
    for &consent in &consents {
        let data = engine.account_data(consent).await.expect("data");
        for (account, ledger) in &data.ledgers {
            let rows = |status: &str| -> BTreeSet<String> {
                transactions
                    .iter()
                    .filter(|t| t.consent == consent && &t.account_id == account && t.status.as_str() == status)
                    .map(|t| t.transaction_id.clone())
                    .collect()
            };
            assert_eq!(rows("booked"), ledger.booked, "booked of {account}");
            assert_eq!(
                rows("pending"),
                ledger.pending.keys().cloned().collect::<BTreeSet<_>>(),
                "pending of {account}"
            );
        }
    }

    // Spending equals a direct sum over the events.
    let direct = direct_spending(engine, &consents, default_rules()).await;
    let months: BTreeSet<String> = direct.keys().map(|k| k.0.clone()).collect();
    assert!(!direct.is_empty());
    assert_eq!(read_spending(engine, tenant, user, &months).await, direct);

    // The live tables equal a rebuild from the first event.
    let live = dump(&read_store(engine)).await;
    engine.rebuild_projections(Vec::new(), |_| {}).await.expect("rebuild");
    assert_eq!(
        dump(&read_store(engine)).await,
        live,
        "live read models differ from a rebuild"
    );

    // A tenant rule, then a replay of spending and transactions, re-categorises history.
    let invalid = Rule {
        category: "broken".into(),
        flow: Flow::Spending,
        priority: 1,
        condition: Condition::DescriptionRegex { pattern: "(".into() },
        amount: None,
    };
    match engine.add_categorisation_rule(tenant, invalid).await {
        Err(EngineError::InvalidInput(error)) => assert_eq!(error.field, "rule.pattern"),
        other => panic!("an invalid rule must be refused: {other:?}"),
    }
    let rule = Rule::keyword("Maxima", "supermarket").with_priority(10);
    let id = engine
        .add_categorisation_rule(tenant, rule.clone())
        .await
        .expect("add rule");
    let listed = engine.categorisation_rules(tenant).await.expect("rules");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].id, &listed[0].rule), (id, &rule));
    engine
        .rebuild_projections(vec![Projection::SPENDING, Projection::TRANSACTIONS], |_| {})
        .await
        .expect("replay");
    let mut tenant_rules = vec![rule];
    tenant_rules.extend(default_rules());
    let recategorised = direct_spending(engine, &consents, tenant_rules).await;
    assert!(
        recategorised.keys().any(|k| k.1 == "supermarket"),
        "Maxima is now a supermarket"
    );
    assert_eq!(read_spending(engine, tenant, user, &months).await, recategorised);
    let transactions = engine
        .transactions(tenant, user, from, today)
        .await
        .expect("transactions");
    assert!(transactions
        .iter()
        .filter(|t| t.description.contains("Maxima") && t.flow == Flow::Spending)
        .all(|t| t.category == "supermarket"));

    // Each tenant reads only its own rows; another tenant, even with the same user id, reads nothing of this
    // one's and cannot touch its rule.
    let theirs = engine.accounts(other, other_user).await.expect("accounts");
    assert!(!theirs.is_empty());
    assert!(theirs.iter().all(|a| a.consent == other_consent));
    assert!(engine
        .accounts(tenant, user)
        .await
        .expect("accounts")
        .iter()
        .all(|a| consents.contains(&a.consent)));
    assert!(engine
        .transactions(other, other_user, from, today)
        .await
        .expect("transactions")
        .iter()
        .all(|t| t.consent == other_consent && t.category != "supermarket"));
    assert!(engine.accounts(other, user).await.expect("accounts").is_empty());
    assert!(engine.balances(other, user).await.expect("balances").is_empty());
    assert!(engine
        .transactions(other, user, from, today)
        .await
        .expect("transactions")
        .is_empty());
    assert!(read_spending(engine, other, user, &months).await.is_empty());
    assert!(engine.categorisation_rules(other).await.expect("rules").is_empty());
    assert!(!engine.delete_categorisation_rule(other, id).await.expect("delete"));
    assert!(engine.delete_categorisation_rule(tenant, id).await.expect("delete"));
    assert!(engine.categorisation_rules(tenant).await.expect("rules").is_empty());
}
on_both_stores!(read_models, read_models_follow_account_data);

/// Runs `sql` (one or more statements) on the read side's pool.
async fn execute(store: &Database, sql: &str) {
    match store {
        Database::Postgres(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
        Database::Sqlite(pool) => sqlx::raw_sql(sql).execute(pool).await.map(|_| ()),
    }
    .expect("statement");
}

/// A database from before migrations 0010-0015, whose account-information projections skipped every event
/// (old, empty tables; no consent owners; checkpoints at the end of the log), upgrades to the same read models
/// as a fresh one: 0010-0013 recreate the tables and 0015 sends the three checkpoints back to the start, so
/// the runner replays the whole log into them.
async fn an_old_database_upgrades_to_the_same_read_models(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let ctx = RequestContext::user(TenantId::new(), UserId::new());
    let job = RequestContext::job(ctx.tenant, ctx.user);
    for bank in ["swedbank", "seb"] {
        let consent = world.valid_consent(&ctx, bank).await;
        world
            .engine
            .sync_consent(&job, consent, &PsuContext::absent())
            .await
            .expect("sync");
    }
    settle(&world.engine).await;
    let read = read_store(&world.engine);
    let fresh = dump(&read).await;
    assert!(fresh.iter().any(|row| row.starts_with("transactions")), "{fresh:?}");

    // Back to the old schema: the tables as 0005-0008 made them, no owners, no rules, and the ledger without
    // the later migrations. The checkpoints already stand at the end of the log, as the old runner left them.
    let backend = read.backend();
    execute(
        &read,
        "DROP TABLE accounts; DROP TABLE balances; DROP TABLE transactions; DROP TABLE spending; \
         DROP TABLE categorisation_rules; DELETE FROM consent_owners",
    )
    .await;
    for migration in consentry_projections::MIGRATIONS
        .iter()
        .filter(|m| ("projections/0005".."projections/0009").contains(&m.name()))
    {
        execute(&read, migration.sql(backend).expect("both stores")).await;
    }
    execute(
        &read,
        "DELETE FROM consentry_migrations WHERE name >= 'projections/0010'",
    )
    .await;
    assert!(!dump(&read).await.iter().any(|row| row.starts_with("transactions")));

    // The upgrade: the engine runs the missing migrations when it opens, and its runner catches up.
    let upgraded = Engine::with_database(world.engine.database().clone(), world.clock.clone())
        .await
        .expect("the engine opens and migrates the old database");
    settle(&upgraded).await;
    assert_eq!(
        dump(&read).await,
        fresh,
        "the upgraded read models differ from fresh ones"
    );
}
on_both_stores!(upgrade, an_old_database_upgrades_to_the_same_read_models);
