//! [`Guarded`]: a handler's future with its deadline and panics decided
//! where the user's layers see them.
//!
//! The routes are the innermost service of a server, so wrapping each
//! handler here means that every layer a user adds — logging, metrics,
//! tracing — sees the call end with `DEADLINE_EXCEEDED` when its deadline
//! passes and with `INTERNAL` when its handler panics, and sees the same
//! status at the end of a streaming reply.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use pin_project_lite::pin_project;
use tokio::time::Sleep;
use wren_transport::codec::Status;
use wren_transport::{Body, CatchPanic, DeadlineStream, Response, Side, panic_status};

pin_project! {
    /// Runs a handler's future to its response, turning a panic into
    /// `INTERNAL` ("handler panicked") and a passed deadline into
    /// `DEADLINE_EXCEEDED`; a streaming reply is bounded the same way.
    pub(crate) struct Guarded<F> {
        #[pin]
        inner: F,
        deadline: Option<Instant>,
        timer: Option<Pin<Box<Sleep>>>,
        done: bool,
    }
}

impl<F> Guarded<F> {
    pub(crate) fn new(inner: F, deadline: Option<Instant>) -> Guarded<F> {
        Guarded {
            inner,
            deadline,
            timer: None,
            done: false,
        }
    }
}

impl<F> Future for Guarded<F>
where
    F: Future<Output = Result<Response<Body>, Status>>,
{
    type Output = Result<Response<Body>, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(Err(Status::internal("call polled after it finished")));
        }
        // (A call already expired when it arrived never gets here with its
        // handler: `Routes::call` fails it before calling the service.)
        let deadline = *this.deadline;
        let inner = this.inner;
        let polled = catch_unwind(AssertUnwindSafe(|| inner.poll(cx)));
        let result = match polled {
            Ok(Poll::Ready(result)) => result,
            Ok(Poll::Pending) => {
                let Some(deadline) = deadline else {
                    return Poll::Pending;
                };
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                Err(Side::Server.deadline_exceeded())
            }
            Err(panic) => Err(panic_status("handler", &*panic)),
        };
        *this.done = true;
        *this.timer = None;
        Poll::Ready(result.map(|response| {
            if response.get_ref().is_stream() {
                response.map(|body| guard_body(body, deadline))
            } else {
                response
            }
        }))
    }
}

/// A streaming reply whose panics end it with `INTERNAL` ("reply stream
/// panicked") and which ends with `DEADLINE_EXCEEDED` once `deadline`
/// passes, even if its next message is always ready.
fn guard_body(body: Body, deadline: Option<Instant>) -> Body {
    let stream = Box::pin(CatchPanic::new(body.into_stream(), "reply stream"));
    let stream = DeadlineStream::wrap(stream, deadline, Side::Server);
    Body::from_boxed_stream(stream)
}
