//! Exponential backoff under a time budget, shared by every retry loop of the client,
//! and the source of its jitter.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How long and how often a failed call is retried: the client's equivalent of the AWS
/// SDKs' retry budget.
///
/// Retryable failures (no node reachable, `ServiceUnavailable`, `InternalFailure`, an
/// overloaded node) are retried with jittered exponential backoff until `max_elapsed` has
/// passed since the first attempt; only then does the call return
/// `ClientError::Unavailable`. The budget is meant to outlast a leader failover, so a
/// caller sees a slow call rather than an error. `max_attempts` is only a safety bound.
///
/// No attempt starts at or after the deadline; one already under way finishes (it is
/// bounded by `ClientConfig::request_timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the second attempt.
    pub initial_delay: Duration,
    /// Ceiling of any one delay, including a wait an overloaded node asks for.
    pub max_delay: Duration,
    /// Attempts in all, the first included; at least 1. A safety bound: with the default
    /// the deadline ends retries long before it.
    pub max_attempts: u32,
    /// The time budget of a call: no new attempt starts once this much time has passed
    /// since the first. The default, 30 s, is well above the worst failover (3-4 s for a
    /// leader kill on an idle machine, more on a busy one).
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_secs(1),
            max_attempts: 1_000,
            max_elapsed: Duration::from_secs(30),
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

    /// The delay after failed attempt number `attempt`, with OS-seeded jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, &mut rand::rng())
    }

    /// The delay after failed attempt number `attempt`: uniformly in the upper half of
    /// the ceiling, so clients retrying together spread out but still back off.
    pub fn delay_with<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let ceiling = self.ceiling(attempt);
        let floor = ceiling / 2;
        if ceiling <= floor {
            return ceiling;
        }
        let nanos = rng.random_range(floor.as_nanos()..=ceiling.as_nanos());
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// The pause before the next attempt, after `attempts` failed ones of which the first
    /// began `elapsed` ago, or `None` when the budget is spent. `jittered` is the backoff
    /// delay; `at_least` is the wait an overloaded node asked for, honoured up to
    /// `max_delay`. A pause that would end at or past the deadline ends the retries.
    pub(crate) fn pause(
        &self,
        attempts: u32,
        elapsed: Duration,
        jittered: Duration,
        at_least: Option<Duration>,
    ) -> Option<Duration> {
        if attempts >= self.max_attempts.max(1) {
            return None;
        }
        let pause = match at_least {
            Some(wait) => jittered.max(wait.min(self.max_delay)),
            None => jittered,
        };
        (elapsed.saturating_add(pause) < self.max_elapsed).then_some(pause)
    }
}

/// Where a client's backoff delays get their randomness: the OS, or a generator seeded
/// by `ClientConfig::jitter_seed`, so that a simulation replays the same delays.
#[derive(Debug)]
pub(crate) struct Jitter {
    seeded: Option<Mutex<StdRng>>,
}

impl Jitter {
    pub fn new(seed: Option<u64>) -> Jitter {
        Jitter { seeded: seed.map(|seed| Mutex::new(StdRng::seed_from_u64(seed))) }
    }

    /// `policy.delay(attempt)`, drawn from this source.
    pub fn delay(&self, policy: &RetryPolicy, attempt: u32) -> Duration {
        match &self.seeded {
            Some(rng) => policy.delay_with(attempt, &mut *rng.lock().unwrap_or_else(PoisonError::into_inner)),
            None => policy.delay(attempt),
        }
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

    /// Sleeps every pause the policy allows, with attempts that take no time: the time
    /// spent and the attempts made when it gives up.
    fn run_out(policy: &RetryPolicy, jitter: &Jitter, at_least: Option<Duration>) -> (Duration, u32) {
        let mut elapsed = Duration::ZERO;
        let mut attempts = 1;
        while let Some(pause) = policy.pause(attempts, elapsed, jitter.delay(policy, attempts - 1), at_least) {
            elapsed += pause;
            attempts += 1;
        }
        (elapsed, attempts)
    }

    #[test]
    fn with_the_defaults_the_deadline_ends_retries_not_the_attempt_bound() {
        let policy = RetryPolicy::default();
        for seed in 0..20 {
            let (elapsed, attempts) = run_out(&policy, &Jitter::new(Some(seed)), None);
            assert!(elapsed < policy.max_elapsed, "seed {seed}: {elapsed:?}");
            assert!(elapsed + policy.max_delay >= policy.max_elapsed, "seed {seed}: gave up early at {elapsed:?}");
            assert!(attempts > 10 && attempts < policy.max_attempts, "seed {seed}: {attempts} attempts");
        }
    }

    #[test]
    fn the_attempt_bound_still_holds() {
        let policy = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
        assert_eq!(run_out(&policy, &Jitter::new(Some(1)), None).1, 3);
        assert_eq!(RetryPolicy::no_retry().pause(1, Duration::ZERO, Duration::ZERO, None), None);
    }

    #[test]
    fn a_requested_wait_is_honoured_up_to_max_delay_and_never_past_the_deadline() {
        let policy = RetryPolicy::default();
        let short = Duration::from_millis(10);
        let asked = Duration::from_millis(700);
        assert_eq!(policy.pause(1, Duration::ZERO, short, Some(asked)), Some(asked));
        assert_eq!(policy.pause(1, Duration::ZERO, short, Some(Duration::from_secs(60))), Some(policy.max_delay));
        // The backoff delay wins when it is the longer one.
        assert_eq!(policy.pause(1, Duration::ZERO, asked, Some(short)), Some(asked));
        let almost_spent = policy.max_elapsed - Duration::from_millis(500);
        assert_eq!(policy.pause(1, almost_spent, short, Some(asked)), None);
        assert_eq!(policy.pause(1, almost_spent, short, None), Some(short));
        let (elapsed, _) = run_out(&policy, &Jitter::new(None), Some(asked));
        assert!(elapsed < policy.max_elapsed, "{elapsed:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_delays() {
        let policy = RetryPolicy::default();
        let sequence = |jitter: Jitter| (0..20).map(|a| jitter.delay(&policy, a)).collect::<Vec<_>>();
        let first = sequence(Jitter::new(Some(7)));
        assert_eq!(first, sequence(Jitter::new(Some(7))));
        assert_ne!(first, sequence(Jitter::new(Some(8))));
        for (attempt, delay) in (0..).zip(&first) {
            assert!(*delay >= policy.ceiling(attempt) / 2 && *delay <= policy.ceiling(attempt), "{delay:?}");
        }
    }

    #[test]
    fn zero_delay_policy_does_not_panic() {
        let policy = RetryPolicy { initial_delay: Duration::ZERO, ..RetryPolicy::default() };
        assert_eq!(policy.delay(3), Duration::ZERO);
        assert_eq!(Jitter::new(Some(3)).delay(&policy, 3), Duration::ZERO);
    }
}
