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
    /// Messages to send as Data frames, in order: every one the stream had
    /// ready, up to [`BATCH`], so the select around the streams re-queues a
    /// stream once per batch rather than once per message.
    Messages(Vec<Bytes>),
    /// The end: `Ok` closes with Data(remote closed | no data), an error is
    /// sent as the final Response.
    End(Result<(), Status>),
}

/// The most messages taken from one stream in one go.
pub(crate) const BATCH: usize = 32;

pub(crate) struct OutStream {
    id: u32,
    inner: BodyStream,
    deadline: Option<Pin<Box<Sleep>>>,
    pending_end: Option<Event>,
    done: bool,
}

impl OutStream {
    pub(crate) fn new(id: u32, inner: BodyStream, deadline: Option<Instant>) -> OutStream {
        OutStream {
            id,
            inner,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into()))),
            pending_end: None,
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
        if let Some(end) = self.pending_end.take() {
            self.done = true;
            return Poll::Ready(Some((self.id, end)));
        }
        let id = self.id;
        let mut batch = Vec::new();
        let end = loop {
            match self.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(message))) => {
                    batch.push(message);
                    if batch.len() == BATCH {
                        return Poll::Ready(Some((id, Event::Messages(batch))));
                    }
                }
                Poll::Ready(Some(Err(status))) => break Event::End(Err(status)),
                Poll::Ready(None) => break Event::End(Ok(())),
                Poll::Pending => {
                    if let Some(Poll::Ready(())) =
                        self.deadline.as_mut().map(|d| d.as_mut().poll(cx))
                    {
                        break Event::End(Err(Status::deadline_exceeded("deadline exceeded")));
                    }
                    if batch.is_empty() {
                        return Poll::Pending;
                    }
                    return Poll::Ready(Some((id, Event::Messages(batch))));
                }
            }
        };
        if !batch.is_empty() {
            // Send what came before the end; the end follows on the next poll.
            self.pending_end = Some(end);
            return Poll::Ready(Some((id, Event::Messages(batch))));
        }
        let event = end;
        self.done = true;
        Poll::Ready(Some((id, event)))
    }
}

use std::future::Future as _;
