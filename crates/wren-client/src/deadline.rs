//! [`DeadlineStream`]: a streamed reply that ends with `DEADLINE_EXCEEDED`
//! when the call's deadline passes.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_util::Stream;
use tokio::time::Sleep;
use wren_transport::BodyStream;
use wren_transport::codec::Status;

pub(crate) struct DeadlineStream {
    inner: BodyStream,
    deadline: Option<Pin<Box<Sleep>>>,
    expired: bool,
}

impl DeadlineStream {
    pub(crate) fn new(inner: BodyStream, deadline: Option<Instant>) -> DeadlineStream {
        DeadlineStream {
            inner,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into()))),
            expired: false,
        }
    }
}

impl Stream for DeadlineStream {
    type Item = Result<Bytes, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = self.inner.as_mut().poll_next(cx) {
            return Poll::Ready(item);
        }
        if let Some(deadline) = self.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                self.expired = true;
                return Poll::Ready(Some(Err(Status::deadline_exceeded("deadline exceeded"))));
            }
        }
        Poll::Pending
    }
}

use std::future::Future as _;
