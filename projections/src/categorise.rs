//! Transaction categorisation: a rules engine that puts every bank transaction in a category, spending and
//! income apart (a refund is not negative spending, a salary is not a purchase).
//!
//! Rules match a merchant keyword in the description (as whole words, ASCII case-insensitive), a counterparty
//! IBAN, a bank transaction code, a description regex, or only an amount range; any rule may also require an
//! amount range. The highest priority wins, and among equal priorities the rule listed first. Rules are compiled
//! once: all keywords into one Aho-Corasick automaton and all regexes into one `RegexSet`, so a transaction is
//! read once whatever the number of rules, instead of once per rule.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::{Regex, RegexSet, RegexSetBuilder};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Money out of the account, or into it. A transaction's flow is the sign of its amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Flow {
    Spending,
    Income,
}

impl Flow {
    /// The serde spelling, which the read models store.
    pub fn as_str(&self) -> &'static str {
        match self {
            Flow::Spending => "spending",
            Flow::Income => "income",
        }
    }
}

impl std::fmt::Display for Flow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a rule looks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "match")]
pub enum Condition {
    /// A merchant name or word in the description: "Maxima", "Bolt Food".
    Keyword { keyword: String },
    /// The other party's account.
    CounterpartyIban { iban: String },
    /// The bank's transaction code (ISO 20022 `bankTransactionCode`, such as `PMNT-CCRD-POSD`).
    BankTransactionCode { code: String },
    /// A regular expression on the description.
    DescriptionRegex { pattern: String },
    /// Nothing but the rule's amount range (and flow).
    AmountOnly,
}

/// Bounds on the transaction's absolute amount, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct AmountRange {
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
}

impl AmountRange {
    fn contains(&self, amount: Decimal) -> bool {
        let amount = amount.abs();
        self.min.is_none_or(|min| amount >= min) && self.max.is_none_or(|max| amount <= max)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub category: String,
    pub flow: Flow,
    #[serde(default)]
    pub priority: i32,
    #[serde(flatten)]
    pub condition: Condition,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<AmountRange>,
}

impl Rule {
    pub fn keyword(keyword: &str, category: &str) -> Self {
        Self {
            category: category.to_owned(),
            flow: Flow::Spending,
            priority: 0,
            condition: Condition::Keyword {
                keyword: keyword.to_owned(),
            },
            amount: None,
        }
    }

    pub fn with_priority(self, priority: i32) -> Self {
        Self { priority, ..self }
    }

    pub fn with_amount(self, amount: AmountRange) -> Self {
        Self {
            amount: Some(amount),
            ..self
        }
    }

