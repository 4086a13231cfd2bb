//! When work that runs on its own is due: the pure policies the scheduler applies. Each takes the facts from the
//! log (when a payment was submitted, a consent's frequencyPerDay) and the clock's now, and answers a moment, so
//! a restart or a rebuild computes the same schedule again.
//!
//! - [`next_status_poll`]: the guide's polling of a submitted payment: every 5 s during the first minute, every
//!   30 s until 5 minutes, every 5 minutes after, and no more after 24 hours.
//! - [`backoff`]: after a failed attempt, attempts × 1 s, at most 60 s; a bank's `Retry-After` wins when later.
//! - [`next_scheduled_sync`]: a consent's unattended syncs, frequencyPerDay of them spread over the day at a
//!   moment of the day that depends on the consent, so that not every consent is synced at midnight.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use uuid::Uuid;

/// How often a decoupled authorisation's scaStatus is read, and for how long at most.
pub const SCA_STATUS_EVERY: Duration = Duration::seconds(2);
pub const SCA_STATUS_FOR: Duration = Duration::minutes(10);

/// Polling stops this long after submission: the payment then says so and the host is told.
pub const POLLING_STOPS_AFTER: Duration = Duration::hours(24);

/// The polling phases: until `until` after submission, one poll every `every`.
const POLLING_PHASES: [(Duration, Duration); 3] = [
    (Duration::minutes(1), Duration::seconds(5)),
    (Duration::minutes(5), Duration::seconds(30)),
    (POLLING_STOPS_AFTER, Duration::minutes(5)),
];

/// The first polling slot strictly after `now` for a payment submitted at `submitted`, or `None` when polling is
/// over (24 hours after submission). Slots are fixed offsets from submission (5 s, 10 s, … 60 s, 90 s, … 300 s,
/// 600 s, …), so a poll that ran late does not shift the ones after it.
pub fn next_status_poll(submitted: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let elapsed = (now - submitted).max(Duration::zero());
    let mut phase_start = Duration::zero();
    for (until, every) in POLLING_PHASES {
        if elapsed < until {
            // The next multiple of `every` (counted from the phase's start) after `elapsed`.
            let into_phase = (elapsed - phase_start).max(Duration::zero());
            let steps = into_phase.num_milliseconds() / every.num_milliseconds() + 1;
            let slot = phase_start + every * i32::try_from(steps).unwrap_or(i32::MAX);
            return (slot <= POLLING_STOPS_AFTER).then(|| submitted + slot.min(until));
        }
        phase_start = until;
    }
    None
}

/// Whether polling a payment submitted at `submitted` is over at `now`.
pub fn polling_over(submitted: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - submitted >= POLLING_STOPS_AFTER
}

/// The longest wait between two attempts after errors.
pub const MAX_BACKOFF: Duration = Duration::seconds(60);

/// When to try again after the `attempts`-th failed attempt in a row at `now`: attempts × 1 s, at most 60 s, or
/// the bank's `Retry-After` moment when that is later.
pub fn backoff(attempts: u32, now: DateTime<Utc>, retry_after: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let wait = Duration::seconds(i64::from(attempts.max(1))).min(MAX_BACKOFF);
    let ours = now + wait;
    retry_after.map_or(ours, |bank| bank.max(ours))
}

