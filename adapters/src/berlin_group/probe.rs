//! The bank probe: every client call once against one bank endpoint (a consent, its status, accounts, balances,
//! transactions, a payment, its status, its cancellation), each with its outcome. Used by `consentry bank probe`
//! to check a bank (or the sandbox) end to end. When the bank asks for a redirect SCA, the probe plays the
//! user's browser on the SCA page and presses Approve, which only a sandbox page answers.

use chrono::{Days, Utc};
use consentry_domain::bank::{
    BankError, BankPort, CancellationOutcome, ConsentCreation, EntryProblem, PaymentInitiation, PaymentResource,
    PsuContext, RedirectUris, ScaRequest, TransactionQuery,
};
use consentry_domain::consent::{ConsentAccess, ConsentStatus};
use consentry_domain::payment::{PaymentProduct, PaymentService};
use consentry_domain::{Currency, Iban, Money};
use rust_decimal::Decimal;

use super::BerlinGroupClient;

/// The creditor of the probe's payment: the Lithuanian example IBAN, valid by checksum, owned by nobody.
const PROBE_CREDITOR: &str = "LT121000011101001000";
const PROBE_IP: &str = "127.0.0.1";
const PROBE_CALLBACK: &str = "http://127.0.0.1/consentry-probe/callback";

/// One probed call and what came of it.
#[derive(Debug)]
pub struct ProbeStep {
    pub call: &'static str,
    pub outcome: Result<String, String>,
}

impl ProbeStep {
    pub fn succeeded(&self) -> bool {
        self.outcome.is_ok()
    }
}

struct Steps(Vec<ProbeStep>);

impl Steps {
    fn record<T>(
        &mut self,
        call: &'static str,
        result: Result<T, BankError>,
        describe: impl Fn(&T) -> String,
    ) -> Option<T> {
        match result {
            Ok(value) => {
                self.0.push(ProbeStep {
                    call,
                    outcome: Ok(describe(&value)),
                });
                Some(value)
            }
            Err(error) => {
                self.0.push(ProbeStep {
                    call,
                    outcome: Err(error.to_string()),
                });
                None
            }
        }
    }

    fn fail(&mut self, call: &'static str, why: impl Into<String>) {
        self.0.push(ProbeStep {
            call,
            outcome: Err(why.into()),
        });
    }
}

fn sca_request() -> ScaRequest {
    ScaRequest {
        psu_ip_address: PROBE_IP.into(),
        psu_id: None,
        redirect: Some(RedirectUris {
            ok: PROBE_CALLBACK.into(),
            nok: None,
        }),
        preferred_approach: None,
    }
}

/// Opens the SCA page and posts Approve, as the user's browser would.
async fn approve_on_page(url: &str) -> Result<String, String> {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let page = browser.get(url).send().await.map_err(|e| e.without_url().to_string())?;
    let html = page.text().await.map_err(|e| e.without_url().to_string())?;
    if !html.contains("value=\"approve\"") {
        return Err("the SCA page has no Approve button (a real bank needs a real user)".into());
    }
    let answer = browser
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("decision=approve")
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if answer.status().is_success() || answer.status().is_redirection() {
        Ok(format!("approved (HTTP {})", answer.status().as_u16()))
    } else {
        Err(format!("the SCA page answered HTTP {}", answer.status().as_u16()))
    }
}

