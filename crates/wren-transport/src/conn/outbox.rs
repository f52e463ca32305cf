//! [`Outbox`]: the write side of a connection. Frames queued by any number of
//! calls — in the connection's task or in tasks of their own — are encoded
//! into one buffer and leave in as few writes as possible.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::AsyncWrite;
use wren_codec::{Flags, HEADER_LEN, Header, MessageType, RequestRef, ResponseRef, Status};

use crate::BurstSize;

/// The smallest buffer allocated when the first frame of a batch is queued.
const MIN_CAPACITY: usize = 4096;
/// The most write buffer a busy connection keeps between batches.
const KEEP_CAPACITY: usize = 256 * 1024;
/// The most a write buffer grows to in one step once a batch outgrows its
/// first [`MIN_CAPACITY`] (see `State::capacity_hint`): below glibc's mmap
/// threshold, so a hint never costs a mapping per batch.
const MAX_CAPACITY_HINT: usize = 64 * 1024;
/// Payloads of at least this many bytes are not copied into the write
/// buffer: the frame keeps a reference and the connection writes it with a
/// vectored write.
pub const SHARE_THRESHOLD: usize = 16 * 1024;
/// The most buffers handed to one vectored write.
const MAX_IOVECS: usize = 64;

/// Frames waiting to be written, already encoded. Cheap to clone: every
/// clone queues into the same connection.
///
/// Queueing never blocks and takes a short lock (no lock is held across an
/// await or a write). Producers that can wait — streams of messages — ask
/// [`Outbox::poll_room`] first, and the connection stops reading while the
/// queue is above its high-water mark, so the buffer is bounded by that
/// mark plus one batch per producer. After a complete flush of an idle
/// connection the memory is released, so an idle connection holds none.
#[derive(Clone, Debug)]
pub struct Outbox {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    max_message_size: usize,
    high_water: usize,
}

#[derive(Debug, Default)]
struct State {
    /// Large payloads queued by reference, and the encoded bytes queued
    /// before each: they are written before `buf`.
    chunks: VecDeque<Bytes>,
    /// Bytes in `chunks`.
    chunk_bytes: usize,
    /// Frames queued since the connection last took the buffer (after the
    /// chunks, if any).
    buf: BytesMut,
    /// Bytes the connection took and has not written yet.
    writing: usize,
    /// The connection, parked with nothing to write: woken by the next push.
    writer: Option<Waker>,
    /// Producers waiting for the queue to fall below the high-water mark.
    waiting: Vec<Waker>,
    /// Streams whose producers queued their last frame since the
    /// dispatcher last asked ([`Outbox::take_ended`]).
    ended: Vec<u32>,
    /// The size a batch's buffer grows to at once when its frames outgrow
    /// the first [`MIN_CAPACITY`] bytes: the largest batch written before
    /// the connection last fell idle (plus a quarter, at most
    /// [`MAX_CAPACITY_HINT`]). A connection whose calls come in bursts gives
    /// its buffers back between bursts; without this, every burst grew a
    /// new buffer by doubling, copying what it held at each step. A batch
    /// of one small frame still takes only the first [`MIN_CAPACITY`], so
    /// a connection that once had a burst costs no more per lone call.
    capacity_hint: usize,
    /// How many ids `ended` held at once before [`Outbox::release_idle`]
    /// last gave it back, for the same reason: the list grows to that at
    /// once when it first fills.
    ended_size: BurstSize,
    /// The connection is gone: pushes are dropped.
    closed: bool,
}

impl State {
    fn queued(&self) -> usize {
        self.chunk_bytes + self.buf.len() + self.writing
    }

    fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.chunks.is_empty()
    }
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

/// The connection's end of an [`Outbox`]: takes queued bytes and writes them.
#[derive(Debug)]
pub(crate) struct Writer {
    outbox: Outbox,
    /// The bytes being written, taken from the queue in one swap.
    buf: BytesMut,
    /// Or, when large payloads were queued by reference, the buffers being
    /// written, in order.
    chunks: VecDeque<Bytes>,
    /// The largest `buf` taken since the connection last fell idle.
    batch_peak: usize,
}

