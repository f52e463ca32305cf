//! [`Drive`]: one server connection, driven until it ends, drained when a
//! graceful shutdown starts and dropped when an immediate one does.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tower_service::Service;
use wren_transport::{Body, BoxError, Connection, Request, Response};

use crate::connection::ServerConnection;

pin_project! {
    /// Drives a connection. The shutdown tokens are checked with one atomic
    /// load each per poll; their wake-ups are registered once (again only
    /// if the task's waker changes), instead of re-registering with their
    /// `Notify` on every poll of a busy connection.
    pub(crate) struct Drive<T, S>
    where
        S: Service<Request<Body>>,
    {
        conn: Connection<T, ServerConnection<S>>,
        drain: CancellationToken,
        close: CancellationToken,
        // Wakes the task when `drain` fires, then (once draining) when
        // `close` does: an immediate shutdown always starts a drain too.
        #[pin]
        wait: WaitForCancellationFutureOwned,
        // The waker `wait` will wake.
        registered: Option<Waker>,
        draining: bool,
    }
}

impl<T, S> Drive<T, S>
where
    S: Service<Request<Body>>,
{
    pub(crate) fn new(
        conn: Connection<T, ServerConnection<S>>,
        drain: CancellationToken,
        close: CancellationToken,
    ) -> Drive<T, S> {
        Drive {
            conn,
            wait: drain.clone().cancelled_owned(),
            drain,
            close,
            registered: None,
            draining: false,
        }
    }
}

impl<T, S> Future for Drive<T, S>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + Unpin + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.project();
        if this.close.is_cancelled() {
            // Dropping the connection cancels its calls.
            return Poll::Ready(Ok(()));
        }
        if !*this.draining && this.drain.is_cancelled() {
            *this.draining = true;
            this.conn.dispatch_mut().drain();
            // From now on only an immediate shutdown matters.
            this.wait.set(this.close.clone().cancelled_owned());
            *this.registered = None;
        }
        if !this
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            // Only for its wake-up: cancellation is read from the tokens.
            if this.wait.as_mut().poll(cx).is_ready() {
                cx.waker().wake_by_ref();
            }
            *this.registered = Some(cx.waker().clone());
        }
        let result = std::task::ready!(Pin::new(this.conn).poll(cx));
        if let Err(e) = &result {
            tracing::debug!(error = %e, "ttrpc connection ended");
        }
        Poll::Ready(result)
    }
}

/// The handshake stage of a [`ConnectionTask`]: it yields the connection
/// to drive, or `None` if the peer was rejected.
pub(crate) type Handshake<T, S> = Pin<Box<dyn Future<Output = Option<Drive<T, S>>> + Send>>;

pin_project! {
    /// The task of one accepted connection: its handshake (policy, accept
    /// hook), then the connection itself. The handshake's state is boxed
    /// and freed once it is done, so a long-lived idle connection's task
    /// holds only what driving it needs.
    #[project = TaskProj]
    pub(crate) enum ConnectionTask<T, S, G>
    where
        S: Service<Request<Body>>,
    {
        Handshake { handshake: Handshake<T, S>, guard: Option<G> },
        Serving { #[pin] drive: Drive<T, S>, guard: Option<G> },
    }
}

impl<T, S, G> ConnectionTask<T, S, G>
where
    S: Service<Request<Body>>,
{
    /// A task that runs `handshake`, then drives what it yields; `guard`
    /// (the connection's place under the connection limit) is held until
    /// the task ends.
    pub(crate) fn new(handshake: Handshake<T, S>, guard: G) -> ConnectionTask<T, S, G> {
        ConnectionTask::Handshake {
            handshake,
            guard: Some(guard),
        }
    }
}

impl<T, S, G> Future for ConnectionTask<T, S, G>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + Unpin + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.as_mut().project() {
                TaskProj::Handshake { handshake, guard } => {
                    let Some(drive) = std::task::ready!(handshake.as_mut().poll(cx)) else {
                        return Poll::Ready(());
                    };
                    let guard = guard.take();
                    self.set(ConnectionTask::Serving { drive, guard });
                }
                TaskProj::Serving { drive, .. } => {
                    let _ = std::task::ready!(drive.poll(cx));
                    return Poll::Ready(());
                }
            }
        }
    }
}
