//! Bounded work: a node takes on at most so many client requests, and so many bytes of
//! record data, at once. Past that it refuses at once with `LimitExceededException` and a
//! retry-after hint, instead of queueing without end or running out of memory.

use super::error::KinesisError;
use crate::config::NodeLimits;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bytes are counted in units of this size, so the semaphore's permit count stays small.
const BYTES_PER_PERMIT: usize = 1024;
/// What an overloaded node asks callers to wait before trying again.
pub const OVERLOAD_RETRY_AFTER_MS: u64 = 100;

#[derive(Clone)]
pub struct Admission {
    requests: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
    limits: NodeLimits,
}

/// Held while a request is served; dropping it frees its share.
pub struct Admitted {
    _request: OwnedSemaphorePermit,
    _bytes: Option<OwnedSemaphorePermit>,
}

impl Admission {
    pub fn new(limits: NodeLimits) -> Admission {
        let byte_permits = (limits.bytes_in_flight_max / BYTES_PER_PERMIT).max(1);
        Admission {
            requests: Arc::new(Semaphore::new(limits.requests_in_flight_max.max(1))),
            bytes: Arc::new(Semaphore::new(byte_permits.min(Semaphore::MAX_PERMITS))),
            limits,
        }
    }

    /// Admits a request that holds or returns about `bytes` of record data, or refuses it.
    pub fn admit(&self, bytes: usize) -> Result<Admitted, KinesisError> {
        let overloaded = |what: String| KinesisError::Overloaded {
            message: format!("Node overloaded: {what}; retry after {OVERLOAD_RETRY_AFTER_MS} ms."),
            retry_after_ms: OVERLOAD_RETRY_AFTER_MS,
        };
        let request = self
            .requests
            .clone()
            .try_acquire_owned()
            .map_err(|_| overloaded(format!("{} requests in flight", self.limits.requests_in_flight_max)))?;
        let units = bytes.div_ceil(BYTES_PER_PERMIT);
        let bytes =
            if units == 0 {
                None
            } else {
                let units = u32::try_from(units).unwrap_or(u32::MAX);
                Some(self.bytes.clone().try_acquire_many_owned(units).map_err(|_| {
                    overloaded(format!("{} bytes of records in flight", self.limits.bytes_in_flight_max))
                })?)
            };
        Ok(Admitted { _request: request, _bytes: bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_bytes_past_the_limits_are_refused_until_others_finish() {
        let admission = Admission::new(NodeLimits { requests_in_flight_max: 2, bytes_in_flight_max: 10 * 1024 });
        let a = admission.admit(0).unwrap();
        let b = admission.admit(0).unwrap();
        let refused = admission.admit(0).err().expect("a third request is refused");
        assert!(matches!(refused, KinesisError::Overloaded { retry_after_ms: OVERLOAD_RETRY_AFTER_MS, .. }));
        assert_eq!(refused.name(), "LimitExceededException");
        drop(a);
        drop(b);
        let big = admission.admit(8 * 1024).unwrap();
        assert!(admission.admit(4 * 1024).is_err(), "bytes past the budget are refused");
        drop(big);
        assert!(admission.admit(10 * 1024).is_ok());
        assert!(admission.admit(11 * 1024).is_err(), "a request larger than the budget never fits");
    }
}
