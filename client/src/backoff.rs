//! Bounded exponential backoff shared by every retry loop of the client.

use std::time::Duration;

use rand::Rng;

/// How often and how long a failed call is retried.
///
/// A call stops retrying at whichever bound comes first: `max_attempts` tries or
/// `max_elapsed` since the first try (an attempt already under way finishes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the second attempt.
    pub initial_delay: Duration,
    /// Ceiling of any one delay.
    pub max_delay: Duration,
    /// Attempts in all, the first included; at least 1.
    pub max_attempts: u32,
    /// No new attempt starts once this much time has passed.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
            max_attempts: 10,
            max_elapsed: Duration::from_secs(15),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn no_retry() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// The upper bound of the delay after failed attempt number `attempt` (0-based):
    /// `initial_delay * 2^attempt`, capped at `max_delay`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The delay after failed attempt number `attempt`: uniformly in the upper half of
    /// the ceiling, so clients retrying together spread out but still back off.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let floor = ceiling / 2;
        if ceiling <= floor {
            return ceiling;
        }
        let nanos = rand::rng().random_range(floor.as_nanos()..=ceiling.as_nanos());
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_from_initial_and_stop_at_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.ceiling(0), Duration::from_millis(50));
        assert_eq!(policy.ceiling(1), Duration::from_millis(100));
        assert_eq!(policy.ceiling(4), Duration::from_millis(800));
        assert_eq!(policy.ceiling(5), Duration::from_secs(1));
        assert_eq!(policy.ceiling(1_000), Duration::from_secs(1));
        for attempt in 0..64 {
            let delay = policy.delay(attempt);
            assert!(delay <= policy.max_delay, "attempt {attempt}: {delay:?}");
            assert!(delay >= policy.ceiling(attempt) / 2, "attempt {attempt}: {delay:?}");
        }
    }

    #[test]
    fn sleeping_every_allowed_retry_fits_the_time_budget() {
        let policy = RetryPolicy::default();
        let total: Duration = (0..policy.max_attempts - 1).map(|a| policy.ceiling(a)).sum();
        assert!(total < policy.max_elapsed, "{total:?}");
    }

    #[test]
    fn zero_delay_policy_does_not_panic() {
        let policy = RetryPolicy { initial_delay: Duration::ZERO, ..RetryPolicy::default() };
        assert_eq!(policy.delay(3), Duration::ZERO);
    }
}
