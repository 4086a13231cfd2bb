//! One tenant's categorisation rules can never stop the read models of another. A rule is checked together with
//! the tenant's other rules when saved; rules that still cannot be compiled together (saved at the same moment,
//! say) make that tenant fall back to the default rules, and the tenant is told, while every other tenant's
//! transactions and spending carry on. Run on both stores.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry::{EngineError, RequestContext};
use consentry_domain::bank::PsuContext;
use consentry_domain::{Clock, TenantId, UserId};
use consentry_projections::categorise::{Condition, Rule, MAX_PATTERN_LEN};
use consentry_sandbox::SandboxConfig;
use consentry_store::Database;
use consentry_tests::{on_both_stores, settle, Backend, World};

fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 5, 4)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("valid start")
        .and_utc()
}

fn pattern_rule(pattern: &str) -> Rule {
    Rule {
        condition: Condition::DescriptionRegex {
            pattern: pattern.to_owned(),
        },
        ..Rule::keyword("unused", "greedy")
    }
}

/// Stores a rule as a second instance racing the first could: straight into the table, unchecked.
async fn store_unchecked(database: &Database, tenant: TenantId, rule: &Rule) {
    let sql = "INSERT INTO categorisation_rules (rule_id, tenant_id, priority, rule, created_at) \
               VALUES ($1, $2, 0, $3, $4)";
    let rule = serde_json::to_string(rule).expect("rule");
    let (id, tenant) = (uuid::Uuid::new_v4().to_string(), tenant.to_string());
    match database {
        Database::Postgres(pool) => sqlx::query(&sql.replace("($1, $2,", "($1::uuid, $2::uuid,"))
            .bind(id)
            .bind(tenant)
            .bind(rule)
            .bind(start())
            .execute(pool)
            .await
            .map(|_| ()),
        Database::Sqlite(pool) => sqlx::query(sql)
            .bind(id)
            .bind(tenant)
            .bind(rule)
            .bind(start())
            .execute(pool)
            .await
            .map(|_| ()),
    }
    .expect("insert rule");
}

async fn one_tenants_rules_never_stop_another(store: Backend) {
    let world = World::start(store, start(), SandboxConfig::default()).await;
    let engine = &world.engine;
    let (greedy, careful) = (TenantId::new(), TenantId::new());

    // A pattern over the size cap is refused alone; three large patterns each compile alone, but are checked
    // together with the tenant's other rules when saved, so one of them is refused, naming the field.
    let oversized = pattern_rule(&"a".repeat(MAX_PATTERN_LEN + 1));
    match engine.add_categorisation_rule(greedy, oversized).await {
        Err(EngineError::InvalidInput(error)) => assert_eq!(error.field, "rule.pattern"),
        other => panic!("an oversized pattern must be refused: {other:?}"),
    }
    let large = pattern_rule(r"\w{200}");
    let mut refused = None;
    for _ in 0..3 {
        if let Err(error) = engine.add_categorisation_rule(greedy, large.clone()).await {
            refused = Some(error);
            break;
        }
    }
    match refused {
        Some(EngineError::InvalidInput(error)) => {
            assert_eq!(error.field, "rule.pattern");
            assert!(error.to_string().contains("together"), "{error}");
        }
        other => panic!("rules too large together must be refused when saved: {other:?}"),
    }
    assert_eq!(
        engine.categorisation_rules_problem(greedy).await.expect("problem"),
        None
    );

    // Rules that slipped in together anyway (two instances saving at once): the tenant is told, and falls back
    // to the default rules.
    for _ in 0..3 {
        store_unchecked(engine.database(), greedy, &large).await;
    }
    let problem = engine.categorisation_rules_problem(greedy).await.expect("problem");
    assert!(problem.is_some(), "the tenant is told its rules cannot be used");

    // Both tenants sync; both tenants' transactions and spending are projected.
    let mut users = Vec::new();
    for (tenant, bank) in [(greedy, "swedbank"), (careful, "seb")] {
        let user = UserId::new();
        let ctx = RequestContext::user(tenant, user);
        let consent = world.valid_consent(&ctx, bank).await;
        engine
            .sync_consent(&ctx, consent, &PsuContext::present("192.0.2.10"))
            .await
            .expect("sync");
        users.push((tenant, user));
    }
    settle(engine).await;
    let statuses = engine.projection_status().await.expect("status");
    assert!(
        statuses.iter().all(|s| s.last_error.is_none() && s.lag == 0),
        "{statuses:?}"
    );
    let today = world.clock.today();
    for (tenant, user) in users {
        let transactions = engine
            .transactions(tenant, user, today - Duration::days(400), today)
            .await
            .expect("transactions");
        assert!(!transactions.is_empty());
        assert!(transactions.iter().all(|t| t.category != "greedy"));
        assert!(
            transactions.iter().any(|t| t.category == "groceries"),
            "the default rules apply"
        );
    }
}
on_both_stores!(rules_isolation, one_tenants_rules_never_stop_another);
