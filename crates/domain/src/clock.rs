//! The clock is injected everywhere so tests control time. Direct `now()` calls are banned by
//! clippy's `disallowed-methods`; [`SystemClock`] is the one sanctioned place that reads time.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;

pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> OffsetDateTime;

    /// Milliseconds since the Unix epoch: the storage representation of every timestamp.
    fn now_millis(&self) -> i64 {
        to_millis(self.now())
    }
}

pub fn to_millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            millis: AtomicI64::new(to_millis(start)),
        }
    }

    pub fn advance(&self, by: time::Duration) {
        let delta = i64::try_from(by.whole_milliseconds()).unwrap_or(i64::MAX);
        self.millis.fetch_add(delta, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        from_millis(self.millis.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_advances() {
        let clock = ManualClock::new(from_millis(5_000));
        clock.advance(time::Duration::seconds(2));
        assert_eq!(clock.now_millis(), 7_000);
    }
}