/// The next moment strictly after `now` at which a consent syncs unattended, `per_day` times a day: the day is
/// cut into `per_day` equal periods and the consent syncs at the same offset within each, an offset taken from
/// its id, so consents spread over the day instead of all syncing at midnight.
pub fn next_scheduled_sync(consent: Uuid, per_day: u8, now: DateTime<Utc>) -> DateTime<Utc> {
    let per_day = i64::from(per_day.max(1));
    let period = Duration::seconds(86_400 / per_day);
    let offset = Duration::seconds((consent.as_u128() % period.num_seconds() as u128) as i64);
    let midnight = now.date_naive().and_time(NaiveTime::MIN).and_utc();
    let mut slot = midnight + offset;
    while slot <= now {
        slot += period;
    }
    // The last period of a day may be longer by the remainder of 86,400 / per_day seconds; the next day's first
    // slot comes from its own midnight.
    let next_midnight = midnight + Duration::days(1);
    if slot >= next_midnight {
        slot = next_midnight + offset;
    }
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + seconds, 0).expect("time")
    }

    /// Every poll slot from submission on, until polling stops.
    fn slots() -> Vec<i64> {
        let submitted = at(0);
        let mut now = submitted;
        let mut slots = Vec::new();
        while let Some(next) = next_status_poll(submitted, now) {
            slots.push((next - submitted).num_seconds());
            now = next;
        }
        slots
    }

    #[test]
    fn the_guides_polling_schedule() {
        let slots = slots();
        let first_minute: Vec<i64> = slots.iter().copied().take_while(|s| *s <= 60).collect();
        assert_eq!(first_minute, (1..=12).map(|k| k * 5).collect::<Vec<_>>());
        let to_five_minutes: Vec<i64> = slots.iter().copied().filter(|s| *s > 60 && *s <= 300).collect();
        assert_eq!(to_five_minutes, (3..=10).map(|k| k * 30).collect::<Vec<_>>());
        let after: Vec<i64> = slots.iter().copied().filter(|s| *s > 300).collect();
        assert_eq!(after.first(), Some(&600));
        assert!(after.windows(2).all(|w| w[1] - w[0] == 300));
        assert_eq!(slots.last(), Some(&86_400), "the last poll is at 24 hours");
        assert_eq!(slots.len(), 12 + 8 + (86_400 - 300) / 300);
    }

    #[test]
    fn a_late_poll_does_not_shift_the_schedule() {
        let submitted = at(0);
        assert_eq!(next_status_poll(submitted, at(7)), Some(at(10)));
        assert_eq!(next_status_poll(submitted, at(61)), Some(at(90)));
        assert_eq!(next_status_poll(submitted, at(301)), Some(at(600)));
        assert_eq!(
            next_status_poll(submitted, at(-5)),
            Some(at(5)),
            "a clock behind submission polls at 5 s"
        );
        assert_eq!(next_status_poll(submitted, at(86_400)), None);
        assert!(polling_over(submitted, at(86_400)));
        assert!(!polling_over(submitted, at(86_399)));
    }

    #[test]
    fn backoff_grows_by_a_second_up_to_a_minute_and_yields_to_retry_after() {
        let now = at(0);
        assert_eq!(backoff(1, now, None), at(1));
        assert_eq!(backoff(7, now, None), at(7));
        assert_eq!(backoff(500, now, None), at(60));
        assert_eq!(backoff(0, now, None), at(1));
        assert_eq!(backoff(2, now, Some(at(30))), at(30));
        assert_eq!(backoff(20, now, Some(at(3))), at(20));
    }

    #[test]
    fn scheduled_syncs_spread_over_the_day() {
        let midnight = DateTime::parse_from_rfc3339("2026-05-04T00:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        for per_day in 1..=4u8 {
            let consent = Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
            let mut now = midnight;
            let mut day = Vec::new();
            loop {
                let next = next_scheduled_sync(consent, per_day, now);
                assert!(next > now);
                if next >= midnight + Duration::days(1) {
                    break;
                }
                day.push(next);
                now = next;
            }
            assert_eq!(day.len(), usize::from(per_day), "{per_day} syncs a day");
            let gaps: Vec<i64> = day.windows(2).map(|w| (w[1] - w[0]).num_seconds()).collect();
            assert!(gaps.iter().all(|g| *g == 86_400 / i64::from(per_day)), "{gaps:?}");
        }
        let offsets: std::collections::BTreeSet<i64> = (0..50u128)
            .map(|n| (next_scheduled_sync(Uuid::from_u128(n * 7_919_000_003), 4, midnight) - midnight).num_seconds())
            .collect();
        assert!(
            offsets.len() > 40,
            "consents do not all sync at the same moment: {offsets:?}"
        );
    }
}
