//! The read side of a connection: a buffer that holds memory only while a
//! frame is arriving.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{BufMut, BytesMut};
use tokio::io::{AsyncRead, ReadBuf};
use tokio_util::codec::Decoder;
use tokio_util::io::poll_read_buf;
use wren_codec::{Decoded, FrameCodec};

/// Bytes read into the stack when no frame is in progress, and the least
/// room offered to any read.
const IDLE_READ: usize = 8 * 1024;
/// The most read at once while skipping an oversize payload.
const DISCARD_CHUNK: usize = 64 * 1024;
/// The most room offered to a read of small frames: reached by doubling
/// while every read fills what it was offered (a peer streaming faster
/// than this side reads), so a flood of small messages costs few reads.
const MAX_READ: usize = 64 * 1024;

/// Buffered input. Between frames it owns no heap memory: a read with
/// nothing buffered goes to a stack array first, and only the bytes that
/// arrived are copied to the heap. While a frame is arriving the buffer is
/// sized from its header, so a large payload is read in few calls.
#[derive(Debug)]
pub(super) struct ReadBuffer {
    buf: BytesMut,
    /// The least room offered to the next read into `buf`: [`IDLE_READ`],
    /// doubled (up to [`MAX_READ`]) after each read that filled its room.
    room: usize,
}

impl Default for ReadBuffer {
    fn default() -> Self {
        ReadBuffer {
            buf: BytesMut::new(),
            room: IDLE_READ,
        }
    }
}

impl ReadBuffer {
    pub(super) fn new() -> ReadBuffer {
        ReadBuffer::default()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(super) fn decode(&mut self, codec: &mut FrameCodec) -> io::Result<Option<Decoded>> {
        let decoded = codec.decode(&mut self.buf)?;
        if self.buf.is_empty() && decoded.is_some() {
            // Every byte read is in frames now: drop this buffer's share of
            // the allocation (and the room left in it), so that a
            // connection falling idle holds no read memory and does not
            // keep its last frames' memory alive after their calls let go.
            // The next read goes to the stack first.
            self.buf = BytesMut::new();
        }
        Ok(decoded)
    }

    /// Reads more bytes. `Ready(Ok(0))` is end of stream.
    pub(super) fn poll_fill<R: AsyncRead + Unpin>(
        &mut self,
        io: &mut R,
        codec: &FrameCodec,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        if self.buf.is_empty() && codec.is_idle() {
            let mut stack = [MaybeUninit::<u8>::uninit(); IDLE_READ];
            let mut rb = ReadBuf::uninit(&mut stack);
            ready!(Pin::new(io).poll_read(cx, &mut rb))?;
            let n = rb.filled().len();
            if n > 0 {
                // A full stack read means more is likely waiting, and the
                // last frame is likely cut short: leave room for the next
                // read, which then needs no allocation (this buffer's
                // frames are shared with their calls, so growing it would
                // mean a new one and a copy of the partial frame).
                let room = if n == IDLE_READ { n + IDLE_READ } else { n };
                let mut buf = BytesMut::with_capacity(room);
                buf.extend_from_slice(rb.filled());
                self.buf = buf;
            }
            return Poll::Ready(Ok(n));
        }
        let wanted = codec.bytes_wanted(self.buf.len());
        let room = if codec.is_discarding() {
            wanted.clamp(1, DISCARD_CHUNK)
        } else {
            wanted.max(self.room)
        };
        self.buf.reserve(room);
        // `reserve` may leave more room than asked (it can double the
        // buffer): read no more than `room`, so that reads stay within
        // their bounds.
        let mut limited = (&mut self.buf).limit(room);
        let n = ready!(poll_read_buf(Pin::new(io), cx, &mut limited))?;
        self.room = if n == room {
            (self.room * 2).min(MAX_READ)
        } else {
            IDLE_READ
        };
        Poll::Ready(Ok(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn fill<R: AsyncRead + Unpin>(read: &mut ReadBuffer, io: &mut R) -> usize {
        let codec = FrameCodec::new();
        let mut cx = Context::from_waker(Waker::noop());
        match read.poll_fill(io, &codec, &mut cx) {
            Poll::Ready(Ok(n)) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_grow_while_each_fills_its_room_and_shrink_after_one_that_does_not() {
        let mut read = ReadBuffer::new();
        // One byte of a header buffered: the next read goes to the heap.
        read.buf.extend_from_slice(&[0]);
        let mut flood = tokio::io::repeat(0);
        let mut sizes = Vec::new();
        for _ in 0..5 {
            read.buf.truncate(1);
            let room = read.room;
            assert_eq!(fill(&mut read, &mut flood), room, "no read beyond its room");
            sizes.push(read.room);
        }
        assert_eq!(
            sizes,
            [2 * IDLE_READ, 4 * IDLE_READ, MAX_READ, MAX_READ, MAX_READ]
        );

        read.buf.truncate(1);
        let mut trickle: &[u8] = &[0; 100];
        assert_eq!(fill(&mut read, &mut trickle), 100);
        assert_eq!(read.room, IDLE_READ);
    }

    /// `count` Data frames of `size` bytes each, header included, as sent.
    fn frames(count: usize, size: usize) -> Vec<u8> {
        let mut wire = BytesMut::new();
        for i in 0..count {
            wren_codec::Header {
                length: (size - wren_codec::HEADER_LEN) as u32,
                stream_id: 2 * i as u32 + 1,
                kind: wren_codec::MessageType::DATA,
                flags: wren_codec::Flags::EMPTY,
            }
            .encode(&mut wire);
            wire.resize(wire.len() + size - wren_codec::HEADER_LEN, 7);
        }
        wire.to_vec()
    }

    /// Reads and decodes everything `wire` holds, as a connection does; the
    /// frames decoded.
    fn drain(read: &mut ReadBuffer, mut wire: &[u8]) -> usize {
        let mut codec = FrameCodec::new();
        let mut cx = Context::from_waker(Waker::noop());
        let mut decoded = 0;
        loop {
            while read.decode(&mut codec).unwrap().is_some() {
                decoded += 1;
            }
            match read.poll_fill(&mut wire, &codec, &mut cx) {
                Poll::Ready(Ok(0)) => return decoded,
                Poll::Ready(Ok(_)) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_connection_that_read_everything_holds_no_read_memory() {
        // Exactly one full stack read (it is copied with room to spare).
        let mut read = ReadBuffer::new();
        assert_eq!(drain(&mut read, &frames(128, 64)), 128);
        assert_eq!(read.buf.capacity(), 0);
        // Floods of every length around the reads' sizes, ending on a
        // frame's edge at all sorts of places in the read buffer.
        for count in (1_000..3_000).step_by(7) {
            let mut read = ReadBuffer::new();
            assert_eq!(drain(&mut read, &frames(count, 100)), count);
            assert_eq!(read.buf.capacity(), 0, "after {count} frames");
        }
    }
}
