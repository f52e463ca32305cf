//! [`ShutdownHandle`]: ends a server gracefully or at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Shuts a server down. Cheap to clone.
///
/// ```no_run
/// # use wren_server::{Methods, Server};
/// # async fn run(listener: tokio::net::UnixListener) -> std::io::Result<()> {
/// let router = Server::builder().add_service(Methods::new("demo.v1.Demo"));
/// let handle = router.shutdown_handle();
/// let server = tokio::spawn(router.serve(listener));
/// // ... later: finish calls in flight, flush their replies, then close.
/// handle.shutdown().await;
/// server.await.unwrap()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Set when a shutdown is asked for: the accept loop stops.
    started: CancellationToken,
    /// Connections stop taking calls and close once idle.
    drain: CancellationToken,
    /// Connections close at once.
    close: CancellationToken,
    done: Notify,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    finished: bool,
    graceful: bool,
}

impl ShutdownHandle {
    pub(crate) fn new() -> ShutdownHandle {
        ShutdownHandle {
            inner: Arc::new(Inner {
                started: CancellationToken::new(),
                drain: CancellationToken::new(),
                close: CancellationToken::new(),
                done: Notify::new(),
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Graceful shutdown: stop accepting, finish every call in flight and
    /// deliver its reply, then close. Connections still busy after the
    /// server's shutdown timeout are closed regardless. Returns once every
    /// connection is closed.
    pub async fn shutdown(&self) {
        self.inner.state.lock().expect("shutdown state").graceful = true;
        self.inner.started.cancel();
        self.wait().await;
    }

    /// Immediate shutdown: stop accepting and close every connection now;
    /// calls in flight are cancelled. Returns once every connection is closed.
    pub async fn close(&self) {
        self.inner.close.cancel();
        self.inner.started.cancel();
        self.wait().await;
    }

    /// Waits until the server has shut down.
    pub async fn wait(&self) {
        loop {
            let notified = self.inner.done.notified();
            if self.inner.state.lock().expect("shutdown state").finished {
                return;
            }
            notified.await;
        }
    }

    pub(crate) async fn wait_started(&self) {
        self.inner.started.cancelled().await;
    }

    pub(crate) fn drain_token(&self) -> CancellationToken {
        self.inner.drain.clone()
    }

    pub(crate) fn close_token(&self) -> CancellationToken {
        self.inner.close.clone()
    }

    /// Called by the accept loop once it has stopped.
    pub(crate) fn start(&self, timeout: Duration) {
        self.inner.started.cancel();
        self.inner.drain.cancel();
        if self.inner.close.is_cancelled() {
            return;
        }
        let close = self.inner.close.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            close.cancel();
        });
    }

    pub(crate) fn finished(&self) {
        self.inner.state.lock().expect("shutdown state").finished = true;
        self.inner.close.cancel();
        self.inner.done.notify_waiters();
    }
}
