//! `consentry bench categorize`: categorises synthetic transactions with 1,000 rules on one core, with the
//! compiled categoriser (one Aho-Corasick pass, one RegexSet pass) against a naive loop that tries every rule in
//! turn, over the same transactions in the same run. Both sides must agree on every category.

use std::time::Instant;

use consentry_projections::categorise::{
    default_rules, is_whole_word, AmountRange, Categoriser, Condition, Flow, Rule, TransactionFacts,
};
use regex::Regex;
use rust_decimal::Decimal;

/// A deterministic generator (SplitMix64), so every run measures the same data.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A rule set of `count` rules: the defaults, synthetic merchants, IBANs, bank codes, amount ranges, regexes.
pub fn rules(count: usize) -> Vec<Rule> {
    let mut rules = default_rules();
    let mut n = 0;
    while rules.len() < count {
        let category = format!("category {}", n % 40);
        let rule = match n % 100 {
            0..=4 => Rule {
                condition: Condition::CounterpartyIban {
                    iban: synthetic_iban(n),
                },
                ..Rule::keyword("x", &category)
            },
            5..=7 => Rule {
                condition: Condition::BankTransactionCode {
                    code: format!("PMNT-ICDT-{n:04}"),
                },
                ..Rule::keyword("x", &category)
            },
            8 => Rule {
                condition: Condition::AmountOnly,
                ..Rule::keyword("x", &category)
            }
            .with_amount(AmountRange {
                min: Some(Decimal::from(5_000 + n)),
                max: None,
            }),
            9 if n % 500 == 9 => Rule {
                condition: Condition::DescriptionRegex {
                    pattern: format!(r"(?i)\binvoice\s+{}\d+\b", n % 10),
                },
                ..Rule::keyword("x", &category)
            },
            _ => Rule::keyword(&format!("merchant{n:04}"), &category),
        };
        rules.push(rule.with_priority((n % 3) as i32));
        n += 1;
    }
    rules
}

fn synthetic_iban(n: usize) -> String {
    let bban = format!("70440{n:011}");
    let digits: String = format!("{bban}LT00")
        .chars()
        .map(|c| c.to_digit(36).map(|d| d.to_string()).unwrap_or_default())
        .collect();
    let remainder = digits
        .bytes()
        .fold(0u32, |acc, b| (acc * 10 + u32::from(b - b'0')) % 97);
    format!("LT{:02}{bban}", 98 - remainder)
}

/// An owned transaction for the benchmark.
pub struct SyntheticTransaction {
    description: String,
    counterparty_iban: Option<String>,
    bank_transaction_code: Option<String>,
    amount: Decimal,
}

impl SyntheticTransaction {
    fn facts(&self) -> TransactionFacts<'_> {
        TransactionFacts {
            description: &self.description,
            counterparty_iban: self.counterparty_iban.as_deref(),
            bank_transaction_code: self.bank_transaction_code.as_deref(),
            amount: self.amount,
        }
    }
}

pub fn transactions(count: usize) -> Vec<SyntheticTransaction> {
    const SHOPS: &[&str] = &[
        "MAXIMA LT",
        "RIMI HYPER",
        "IKI",
        "Lidl Lietuva",
        "BOLT.EU/O",
        "Bolt Food",
        "WOLT",
        "TELIA LIETUVA",
        "IGNITIS",
        "NETFLIX.COM",
        "Spotify AB",
        "CIRCLE K",
        "Wikipedia",
        "Kavine Vilnius",
    ];
    const CITIES: &[&str] = &["VILNIUS", "KAUNAS", "RIGA", "TALLINN", "KLAIPEDA"];
    let mut rng = SplitMix(7);
    (0..count)
        .map(|i| {
            let description = match rng.below(10) {
                0..=3 => format!(
                    "{} {} {}",
                    SHOPS[rng.below(SHOPS.len())],
                    rng.below(9999),
                    CITIES[rng.below(5)]
                ),
                4..=6 => format!("CARD PAYMENT merchant{:04} {}", rng.below(1200), CITIES[rng.below(5)]),
                7 => format!("Invoice {} payment", rng.below(100_000)),
                8 => format!("Darbo uzmokestis {}", 2026 - rng.below(2)),
                _ => format!("Transfer to friend {i}"),
            };
            let counterparty_iban = (rng.below(8) == 0).then(|| synthetic_iban(rng.below(1000)));
            let bank_transaction_code = (rng.below(6) == 0).then(|| format!("PMNT-ICDT-{:04}", rng.below(1000)));
            let cents = rng.below(2_000_000) as i64;
            let sign = if description.starts_with("Darbo") { 1 } else { -1 };
            SyntheticTransaction {
                description,
                counterparty_iban,
                bank_transaction_code,
                amount: Decimal::new(sign * cents, 2),
            }
        })
        .collect()
}

