//! The accept loop of the HTTP listeners (operations, AWS endpoint): a bound on the
//! connections served at once, past which new ones are closed at once, and a pause after
//! an accept error rather than a spin.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Hands each connection on `listener` to `serve` (with a permit to drop when it is done)
/// until `shutdown` resolves; at most `connections_max` at once.
pub async fn accept_until<F>(
    what: &str,
    listener: TcpListener,
    connections_max: usize,
    shutdown: impl Future<Output = ()>,
    mut serve: F,
) where
    F: FnMut(TcpStream, OwnedSemaphorePermit),
{
    let connections = Arc::new(Semaphore::new(connections_max));
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!("{what} listener: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            continue; // Dropping the stream closes it.
        };
        serve(stream, permit);
    }
}
