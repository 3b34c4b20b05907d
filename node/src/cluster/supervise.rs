//! Long-running node tasks under supervision: a panic is logged and the task restarted,
//! and a task that keeps panicking stops the node rather than silently ceasing its work.

use crate::failstop::FailStop;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Restarts allowed within `RESTART_WINDOW` before the node is stopped.
pub const RESTARTS_MAX: u32 = 5;
const RESTART_WINDOW: Duration = Duration::from_secs(60);
const RESTART_DELAY: Duration = Duration::from_millis(200);

/// Runs the task `make` builds until it returns normally; restarts it after a panic.
pub async fn supervise<F, Fut>(name: &'static str, fail_stop: FailStop, mut make: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut restarts: Vec<Instant> = Vec::new();
    loop {
        match tokio::spawn(make()).await {
            Ok(()) => return,
            Err(e) if e.is_cancelled() => return,
            Err(e) => {
                let now = Instant::now();
                restarts.retain(|t| now.duration_since(*t) < RESTART_WINDOW);
                restarts.push(now);
                tracing::error!(task = name, restarts = restarts.len(), "task panicked: {e}; restarting");
                if restarts.len() as u32 > RESTARTS_MAX {
                    let _ = fail_stop
                        .trigger(&format!("task {name} panicked {} times within {RESTART_WINDOW:?}", restarts.len()));
                    return;
                }
                tokio::time::sleep(RESTART_DELAY).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_until_it_finishes() {
        let runs = Arc::new(AtomicU32::new(0));
        let stop = FailStop::with_action(|r| panic!("unexpected stop: {r}"));
        let counted = runs.clone();
        supervise("flaky", stop.clone(), move || {
            let runs = counted.clone();
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("injected");
                }
            }
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "two panics, then a clean run");
        assert!(!stop.is_stopped());
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_that_keeps_panicking_stops_the_node() {
        let stopped = Arc::new(AtomicU32::new(0));
        let seen = stopped.clone();
        let stop = FailStop::with_action(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
        });
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        supervise("broken", stop.clone(), move || {
            counted.fetch_add(1, Ordering::SeqCst);
            async { panic!("always") }
        })
        .await;
        assert!(stop.is_stopped());
        assert_eq!(stopped.load(Ordering::SeqCst), 1);
        assert_eq!(runs.load(Ordering::SeqCst), RESTARTS_MAX + 1);
    }
}
