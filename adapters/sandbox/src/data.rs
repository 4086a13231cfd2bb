//! The sandbox's seeded data: accounts, transactions and balances of a PSU at a bank, derived only from the
//! bank's name and profile, the PSU id and the calendar day, so every run (and every restart) shows the same
//! history. A day's transactions depend on that day alone, so moving the clock forward adds days without
//! rewriting old ones. The last few days are pending; once they age out of that window most are booked under a
//! new id and a few vanish (released card holds), as at real banks.

use chrono::{Datelike, Days, NaiveDate};
use consentry_domain::{Currency, Iban};
use rust_decimal::Decimal;

use super::BankProfile;

/// How far back the history goes.
pub(crate) const HISTORY_DAYS: u64 = 183;

/// Transactions of the most recent days are still pending.
const PENDING_DAYS: u64 = 2;

/// SplitMix64: tiny, fast, and good enough for plausible test data (not for anything secret).
pub(crate) struct Prng(u64);

impl Prng {
    /// Seeds from the given parts with FNV-1a, so the same parts always give the same sequence.
    pub fn seeded(parts: &[&str]) -> Self {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for byte in part.bytes().chain(std::iter::once(0)) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        Self(hash)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    /// A number in `[0, 1)`, for fault rates.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A Lithuanian IBAN (LTkk BBBBB AAAAAAAAAAA) with correct check digits.
pub(crate) fn lithuanian_iban(bank_code: u32, account: u64) -> Option<Iban> {
    let bban = format!("{:05}{:011}", bank_code % 100_000, account % 100_000_000_000);
    // "LT00" rearranged behind the BBAN, letters as numbers (L = 21, T = 29).
    let remainder = format!("{bban}212900")
        .bytes()
        .fold(0u64, |acc, b| (acc * 10 + u64::from(b - b'0')) % 97);
    Iban::parse(&format!("LT{:02}{bban}", 98 - remainder)).ok()
}

fn bank_code(bank: &str) -> u32 {
    match bank {
        "swedbank" => 73000,
        "seb" => 70440,
        "luminor" => 40100,
        "revolut" => 32500,
        other => 10_000 + (Prng::seeded(&[other]).below(89_999) as u32),
    }
}

/// What kind of account, which decides its transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountKind {
    /// The EUR everyday account: salary, bills, card payments.
    Current,
    /// A foreign-currency wallet: the odd purchase abroad.
    Wallet,
    /// A credit card: card payments, and a repayment on the first of the month.
    Card,
    /// Several currency pockets behind one IBAN.
    Multicurrency,
}

/// One currency of an account: all of a single-currency account, a pocket of a multicurrency one.
#[derive(Debug, Clone)]
pub(crate) struct Pocket {
    pub currency: Currency,
    /// The balance at the start of the history window.
    pub opening: Decimal,
}

#[derive(Debug, Clone)]
pub(crate) struct SeededAccount {
    pub resource_id: String,
    pub kind: AccountKind,
    /// None for a card account, which has a masked card number instead.
    pub iban: Option<Iban>,
    pub masked_pan: Option<String>,
    pub name: &'static str,
    pub product: &'static str,
    /// ISO 20022 ExternalCashAccountType1Code.
    pub cash_account_type: &'static str,
    /// One, or each currency of a multicurrency account.
    pub pockets: Vec<Pocket>,
}

/// The currency code of a multicurrency account.
pub(crate) const MULTICURRENCY: &str = "XXX";

impl SeededAccount {
    /// The account's currency as the spec writes it: `XXX` for a multicurrency account.
    pub fn currency_code(&self) -> &'static str {
        match self.pockets.as_slice() {
            [single] => single.currency.code(),
            _ => MULTICURRENCY,
        }
    }
}

const ACCOUNT_KINDS: [(&str, &str, &str); 4] = [
    ("EUR", "Everyday account", "Current account"),
    ("USD", "Dollar wallet", "Currency account"),
    ("GBP", "Pound wallet", "Currency account"),
    ("SEK", "Krona wallet", "Currency account"),
];

