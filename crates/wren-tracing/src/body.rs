//! Streams wrapped to count their messages and to end the call's span.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use wren_transport::codec::Status;
use wren_transport::{Body, BodyStream};

use crate::call::{CallSpan, Counts, Outcome, Side};

/// A request's stream of messages, counted as they pass.
pub(crate) struct CountRequest {
    inner: BodyStream,
    side: Side,
    counts: Arc<Counts>,
}

impl CountRequest {
    pub(crate) fn wrap(body: Body, side: Side, counts: Arc<Counts>) -> Body {
        Body::from_stream(CountRequest {
            inner: body.into_stream(),
            side,
            counts,
        })
    }
}

impl Stream for CountRequest {
    type Item = Result<Bytes, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = std::task::ready!(self.inner.as_mut().poll_next(cx));
        if let Some(Ok(_)) = &item {
            // A request message is received by a server, sent by a client.
            self.counts.add(self.side == Side::Server);
        }
        Poll::Ready(item)
    }
}

/// A streamed reply: counts its messages, and ends the call with the
/// stream — `OK` at its end, the status of a final `Err` item, or as
/// [`CallSpan`]'s drop decides if it is dropped unfinished.
pub(crate) struct TracedBody {
    inner: BodyStream,
    call: Option<CallSpan>,
}

impl TracedBody {
    pub(crate) fn wrap(body: Body, call: CallSpan) -> Body {
        Body::from_stream(TracedBody {
            inner: body.into_stream(),
            call: Some(call),
        })
    }
}

impl Stream for TracedBody {
    type Item = Result<Bytes, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(call) = this.call.as_mut() else {
            // Ended already; a well-behaved stream stays ended.
            return this.inner.as_mut().poll_next(cx);
        };
        let polled = {
            let _entered = call.span.enter();
            let inner = &mut this.inner;
            catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_next(cx)))
        };
        let item = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(item)) => item,
            Err(panic) => {
                call.panicked(&*panic);
                this.call = None;
                resume_unwind(panic);
            }
        };
        match &item {
            // A reply message is sent by a server, received by a client.
            Some(Ok(_)) => call.counts.add(call.side == Side::Client),
            Some(Err(status)) => {
                call.finish(Outcome::Status(status));
                this.call = None;
            }
            None => {
                call.finish(Outcome::Ok);
                this.call = None;
            }
        }
        Poll::Ready(item)
    }
}
