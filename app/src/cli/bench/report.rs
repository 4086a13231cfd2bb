//! The common output of `consentry bench NAME`: both sides of the comparison and their ratio in words, the
//! ceiling and Consentry's share of it where one applies, and with `--json` a last line
//! `{"bench", "consentry", "baseline", "unit", "ratio", "peak_rss_mb", "ceiling", "ceiling_ratio"}` for
//! scripts (the last two only where a ceiling was measured).

use serde::Serialize;

/// What one benchmark measured, every figure in `unit` (larger is better).
#[derive(Debug)]
pub struct Figures {
    pub consentry: f64,
    pub baseline: f64,
    pub unit: &'static str,
    /// The physical limit of the same work on the same machine, measured in the same run.
    pub ceiling: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub bench: &'static str,
    pub consentry: f64,
    pub baseline: f64,
    pub unit: &'static str,
    pub ratio: f64,
    pub peak_rss_mb: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceiling: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ceiling_ratio: Option<f64>,
}

impl BenchReport {
    /// A report whose ratios are consentry / baseline and consentry / ceiling, with the process's peak memory
    /// so far.
    pub fn new(bench: &'static str, figures: Figures) -> Self {
        Self {
            bench,
            consentry: figures.consentry,
            baseline: figures.baseline,
            unit: figures.unit,
            ratio: ratio(figures.consentry, figures.baseline),
            peak_rss_mb: peak_rss_mb(),
            ceiling: figures.ceiling,
            ceiling_ratio: figures.ceiling.map(|ceiling| ratio(figures.consentry, ceiling)),
        }
    }

    pub fn print(&self, json: bool) {
        println!("consentry: {} {}", readable(self.consentry), self.unit);
        println!("baseline:  {} {}", readable(self.baseline), self.unit);
        println!(
            "ratio:     {:.1}x   peak memory: {:.1} MB",
            self.ratio, self.peak_rss_mb
        );
        if let (Some(ceiling), Some(share)) = (self.ceiling, self.ceiling_ratio) {
            println!("ceiling:   {} {}", readable(ceiling), self.unit);
            println!("of ceiling: {share:.2}x");
        }
        if json {
            println!("{}", serde_json::to_string(self).unwrap_or_default());
        }
    }
}

fn ratio(value: f64, reference: f64) -> f64 {
    if reference > 0.0 {
        value / reference
    } else {
        f64::INFINITY
    }
}

/// Large figures without decimals, small ones with enough to compare.
fn readable(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.3}")
    }
}

/// The process's peak resident memory (VmHWM), in MB; 0 where /proc is not available.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
