//! [`Outbox`]: the write side of a connection. Frames queued by any number of
//! calls are encoded into one buffer and leave in as few writes as possible.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::AsyncWrite;
use wren_codec::{Flags, HEADER_LEN, Header, MessageType, RequestRef, ResponseRef, Status};

/// The smallest buffer allocated when the first frame of a batch is queued.
const MIN_CAPACITY: usize = 4096;
/// The most write buffer a busy connection keeps between batches.
const KEEP_CAPACITY: usize = 256 * 1024;

/// Frames waiting to be written, already encoded.
///
/// Queueing never blocks; the connection stops reading and stops taking new
/// work while [`Outbox::len`] is above its high-water mark, so the buffer is
/// bounded by that mark plus one batch. The buffer is released after each
/// complete flush, so an idle connection holds no write memory.
#[derive(Debug)]
pub struct Outbox {
    buf: BytesMut,
    max_message_size: usize,
    high_water: usize,
}

/// A frame too large for the peer to accept; nothing was queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Oversize {
    /// The payload's length.
    pub length: usize,
    /// The limit.
    pub max: usize,
}

impl Oversize {
    /// The `RESOURCE_EXHAUSTED` status for this frame, worded as Go words it.
    pub fn to_status(self) -> Status {
        Status::message_too_large(self.length, self.max)
    }
}

impl Outbox {
    pub(crate) fn new(max_message_size: usize, high_water: usize) -> Outbox {
        Outbox {
            buf: BytesMut::new(),
            max_message_size,
            high_water,
        }
    }

    /// Whether the queued bytes reached the high-water mark: a dispatcher
    /// should stop producing frames until the peer has read some. It is
    /// polled again once the outbox has drained.
    pub fn is_full(&self) -> bool {
        self.buf.len() >= self.high_water
    }

    /// Bytes queued and not yet written.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The largest payload that may be queued.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    fn begin(
        &mut self,
        length: usize,
        stream_id: u32,
        kind: MessageType,
        flags: Flags,
    ) -> Result<(), Oversize> {
        if length > self.max_message_size || length > u32::MAX as usize {
            return Err(Oversize {
                length,
                max: self.max_message_size,
            });
        }
        self.buf.reserve((HEADER_LEN + length).max(MIN_CAPACITY));
        Header {
            length: length as u32,
            stream_id,
            kind,
            flags,
        }
        .encode(&mut self.buf);
        Ok(())
    }

    /// Queues a frame with a raw payload.
    pub fn push(
        &mut self,
        stream_id: u32,
        kind: MessageType,
        flags: Flags,
        payload: &[u8],
    ) -> Result<(), Oversize> {
        self.begin(payload.len(), stream_id, kind, flags)?;
        self.buf.put_slice(payload);
        Ok(())
    }

    /// Queues a Request frame, encoding the envelope in place.
    pub fn push_request(
        &mut self,
        stream_id: u32,
        flags: Flags,
        request: &RequestRef<'_>,
    ) -> Result<(), Oversize> {
        self.begin(
            request.encoded_len(),
            stream_id,
            MessageType::REQUEST,
            flags,
        )?;
        request.encode(&mut self.buf);
        Ok(())
    }

    /// Queues a Response frame, encoding the envelope in place.
    pub fn push_response(
        &mut self,
        stream_id: u32,
        response: &ResponseRef<'_>,
    ) -> Result<(), Oversize> {
        self.begin(
            response.encoded_len(),
            stream_id,
            MessageType::RESPONSE,
            Flags::EMPTY,
        )?;
        response.encode(&mut self.buf);
        Ok(())
    }

    /// Queues a Response frame carrying only `status`.
    pub fn push_status(&mut self, stream_id: u32, status: &Status) {
        let response = ResponseRef {
            status: Some(status),
            payload: &[],
        };
        if self.push_response(stream_id, &response).is_err() {
            // Only a status message of megabytes gets here; send its code alone.
            let short = Status::new(status.code(), "status message too large");
            let _ = self.push_response(
                stream_id,
                &ResponseRef {
                    status: Some(&short),
                    payload: &[],
                },
            );
        }
    }

    /// Writes queued bytes until all are written or the writer is not ready.
    /// With `release`, the emptied buffer's memory is given back, so an idle
    /// connection holds no write memory; otherwise it is kept for the next
    /// batch (up to [`KEEP_CAPACITY`]).
    pub(crate) fn poll_flush<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
        release: bool,
    ) -> Poll<io::Result<()>> {
        while !self.buf.is_empty() {
            let n = std::task::ready!(Pin::new(&mut *io).poll_write(cx, &self.buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.buf.advance(n);
        }
        if release || self.buf.capacity() > KEEP_CAPACITY {
            self.buf = BytesMut::new();
        } else {
            self.buf.clear();
        }
        Pin::new(io).poll_flush(cx)
    }
}