impl Outbox {
    pub(crate) fn new(max_message_size: usize, high_water: usize) -> (Outbox, Writer) {
        let outbox = Outbox {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                max_message_size,
                high_water,
            }),
        };
        let writer = Writer {
            outbox: outbox.clone(),
            buf: BytesMut::new(),
            chunks: VecDeque::new(),
            batch_peak: 0,
        };
        (outbox, writer)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock (encoding into a BytesMut
        // only allocates); recover the state if something ever did.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the queued bytes reached the high-water mark: producers
    /// should wait ([`Outbox::poll_room`]) until the peer has read some.
    pub fn is_full(&self) -> bool {
        self.lock().queued() >= self.shared.high_water
    }

    /// Bytes queued and not yet written.
    pub fn len(&self) -> usize {
        self.lock().queued()
    }

    /// Whether nothing is queued or being written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest payload that may be queued.
    pub fn max_message_size(&self) -> usize {
        self.shared.max_message_size
    }

    /// `Ready` once the queue is below its high-water mark (or the
    /// connection is gone); otherwise the task is woken when it drains.
    pub fn poll_room(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.closed || state.queued() < self.shared.high_water {
            return Poll::Ready(());
        }
        // A producer registers once per wait; a rare duplicate only costs a
        // spurious wake-up.
        state.waiting.push(cx.waker().clone());
        Poll::Pending
    }

    /// Whether the connection is gone; frames queued now are dropped.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Queues any number of frames under one lock, then wakes the
    /// connection if it is parked with nothing to write. Encoding only
    /// copies into the buffer: nothing slow runs under the lock.
    pub fn frames<R>(&self, encode: impl FnOnce(&mut Frames<'_>) -> R) -> R {
        self.queue(encode).0
    }

    /// [`Outbox::frames`], and whether the queue is then full
    /// ([`Outbox::is_full`]): a producer that checks for room after each
    /// push takes one lock instead of two.
    pub fn frames_then_is_full<R>(&self, encode: impl FnOnce(&mut Frames<'_>) -> R) -> (R, bool) {
        self.queue(encode)
    }

    /// Both of the above; inlined so that `frames` does not compute the
    /// fullness it throws away.
    #[inline(always)]
    fn queue<R>(&self, encode: impl FnOnce(&mut Frames<'_>) -> R) -> (R, bool) {
        let mut state = self.lock();
        let state = &mut *state;
        let mut frames = Frames {
            buf: &mut state.buf,
            grow_to: state.capacity_hint,
            chunks: &mut state.chunks,
            chunk_bytes: &mut state.chunk_bytes,
            ended: &mut state.ended,
            ended_size: state.ended_size,
            max_message_size: self.shared.max_message_size,
        };
        let result = encode(&mut frames);
        if state.closed {
            // Nobody will write them.
            state.buf.clear();
            state.chunks.clear();
            state.chunk_bytes = 0;
            state.ended.clear();
        }
        let writer = if state.is_empty() && state.ended.is_empty() {
            None
        } else {
            state.writer.take()
        };
        if let Some(w) = writer {
            w.wake();
        }
        (result, state.queued() >= self.shared.high_water)
    }

    /// Gives back the memory the outbox's bookkeeping grew while calls were
    /// in flight, if nothing is pending: for a connection falling idle.
    pub fn release_idle(&self) {
        let mut state = self.lock();
        if state.ended.is_empty() && state.ended.capacity() > 0 {
            state.ended_size.end();
            state.ended = Vec::new();
        }
        if state.waiting.is_empty() && state.waiting.capacity() > 0 {
            state.waiting = Vec::new();
        }
    }

    /// Moves the ids of streams that [ended](Frames::end) since the last
    /// call into `into`.
    pub fn take_ended(&self, into: &mut Vec<u32>) {
        let mut state = self.lock();
        if !state.ended.is_empty() {
            let ended = state.ended.len();
            state.ended_size.note(ended);
            into.append(&mut state.ended);
        }
    }

    /// Queues a frame with a raw payload.
    pub fn push(
        &self,
        stream_id: u32,
        kind: MessageType,
        flags: Flags,
        payload: &[u8],
    ) -> Result<(), Oversize> {
        self.frames(|f| f.push(stream_id, kind, flags, payload))
    }

    /// Queues a Request frame, encoding the envelope in place.
    pub fn push_request(
        &self,
        stream_id: u32,
        flags: Flags,
        request: &RequestRef<'_>,
    ) -> Result<(), Oversize> {
        self.frames(|f| f.push_request(stream_id, flags, request))
    }

    /// Queues a Response frame, encoding the envelope in place.
    pub fn push_response(
        &self,
        stream_id: u32,
        response: &ResponseRef<'_>,
    ) -> Result<(), Oversize> {
        self.frames(|f| f.push_response(stream_id, response))
    }

    /// Queues a Response frame carrying only `status`.
    pub fn push_status(&self, stream_id: u32, status: &Status) {
        self.frames(|f| f.push_status(stream_id, status));
    }
}

/// Frames being queued into an [`Outbox`] under its lock
/// ([`Outbox::frames`]).
#[derive(Debug)]
pub struct Frames<'a> {
    buf: &'a mut BytesMut,
    /// `State::capacity_hint`.
    grow_to: usize,
    chunks: &'a mut VecDeque<Bytes>,
    chunk_bytes: &'a mut usize,
    ended: &'a mut Vec<u32>,
    /// `State::ended_size`.
    ended_size: BurstSize,
    max_message_size: usize,
}

impl Frames<'_> {
    /// Queues `payload` by reference after what is encoded so far.
    fn share(&mut self, payload: &Bytes) {
        if !self.buf.is_empty() {
            let encoded = self.buf.split().freeze();
            *self.chunk_bytes += encoded.len();
            self.chunks.push_back(encoded);
        }
        *self.chunk_bytes += payload.len();
        self.chunks.push_back(payload.clone());
    }

    /// Queues a Data frame carrying `message`; a large one
    /// ([`SHARE_THRESHOLD`]) is not copied.
    pub fn push_data_bytes(&mut self, stream_id: u32, message: &Bytes) -> Result<(), Oversize> {
        if message.len() < SHARE_THRESHOLD {
            return self.push_data(stream_id, message);
        }
        self.head(stream_id, MessageType::DATA, Flags::EMPTY, message.len(), 0)?;
        self.share(message);
        Ok(())
    }

    /// Queues a Request frame whose `request.payload` is `payload`'s bytes;
    /// a large payload ([`SHARE_THRESHOLD`]) is not copied. `length` must be
    /// `request.encoded_len()`: a client works it out once, to check the
    /// request against its limit before queueing the call.
    pub fn push_request_bytes(
        &mut self,
        stream_id: u32,
        flags: Flags,
        request: &RequestRef<'_>,
        payload: &Bytes,
        length: usize,
    ) -> Result<(), Oversize> {
        debug_assert_eq!(length, request.encoded_len());
        if payload.len() < SHARE_THRESHOLD {
            return self.push_request_len(stream_id, flags, request, length);
        }
        self.head(
            stream_id,
            MessageType::REQUEST,
            flags,
            length,
            length - payload.len(),
        )?;
        request.encode_head(self.buf);
        self.share(payload);
        request.encode_tail(self.buf);
        Ok(())
    }

    /// Queues a Response frame whose `response.payload` is `payload`'s
    /// bytes; a large payload ([`SHARE_THRESHOLD`]) is not copied.
    pub fn push_response_bytes(
        &mut self,
        stream_id: u32,
        response: &ResponseRef<'_>,
        payload: &Bytes,
    ) -> Result<(), Oversize> {
        if payload.len() < SHARE_THRESHOLD {
            return self.push_response(stream_id, response);
        }
        let length = response.encoded_len();
        self.head(
            stream_id,
            MessageType::RESPONSE,
            Flags::EMPTY,
            length,
            length - payload.len(),
        )?;
        response.encode_head(self.buf);
        self.share(payload);
        Ok(())
    }

    /// Checks a frame of `length` payload bytes against the limits and
    /// writes its header, reserving room for the `encoded` bytes that
    /// follow it in the buffer.
    #[inline]
    fn head(
        &mut self,
        stream_id: u32,
        kind: MessageType,
        flags: Flags,
        length: usize,
        encoded: usize,
    ) -> Result<(), Oversize> {
        if length > self.max_message_size || length > u32::MAX as usize {
            return Err(Oversize {
                length,
                max: self.max_message_size,
            });
        }
        begin(
            self.buf,
            self.grow_to,
            encoded,
            stream_id,
            kind,
            flags,
            length,
        );
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
        self.head(stream_id, kind, flags, payload.len(), payload.len())?;
        self.buf.put_slice(payload);
        Ok(())
    }

    /// Queues a Data frame carrying one message.
    pub fn push_data(&mut self, stream_id: u32, message: &[u8]) -> Result<(), Oversize> {
        self.push(stream_id, MessageType::DATA, Flags::EMPTY, message)
    }

    /// Queues a Request frame, encoding the envelope in place.
    pub fn push_request(
        &mut self,
        stream_id: u32,
        flags: Flags,
        request: &RequestRef<'_>,
    ) -> Result<(), Oversize> {
        self.push_request_len(stream_id, flags, request, request.encoded_len())
    }

    /// [`Frames::push_request`] with the envelope's length already known.
    #[inline]
    fn push_request_len(
        &mut self,
        stream_id: u32,
        flags: Flags,
        request: &RequestRef<'_>,
        length: usize,
    ) -> Result<(), Oversize> {
        self.head(stream_id, MessageType::REQUEST, flags, length, length)?;
        request.encode(self.buf);
        Ok(())
    }

    /// Queues a Response frame, encoding the envelope in place.
    pub fn push_response(
        &mut self,
        stream_id: u32,
        response: &ResponseRef<'_>,
    ) -> Result<(), Oversize> {
        let length = response.encoded_len();
        self.head(
            stream_id,
            MessageType::RESPONSE,
            Flags::EMPTY,
            length,
            length,
        )?;
        response.encode(self.buf);
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

    /// Notes that stream `stream_id`'s producer has queued its last frame;
    /// the dispatcher learns it from [`Outbox::take_ended`].
    pub fn end(&mut self, stream_id: u32) {
        let grow = self
            .ended_size
            .additional(self.ended.len(), self.ended.capacity());
        self.ended.reserve(grow);
        self.ended.push(stream_id);
    }
}

/// Encodes the header of a frame of `length` payload bytes, reserving room
/// for the header and the `encoded` bytes that follow it in the buffer: at
/// least [`MIN_CAPACITY`] for a batch's first frames, so small frames share
/// one allocation; when the batch outgrows that, room up to `grow_to` bytes
/// in all (`State::capacity_hint`) at once, or else twice what it holds.
fn begin(
    buf: &mut BytesMut,
    grow_to: usize,
    encoded: usize,
    stream_id: u32,
    kind: MessageType,
    flags: Flags,
    length: usize,
) {
    let frame = HEADER_LEN + encoded;
    if buf.capacity() - buf.len() < frame {
        let at_least = if buf.is_empty() {
            MIN_CAPACITY
        } else {
            grow_to.saturating_sub(buf.len()).max(buf.len())
        };
        buf.reserve(frame.max(at_least));
    }
    Header {
        length: length as u32,
        stream_id,
        kind,
        flags,
    }
    .encode(buf);
}

impl Writer {
    pub(crate) fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Whether nothing is queued or being written.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty() && self.chunks.is_empty() && self.outbox.lock().is_empty()
    }

    fn writing(&self) -> usize {
        self.buf.len() + self.chunks.iter().map(Bytes::len).sum::<usize>()
    }

    /// Whether the queue is at or above its high-water mark.
    pub(crate) fn is_full(&self) -> bool {
        self.outbox.is_full()
    }

    /// Writes queued bytes until all are written or the writer is not
    /// ready. `Ready(Ok(()))` means everything queued has been written.
    /// With `release`, emptied buffers give their memory back, so an idle
    /// connection holds no write memory; otherwise one is kept for the next
    /// batch (up to [`KEEP_CAPACITY`]).
    pub(crate) fn poll_write<W: AsyncWrite + Unpin>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
        release: bool,
    ) -> Poll<io::Result<()>> {
        let high_water = self.outbox.shared.high_water;
        loop {
            if self.buf.is_empty() && self.chunks.is_empty() {
                let mut state = self.outbox.lock();
                if state.is_empty() {
                    state.writing = 0;
                    let waiting = std::mem::take(&mut state.waiting);
                    drop(state);
                    waiting.into_iter().for_each(Waker::wake);
                    break;
                }
                if state.chunks.is_empty() {
                    // Swap: producers fill the (empty) buffer just written
                    // while this one is written.
                    std::mem::swap(&mut self.buf, &mut state.buf);
                    self.batch_peak = self.batch_peak.max(self.buf.len());
                } else {
                    std::mem::swap(&mut self.chunks, &mut state.chunks);
                    state.chunk_bytes = 0;
                    if !state.buf.is_empty() {
                        self.chunks.push_back(state.buf.split().freeze());
                    }
                }
                state.writing = self.writing();
            }
            while !self.chunks.is_empty() {
                let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
                let count = self.chunks.len().min(MAX_IOVECS);
                for (slice, chunk) in slices.iter_mut().zip(self.chunks.iter()) {
                    *slice = IoSlice::new(chunk);
                }
                let n = match Pin::new(&mut *io).poll_write_vectored(cx, &slices[..count]) {
                    Poll::Ready(result) => result?,
                    Poll::Pending => {
                        self.note_written(high_water);
                        return Poll::Pending;
                    }
                };
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                let mut left = n;
                while left > 0 {
                    let Some(front) = self.chunks.front_mut() else {
                        break;
                    };
                    if left >= front.len() {
                        left -= front.len();
                        self.chunks.pop_front();
                    } else {
                        front.advance(left);
                        left = 0;
                    }
                }
            }
            while !self.buf.is_empty() {
                let n = match Pin::new(&mut *io).poll_write(cx, &self.buf) {
                    Poll::Ready(result) => result?,
                    Poll::Pending => {
                        self.note_written(high_water);
                        return Poll::Pending;
                    }
                };
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.buf.advance(n);
            }
            self.note_written(high_water);
            // An idle connection's buffers are given back below, once
            // everything is written.
            if self.buf.capacity() > KEEP_CAPACITY {
                self.buf = BytesMut::new();
            } else {
                self.buf.clear();
            }
        }
        if release {
            let mut state = self.outbox.lock();
            if state.buf.is_empty() && state.buf.capacity() > 0 {
                state.buf = BytesMut::new();
            }
            if self.buf.capacity() > 0 {
                self.buf = BytesMut::new();
            }
            // Only a turn that wrote something says how large batches are.
            let peak = std::mem::take(&mut self.batch_peak);
            if peak > 0 {
                state.capacity_hint = if peak > MIN_CAPACITY {
                    (peak + peak / 4).min(MAX_CAPACITY_HINT)
                } else {
                    0
                };
            }
            if state.chunks.is_empty() && state.chunks.capacity() > 0 {
                state.chunks = VecDeque::new();
            }
            drop(state);
            self.chunks = VecDeque::new();
        }
        Pin::new(io).poll_flush(cx)
    }

    /// Registers the connection's task to be woken by the next push, if
    /// nothing is queued; `false` if something is (the connection should
    /// take another turn instead of parking).
    pub(crate) fn park(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.buf.is_empty() || !self.chunks.is_empty() {
            return true; // Waiting on the socket, which wakes the task.
        }
        let mut state = self.outbox.lock();
        if !state.is_empty() || !state.ended.is_empty() {
            return false;
        }
        match &state.writer {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.writer = Some(cx.waker().clone()),
        }
        true
    }

    /// Updates the count of bytes in flight and wakes producers waiting for
    /// room if the queue fell below the high-water mark.
    fn note_written(&mut self, high_water: usize) {
        let writing = self.writing();
        let mut state = self.outbox.lock();
        state.writing = writing;
        if state.queued() < high_water && !state.waiting.is_empty() {
            let waiting = std::mem::take(&mut state.waiting);
            drop(state);
            waiting.into_iter().for_each(Waker::wake);
        }
    }

    /// The connection is gone: later pushes are dropped and producers
    /// waiting for room are woken (and find the outbox closed).
    pub(crate) fn close(&mut self) {
        let mut state = self.outbox.lock();
        state.closed = true;
        state.buf = BytesMut::new();
        state.chunks = VecDeque::new();
        state.chunk_bytes = 0;
        state.writing = 0;
        state.writer = None;
        state.ended = Vec::new();
        let waiting = std::mem::take(&mut state.waiting);
        drop(state);
        self.buf = BytesMut::new();
        self.chunks = VecDeque::new();
        waiting.into_iter().for_each(Waker::wake);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Queues `frames` Data frames of `size` bytes.
    fn queue(outbox: &Outbox, frames: u32, size: usize) {
        let payload = vec![7u8; size];
        for id in 0..frames {
            outbox
                .push(2 * id + 1, MessageType::DATA, Flags::EMPTY, &payload)
                .unwrap();
        }
    }

    /// Writes everything queued (`release`: the connection is idle once
    /// it is written); the bytes written.
    fn write(writer: &mut Writer, release: bool) -> usize {
        let mut sink = Vec::new();
        let mut cx = Context::from_waker(Waker::noop());
        let written = writer.poll_write(&mut sink, &mut cx, release);
        assert!(matches!(written, Poll::Ready(Ok(()))));
        sink.len()
    }

    #[test]
    fn an_idle_outbox_holds_no_buffer_and_the_next_burst_grows_to_the_last_ones_size_at_once() {
        let (outbox, mut writer) = Outbox::new(4 << 20, 1 << 20);
        let batch = 64 * (HEADER_LEN + 300);
        queue(&outbox, 64, 300);
        assert_eq!(write(&mut writer, true), batch);
        assert_eq!(
            outbox.lock().buf.capacity(),
            0,
            "the queue's buffer is given back"
        );
        assert_eq!(
            writer.buf.capacity(),
            0,
            "the writer's buffer is given back"
        );
        let hint = outbox.lock().capacity_hint;
        assert!((batch..=MAX_CAPACITY_HINT).contains(&hint), "hint {hint}");

        // Idle turns that write nothing keep the hint.
        assert_eq!(write(&mut writer, true), 0);
        assert_eq!(outbox.lock().capacity_hint, hint);

        // A lone frame still takes only the smallest buffer...
        queue(&outbox, 1, 300);
        assert_eq!(outbox.lock().buf.capacity(), MIN_CAPACITY);
        // ...and once the burst outgrows it, the buffer grows to the last
        // burst's size at once rather than doubling step by step.
        let fit = MIN_CAPACITY / (HEADER_LEN + 300);
        queue(&outbox, fit as u32, 300);
        let grown = outbox.lock().buf.capacity();
        assert!(grown >= batch, "grew to {grown} < {batch}");
        assert_eq!(write(&mut writer, true), (fit + 1) * (HEADER_LEN + 300));

        // A burst that fits the smallest buffer anyway leaves no hint.
        queue(&outbox, 1, 300);
        assert_eq!(write(&mut writer, true), HEADER_LEN + 300);
        assert_eq!(outbox.lock().capacity_hint, 0);
        assert_eq!(outbox.lock().buf.capacity(), 0);
    }
}
