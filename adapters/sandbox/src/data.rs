//! The sandbox's seeded data: accounts, transactions and balances of a PSU at a bank, derived only from the
//! bank's name, the PSU id and the calendar day, so every run (and every restart) shows the same history. A
//! day's transactions depend on that day alone, so moving the clock forward adds days without rewriting old
//! ones. The last few days are pending; once they age out of that window most are booked under a new id and a
//! few vanish (released card holds), as at real banks.

use chrono::{Datelike, Days, NaiveDate};
use consentry_domain::{Currency, Iban};
use rust_decimal::Decimal;

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

pub(crate) struct SeededAccount {
    pub resource_id: String,
    pub iban: Iban,
    pub currency: Currency,
    pub name: &'static str,
    pub product: &'static str,
    /// The balance at the start of the history window.
    pub opening: Decimal,
}

const ACCOUNT_KINDS: [(&str, &str, &str); 4] = [
    ("EUR", "Everyday account", "Current account"),
    ("USD", "Dollar wallet", "Currency account"),
    ("GBP", "Pound wallet", "Currency account"),
    ("SEK", "Krona wallet", "Currency account"),
];

/// The PSU's four accounts at `bank`: EUR, USD, GBP, SEK.
pub(crate) fn accounts(bank: &str, psu: &str) -> Vec<SeededAccount> {
    let mut rng = Prng::seeded(&[bank, psu, "accounts"]);
    let tag = format!("{:08x}", rng.next_u64() as u32);
    ACCOUNT_KINDS
        .iter()
        .filter_map(|(code, name, product)| {
            let currency = Currency::parse(code).ok()?;
            let iban = lithuanian_iban(bank_code(bank), rng.next_u64())?;
            // Foreign accounts only spend in the seeded history, so they open with enough to stay in credit.
            let whole = match *code {
                "EUR" => rng.between(1_500, 4_000),
                "SEK" => rng.between(25_000, 40_000),
                _ => rng.between(2_500, 4_000),
            };
            Some(SeededAccount {
                resource_id: format!("{bank}-{tag}-{}", code.to_ascii_lowercase()),
                iban,
                currency,
                name,
                product,
                opening: Decimal::new(whole * 100 + rng.between(0, 99), 2),
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub(crate) struct SeededTransaction {
    pub transaction_id: String,
    pub entry_reference: String,
    pub booking_date: Option<NaiveDate>,
    pub value_date: NaiveDate,
    /// Negative for a debit.
    pub amount: Decimal,
    pub counterparty: &'static str,
    pub counterparty_iban: Option<Iban>,
    pub remittance: String,
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

/// The account's history up to `today`: booked (newest first) and pending transactions.
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
        for (index, (mut transaction, vanishes)) in day_transactions(bank, psu, account, day).into_iter().enumerate() {
            let key = format!("{}-{}-{index}", account.resource_id, day.format("%Y%m%d"));
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
    (booked, pending)
}

/// The transactions that happened on `day`, each with whether its card hold is released instead of booked.
fn day_transactions(bank: &str, psu: &str, account: &SeededAccount, day: NaiveDate) -> Vec<(SeededTransaction, bool)> {
    let currency = account.currency.code();
    let date = day.to_string();
    let mut rng = Prng::seeded(&[bank, psu, currency, &date]);
    let mut list = Vec::new();
    let entry = |rng: &mut Prng| format!("{:016X}", rng.next_u64());
    if currency == "EUR" {
        if day.day() == 25 {
            list.push((
                SeededTransaction {
                    transaction_id: String::new(),
                    entry_reference: entry(&mut rng),
                    booking_date: None,
                    value_date: day,
                    amount: Decimal::new(rng.between(2_400, 2_600) * 100, 2),
                    counterparty: "UAB Darbdavys",
                    counterparty_iban: lithuanian_iban(70440, 5_512_345_678),
                    remittance: format!("Salary {}", day.format("%Y-%m")),
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
                list.push((card_or_bill(&mut rng, day, name, -cents, iban, code), false));
            }
        }
        for _ in 0..rng.below(3) {
            let (name, low, high) = CARD_MERCHANTS[rng.below(CARD_MERCHANTS.len() as u64) as usize];
            let cents = rng.between(low, high);
            let vanishes = rng.below(100) < 8;
            list.push((
                card_or_bill(&mut rng, day, name, -cents, None, "PMNT-CCRD-POSD"),
                vanishes,
            ));
        }
    } else if rng.below(7) < 2 {
        let choices: Vec<_> = FOREIGN_MERCHANTS.iter().filter(|m| m.0 == currency).collect();
        if let Some((_, name, low, high)) = choices.get(rng.below(choices.len() as u64) as usize) {
            let cents = rng.between(*low, *high);
            list.push((card_or_bill(&mut rng, day, name, -cents, None, "PMNT-CCRD-POSD"), false));
        }
    }
    list
}

fn card_or_bill(
    rng: &mut Prng,
    day: NaiveDate,
    name: &'static str,
    cents: i64,
    iban: Option<Iban>,
    code: &'static str,
) -> SeededTransaction {
    SeededTransaction {
        transaction_id: String::new(),
        entry_reference: format!("{:016X}", rng.next_u64()),
        booking_date: None,
        value_date: day,
        amount: Decimal::new(cents, 2),
        counterparty: name,
        counterparty_iban: iban,
        remittance: format!("{name} {}", day.format("%d.%m")),
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
        let a = accounts("seb", "psu-1");
        let b = accounts("seb", "psu-1");
        assert_eq!(
            a.iter().map(|x| x.iban.clone()).collect::<Vec<_>>(),
            b.iter().map(|x| x.iban.clone()).collect::<Vec<_>>()
        );
        assert_ne!(a[0].iban, accounts("seb", "psu-2")[0].iban);
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
                day_transactions("seb", "psu-1", &a[0], day)
                    .iter()
                    .filter(|(_, vanishes)| *vanishes)
                    .count()
            })
            .sum();
        assert!(history > 0, "some card holds are released instead of booked");
        let mut rng = Prng::seeded(&["x"]);
        assert!((0..1000).map(|_| rng.unit()).all(|u| (0.0..1.0).contains(&u)));
    }
}
