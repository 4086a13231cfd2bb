use chrono::{DateTime, NaiveDate, Utc};

/// The only source of "now" in Consentry. Production uses the system clock; the demo and the tests move a
/// simulated clock through months in seconds.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// The calendar day (UTC) that budgets such as frequencyPerDay are counted against.
    fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}
