//! Progress for the long commands (`replay`, the benchmarks): indicatif bars and spinners on stderr. indicatif
//! draws nothing when stderr is not a terminal, so piped or captured output carries the results alone.

use std::time::Duration;

use consentry_projections::RebuildProgress;
use indicatif::{ProgressBar, ProgressStyle};

/// How often a spinner moves on its own while the work gives no news.
const TICK: Duration = Duration::from_millis(120);

/// A bar over the events a rebuild replays, with its rate.
pub struct RebuildBar {
    bar: ProgressBar,
}

impl RebuildBar {
    pub fn new() -> Self {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template(
            "[{bar:30}] {percent:>3}% {human_pos}/{human_len} events, {per_sec} ({eta} left)",
        ) {
            bar.set_style(style.progress_chars("#>-"));
        }
        Self { bar }
    }

    pub fn update(&self, progress: RebuildProgress) {
        self.bar.set_length(progress.events_total);
        self.bar.set_position(progress.events_done.min(progress.events_total));
    }

    /// Removes the bar, so the closing figure stands alone.
    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// A spinner with a message, for work whose end is known only when it comes; `set_message` names each phase.
pub fn spinner(message: impl Into<String>) -> ProgressBar {
    let spinner = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        spinner.set_style(style);
    }
    spinner.set_message(message.into());
    spinner.enable_steady_tick(TICK);
    spinner
}
