//! Deadlines: which side gave up, and [`DeadlineStream`], a stream of
//! messages that ends with `DEADLINE_EXCEEDED` once its call's deadline
//! passes — even when its next message is always ready.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_core::Stream;
use tokio::time::Sleep;
use wren_codec::Status;

use crate::BodyStream;

/// The side of a call that decided its deadline had passed.
///
/// Both ends of a ttrpc call know its deadline (the client sends the time
/// left as `timeout_nano`), and both enforce it; the status message says
/// which one did, so logs on either side tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client stopped waiting.
    Client,
    /// The server ended the call.
    Server,
}

impl Side {
    /// The `DEADLINE_EXCEEDED` status this side gives a call whose deadline
    /// passed: `"deadline exceeded (client gave up waiting)"` or
    /// `"deadline exceeded (server ended the call)"`.
    pub fn deadline_exceeded(self) -> Status {
        Status::deadline_exceeded(match self {
            Side::Client => "deadline exceeded (client gave up waiting)",
            Side::Server => "deadline exceeded (server ended the call)",
        })
    }
}

/// How many messages a [`DeadlineStream`] passes between two readings of
/// the clock while its inner stream is always ready.
pub const DEADLINE_CHECK_EVERY: u32 = 32;

/// A stream of encoded messages bounded by a deadline.
///
/// The deadline is checked before the first message, every
/// [`DEADLINE_CHECK_EVERY`] messages while the inner stream keeps
/// producing, and by a timer while it is pending. Once it has passed the
/// stream yields one `Err(DEADLINE_EXCEEDED)` (worded for `side`) and ends;
/// the inner stream is dropped.
pub struct DeadlineStream {
    inner: Option<BodyStream>,
    deadline: Instant,
    side: Side,
    timer: Option<Pin<Box<Sleep>>>,
    until_check: u32,
}

impl DeadlineStream {
    /// `inner`, ended by `deadline` as `side` enforces it.
    pub fn new(inner: BodyStream, deadline: Instant, side: Side) -> DeadlineStream {
        DeadlineStream {
            inner: Some(inner),
            deadline,
            side,
            timer: None,
            until_check: 0,
        }
    }

    /// `inner` bounded by `deadline` if there is one, else `inner` itself.
    pub fn wrap(inner: BodyStream, deadline: Option<Instant>, side: Side) -> BodyStream {
        match deadline {
            Some(deadline) => Box::pin(DeadlineStream::new(inner, deadline, side)),
            None => inner,
        }
    }

    fn expire(&mut self) -> Poll<Option<Result<Bytes, Status>>> {
        self.inner = None;
        self.timer = None;
        Poll::Ready(Some(Err(self.side.deadline_exceeded())))
    }
}

impl std::fmt::Debug for DeadlineStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadlineStream")
            .field("deadline", &self.deadline)
            .field("side", &self.side)
            .field("done", &self.inner.is_none())
            .finish()
    }
}

impl Stream for DeadlineStream {
    type Item = Result<Bytes, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        if this.until_check == 0 {
            if Instant::now() >= this.deadline {
                return this.expire();
            }
            this.until_check = DEADLINE_CHECK_EVERY;
        }
        match inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(item)) => {
                this.until_check -= 1;
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                this.inner = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let deadline = this.deadline;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
                if timer.as_mut().poll(cx).is_ready() {
                    return this.expire();
                }
                // Read the clock again at the next message.
                this.until_check = 0;
                Poll::Pending
            }
        }
    }
}
