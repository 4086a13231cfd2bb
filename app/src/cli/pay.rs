//! `consentry pay`: pays for a tenant's user from a script, on the store `DATABASE_URL` names, with the banks of
//! `consentry.toml`: the order is recorded, sent to the bank (never twice) and its authorisation started; the
//! answer says where the user authorises. `consentry serve` (or `consentry jobs run paymentPoll`) then follows its
//! status. `--json` prints `{paymentId, approach, status, phase, scaRedirect}`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use consentry::banks::Banks;
use consentry::config::ConsentryConfig;
use consentry::payments::{PaymentInput, PaymentStart};
use consentry::{Engine, RequestContext};
use consentry_adapters::SystemClock;
use consentry_domain::payment::{PaymentProduct, PaymentService};
use consentry_domain::{TenantId, UserId};
use serde_json::json;

use super::CliResult;

#[derive(Debug, Args)]
pub struct PayArgs {
    /// The tenant's id (`consentry tenant list`).
    #[arg(long)]
    tenant: String,
    /// The host's id of the user.
    #[arg(long)]
    user: String,
    /// A configured bank (`swedbank`, `seb`, ...).
    #[arg(long)]
    bank: String,
    #[arg(long)]
    debtor_iban: String,
    #[arg(long)]
    creditor_iban: String,
    #[arg(long)]
    creditor_name: String,
    /// A decimal amount such as 12.34.
    #[arg(long)]
    amount: String,
    #[arg(long, default_value = "EUR")]
    currency: String,
    #[arg(long)]
    remittance_information: Option<String>,
    /// The user's device address, sent to the bank as PSU-IP-Address.
    #[arg(long, default_value = "127.0.0.1")]
    psu_ip_address: String,
    /// Where the bank sends the user back after a redirect SCA: the serving Consentry's callback.
    #[arg(long, default_value = "http://127.0.0.1:8080/callback/sca")]
    callback_url: String,
    #[arg(long, default_value = "consentry.toml")]
    config: PathBuf,
    #[arg(long)]
    json: bool,
}

pub async fn run(args: PayArgs) -> CliResult {
    let config = ConsentryConfig::load(&args.config)?;
    let database_url = std::env::var("DATABASE_URL").ok();
    let engine = Engine::open(database_url.as_deref(), Arc::new(SystemClock))
        .await?
        .with_banks(Banks::from_config(&config.banks)?);
    let ctx = RequestContext::user(TenantId::parse(&args.tenant)?, UserId::parse(&args.user)?);
    let start = PaymentStart {
        order: PaymentInput {
            bank: args.bank,
            service: PaymentService::Payments,
            product: PaymentProduct::SepaCreditTransfers,
            debtor_iban: args.debtor_iban,
            creditor_iban: args.creditor_iban,
            creditor_name: args.creditor_name,
            amount: args.amount,
            currency: args.currency,
            remittance_information: args.remittance_information,
        },
        psu_ip_address: args.psu_ip_address,
        callback_url: args.callback_url,
        approach: None,
    };
    let started = engine.start_payment(&ctx, start).await?;
    let status = started.status.map(|s| s.code());
    if args.json {
        let printed = json!({
            "paymentId": started.payment,
            "approach": started.approach,
            "status": status,
            "phase": started.phase,
            "scaRedirect": started.sca_redirect,
        });
        println!("{printed}");
    } else {
        println!(
            "payment {} ({:?}): status {}",
            started.payment,
            started.phase,
            status.unwrap_or("none yet")
        );
        if let Some(link) = &started.sca_redirect {
            println!("the user authorises at {link}");
        }
    }
    Ok(())
}
