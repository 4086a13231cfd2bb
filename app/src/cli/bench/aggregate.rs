//! `bench aggregate`: accounts and balances of one user at N sandbox banks with injected latency, fetched all at
//! once by Consentry and one bank after another.

use std::sync::Arc;
use std::time::Instant;

use consentry::{Engine, RequestContext};
use consentry_adapters::SystemClock;
use consentry_domain::consent::ConsentAccess;
use consentry_domain::{Clock, TenantId, UserId};

use super::scratch;
use super::{BenchArgs, BenchResult};

pub async fn run(args: &BenchArgs) -> BenchResult<(f64, f64, &'static str)> {
    use consentry_adapters::config::BankConfig;
    use consentry_domain::bank::PsuContext;
    use consentry_sandbox::{Faults, Sandbox, SandboxConfig};

    let names: Vec<String> = (1..=args.banks).map(|n| format!("bank{n:02}")).collect();
    let latency = Faults {
        latency_ms: args.latency_ms,
        ..Faults::default()
    };
    let config = SandboxConfig {
        banks: names.clone(),
        faults: names.iter().map(|n| (n.clone(), latency.clone())).collect(),
        ..SandboxConfig::default()
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let sandbox = Sandbox::start_with_clock(config, clock.clone(), ([127, 0, 0, 1], 0).into()).await?;
    let configs: Vec<BankConfig> = names
        .iter()
        .map(|n| BankConfig::sandbox(n, n, &sandbox.base_url()))
        .collect::<Result<_, _>>()?;
    let scratch = scratch::create(None, "bench_aggregate").await?;
    let engine = Engine::open(Some(scratch.url()), clock.clone())
        .await?
        .with_banks(consentry::banks::Banks::from_config(&configs)?);
    let (tenant, user) = (TenantId::new(), UserId::new());
    let ctx = RequestContext::user(tenant, user);
    println!(
        "connecting {} sandbox banks ({} ms latency each call)",
        args.banks, args.latency_ms
    );
    for name in &names {
        let request = consentry::consents::ConnectRequest {
            bank: name.clone(),
            psu_ip_address: "192.0.2.10".into(),
            psu_id: None,
            access: ConsentAccess::AllPsd2,
            valid_until: clock.today() + chrono::Duration::days(89),
            frequency_per_day: 4,
            callback_url: "http://127.0.0.1:9/callback/sca".into(),
            approach: None,
            renewal_of: None,
        };
        let started = engine.connect_bank(&ctx, request).await?;
        engine.refresh_consent_status(&ctx, started.consent).await?;
    }
    engine.projection_runner().catch_up().await?;
    let psu = PsuContext::present("192.0.2.10");

    let mut walls = Vec::new();
    let mut accounts = 0;
    for _ in 0..5 {
        let targets = engine.bank_targets(tenant, user).await?;
        let started = Instant::now();
        let (answers, failures) = consentry::account_information::aggregation::fetch_all(targets, &psu).await;
        walls.push(started.elapsed().as_secs_f64());
        if !failures.is_empty() {
            return Err(format!("banks failed: {failures:?}").into());
        }
        accounts = answers.iter().map(|a| a.accounts.len()).sum();
    }
    walls.sort_by(f64::total_cmp);
    let parallel = walls[walls.len() / 2];
    let targets = engine.bank_targets(tenant, user).await?;
    let started = Instant::now();
    let sequential_accounts = consentry::account_information::aggregation::fetch_one_by_one(targets, &psu).await;
    let sequential = started.elapsed().as_secs_f64();
    let critical_path = 2.0 * args.latency_ms as f64 / 1000.0;
    println!(
        "{accounts} accounts at {} banks (one by one: {sequential_accounts}); all at once: {:.0} ms (median of 5), \
         one bank after another: {:.0} ms; critical path (accounts, then balances): {:.0} ms, wall / critical path {:.2}",
        args.banks,
        parallel * 1000.0,
        sequential * 1000.0,
        critical_path * 1000.0,
        parallel / critical_path
    );
    sandbox.shutdown().await;
    engine.database().close().await;
    scratch.remove().await;
    Ok((1.0 / parallel, 1.0 / sequential, "aggregations/s"))
}
