//! The common output of `consentry bench NAME`: both sides of the comparison and their ratio in words, and
//! with `--json` a last line `{"bench", "consentry", "baseline", "unit", "ratio", "peak_rss_mb"}` for scripts.

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub bench: &'static str,
    pub consentry: f64,
    pub baseline: f64,
    pub unit: &'static str,
    pub ratio: f64,
    pub peak_rss_mb: f64,
}

impl BenchReport {
    /// A report whose ratio is consentry / baseline, with the process's peak memory so far.
    pub fn new(bench: &'static str, consentry: f64, baseline: f64, unit: &'static str) -> Self {
        let ratio = if baseline > 0.0 {
            consentry / baseline
        } else {
            f64::INFINITY
        };
        Self {
            bench,
            consentry,
            baseline,
            unit,
            ratio,
            peak_rss_mb: peak_rss_mb(),
        }
    }

    pub fn print(&self, json: bool) {
        println!("consentry: {} {}", readable(self.consentry), self.unit);
        println!("baseline:  {} {}", readable(self.baseline), self.unit);
        println!(
            "ratio:     {:.1}x   peak memory: {:.1} MB",
            self.ratio, self.peak_rss_mb
        );
        if json {
            println!("{}", serde_json::to_string(self).unwrap_or_default());
        }
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
