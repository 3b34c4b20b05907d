//! The async runtime openraft runs on: tokio, with two additions.
//!
//! - Seeded randomness (openraft's `DeterministicRng`): election timeouts come from a seed
//!   carried by the task, so a simulation replays the same elections from the same seed.
//! - Fail-stop on panic: openraft asserts its own invariants (a follower asked to replace
//!   an entry it had committed, for one) and panics when one breaks. Tokio would catch that
//!   panic and leave the group dead on this node while the rest of the node carried on
//!   answering for it. A broken Raft invariant means this node's log cannot be trusted,
//!   so the panic stops the node instead (`FailStop`), as a failed fsync does.
//!
//! Both ride on task-locals set by [`Runtime::scope`] and handed down to every task
//! openraft spawns inside it.

use crate::failstop::FailStop;
use futures::FutureExt;
use openraft_rt::deterministic_rng::DeterministicRng;
use openraft_rt::{AsyncRuntime, OptionalSend, Select2, Select3, Select4};
use openraft_rt_tokio::TokioRuntime;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

type Inner = DeterministicRng<TokioRuntime>;

/// How the fail-stop reason of a panicking Raft task starts.
pub const RAFT_PANIC_REASON: &str = "a Raft task panicked";

openraft_rt::task_local! {
    /// Who to tell when a task of a group panics.
    static ON_PANIC: FailStop;
}

pub struct Runtime {
    inner: Inner,
}

impl Runtime {
    /// Runs `f` (a group's start, which spawns its tasks) with randomness drawn from
    /// `seed` and with `fail_stop` told of any panic in the tasks it spawns.
    pub fn scope<F: Future>(seed: u64, fail_stop: FailStop, f: F) -> impl Future<Output = F::Output> {
        ON_PANIC.scope(fail_stop, Inner::scope(seed, f))
    }
}

/// The message a panic carried, or `?`.
pub fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("?")
}

/// `future`, stopping the node if it panics. Once the node is told to stop, the task never
/// finishes (the process is going away); a disarmed node (shutting down) lets the panic
/// go on to tokio.
async fn fail_stop_on_panic<F: Future>(fail_stop: FailStop, future: F) -> F::Output {
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(output) => output,
        Err(panic) => {
            fail_stop.trigger(&format!("{RAFT_PANIC_REASON}: {}", panic_message(panic.as_ref())));
            if fail_stop.is_stopped() {
                futures::future::pending::<()>().await;
            }
            std::panic::resume_unwind(panic)
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").field("inner", &self.inner).finish()
    }
}