    /// The flow and amount checks every candidate must also pass.
    pub fn accepts(&self, facts: &TransactionFacts<'_>) -> bool {
        facts.flow() == self.flow && self.amount.is_none_or(|range| range.contains(facts.amount))
    }
}

/// The default rules: the merchants of the Baltic market, as in the integration guide, and salary income.
/// Tenants add their own rules on top (with a higher priority, they win).
pub fn default_rules() -> Vec<Rule> {
    let spending: &[(&str, &[&str])] = &[
        (
            "groceries",
            &[
                "Maxima", "Rimi", "Iki", "Lidl", "Norfa", "Aibe", "Prisma", "Selver", "Coop", "ICA",
            ],
        ),
        (
            "transport",
            &[
                "Bolt",
                "Uber",
                "CityBee",
                "Trafi",
                "Vilniaus viesasis transportas",
                "LTG",
                "Circle K",
                "Viada",
                "Neste",
                "TfL",
                "SL",
            ],
        ),
        ("food delivery", &["Wolt", "Bolt Food", "Barbora", "Deliveroo"]),
        (
            "restaurants",
            &[
                "Hesburger",
                "McDonalds",
                "Caffeine",
                "Vero Cafe",
                "Cili Pica",
                "Katpedele",
                "Vapiano",
            ],
        ),
        ("telecom", &["Telia", "Tele2", "Bite", "Elisa", "Tet"]),
        (
            "utilities",
            &[
                "Ignitis",
                "Vilniaus vandenys",
                "Enefit",
                "Elektrum",
                "Latvenergo",
                "Eesti Energia",
            ],
        ),
        (
            "subscriptions",
            &[
                "Netflix",
                "Spotify",
                "YouTube Premium",
                "Apple.com",
                "Google Storage",
                "Disney Plus",
                "Go3",
                "GitHub",
            ],
        ),
        (
            "health",
            &[
                "Eurovaistine",
                "Camelia",
                "Benu",
                "Gintarine vaistine",
                "Apotheka",
                "Drogas",
            ],
        ),
        (
            "shopping",
            &[
                "Senukai",
                "IKEA",
                "Depo",
                "Varle",
                "Pigu",
                "Zalando",
                "Amazon",
                "Aliexpress",
                "Apranga",
            ],
        ),
    ];
    let mut rules: Vec<Rule> = spending
        .iter()
        .flat_map(|(category, keywords)| keywords.iter().map(move |k| Rule::keyword(k, category)))
        .collect();
    // "Bolt Food" is a delivery, not a ride: the longer name outranks "Bolt".
    for rule in &mut rules {
        if rule.condition
            == (Condition::Keyword {
                keyword: "Bolt Food".into(),
            })
        {
            rule.priority = 1;
        }
    }
    rules.push(Rule {
        category: "salary".into(),
        flow: Flow::Income,
        priority: 0,
        condition: Condition::DescriptionRegex {
            pattern: r"(?i)\b(salary|alga|darbo uzmokestis|atlyginimas)\b".into(),
        },
        amount: None,
    });
    rules.push(Rule {
        category: "cash".into(),
        flow: Flow::Spending,
        priority: 0,
        condition: Condition::BankTransactionCode {
            code: "PMNT-CCRD-CWDL".into(),
        },
        amount: None,
    });
    rules
}

/// What a rule can see of a transaction.
#[derive(Debug, Clone, Copy)]
pub struct TransactionFacts<'a> {
    /// Remittance information and counterparty name, as the bank gave them.
    pub description: &'a str,
    pub counterparty_iban: Option<&'a str>,
    pub bank_transaction_code: Option<&'a str>,
    /// Signed: negative is money out.
    pub amount: Decimal,
}

impl TransactionFacts<'_> {
    pub fn flow(&self) -> Flow {
        if self.amount < Decimal::ZERO {
            Flow::Spending
        } else {
            Flow::Income
        }
    }
}

/// The category given to a transaction, and the rule that gave it (`None`: no rule matched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Categorised<'r> {
    pub flow: Flow,
    pub category: &'r str,
    pub rule: Option<usize>,
}

/// The most rules a tenant may keep: each one costs every transaction of the tenant a look.
pub const MAX_TENANT_RULES: usize = 200;
/// The longest description pattern a rule may have, in bytes.
pub const MAX_PATTERN_LEN: usize = 256;

pub const UNCATEGORISED: &str = "uncategorised";
pub const OTHER_INCOME: &str = "other income";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("rule {index}: {field} {problem}")]
    Invalid {
        index: usize,
        field: &'static str,
        problem: String,
    },
}

/// Whether `text[start..end]` stands as whole words: no letter or digit touches it on either side.
pub fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// A compiled rule set. Rules are ordered by precedence (priority, then position), so "the best matching rule"
/// is the matching rule with the lowest index.
pub struct Categoriser {
    rules: Vec<Rule>,
    keywords: AhoCorasick,
    keyword_rules: Vec<usize>,
    by_iban: HashMap<String, Vec<usize>>,
    by_code: HashMap<String, Vec<usize>>,
    regexes: RegexSet,
    regex_rules: Vec<usize>,
    amount_only: Vec<usize>,
}

