//! `consentry demo`: the story of Consentry told on the embedded SQLite store, the in-process sandbox bank and a
//! simulated clock. [`run`] reads as the list of the story's steps; each step is a method of [`Demo`], prints
//! what happened and the events it stored. `browser` plays the user's browser, `printed` prints the events.

mod browser;
mod printed;

use std::fmt::Display;
use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use consentry::account_information::aggregation::BalancePreference;
use consentry::banks::Banks;
use consentry::config::sandbox_banks;
use consentry::consents::ConnectRequest;
use consentry::http::HttpServer;
use consentry::payments::PaymentStart;
use consentry::scheduler::SchedulerConfig;
use consentry::{Engine, EngineError, PaymentInput, RequestContext};
use consentry_adapters::ecb::SnapshotRates;
use consentry_adapters::SimulatedClock;
use consentry_domain::bank::PsuContext;
use consentry_domain::consent::{ConsentAccess, ConsentCommand, ExpiryCause};
use consentry_domain::payment::{PaymentProduct, PaymentService};
use consentry_domain::rates::RatesPort;
use consentry_domain::{Clock, ConsentId, Currency, PaymentId, TenantId, UserId};
use consentry_projections::read_models::due_work::WorkKind;
use consentry_sandbox::{Sandbox, SandboxConfig, SandboxHandle};

use browser::approve_in_browser;
use printed::{abbreviate, Printed};

/// The user's device, as the bank sees it.
const PSU_IP: &str = "192.0.2.10";

/// The banks the user connects, in the order of the story.
const BANKS: [&str; 4] = ["swedbank", "seb", "luminor", "revolut"];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Setup(String),
    #[error("the user's browser: {0}")]
    Browser(String),
}

fn setup(error: impl Display) -> DemoError {
    DemoError::Setup(error.to_string())
}

/// Where the demo keeps its store, in the working directory, so its events can be inspected afterwards.
pub const DEMO_STORE: &str = "consentry-demo.db";

/// The demo always starts from an empty store: the one the last run left is removed first, so it can run any
/// number of times. The store stays after the run, and the commands that inspect it are printed at the end.
pub async fn run_in_the_working_directory() -> Result<(), DemoError> {
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{DEMO_STORE}{suffix}");
        match std::fs::remove_file(&file) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(setup(format!("cannot replace {file}: {error}")))
            }
            _ => {}
        }
    }
    run(Some(&format!("sqlite:{DEMO_STORE}"))).await
}

/// The story, step by step, on the store `database_url` names.
async fn run(database_url: Option<&str>) -> Result<(), DemoError> {
    let mut demo = Demo::start(database_url).await?;
    demo.connect_banks().await?;
    demo.approve_at_each_bank().await?;
    demo.refuse_replayed_and_forged_callbacks().await?;
    demo.aggregate_balances().await?;
    demo.survive_a_bank_failing_part_way().await?;
    demo.merge_and_categorise_transactions().await?;
    demo.keep_unattended_reads_within_budget().await?;
    let payment = demo.pay_ignitis().await?;
    demo.follow_the_payment_with_the_scheduler(payment).await?;
    demo.reconcile_a_payment_whose_answer_was_lost().await?;
    demo.revoke_seb_in_the_banks_app().await?;
    demo.keep_consents_valid_through_their_last_day().await?;
    demo.expire_consents_on_day_90().await?;
    demo.refuse_commands_in_final_states().await?;
    demo.summarise_from_the_read_models().await?;
    demo.show_how_to_inspect_the_store();
    demo.stop().await;
    Ok(())
}

/// A consent the user started at a bank, and the bank's SCA page for it.
struct Connection {
    bank: &'static str,
    consent: ConsentId,
    sca_link: String,
}

/// What the story's steps share: the engine on its store, the sandbox bank, the simulated clock, the user's
/// browser, and what earlier steps left for later ones.
struct Demo {
    start: DateTime<Utc>,
    clock: Arc<SimulatedClock>,
    sandbox: SandboxHandle,
    engine: Arc<Engine>,
    rates: Arc<dyn RatesPort>,
    server: HttpServer,
    browser: reqwest::Client,
    printed: Printed,
    tenant: TenantId,
    /// The tenant's API key, printed at the end so the API of `consentry serve` can read the demo's data.
    api_key: String,
    user: UserId,
    as_user: RequestContext,
    as_job: RequestContext,
    /// One per bank of [`BANKS`], in that order, once `connect_banks` has run.
    connections: Vec<Connection>,
    /// Where the browser landed after approving at the first bank: the callback replayed later.
    first_callback: Option<String>,
}