impl AsyncRuntime for Runtime {
    type JoinError = <Inner as AsyncRuntime>::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = <Inner as AsyncRuntime>::JoinHandle<T>;
    type Sleep = <Inner as AsyncRuntime>::Sleep;
    type Instant = <Inner as AsyncRuntime>::Instant;
    type TimeoutError = <Inner as AsyncRuntime>::TimeoutError;
    type Timeout<R, T: Future<Output = R> + OptionalSend> = <Inner as AsyncRuntime>::Timeout<R, T>;
    type ThreadLocalRng = <Inner as AsyncRuntime>::ThreadLocalRng;
    type Mpsc = <Inner as AsyncRuntime>::Mpsc;
    type Watch = <Inner as AsyncRuntime>::Watch;
    type Oneshot = <Inner as AsyncRuntime>::Oneshot;
    type Mutex<T: OptionalSend + 'static> = <Inner as AsyncRuntime>::Mutex<T>;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        match ON_PANIC.try_with(|f| f.clone()) {
            Ok(fail_stop) => {
                let child = fail_stop.clone();
                Inner::spawn(ON_PANIC.scope(fail_stop, fail_stop_on_panic(child, future)))
            }
            // Outside a group's scope (openraft's own tests): plain tokio behaviour.
            Err(_) => Inner::spawn(future),
        }
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        Inner::sleep(duration)
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        Inner::sleep_until(deadline)
    }

    fn timeout<R, F>(duration: Duration, future: F) -> Self::Timeout<R, F>
    where
        F: Future<Output = R> + OptionalSend,
    {
        Inner::timeout(duration, future)
    }

    fn timeout_at<R, F>(deadline: Self::Instant, future: F) -> Self::Timeout<R, F>
    where
        F: Future<Output = R> + OptionalSend,
    {
        Inner::timeout_at(deadline, future)
    }

    fn select2<A, B>(a: A, b: B) -> impl Future<Output = Select2<A::Output, B::Output>> + OptionalSend
    where
        A: Future + OptionalSend,
        B: Future + OptionalSend,
    {
        Inner::select2(a, b)
    }

    fn select3<A, B, C>(
        a: A,
        b: B,
        c: C,
    ) -> impl Future<Output = Select3<A::Output, B::Output, C::Output>> + OptionalSend
    where
        A: Future + OptionalSend,
        B: Future + OptionalSend,
        C: Future + OptionalSend,
    {
        Inner::select3(a, b, c)
    }

    fn select4<A, B, C, D>(
        a: A,
        b: B,
        c: C,
        d: D,
    ) -> impl Future<Output = Select4<A::Output, B::Output, C::Output, D::Output>> + OptionalSend
    where
        A: Future + OptionalSend,
        B: Future + OptionalSend,
        C: Future + OptionalSend,
        D: Future + OptionalSend,
    {
        Inner::select4(a, b, c, d)
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        Inner::is_panic(join_error)
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        Inner::thread_rng()
    }

    fn new(threads: usize) -> Self {
        Runtime { inner: Inner::new(threads) }
    }

    fn block_on<F, T>(&mut self, future: F) -> T
    where
        F: Future<Output = T>,
    {
        self.inner.block_on(future)
    }

    fn spawn_blocking<F, T>(f: F) -> impl Future<Output = Result<T, io::Error>> + Send
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Inner::spawn_blocking(f)
    }
}

#[cfg(test)]
// The tests start tasks inside a scope and hand their join handles out of it.
#[allow(clippy::async_yields_async)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn recording() -> (FailStop, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let stop = FailStop::with_action(move |reason| log.lock().expect("test lock").push(reason.to_string()));
        (stop, seen)
    }

    /// The task openraft would spawn panics: the node is stopped with the panic's message,
    /// and the task (spawned from a task spawned in the scope) never finishes.
    #[tokio::test]
    async fn a_panic_in_a_group_task_stops_the_node() {
        let (stop, seen) = recording();
        let handle = Runtime::scope(7, stop.clone(), async {
            Runtime::spawn(async {
                let inner = Runtime::spawn(async { panic!("committed entry replaced") });
                let _ = inner.await;
            })
        })
        .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(stop.is_stopped());
        let seen = seen.lock().expect("test lock").clone();
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert!(seen[0].contains("committed entry replaced"), "{seen:?}");
        assert!(!handle.is_finished(), "a stopped node's task must not carry on");
        handle.abort();
    }

    /// While the node shuts down (fail-stop disarmed), a panic is only a panic.
    #[tokio::test]
    async fn a_panic_during_shutdown_reaches_the_join_handle() {
        let (stop, seen) = recording();
        stop.disarm();
        let handle = Runtime::scope(7, stop.clone(), async { Runtime::spawn(async { panic!("late") }) }).await;
        let joined = handle.await;
        assert!(joined.as_ref().is_err_and(|e| e.is_panic()), "{joined:?}");
        assert!(!stop.is_stopped());
        assert!(seen.lock().expect("test lock").is_empty());
    }

    #[tokio::test]
    async fn tasks_that_finish_are_untouched() {
        let (stop, _) = recording();
        let handle = Runtime::scope(7, stop.clone(), async { Runtime::spawn(async { 41 + 1 }) }).await;
        assert_eq!(handle.await.ok(), Some(42));
        assert!(!stop.is_stopped());
    }
}