/// Runs every call once; the steps are in call order.
pub async fn probe(client: &BerlinGroupClient) -> Vec<ProbeStep> {
    let mut steps = Steps(Vec::new());
    let today = Utc::now().date_naive();
    let valid_until = today.checked_add_days(Days::new(89)).unwrap_or(today);
    let creation = ConsentCreation {
        access: ConsentAccess::AllPsd2,
        recurring_indicator: true,
        valid_until,
        frequency_per_day: 4,
        combined_service_indicator: false,
        sca: sca_request(),
    };
    let created = client.create_consent(&creation).await;
    let Some(consent) = steps.record("createConsent", created, |c| format!("{} ({})", c.consent_id, c.status)) else {
        return steps.0;
    };
    let consent_id = consent.consent_id.clone();
    if consent.status == ConsentStatus::Received {
        match &consent.sca.redirect_url {
            Some(url) => {
                let outcome = approve_on_page(url).await;
                steps.0.push(ProbeStep {
                    call: "scaRedirect",
                    outcome,
                });
            }
            None => steps.fail(
                "scaRedirect",
                "the consent waits for SCA and the bank gave no scaRedirect link",
            ),
        }
    }
    let status = client.consent_status(&consent_id).await;
    steps.record("consentStatus", status, ToString::to_string);
    steps.record("getConsent", client.get_consent(&consent_id).await, |c| {
        format!("valid until {}", c.valid_until)
    });
    let psu = PsuContext::present(PROBE_IP);
    let accounts = client.accounts(&consent_id, &psu).await;
    let accounts = steps
        .record("accounts", accounts, |a| {
            listed(a.entries.len(), "accounts", &a.problems)
        })
        .unwrap_or_default()
        .entries;
    let euro = accounts
        .iter()
        .find(|a| a.currency == Currency::EUR.into())
        .or(accounts.first());
    match euro {
        Some(account) => {
            let balances = client.balances(&consent_id, &account.resource_id, &psu).await;
            steps.record("balances", balances, |b| {
                listed(b.entries.len(), "balances", &b.problems)
            });
            let query = TransactionQuery {
                booking_status: consentry_domain::bank::BookingStatus::Both,
                date_from: today.checked_sub_days(Days::new(90)).unwrap_or(today),
                date_to: Some(today),
            };
            let report = client
                .transactions(&consent_id, &account.resource_id, &query, &psu)
                .await;
            steps.record("transactions", report, |r| {
                let booked = format!("{} booked, {} pending", r.booked.len(), r.pending.len());
                listed(r.pages, &format!("pages: {booked}"), &r.problems)
            });
        }
        None => {
            steps.fail("balances", "no account to read");
            steps.fail("transactions", "no account to read");
        }
    }
    match euro.and_then(|a| a.iban.clone()) {
        Some(debtor) => probe_payment(client, &mut steps, debtor).await,
        None => steps.fail("initiatePayment", "no account with an IBAN to pay from"),
    }
    steps.record("deleteConsent", client.delete_consent(&consent_id).await, |_| {
        "terminated".into()
    });
    steps.0
}

async fn probe_payment(client: &BerlinGroupClient, steps: &mut Steps, debtor: Iban) {
    let (creditor, amount) = match (
        Iban::parse(PROBE_CREDITOR),
        Money::new(Decimal::new(100, 2), Currency::EUR),
    ) {
        (Ok(creditor), Ok(amount)) => (creditor, amount),
        _ => return steps.fail("initiatePayment", "the probe's own payment data does not parse"),
    };
    let initiation = PaymentInitiation {
        service: PaymentService::Payments,
        product: PaymentProduct::SepaCreditTransfers,
        debtor,
        creditor,
        creditor_name: "Consentry probe".into(),
        instructed_amount: amount,
        remittance_information: Some("Consentry bank probe".into()),
        end_to_end_id: uuid::Uuid::new_v4().simple().to_string(),
        request_id: uuid::Uuid::new_v4(),
        sca: sca_request(),
    };
    let initiated = client.initiate_payment(&initiation).await;
    let Some(payment) = steps.record("initiatePayment", initiated, |p| {
        format!("{} ({})", p.bank_payment_id, p.status)
    }) else {
        return;
    };
    let resource = PaymentResource {
        service: PaymentService::Payments,
        product: PaymentProduct::SepaCreditTransfers,
        payment_id: payment.bank_payment_id.clone(),
    };
    steps.record(
        "paymentStatus",
        client.payment_status(&resource).await,
        ToString::to_string,
    );
    let cancelled = client.cancel_payment(&resource).await;
    steps.record("cancelPayment", cancelled, |outcome| match outcome {
        CancellationOutcome::Cancelled => "cancelled".into(),
        CancellationOutcome::AuthorisationRequired { status, .. } => format!("needs SCA to cancel ({status})"),
    });
}

/// `3 accounts`, and the entries kept out when there were any: `3 accounts, 1 unreadable (a2: iban: …)`.
fn listed(count: usize, what: &str, problems: &[EntryProblem]) -> String {
    match problems.first() {
        None => format!("{count} {what}"),
        Some(first) => format!(
            "{count} {what}, {} unreadable ({}: {}: {})",
            problems.len(),
            first.entry,
            first.field,
            first.problem
        ),
    }
}
