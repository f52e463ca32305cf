//! [`OutStream`]: a handler's stream of replies, tagged with its stream id,
//! bounded by the call's deadline.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_util::Stream;
use tokio::time::Sleep;
use wren_transport::BodyStream;
use wren_transport::codec::Status;

/// What an outbound stream produced.
pub(crate) enum Event {
    /// One message to send as a Data frame.
    Message(Bytes),
    /// The end: `Ok` closes with Data(remote closed | no data), an error is
    /// sent as the final Response.
    End(Result<(), Status>),
}

pub(crate) struct OutStream {
    id: u32,
    inner: BodyStream,
    deadline: Option<Pin<Box<Sleep>>>,
    done: bool,
}

impl OutStream {
    pub(crate) fn new(id: u32, inner: BodyStream, deadline: Option<Instant>) -> OutStream {
        OutStream {
            id,
            inner,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into()))),
            done: false,
        }
    }
}

impl Stream for OutStream {
    type Item = (u32, Event);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let id = self.id;
        let event = match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(message))) => {
                return Poll::Ready(Some((id, Event::Message(message))));
            }
            Poll::Ready(Some(Err(status))) => Event::End(Err(status)),
            Poll::Ready(None) => Event::End(Ok(())),
            Poll::Pending => match self.deadline.as_mut().map(|d| d.as_mut().poll(cx)) {
                Some(Poll::Ready(())) => {
                    Event::End(Err(Status::deadline_exceeded("deadline exceeded")))
                }
                _ => return Poll::Pending,
            },
        };
        self.done = true;
        Poll::Ready(Some((id, event)))
    }
}

use std::future::Future as _;