impl Demo {
    /// The sandbox bank (the user approves on its pages, so it does not approve on its own), the engine on
    /// `database_url` with the sandbox's banks, and Consentry's HTTP interface for the SCA callback.
    async fn start(database_url: Option<&str>) -> Result<Self, DemoError> {
        let start: DateTime<Utc> = NaiveDate::from_ymd_opt(2026, 1, 5)
            .and_then(|d| d.and_hms_opt(8, 0, 0))
            .map(|t| t.and_utc())
            .ok_or_else(|| setup("bad start date"))?;
        let clock = Arc::new(SimulatedClock::starting_at(start));
        let loopback: SocketAddr = ([127, 0, 0, 1], 0).into();
        let sandbox_config = SandboxConfig {
            auto_approve: false,
            ..SandboxConfig::default()
        };
        let sandbox = Sandbox::start_with_clock(sandbox_config, clock.clone(), loopback)
            .await
            .map_err(setup)?;
        let banks = Banks::from_config(&sandbox_banks(&sandbox.base_url()).map_err(setup)?).map_err(setup)?;
        let engine = Arc::new(Engine::open(database_url, clock.clone()).await?.with_banks(banks));
        let rates: Arc<dyn RatesPort> = Arc::new(SnapshotRates::load().map_err(setup)?);
        let server = HttpServer::start(engine.clone(), rates.clone(), loopback, None)
            .await
            .map_err(setup)?;
        println!(
            "Consentry demo on {}, the sandbox bank at {} and a simulated clock starting {start}",
            engine.database().backend().name(),
            sandbox.base_url()
        );
        let (tenant, api_key) = engine.create_tenant("demo").await?;
        let user = UserId::new();
        Ok(Self {
            start,
            clock,
            sandbox,
            engine,
            rates,
            server,
            browser: reqwest::Client::new(),
            printed: Printed::default(),
            tenant,
            api_key,
            user,
            as_user: RequestContext::user(tenant, user),
            as_job: RequestContext::job(tenant, Some(user)),
            connections: Vec::new(),
            first_callback: None,
        })
    }

    async fn stop(self) {
        self.server.stop();
        self.sandbox.shutdown().await;
        self.engine.database().close().await;
    }

    /// Prints a step's title, stamped with the simulated time.
    fn step(&self, title: &str) {
        println!("\n[{}] {title}", self.clock.now().format("%Y-%m-%d %H:%M"));
    }

    fn connection(&self, bank: &str) -> Result<&Connection, DemoError> {
        self.connections
            .iter()
            .find(|c| c.bank == bank)
            .ok_or_else(|| setup(format!("{bank} is not connected")))
    }

    async fn show_consent(&mut self, bank: &str, consent: ConsentId) -> Result<(), DemoError> {
        let history = self.engine.consent_history(consent).await?;
        self.printed.show(bank, consent, &history);
        Ok(())
    }

    async fn show_payment(&mut self, payment: PaymentId) -> Result<(), DemoError> {
        let history = self.engine.payment_history(payment).await?;
        self.printed.show("payment", payment, &history);
        Ok(())
    }

    /// One scheduler pass over the consent expiries due now.
    async fn run_due_expiries(&self) -> Result<consentry::scheduler::Pass, DemoError> {
        let kinds = [WorkKind::ConsentExpiry];
        Ok(self.engine.run_due_work(&kinds, &self.scheduler("demo")).await?)
    }

    async fn catch_up_read_models(&self) -> Result<(), DemoError> {
        self.engine
            .projection_runner()
            .catch_up()
            .await
            .map_err(EngineError::from)?;
        Ok(())
    }

    async fn connect_banks(&mut self) -> Result<(), DemoError> {
        self.step("The user connects Swedbank and SEB: one consent per bank for 90 days, 4 unattended reads a day");
        let valid_until = self.clock.today() + Duration::days(89);
        for bank in BANKS {
            let request = ConnectRequest {
                bank: bank.into(),
                psu_ip_address: PSU_IP.into(),
                psu_id: None,
                access: ConsentAccess::AllPsd2,
                valid_until,
                frequency_per_day: 4,
                callback_url: self.server.callback_url(),
                approach: None,
                renewal_of: None,
            };
            let started = self.engine.connect_bank(&self.as_user, request).await?;
            let sca_link = started
                .sca_redirect
                .ok_or_else(|| setup("the sandbox gave no SCA redirect link"))?;
            println!("    {bank}: send the user to {sca_link}");
            self.show_consent(bank, started.consent).await?;
            self.connections.push(Connection {
                bank,
                consent: started.consent,
                sca_link,
            });
        }
        Ok(())
    }