/// The PSU's accounts at `bank`: EUR, USD, GBP, SEK; with `card_account` a EUR credit card instead of the SEK
/// wallet; with `multicurrency` the four as pockets of one account.
pub(crate) fn accounts(bank: &str, psu: &str, profile: &BankProfile) -> Vec<SeededAccount> {
    let mut rng = Prng::seeded(&[bank, psu, "accounts"]);
    let tag = format!("{:08x}", rng.next_u64() as u32);
    let mut accounts: Vec<SeededAccount> = ACCOUNT_KINDS
        .iter()
        .filter_map(|(code, name, product)| {
            let currency = Currency::parse(code).ok()?;
            let number = rng.next_u64();
            let iban = lithuanian_iban(bank_code(bank), number)?;
            // Foreign accounts only spend in the seeded history, so they open with enough to stay in credit.
            let whole = match *code {
                "EUR" => rng.between(1_500, 4_000),
                "SEK" => rng.between(25_000, 40_000),
                _ => rng.between(2_500, 4_000),
            };
            let opening = Decimal::new(whole * 100 + rng.between(0, 99), 2);
            let resource_id = format!("{bank}-{tag}-{}", code.to_ascii_lowercase());
            if profile.card_account && *code == "SEK" {
                // A card account owes rather than holds: it opens in debt, paid back monthly.
                return Some(SeededAccount {
                    resource_id: format!("{bank}-{tag}-card"),
                    kind: AccountKind::Card,
                    iban: None,
                    masked_pan: Some(format!("{:06}******{:04}", 520_000 + number % 10_000, number % 10_000)),
                    name: "Credit card",
                    product: "Mastercard Gold",
                    cash_account_type: "CARD",
                    pockets: vec![Pocket {
                        currency: Currency::EUR,
                        opening: -Decimal::new(rng.between(20_000, 90_000), 2),
                    }],
                });
            }
            Some(SeededAccount {
                resource_id,
                kind: if *code == "EUR" {
                    AccountKind::Current
                } else {
                    AccountKind::Wallet
                },
                iban: Some(iban),
                masked_pan: None,
                name,
                product,
                cash_account_type: "CACC",
                pockets: vec![Pocket { currency, opening }],
            })
        })
        .collect();
    if profile.multicurrency && !accounts.is_empty() {
        let first = accounts.remove(0);
        let pockets = std::iter::once(first.pockets)
            .chain(accounts.drain(..).map(|a| a.pockets))
            .flatten()
            .collect();
        accounts.push(SeededAccount {
            resource_id: format!("{bank}-{tag}-multi"),
            kind: AccountKind::Multicurrency,
            iban: first.iban,
            masked_pan: None,
            name: "Multi-currency account",
            product: "Standard",
            cash_account_type: "CACC",
            pockets,
        });
    }
    accounts
}

#[derive(Debug, Clone)]
pub(crate) struct SeededTransaction {
    pub transaction_id: String,
    pub entry_reference: String,
    /// The payer's end-to-end id of a payment initiated at the sandbox (`endToEndId`); none for seeded ones.
    pub end_to_end_id: Option<String>,
    pub booking_date: Option<NaiveDate>,
    pub value_date: NaiveDate,
    /// Negative for a debit.
    pub amount: Decimal,
    /// The pocket's currency.
    pub currency: Currency,
    pub counterparty: String,
    pub counterparty_iban: Option<Iban>,
    pub remittance: Option<String>,
    pub bank_transaction_code: &'static str,
}

/// Card merchants: name, lowest and highest amount in cents.
const CARD_MERCHANTS: [(&str, i64, i64); 10] = [
    ("Maxima", 300, 6_000),
    ("Rimi", 300, 8_000),
    ("Iki", 200, 4_000),
    ("Lidl", 500, 9_000),
    ("Bolt", 250, 1_800),
    ("Wolt", 800, 3_500),
    ("Circle K", 2_000, 7_000),
    ("Drogas", 300, 3_000),
    ("Apranga", 2_000, 12_000),
    ("Vapiano", 1_200, 4_500),
];

/// Monthly debits of the EUR account: day of month, name, cents, paid by transfer (with a creditor IBAN).
const MONTHLY_BILLS: [(u32, &str, i64, bool); 5] = [
    (3, "Telia", 1_999, true),
    (7, "Ignitis", 4_870, true),
    (12, "Netflix", 1_299, false),
    (18, "Spotify", 1_099, false),
    (21, "Go3", 899, false),
];

const FOREIGN_MERCHANTS: [(&str, &str, i64, i64); 6] = [
    ("USD", "Amazon", 1_000, 9_000),
    ("USD", "GitHub", 400, 2_100),
    ("GBP", "Deliveroo", 1_200, 3_000),
    ("GBP", "TfL", 280, 1_500),
    ("SEK", "ICA", 5_000, 60_000),
    ("SEK", "SL", 3_900, 4_200),
];

