//! `consentry bench NAME`: the store benchmarks. Each runs Consentry and its cqrs-es baseline in the same
//! process on scratch databases of their own (created on the server `DATABASE_URL` names, or as temporary
//! SQLite files, and dropped afterwards), prints both sides and the ratio, and with `--json` ends with one JSON
//! line `{"bench", "consentry", "baseline", "unit", "ratio", "peak_rss_mb"}`. Where the same work has a
//! physical limit on this machine, the same run measures it too (the ceiling) and the line gains `"ceiling"`
//! and `"ceiling_ratio"` (Consentry / ceiling).
//!
//! - `replay`: seeds N events with a bulk load, rebuilds every read model from them, and replays a sample of
//!   the same events with cqrs-es `QueryReplay` into `GenericQuery` views; events/s each. Ceiling (PostgreSQL):
//!   `COPY` of the rebuilt rows back into the emptied tables, as events/s of the log they came from.
//! - `append`: 16 clients issue one-event commands for a while, on Consentry (ordered feed and projections
//!   running) and on plain postgres-es over a plain events table; commands/s each. Ceiling: 16 connections
//!   inserting one event row per transaction straight into that plain events table.
//! - `aggregate`: accounts and balances of one user at N sandbox banks with injected latency, fetched all at
//!   once by Consentry against one bank after another; aggregations/s each, and the wall time against the
//!   two-round critical path (accounts, then balances).
//! - `categorize`: transactions categorised with 1,000 rules on one core, against a naive per-rule loop;
//!   transactions/s each.
//! - `poll`: N payments in flight and due at the in-process sandbox, polled by the scheduler's workers against
//!   a naive worker claiming one row per transaction on the same table; polls/s each (PostgreSQL).
//!
//! `scratch` makes and removes the scratch databases; `replay_ceiling` measures the replay's `COPY` ceiling;
//! `report` prints the figures.

mod aggregate;
mod append;
mod categorize;
mod poll;
mod replay;
mod replay_ceiling;
mod report;
mod scratch;

use clap::{Args, ValueEnum};

use report::{BenchReport, Figures};

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BenchName {
    Replay,
    Append,
    Categorize,
    Aggregate,
    Poll,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    pub name: BenchName,
    /// replay: events to seed and rebuild.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// replay: events of the sample cqrs-es QueryReplay replays (it runs at about 2,000 events/s).
    #[arg(long, default_value_t = 10_000)]
    pub sample: u64,
    /// append: seconds each side runs.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// append: concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// categorize: transactions to categorise.
    #[arg(long, default_value_t = 1_000_000)]
    pub transactions: usize,
    /// categorize: rules in the rule set.
    #[arg(long, default_value_t = 1_000)]
    pub rules: usize,
    /// categorize: transactions the naive loop categorises (it is much slower).
    #[arg(long, default_value_t = 20_000)]
    pub baseline_sample: usize,
    /// aggregate: sandbox banks to fetch from.
    #[arg(long, default_value_t = 10)]
    pub banks: usize,
    /// aggregate: latency the sandbox adds to every request, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub latency_ms: u64,
    /// poll: payments in flight, all due.
    #[arg(long, default_value_t = 100_000)]
    pub payments: usize,
    /// poll: polls the naive one-row-per-transaction worker makes (it is much slower).
    #[arg(long, default_value_t = 2_000)]
    pub baseline_polls: usize,
    /// End with one JSON line of the results.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: BenchArgs) -> BenchResult<()> {
    let url = std::env::var("DATABASE_URL").ok();
    let (name, figures) = match args.name {
        BenchName::Replay => ("replay", replay::run(&args, url.as_deref()).await?),
        BenchName::Append => ("append", append::run(&args, url.as_deref()).await?),
        BenchName::Categorize => ("categorize", categorize(&args)?),
        BenchName::Poll => ("poll", poll::run(&args, url.as_deref()).await?),
        BenchName::Aggregate => {
            let (consentry, baseline, unit) = aggregate::run(&args).await?;
            (
                "aggregate",
                Figures {
                    consentry,
                    baseline,
                    unit,
                    ceiling: None,
                },
            )
        }
    };
    BenchReport::new(name, figures).print(args.json);
    Ok(())
}

fn categorize(args: &BenchArgs) -> BenchResult<Figures> {
    println!(
        "categorising {} transactions with {} rules on one core",
        args.transactions, args.rules
    );
    let working = super::progress::spinner("categorising, then the naive loop");
    let figures = categorize::run(args.transactions, args.rules, args.baseline_sample);
    working.finish_and_clear();
    let figures = figures?;
    println!(
        "compiled rules: {} transactions ({} spending); naive per-rule loop: {} transactions; both agree",
        figures.consentry_transactions, figures.spending, figures.baseline_transactions
    );
    Ok(Figures {
        consentry: figures.consentry_per_second,
        baseline: figures.baseline_per_second,
        unit: "transactions/s",
        ceiling: None,
    })
}