    async fn approve_at_each_bank(&mut self) -> Result<(), DemoError> {
        self.clock.advance(Duration::minutes(3));
        self.step("The user approves at each bank; the bank redirects to Consentry's callback, which verifies the state and reads the status back");
        let approvals: Vec<(&'static str, ConsentId, String)> = self
            .connections
            .iter()
            .map(|c| (c.bank, c.consent, c.sca_link.clone()))
            .collect();
        for (bank, consent, sca_link) in approvals {
            let (landed, status) = approve_in_browser(&self.browser, &sca_link).await?;
            let path = landed.split('?').next().unwrap_or_default();
            println!("    {bank}: browser landed on {path} (HTTP {status})");
            self.show_consent(bank, consent).await?;
            self.first_callback.get_or_insert(landed);
        }
        Ok(())
    }

    /// Consentry's callback reads the status back only for a `state` it issued and has not used yet.
    async fn refuse_replayed_and_forged_callbacks(&self) -> Result<(), DemoError> {
        let callback = self
            .first_callback
            .as_deref()
            .ok_or_else(|| setup("no callback to replay"))?;
        let replayed = self.browser.get(callback).send().await.map_err(browser::failed)?;
        println!(
            "    the same callback replayed is refused: HTTP {}",
            replayed.status().as_u16()
        );
        let forged = self
            .browser
            .get(format!("{}?state=forged-state", self.server.callback_url()))
            .send()
            .await
            .map_err(browser::failed)?;
        println!("    a forged callback is refused: HTTP {}", forged.status().as_u16());
        Ok(())
    }

    async fn aggregate_balances(&self) -> Result<(), DemoError> {
        self.catch_up_read_models().await?;
        self.step("Accounts and balances from all four banks at once, with the user present; total in EUR");
        self.show_balances().await
    }

    async fn survive_a_bank_failing_part_way(&self) -> Result<(), DemoError> {
        self.step("Luminor's API fails part-way: the others' data arrives, and Luminor is reported");
        let faults = format!("{}/admin/faults", self.sandbox.bank_url("luminor"));
        let failing = serde_json::json!({ "error_rate": 1.0 });
        self.browser
            .put(&faults)
            .json(&failing)
            .send()
            .await
            .map_err(browser::failed)?;
        self.show_balances().await?;
        self.browser
            .put(&faults)
            .json(&serde_json::json!({}))
            .send()
            .await
            .map_err(browser::failed)?;
        Ok(())
    }

    async fn show_balances(&self) -> Result<(), DemoError> {
        let psu = PsuContext::present(PSU_IP);
        let aggregated = self
            .engine
            .aggregate_balances(
                &self.as_user,
                self.user,
                &psu,
                Currency::EUR,
                &BalancePreference::default(),
                self.rates.as_ref(),
            )
            .await?;
        for account in &aggregated.accounts {
            let iban = account.iban.as_ref().map(|i| i.masked()).unwrap_or_default();
            let balance = account
                .preferred
                .as_ref()
                .map(|b| format!("{:>14} ({})", b.amount.to_string(), b.balance_type.as_str()))
                .unwrap_or_else(|| "no balance".into());
            println!("    {:<9} {iban:<12} {balance}", account.bank.as_str());
        }
        for failure in &aggregated.failures {
            println!("    {:<9} FAILED: {}", failure.bank.as_str(), failure.reason);
        }
        match &aggregated.total {
            Ok(total) => println!(
                "    total {} at the rates of {} ({})",
                total.amount, total.rates_date, total.rates_source
            ),
            Err(reason) => println!("    no total: {reason}"),
        }
        Ok(())
    }

    async fn merge_and_categorise_transactions(&self) -> Result<(), DemoError> {
        self.step("Transactions from all four banks at once (about six months), merged and categorised");
        let refreshed = self
            .engine
            .refresh_user(&self.as_user, self.user, &PsuContext::present(PSU_IP))
            .await?;
        for report in &refreshed.synced {
            println!(
                "    {:<9} {} accounts, {} booked transactions, {} pending",
                report.bank.as_str(),
                report.accounts,
                report.new_booked,
                report.pending
            );
        }
        for failure in &refreshed.failures {
            println!("    {:<9} FAILED: {}", failure.bank.as_str(), failure.reason);
        }
        self.catch_up_read_models().await?;
        let today = self.clock.today();
        let recent = self
            .engine
            .transactions(self.tenant, self.user, today - Duration::days(3), today)
            .await?;
        println!("    the latest, newest first across banks:");
        for transaction in recent.iter().take(6) {
            let date = transaction
                .booking_date
                .or(transaction.value_date)
                .map(|d| d.to_string())
                .unwrap_or_default();
            println!(
                "      {date} {:<9} {:>12} {:<8} {:<14} {}",
                transaction.bank,
                transaction.amount.to_string(),
                transaction.status,
                transaction.category,
                abbreviate(&transaction.description)
            );
        }
        for month in ["2025-11", "2025-12"] {
            println!("    spending in {month} (booked, EUR accounts; income apart):");
            for line in self.engine.spending(self.tenant, self.user, month).await? {
                if line.total.currency() == Currency::EUR {
                    println!(
                        "      {:<8} {:<16} {:>10} in {} transactions",
                        line.flow,
                        line.category,
                        line.total.amount().to_string(),
                        line.count
                    );
                }
            }
        }
        Ok(())
    }

    /// The budget is counted on the aggregate before each call, so a refused read never reaches the bank.
    async fn keep_unattended_reads_within_budget(&mut self) -> Result<(), DemoError> {
        self.clock.advance(Duration::hours(2));
        let swedbank = self.connection("swedbank")?.consent;
        let state = self
            .engine
            .consent(swedbank)
            .await?
            .state
            .ok_or_else(|| setup("no consent"))?;
        let bank_consent = state
            .stage
            .bank_consent()
            .map(|b| b.id.clone())
            .ok_or_else(|| setup("no bank consent"))?;
        self.step("A scheduled job reads Swedbank's account list without the user: 4 reads a day at most, counted before each call");
        let port = self.engine.bank(&state.request.bank)?.port.clone();
        for read in 1..=5 {
            let command = ConsentCommand::CountUnattendedAccess {
                resources: vec!["accounts".into()],
            };
            match self.engine.execute_consent(&self.as_job, swedbank, command).await {
                Ok(()) => {
                    let accounts = port.accounts(&bank_consent, &PsuContext::absent()).await;
                    let summary = accounts
                        .map(|a| {
                            a.entries
                                .iter()
                                .map(|a| a.currency.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_else(|e| format!("failed: {e}"));
                    println!("    read {read}: accounts in {summary}");
                }
                Err(refused) => println!("    read {read} refused before reaching the bank: {refused}"),
            }
        }
        self.show_consent("swedbank", swedbank).await
    }

    async fn pay_ignitis(&mut self) -> Result<PaymentId, DemoError> {
        self.step(
            "The user pays 42.50 EUR to Ignitis; the order and its idempotency key are stored before the bank is called",
        );
        let started = self
            .engine
            .start_payment(
                &self.as_user,
                self.order("42.50", "Electricity, December", "LT12 1000 0111 0100 1000"),
            )
            .await?;
        self.show_payment(started.payment).await?;
        if let Some(link) = started.sca_redirect {
            let (_, status) = approve_in_browser(&self.browser, &link).await?;
            println!("    the user approves the payment at the bank (HTTP {status})");
        }
        Ok(started.payment)
    }

    /// A payment order of the user's at Swedbank.
    fn order(&self, amount: &str, remittance: &str, debtor: &str) -> PaymentStart {
        PaymentStart {
            order: PaymentInput {
                bank: "swedbank".into(),
                service: PaymentService::Payments,
                product: PaymentProduct::SepaCreditTransfers,
                debtor_iban: debtor.into(),
                creditor_iban: "LT73 7300 0100 0000 0003".into(),
                creditor_name: "Ignitis UAB".into(),
                amount: amount.into(),
                currency: "EUR".into(),
                remittance_information: Some(remittance.into()),
            },
            psu_ip_address: PSU_IP.into(),
            callback_url: self.server.callback_url(),
            approach: None,
        }
    }

    /// The scheduler polls the payment on the guide's schedule (every 5 s in the first minute) until its final
    /// status; each pass runs twice, as two instances might, and a status seen again stores nothing.
    async fn follow_the_payment_with_the_scheduler(&mut self, payment: PaymentId) -> Result<(), DemoError> {
        self.step("No call from the host: the scheduler polls the status on the guide's schedule");
        let kinds = [WorkKind::PaymentPoll];
        loop {
            self.catch_up_read_models().await?;
            let Some(due) = self.engine.due_at(WorkKind::PaymentPoll, &payment.to_string()).await? else {
                break;
            };
            self.clock.set(due.max(self.clock.now()));
            let first = self.engine.run_due_work(&kinds, &self.scheduler("instance-a")).await?;
            let second = self.engine.run_due_work(&kinds, &self.scheduler("instance-b")).await?;
            let status = self.engine.payment(payment).await?.status();
            println!(
                "    poll at {}: {} (instance a polled {}, instance b found nothing left to claim: {})",
                due.format("%H:%M:%S"),
                status.map_or("none yet", |s| s.code()),
                first.claimed,
                second.claimed
            );
        }
        self.show_payment(payment).await
    }

    /// A payment whose answer never arrives is not sent again: the scheduler finds it in the debtor's account.
    async fn reconcile_a_payment_whose_answer_was_lost(&mut self) -> Result<(), DemoError> {
        self.step("A second payment, to a trusted beneficiary (no SCA): the bank processes it, then the connection drops before its answer");
        let faults = format!("{}/admin/faults", self.sandbox.bank_url("swedbank"));
        let exempt = format!("{}/admin/auto-approve", self.sandbox.bank_url("swedbank"));
        let dropping = serde_json::json!({ "drop_after_processing_rate": 1.0 });
        self.browser
            .put(&faults)
            .json(&dropping)
            .send()
            .await
            .map_err(browser::failed)?;
        self.browser
            .put(&exempt)
            .json(&true)
            .send()
            .await
            .map_err(browser::failed)?;
        let debtor = self.euro_account_at("swedbank").await?;
        let started = self
            .engine
            .start_payment(&self.as_user, self.order("18.20", "Water, December", &debtor))
            .await?;
        self.browser
            .put(&faults)
            .json(&serde_json::json!({}))
            .send()
            .await
            .map_err(browser::failed)?;
        self.browser
            .put(&exempt)
            .json(&false)
            .send()
            .await
            .map_err(browser::failed)?;
        println!(
            "    the initiation's outcome is unknown: {:?}; nothing is sent again",
            started.phase
        );
        self.clock.advance(Duration::seconds(10));
        self.catch_up_read_models().await?;
        let pass = self
            .engine
            .run_due_work(&[WorkKind::PaymentReconcile], &self.scheduler("instance-a"))
            .await?;
        let status = self.engine.payment(started.payment).await?.status();
        println!(
            "    reconciliation read the debtor account: the end-to-end id is booked there, so the payment is {} ({} reconciled)",
            status.map_or("unknown", |s| s.code()),
            pass.done
        );
        let counters: serde_json::Value = self
            .browser
            .get(format!("{}/admin/counters", self.sandbox.bank_url("swedbank")))
            .send()
            .await
            .map_err(browser::failed)?
            .json()
            .await
            .map_err(browser::failed)?;
        let twice = counters["paymentsByEndToEndId"]
            .as_object()
            .map_or(0, |m| m.values().filter(|n| n.as_u64() > Some(1)).count());
        println!("    end-to-end ids the bank received twice: {twice}");
        self.show_payment(started.payment).await
    }

    /// The IBAN of the user's first euro account at `bank`, as account information recorded it.
    async fn euro_account_at(&self, bank: &str) -> Result<String, DemoError> {
        let consent = self.connection(bank)?.consent;
        let data = self.engine.account_data(consent).await?;
        data.accounts
            .iter()
            .find(|a| a.currency.code() == "EUR")
            .and_then(|a| a.iban.as_ref().map(|iban| iban.as_str().to_owned()))
            .ok_or_else(|| setup("no euro account with an IBAN"))
    }

    fn scheduler(&self, owner: &str) -> SchedulerConfig {
        SchedulerConfig {
            owner: owner.into(),
            ..SchedulerConfig::default()
        }
    }

    async fn revoke_seb_in_the_banks_app(&mut self) -> Result<(), DemoError> {
        self.clock.advance(Duration::days(30));
        let seb = self.connection("seb")?.consent;
        self.step("Day 30: the user revokes SEB's access in the bank's app; Consentry reads the status back");
        let bank_consent = self
            .engine
            .consent(seb)
            .await?
            .state
            .and_then(|s| s.stage.bank_consent().map(|b| b.id.clone()))
            .ok_or_else(|| setup("no bank consent"))?;
        let revoke = format!("{}/admin/consents/{bank_consent}/revoke", self.sandbox.bank_url("seb"));
        self.browser.post(revoke).send().await.map_err(browser::failed)?;
        self.engine.refresh_consent_status(&self.as_job, seb).await?;
        self.show_consent("seb", seb).await
    }

    async fn keep_consents_valid_through_their_last_day(&self) -> Result<(), DemoError> {
        self.clock.set(self.start + Duration::days(89));
        self.step("Day 89: the valid consents stay valid through their last day");
        self.catch_up_read_models().await?;
        let pass = self.run_due_expiries().await?;
        println!("    the scheduler finds no expiry due yet: {} expired", pass.done);
        let swedbank = self.connection("swedbank")?.consent;
        let expire = ConsentCommand::Expire {
            cause: ExpiryCause::ValidUntilPassed,
        };
        if let Err(refused) = self.engine.execute_consent(&self.as_job, swedbank, expire).await {
            println!("    and the aggregate refuses an early expiry itself: {refused}");
        }
        Ok(())
    }

    async fn expire_consents_on_day_90(&mut self) -> Result<(), DemoError> {
        self.clock.advance(Duration::days(1));
        self.step("Day 90: validUntil has passed; the scheduler expires every consent still valid, as due work");
        self.catch_up_read_models().await?;
        self.run_due_expiries().await?;
        for connection in &self.connections {
            let expired = self.engine.consent(connection.consent).await?.state.is_some_and(|s| {
                matches!(
                    s.stage,
                    consentry_domain::consent::ConsentStage::Expired {
                        cause: ExpiryCause::ValidUntilPassed,
                        ..
                    }
                )
            });
            if expired {
                println!("    expired: {} consent {}", connection.bank, connection.consent);
            }
        }
        let swedbank = self.connection("swedbank")?.consent;
        self.show_consent("swedbank", swedbank).await
    }

    async fn refuse_commands_in_final_states(&self) -> Result<(), DemoError> {
        self.step("Final states absorb: authorising the expired consent again is refused");
        let swedbank = self.connection("swedbank")?.consent;
        if let Err(refused) = self
            .engine
            .execute_consent(&self.as_user, swedbank, ConsentCommand::Authorise)
            .await
        {
            println!("    {refused}");
        }
        Ok(())
    }

    async fn summarise_from_the_read_models(&self) -> Result<(), DemoError> {
        self.catch_up_read_models().await?;
        println!("\nSummary, from the read models (days left by the simulated clock):");
        for consent in self.engine.consents(self.tenant, self.user).await? {
            let text = |value: Option<String>| value.unwrap_or_default();
            println!(
                "  consent {} at {}: {}, valid until {}, {} days left",
                consent.consent,
                consent.bank,
                text(consent.status.map(|status| status.to_string())),
                text(consent.valid_until.map(|d| d.to_string())),
                text(consent.days_left.map(|d| d.to_string())),
            );
        }
        for order in self.engine.payments(self.tenant, self.user).await? {
            let history: Vec<&str> = order.history.iter().map(|c| c.status.code()).collect();
            println!(
                "  payment {} of {} to {}: {} (statuses {}, attempts {})",
                order.payment,
                order.amount,
                order.creditor_name.as_deref().unwrap_or_default(),
                order.status.map(|status| status.code()).unwrap_or_default(),
                history.join(" > "),
                order.attempts.unwrap_or_default(),
            );
        }
        Ok(())
    }

    /// The store stays: these commands show the same events and read models after the demo.
    fn show_how_to_inspect_the_store(&self) {
        let on_the_store = format!("DATABASE_URL=sqlite:{DEMO_STORE} consentry");
        println!("\nThe demo's store stays at ./{DEMO_STORE} (the next run replaces it). Inspect it with");
        println!("(consentry is target/release/consentry, or `cargo run --release --`):");
        println!("  {on_the_store} audit consent --list");
        println!("  {on_the_store} replay --status");
        println!("  {on_the_store} serve");
        println!(
            "and, while it serves, read the demo user's data with the demo tenant's key:\n  \
             curl -H 'Authorization: Bearer {}' http://127.0.0.1:8080/v1/users/{}/consents",
            self.api_key, self.user
        );
    }
}