impl Categoriser {
    /// A tenant's categoriser: its own rules (at most [`MAX_TENANT_RULES`]) ahead of the defaults, so among
    /// equal priorities the tenant's rule wins. The rules are compiled together, as the projections use them:
    /// rules that compile one by one may still exceed the compiled size limit together.
    pub fn for_tenant(mut rules: Vec<Rule>) -> Result<Self, RuleError> {
        if rules.len() > MAX_TENANT_RULES {
            return Err(RuleError::Invalid {
                index: MAX_TENANT_RULES,
                field: "rules",
                problem: format!("number {}; a tenant may keep at most {MAX_TENANT_RULES}", rules.len()),
            });
        }
        rules.extend(default_rules());
        Self::new(rules)
    }

    pub fn new(rules: Vec<Rule>) -> Result<Self, RuleError> {
        let mut rules: Vec<(usize, Rule)> = rules.into_iter().enumerate().collect();
        for (index, rule) in &rules {
            validate(*index, rule)?;
        }
        rules.sort_by_key(|(index, rule)| (std::cmp::Reverse(rule.priority), *index));
        let rules: Vec<Rule> = rules.into_iter().map(|(_, rule)| rule).collect();

        let (mut keywords, mut keyword_rules) = (Vec::new(), Vec::new());
        let (mut patterns, mut regex_rules) = (Vec::new(), Vec::new());
        let mut by_iban: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_code: HashMap<String, Vec<usize>> = HashMap::new();
        let mut amount_only = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            match &rule.condition {
                Condition::Keyword { keyword } => {
                    keywords.push(keyword.trim().to_owned());
                    keyword_rules.push(index);
                }
                Condition::CounterpartyIban { iban } => by_iban.entry(compact_iban(iban)).or_default().push(index),
                Condition::BankTransactionCode { code } => {
                    by_code.entry(code.trim().to_owned()).or_default().push(index)
                }
                Condition::DescriptionRegex { pattern } => {
                    patterns.push(pattern.clone());
                    regex_rules.push(index);
                }
                Condition::AmountOnly => amount_only.push(index),
            }
        }
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .or_else(|_| AhoCorasickBuilder::new().ascii_case_insensitive(true).build(&keywords))
            .map_err(|e| RuleError::Invalid {
                index: 0,
                field: "keyword",
                problem: e.to_string(),
            })?;
        let regexes = RegexSetBuilder::new(&patterns)
            .build()
            .map_err(|e| RuleError::Invalid {
                index: 0,
                field: "pattern",
                problem: e.to_string(),
            })?;
        Ok(Self {
            rules,
            keywords,
            keyword_rules,
            by_iban,
            by_code,
            regexes,
            regex_rules,
            amount_only,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn categorise<'r>(&'r self, facts: &TransactionFacts<'_>) -> Categorised<'r> {
        let mut best = usize::MAX;
        let consider = |best: &mut usize, index: usize| {
            if index < *best && self.rules[index].accepts(facts) {
                *best = index;
            }
        };
        for found in self.keywords.find_overlapping_iter(facts.description) {
            if is_whole_word(facts.description, found.start(), found.end()) {
                consider(&mut best, self.keyword_rules[found.pattern().as_usize()]);
            }
        }
        if let Some(indices) = facts
            .counterparty_iban
            .and_then(|iban| self.by_iban.get(&compact_iban(iban)))
        {
            indices.iter().for_each(|&i| consider(&mut best, i));
        }
        if let Some(indices) = facts.bank_transaction_code.and_then(|code| self.by_code.get(code)) {
            indices.iter().for_each(|&i| consider(&mut best, i));
        }
        self.amount_only.iter().for_each(|&i| consider(&mut best, i));
        // The regex pass is the dearest: skip it when no regex rule could outrank what already matched.
        if self.regex_rules.first().is_some_and(|&first| first < best) {
            for matched in self.regexes.matches(facts.description).iter() {
                consider(&mut best, self.regex_rules[matched]);
            }
        }
        let flow = facts.flow();
        match self.rules.get(best) {
            Some(rule) => Categorised {
                flow,
                category: &rule.category,
                rule: Some(best),
            },
            None => {
                let category = if flow == Flow::Spending {
                    UNCATEGORISED
                } else {
                    OTHER_INCOME
                };
                Categorised {
                    flow,
                    category,
                    rule: None,
                }
            }
        }
    }
}

fn compact_iban(iban: &str) -> String {
    iban.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn validate(index: usize, rule: &Rule) -> Result<(), RuleError> {
    let invalid = |field, problem: &str| {
        Err(RuleError::Invalid {
            index,
            field,
            problem: problem.to_owned(),
        })
    };
    if rule.category.trim().is_empty() {
        return invalid("category", "is empty");
    }
    match &rule.condition {
        Condition::Keyword { keyword } if keyword.trim().is_empty() => invalid("keyword", "is empty"),
        Condition::CounterpartyIban { iban } => match consentry_domain::Iban::parse(iban) {
            Ok(_) => Ok(()),
            Err(e) => invalid("iban", &e.problem),
        },
        Condition::BankTransactionCode { code } if code.trim().is_empty() => invalid("code", "is empty"),
        Condition::DescriptionRegex { pattern } if pattern.len() > MAX_PATTERN_LEN => invalid(
            "pattern",
            &format!("is {} bytes long; at most {MAX_PATTERN_LEN} are allowed", pattern.len()),
        ),
        Condition::DescriptionRegex { pattern } => match Regex::new(pattern) {
            Ok(_) => Ok(()),
            Err(e) => invalid("pattern", &e.to_string()),
        },
        Condition::AmountOnly if rule.amount.is_none() => invalid("amount", "is required for an amount-only rule"),
        _ => match rule.amount {
            Some(AmountRange {
                min: Some(min),
                max: Some(max),
            }) if min > max => invalid("amount", "has min above max"),
            _ => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_keeps_a_bounded_number_of_rules_of_bounded_size() {
        let rules = |n: usize| {
            (0..n)
                .map(|i| Rule::keyword(&format!("shop{i}"), "shops"))
                .collect::<Vec<_>>()
        };
        assert!(Categoriser::for_tenant(rules(MAX_TENANT_RULES)).is_ok());
        let Err(RuleError::Invalid { field, .. }) = Categoriser::for_tenant(rules(MAX_TENANT_RULES + 1)) else {
            panic!("too many rules must be refused");
        };
        assert_eq!(field, "rules");
        let long = Rule {
            condition: Condition::DescriptionRegex {
                pattern: "x".repeat(MAX_PATTERN_LEN + 1),
            },
            ..Rule::keyword("unused", "long")
        };
        let Err(RuleError::Invalid { field, .. }) = Categoriser::new(vec![long]) else {
            panic!("a pattern over the cap must be refused");
        };
        assert_eq!(field, "pattern");
    }

    fn facts<'a>(description: &'a str, amount: &str) -> TransactionFacts<'a> {
        TransactionFacts {
            description,
            counterparty_iban: None,
            bank_transaction_code: None,
            amount: amount.parse().expect("test amount"),
        }
    }

    #[test]
    fn merchants_of_the_guide_are_categorised() {
        let categoriser = Categoriser::new(default_rules()).expect("default rules compile");
        for (description, category) in [
            ("MAXIMA LT, X123 VILNIUS", "groceries"),
            ("Rimi Hyper Ozas", "groceries"),
            ("IKI Express", "groceries"),
            ("BOLT.EU/O/2601051234", "transport"),
            ("Bolt Food order 881", "food delivery"),
            ("Wolt Vilnius", "food delivery"),
            ("Telia Lietuva saskaita", "telecom"),
            ("IGNITIS UAB elektra", "utilities"),
            ("NETFLIX.COM", "subscriptions"),
            ("Spotify P1A2B3", "subscriptions"),
            ("Wikipedia donation", UNCATEGORISED),
        ] {
            assert_eq!(
                categoriser.categorise(&facts(description, "-12.30")).category,
                category,
                "{description}"
            );
        }
    }

    #[test]
    fn income_is_kept_apart_from_spending() {
        let categoriser = Categoriser::new(default_rules()).expect("default rules compile");
        let salary = categoriser.categorise(&facts("Darbo uzmokestis 2026-01", "2450.00"));
        assert_eq!((salary.flow, salary.category), (Flow::Income, "salary"));
        // A refund from a supermarket is income, not negative grocery spending.
        let refund = categoriser.categorise(&facts("MAXIMA LT refund", "5.99"));
        assert_eq!((refund.flow, refund.category), (Flow::Income, OTHER_INCOME));
    }

    #[test]
    fn priority_then_order_decides_and_user_rules_win() {
        let mut rules = default_rules();
        rules.push(Rule::keyword("Maxima", "household").with_priority(10));
        rules.push(
            Rule {
                category: "big purchases".into(),
                flow: Flow::Spending,
                priority: 20,
                condition: Condition::AmountOnly,
                amount: None,
            }
            .with_amount(AmountRange {
                min: Some(Decimal::from(500)),
                max: None,
            }),
        );
        rules.push(Rule {
            category: "rent".into(),
            flow: Flow::Spending,
            priority: 30,
            condition: Condition::CounterpartyIban {
                iban: "LT73 7300 0100 0000 0003".into(),
            },
            amount: None,
        });
        let categoriser = Categoriser::new(rules).expect("rules compile");
        assert_eq!(
            categoriser.categorise(&facts("MAXIMA LT", "-20.00")).category,
            "household"
        );
        assert_eq!(
            categoriser.categorise(&facts("MAXIMA LT", "-620.00")).category,
            "big purchases"
        );
        let rent = TransactionFacts {
            counterparty_iban: Some("LT737300010000000003"),
            ..facts("MAXIMA", "-700.00")
        };
        assert_eq!(categoriser.categorise(&rent).category, "rent");
    }

    #[test]
    fn bad_rules_are_refused_with_the_field_named() {
        let bad = [
            (Rule::keyword(" ", "x"), "keyword"),
            (Rule::keyword("Maxima", ""), "category"),
            (
                Rule {
                    condition: Condition::DescriptionRegex { pattern: "(".into() },
                    ..Rule::keyword("a", "b")
                },
                "pattern",
            ),
            (
                Rule {
                    condition: Condition::CounterpartyIban { iban: "LT00".into() },
                    ..Rule::keyword("a", "b")
                },
                "iban",
            ),
            (
                Rule {
                    condition: Condition::AmountOnly,
                    ..Rule::keyword("a", "b")
                },
                "amount",
            ),
        ];
        for (rule, field) in bad {
            match Categoriser::new(vec![Rule::keyword("ok", "ok"), rule]) {
                Err(RuleError::Invalid {
                    index: 1, field: named, ..
                }) => assert_eq!(named, field),
                Err(other) => panic!("{field}: {other}"),
                Ok(_) => panic!("{field}: accepted"),
            }
        }
    }

    #[test]
    fn rules_read_from_json() {
        let json = r#"[{"category":"pets","flow":"spending","priority":5,"match":"keyword","keyword":"Zoomania"},
                       {"category":"big","flow":"spending","match":"amountOnly","amount":{"min":"1000","max":null}}]"#;
        let rules: Vec<Rule> = serde_json::from_str(json).expect("rules parse");
        let categoriser = Categoriser::new(rules).expect("rules compile");
        assert_eq!(
            categoriser.categorise(&facts("ZOOMANIA Akropolis", "-9.99")).category,
            "pets"
        );
        assert_eq!(categoriser.categorise(&facts("Car dealer", "-15000")).category, "big");
    }
}