/// The baseline: every rule tried in precedence order, each keyword searched on its own, each regex run alone.
pub struct NaiveCategoriser<'c> {
    rules: &'c [Rule],
    regexes: Vec<Option<Regex>>,
}

impl<'c> NaiveCategoriser<'c> {
    pub fn new(categoriser: &'c Categoriser) -> Self {
        let rules = categoriser.rules();
        let regexes = rules
            .iter()
            .map(|rule| match &rule.condition {
                Condition::DescriptionRegex { pattern } => Regex::new(pattern).ok(),
                _ => None,
            })
            .collect();
        Self { rules, regexes }
    }

    pub fn categorise(&self, facts: &TransactionFacts<'_>) -> Option<&'c str> {
        let description = facts.description.to_ascii_lowercase();
        let matched = self.rules.iter().zip(&self.regexes).find(|(rule, regex)| {
            let condition = match &rule.condition {
                Condition::Keyword { keyword } => {
                    let keyword = keyword.to_ascii_lowercase();
                    description
                        .match_indices(&keyword)
                        .any(|(start, _)| is_whole_word(&description, start, start + keyword.len()))
                }
                Condition::CounterpartyIban { iban } => facts
                    .counterparty_iban
                    .is_some_and(|c| c.replace(' ', "") == iban.replace(' ', "")),
                Condition::BankTransactionCode { code } => facts.bank_transaction_code == Some(code.as_str()),
                Condition::DescriptionRegex { .. } => regex.as_ref().is_some_and(|r| r.is_match(facts.description)),
                Condition::AmountOnly => true,
            };
            condition && rule.accepts(facts)
        });
        matched.map(|(rule, _)| rule.category.as_str())
    }
}

/// Transactions per second of each side, and how many transactions each side categorised.
pub struct Figures {
    pub consentry_per_second: f64,
    pub baseline_per_second: f64,
    pub consentry_transactions: usize,
    pub baseline_transactions: usize,
    pub spending: usize,
}

/// Categorises `count` transactions with `rule_count` rules; the naive side runs on the first `baseline_sample`
/// (it is orders of magnitude slower) and must agree with the compiled side on each of them.
pub fn run(count: usize, rule_count: usize, baseline_sample: usize) -> Result<Figures, String> {
    let categoriser = Categoriser::new(rules(rule_count)).map_err(|e| e.to_string())?;
    let transactions = transactions(count);

    let started = Instant::now();
    let mut spending = 0;
    for transaction in &transactions {
        if categoriser.categorise(&transaction.facts()).flow == Flow::Spending {
            spending += 1;
        }
    }
    let consentry_seconds = started.elapsed().as_secs_f64();

    let naive = NaiveCategoriser::new(&categoriser);
    let sample = &transactions[..baseline_sample.min(transactions.len())];
    let started = Instant::now();
    let baseline: Vec<Option<&str>> = sample.iter().map(|t| naive.categorise(&t.facts())).collect();
    let baseline_seconds = started.elapsed().as_secs_f64();

    for (transaction, naive_category) in sample.iter().zip(baseline) {
        let compiled = categoriser.categorise(&transaction.facts());
        if compiled.rule.map(|i| categoriser.rules()[i].category.as_str()) != naive_category {
            return Err(format!("the two sides disagree on {:?}", transaction.description));
        }
    }
    Ok(Figures {
        consentry_per_second: transactions.len() as f64 / consentry_seconds,
        baseline_per_second: sample.len() as f64 / baseline_seconds,
        consentry_transactions: transactions.len(),
        baseline_transactions: sample.len(),
        spending,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree_on_a_sample() {
        let figures = run(3_000, 1_000, 3_000).expect("sides agree");
        assert_eq!(figures.consentry_transactions, 3_000);
        assert!(figures.spending > 0 && figures.spending < 3_000);
    }

    #[test]
    fn synthetic_ibans_are_valid() {
        for n in [0, 1, 999] {
            assert!(consentry_domain::Iban::parse(&synthetic_iban(n)).is_ok());
        }
        assert_eq!(rules(1_000).len(), 1_000);
    }
}
