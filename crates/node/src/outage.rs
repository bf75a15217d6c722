//! A dependency that stopped answering (the RPC, Docker): logged once when it goes down and once
//! when it comes back, never every retry, with the retry delay growing to a cap.

use std::fmt::Display;
use std::time::{Duration, Instant};

const FIRST_RETRY: Duration = Duration::from_millis(250);

/// The state of one dependency.
#[derive(Debug)]
pub struct Outage {
    what: &'static str,
    cap: Duration,
    since: Option<Instant>,
    failures: u32,
}

impl Outage {
    /// Tracks `what` (named in the log lines), retrying at most every `cap`.
    pub fn new(what: &'static str, cap: Duration) -> Self {
        Self { what, cap, since: None, failures: 0 }
    }

    /// Notes a failure; logs it when it starts an outage. Returns the wait before the next try.
    pub fn failed(&mut self, error: &impl Display) -> Duration {
        if self.since.is_none() {
            tracing::warn!(error = %error, "{} unreachable; the node keeps enforcing the last verified state and retries", self.what);
            self.since = Some(Instant::now());
        }
        self.failures = self.failures.saturating_add(1);
        self.delay()
    }

    /// Notes a success; logs the end of an outage.
    pub fn recovered(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::info!(down_for = ?since.elapsed(), "{} reachable again", self.what);
        }
        self.failures = 0;
    }

    /// True while failing.
    pub fn is_down(&self) -> bool {
        self.since.is_some()
    }

    fn delay(&self) -> Duration {
        backoff(self.failures, self.cap)
    }
}

/// 250 ms doubled per failure after the first, up to `cap`.
pub fn backoff(failures: u32, cap: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    FIRST_RETRY.saturating_mul(1 << doublings).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let cap = Duration::from_secs(5);
        let delays: Vec<_> = (1..=6).map(|n| backoff(n, cap).as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 4000, 5000]);
        assert_eq!(backoff(u32::MAX, cap), cap);
    }

    #[test]
    fn an_outage_is_down_until_it_recovers() {
        let mut rpc = Outage::new("RPC", Duration::from_secs(1));
        assert!(!rpc.is_down());
        assert_eq!(rpc.failed(&"refused"), Duration::from_millis(250));
        assert_eq!(rpc.failed(&"refused"), Duration::from_millis(500));
        assert!(rpc.is_down());
        rpc.recovered();
        assert!(!rpc.is_down());
        assert_eq!(rpc.failed(&"refused"), Duration::from_millis(250), "a new outage starts over");
    }
}
