//! [`CallFuture`]: one unary call in flight on a server connection.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::FutureExt;
use futures_util::future::CatchUnwind;
use pin_project_lite::pin_project;
use tokio::sync::oneshot;
use tokio::time::Sleep;
use wren_transport::{Body, Response, codec::Status};

pin_project! {
    /// Runs a handler to its reply, turning a panic into `INTERNAL` and a
    /// passed deadline into `DEADLINE_EXCEEDED`.
    pub(crate) struct CallFuture<F> {
        stream_id: u32,
        #[pin]
        inner: CatchUnwind<AssertUnwindSafe<F>>,
        #[pin]
        deadline: Option<Sleep>,
        // Fires when the connection gives the call up (its stream failed).
        cancel: Option<oneshot::Receiver<()>>,
    }
}

impl<F, E> CallFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    pub(crate) fn new(
        stream_id: u32,
        inner: F,
        deadline: Option<Sleep>,
        cancel: Option<oneshot::Receiver<()>>,
    ) -> CallFuture<F> {
        CallFuture {
            stream_id,
            inner: AssertUnwindSafe(inner).catch_unwind(),
            deadline,
            cancel,
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

impl<F, E> Future for CallFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
    E: Into<wren_transport::BoxError>,
{
    type Output = (u32, Result<Response<Body>, Status>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(cancel) = this.cancel {
            match Pin::new(cancel).poll(cx) {
                Poll::Ready(Ok(())) => {
                    return Poll::Ready((
                        *this.stream_id,
                        Err(Status::cancelled("call abandoned")),
                    ));
                }
                // The sender went away without cancelling: nothing to watch.
                Poll::Ready(Err(_)) => *this.cancel = None,
                Poll::Pending => {}
            }
        }
        if let Poll::Ready(result) = this.inner.poll(cx) {
            let result = match result {
                Ok(Ok(resp)) => Ok(resp),
                Ok(Err(e)) => Err(wren_transport::status_from_error(e.into())),
                Err(panic) => {
                    let message = panic_message(&*panic);
                    tracing::error!(
                        stream_id = *this.stream_id,
                        panic = message,
                        "ttrpc handler panicked"
                    );
                    // The panic text stays in the server's log: it may hold
                    // internals the client should not see.
                    Err(Status::internal("handler panicked"))
                }
            };
            return Poll::Ready((*this.stream_id, result));
        }
        if let Some(deadline) = this.deadline.as_pin_mut() {
            ready!(deadline.poll(cx));
            return Poll::Ready((
                *this.stream_id,
                Err(Status::deadline_exceeded("deadline exceeded")),
            ));
        }
        Poll::Pending
    }
}