/// The account's history up to `today`: booked (newest first) and pending transactions, of every pocket.
pub(crate) fn transactions(
    bank: &str,
    psu: &str,
    account: &SeededAccount,
    today: NaiveDate,
) -> (Vec<SeededTransaction>, Vec<SeededTransaction>) {
    let mut booked = Vec::new();
    let mut pending = Vec::new();
    for back in 0..HISTORY_DAYS {
        let Some(day) = today.checked_sub_days(Days::new(back)) else {
            continue;
        };
        for pocket in &account.pockets {
            let happened = day_transactions(bank, psu, account.kind, pocket.currency, day);
            for (index, (mut transaction, vanishes)) in happened.into_iter().enumerate() {
                let key = match account.kind {
                    AccountKind::Multicurrency => format!(
                        "{}-{}-{}-{index}",
                        account.resource_id,
                        pocket.currency.code().to_ascii_lowercase(),
                        day.format("%Y%m%d")
                    ),
                    _ => format!("{}-{}-{index}", account.resource_id, day.format("%Y%m%d")),
                };
                if back < PENDING_DAYS {
                    transaction.transaction_id = format!("P-{key}");
                    pending.push(transaction);
                } else if !vanishes {
                    transaction.transaction_id = format!("B-{key}");
                    transaction.booking_date = day.checked_add_days(Days::new(1));
                    booked.push(transaction);
                }
            }
        }
    }
    (booked, pending)
}

/// The transactions that happened on `day` in one currency of an account, each with whether its card hold is
/// released instead of booked. The EUR account's and each wallet's days are seeded by currency alone, so the
/// pockets of a multicurrency account see what the separate accounts would.
fn day_transactions(
    bank: &str,
    psu: &str,
    kind: AccountKind,
    currency: Currency,
    day: NaiveDate,
) -> Vec<(SeededTransaction, bool)> {
    let code = currency.code();
    let date = day.to_string();
    let seed = if kind == AccountKind::Card { "card" } else { code };
    let mut rng = Prng::seeded(&[bank, psu, seed, &date]);
    let mut list = Vec::new();
    let entry = |rng: &mut Prng| format!("{:016X}", rng.next_u64());
    let spend = |rng: &mut Prng, list: &mut Vec<(SeededTransaction, bool)>| {
        let (name, low, high) = CARD_MERCHANTS[rng.below(CARD_MERCHANTS.len() as u64) as usize];
        let cents = rng.between(low, high);
        let vanishes = rng.below(100) < 8;
        list.push((
            card_or_bill(rng, day, currency, name, -cents, None, "PMNT-CCRD-POSD"),
            vanishes,
        ));
    };
    if kind == AccountKind::Card {
        if day.day() == 1 {
            list.push((
                SeededTransaction {
                    transaction_id: String::new(),
                    entry_reference: entry(&mut rng),
                    end_to_end_id: None,
                    booking_date: None,
                    value_date: day,
                    amount: Decimal::new(rng.between(600, 900) * 100, 2),
                    currency,
                    counterparty: "Card repayment".into(),
                    counterparty_iban: None,
                    remittance: Some(format!("Repayment {}", day.format("%Y-%m"))),
                    bank_transaction_code: "PMNT-RCDT-ESCT",
                },
                false,
            ));
        }
        for _ in 0..rng.below(2) {
            spend(&mut rng, &mut list);
        }
    } else if code == "EUR" {
        if day.day() == 25 {
            list.push((
                SeededTransaction {
                    transaction_id: String::new(),
                    entry_reference: entry(&mut rng),
                    end_to_end_id: None,
                    booking_date: None,
                    value_date: day,
                    amount: Decimal::new(rng.between(2_400, 2_600) * 100, 2),
                    currency,
                    counterparty: "UAB Darbdavys".into(),
                    counterparty_iban: lithuanian_iban(70440, 5_512_345_678),
                    remittance: Some(format!("Salary {}", day.format("%Y-%m"))),
                    bank_transaction_code: "PMNT-RCDT-ESCT",
                },
                false,
            ));
        }
        for (bill_day, name, cents, transfer) in MONTHLY_BILLS {
            if day.day() == bill_day {
                let iban = if transfer {
                    lithuanian_iban(73000, rng.next_u64())
                } else {
                    None
                };
                let code = if transfer { "PMNT-ICDT-ESCT" } else { "PMNT-CCRD-POSD" };
                list.push((card_or_bill(&mut rng, day, currency, name, -cents, iban, code), false));
            }
        }
        for _ in 0..rng.below(3) {
            spend(&mut rng, &mut list);
        }
    } else if rng.below(7) < 2 {
        let choices: Vec<_> = FOREIGN_MERCHANTS.iter().filter(|m| m.0 == code).collect();
        if let Some((_, name, low, high)) = choices.get(rng.below(choices.len() as u64) as usize) {
            let cents = rng.between(*low, *high);
            list.push((
                card_or_bill(&mut rng, day, currency, name, -cents, None, "PMNT-CCRD-POSD"),
                false,
            ));
        }
    }
    list
}

