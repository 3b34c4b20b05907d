//! Fail-stop: what a node does when it can no longer trust its own state.
//!
//! A failed fsync may have dropped dirty pages the kernel will never write again
//! ("fsyncgate"); a storage error under a Raft log or state machine leaves a replica that
//! cannot tell what it promised. Carrying on risks acknowledging writes that are gone, so
//! the node stops: in production the process aborts and a supervisor restarts it from
//! what is on disk; a simulation injects an action that crashes the simulated host.
//!
//! A poisoned lock means a thread panicked halfway through changing shared state: that
//! state cannot be trusted either, and `poisoned` aborts the process.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

type Action = Box<dyn Fn(&str) + Send + Sync>;

/// Stops the node it belongs to. Cheap to clone; every clone stops the same node.
#[derive(Clone)]
pub struct FailStop {
    inner: Arc<Inner>,
}

struct Inner {
    stopped: AtomicBool,
    /// Set once an orderly shutdown begins: resources closing then fail on purpose.
    disarmed: AtomicBool,
    action: Action,
}

impl FailStop {
    /// Production: log the reason and abort the process.
    pub fn abort_process() -> FailStop {
        FailStop::with_action(|reason| {
            tracing::error!("fail-stop: {reason}");
            eprintln!("runnel-node: fail-stop: {reason}");
            std::process::abort();
        })
    }

    /// Runs `action` (once, on the first trigger) instead of aborting: for simulations and
    /// tests, which then stop the node themselves.
    pub fn with_action(action: impl Fn(&str) + Send + Sync + 'static) -> FailStop {
        FailStop {
            inner: Arc::new(Inner {
                stopped: AtomicBool::new(false),
                disarmed: AtomicBool::new(false),
                action: Box::new(action),
            }),
        }
    }

    /// Stops the node. Returns an error for the caller to propagate in case the action
    /// returns (it does not in production).
    pub fn trigger(&self, reason: &str) -> io::Error {
        if self.inner.disarmed.load(Ordering::SeqCst) {
            tracing::debug!("during shutdown: {reason}");
        } else if !self.inner.stopped.swap(true, Ordering::SeqCst) {
            (self.inner.action)(reason);
        }
        io::Error::other(format!("node stopped: {reason}"))
    }

    /// An orderly shutdown has begun: the servers are down and nothing more will be
    /// acknowledged, so errors from resources being closed only get logged.
    pub fn disarm(&self) {
        self.inner.disarmed.store(true, Ordering::SeqCst);
    }

    /// Whether the node was told to stop; once true, it stays true.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Passes `result` through, stopping the node on an error.
    pub fn check<T>(&self, what: &str, result: io::Result<T>) -> io::Result<T> {
        result.map_err(|e| self.trigger(&format!("{what}: {e}")))
    }
}

/// A lock was poisoned: abort (see the module comment).
pub fn poisoned(what: &str) -> ! {
    tracing::error!("fail-stop: lock poisoned: {what}");
    eprintln!("runnel-node: fail-stop: lock poisoned: {what}");
    std::process::abort()
}

pub fn lock<'a, T>(mutex: &'a Mutex<T>, what: &str) -> MutexGuard<'a, T> {
    mutex.lock().unwrap_or_else(|_| poisoned(what))
}

pub fn read<'a, T>(lock: &'a RwLock<T>, what: &str) -> RwLockReadGuard<'a, T> {
    lock.read().unwrap_or_else(|_| poisoned(what))
}

pub fn write<'a, T>(lock: &'a RwLock<T>, what: &str) -> RwLockWriteGuard<'a, T> {
    lock.write().unwrap_or_else(|_| poisoned(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn the_action_runs_once_and_the_stop_sticks() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let stop = FailStop::with_action(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        assert!(!stop.is_stopped());
        let clone = stop.clone();
        let _ = clone.trigger("first");
        let _ = stop.trigger("second");
        assert!(stop.is_stopped());
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(stop.check("write", Err::<(), _>(io::Error::other("disk"))).is_err());
        assert_eq!(stop.check("write", Ok(7)).unwrap(), 7);
    }

    #[test]
    fn a_disarmed_stop_only_logs() {
        let stop = FailStop::with_action(|r| panic!("must not run during shutdown: {r}"));
        stop.disarm();
        assert!(stop.check("closing", Err::<(), _>(io::Error::other("engine closed"))).is_err());
        assert!(!stop.is_stopped());
    }
}