fn card_or_bill(
    rng: &mut Prng,
    day: NaiveDate,
    currency: Currency,
    name: &'static str,
    cents: i64,
    iban: Option<Iban>,
    code: &'static str,
) -> SeededTransaction {
    SeededTransaction {
        transaction_id: String::new(),
        entry_reference: format!("{:016X}", rng.next_u64()),
        end_to_end_id: None,
        booking_date: None,
        value_date: day,
        amount: Decimal::new(cents, 2),
        currency,
        counterparty: name.into(),
        counterparty_iban: iban,
        remittance: Some(format!("{name} {}", day.format("%d.%m"))),
        bank_transaction_code: code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ibans_pass_the_checksum() {
        for n in 0..50 {
            assert!(lithuanian_iban(73000, n * 7_919).is_some());
        }
    }

    #[test]
    fn data_is_deterministic_and_stable_as_days_pass() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let plain = BankProfile::default();
        let a = accounts("seb", "psu-1", &plain);
        let b = accounts("seb", "psu-1", &plain);
        assert_eq!(
            a.iter().map(|x| x.iban.clone()).collect::<Vec<_>>(),
            b.iter().map(|x| x.iban.clone()).collect::<Vec<_>>()
        );
        assert_ne!(a[0].iban, accounts("seb", "psu-2", &plain)[0].iban);
        let (booked, pending) = transactions("seb", "psu-1", &a[0], today);
        assert!(booked.len() > 100, "about six months of history");
        assert!(booked.iter().all(|t| t.booking_date.is_some()));
        assert!(pending.iter().all(|t| t.booking_date.is_none()));
        let later = today.checked_add_days(Days::new(5)).unwrap();
        let (booked_later, _) = transactions("seb", "psu-1", &a[0], later);
        let old = &booked[booked.len() / 2];
        assert!(booked_later.iter().any(|t| t.transaction_id == old.transaction_id));
        let history: usize = (0..HISTORY_DAYS)
            .filter_map(|back| today.checked_sub_days(Days::new(back)))
            .map(|day| {
                day_transactions("seb", "psu-1", a[0].kind, Currency::EUR, day)
                    .iter()
                    .filter(|(_, vanishes)| *vanishes)
                    .count()
            })
            .sum();
        assert!(history > 0, "some card holds are released instead of booked");
        let mut rng = Prng::seeded(&["x"]);
        assert!((0..1000).map(|_| rng.unit()).all(|u| (0.0..1.0).contains(&u)));
    }

    #[test]
    fn profiles_shape_the_accounts() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let plain = accounts("seb", "psu-1", &BankProfile::default());
        let codes: Vec<&str> = plain.iter().map(SeededAccount::currency_code).collect();
        assert_eq!(codes, ["EUR", "USD", "GBP", "SEK"]);
        assert!(plain.iter().all(|a| a.iban.is_some() && a.cash_account_type == "CACC"));

        let card = BankProfile {
            card_account: true,
            ..BankProfile::default()
        };
        let with_card = accounts("seb", "psu-1", &card);
        assert_eq!(
            with_card[..3].iter().map(|a| &a.iban).collect::<Vec<_>>(),
            plain[..3].iter().map(|a| &a.iban).collect::<Vec<_>>()
        );
        let card_account = &with_card[3];
        assert_eq!(
            (card_account.kind, card_account.cash_account_type),
            (AccountKind::Card, "CARD")
        );
        assert!(card_account.iban.is_none());
        let pan = card_account.masked_pan.as_deref().unwrap();
        assert!(pan.len() == 16 && pan.contains("******"), "{pan}");
        assert_eq!(card_account.currency_code(), "EUR");
        assert!(card_account.pockets[0].opening.is_sign_negative(), "a card owes");
        let (booked, _) = transactions("seb", "psu-1", card_account, today);
        assert!(booked.iter().any(|t| t.amount.is_sign_positive()), "monthly repayments");
        assert!(booked.iter().all(|t| t.counterparty_iban.is_none()));

        let multi = BankProfile {
            multicurrency: true,
            ..BankProfile::default()
        };
        let single = accounts("revolut", "psu-1", &multi);
        assert_eq!(single.len(), 1);
        let account = &single[0];
        assert_eq!(account.currency_code(), MULTICURRENCY);
        assert_eq!(
            account.iban,
            accounts("revolut", "psu-1", &BankProfile::default())[0].iban
        );
        let (booked, pending) = transactions("revolut", "psu-1", account, today);
        let mut currencies: Vec<&str> = booked.iter().map(|t| t.currency.code()).collect();
        currencies.sort_unstable();
        currencies.dedup();
        assert_eq!(currencies, ["EUR", "GBP", "SEK", "USD"]);
        let mut ids: Vec<&str> = booked
            .iter()
            .chain(&pending)
            .map(|t| t.transaction_id.as_str())
            .collect();
        let all = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all, "ids unique across pockets");
    }
}
