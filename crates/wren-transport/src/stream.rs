//! Streams of messages: [`Streaming`] for typed inbound streams, and the
//! bounded per-stream buffer ([`inbox`]) a connection fills with the Data
//! frames it reads.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::time::Sleep;

use bytes::Bytes;
use futures_core::Stream;
use wren_codec::Status;

/// A stream of encoded messages, as a [`Body`](crate::Body) carries it.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, Status>> + Send + 'static>>;

/// How a method streams, from its proto `stream` keywords.
///
/// Go ttrpc decides whether a call is a stream from how its method was
/// registered, not from anything on the wire, and so does a wren server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MethodKind {
    /// One request, one response.
    #[default]
    Unary,
    /// A stream of requests, one response.
    ClientStreaming,
    /// One request, a stream of responses.
    ServerStreaming,
    /// Streams both ways.
    Bidi,
}

impl MethodKind {
    /// The kind of a method whose request (`client_streaming`) and response
    /// (`server_streaming`) are or are not streams.
    pub const fn new(client_streaming: bool, server_streaming: bool) -> MethodKind {
        match (client_streaming, server_streaming) {
            (false, false) => MethodKind::Unary,
            (true, false) => MethodKind::ClientStreaming,
            (false, true) => MethodKind::ServerStreaming,
            (true, true) => MethodKind::Bidi,
        }
    }

    /// Whether the client sends a stream of requests.
    pub const fn client_streaming(self) -> bool {
        matches!(self, MethodKind::ClientStreaming | MethodKind::Bidi)
    }

    /// Whether the server sends a stream of responses.
    pub const fn server_streaming(self) -> bool {
        matches!(self, MethodKind::ServerStreaming | MethodKind::Bidi)
    }
}

/// A typed stream of inbound messages: what a streaming handler receives
/// and what a streaming client call returns.
///
/// Each item is a decoded message or the status that ended the stream; after
/// an error or the clean end, the stream yields `None`.
///
/// ```
/// # async fn run(mut stream: wren_transport::Streaming<String>) -> Result<(), wren_transport::codec::Status> {
/// while let Some(message) = stream.message().await? {
///     println!("{message}");
/// }
/// # Ok(())
/// # }
/// ```
pub struct Streaming<T> {
    inner: BodyStream,
    done: bool,
    _message: PhantomData<fn() -> T>,
}

impl<T> Streaming<T> {
    /// Typed messages from a stream of encoded ones.
    pub fn new(inner: BodyStream) -> Streaming<T> {
        Streaming {
            inner,
            done: false,
            _message: PhantomData,
        }
    }

    /// The encoded stream underneath.
    pub fn into_inner(self) -> BodyStream {
        self.inner
    }
}

impl<T: prost::Message + Default> Streaming<T> {
    /// The next message, `None` at the clean end of the stream, or the
    /// status that ended it.
    pub async fn message(&mut self) -> Result<Option<T>, Status> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx))
            .await
            .transpose()
    }
}

impl<T: prost::Message + Default> Stream for Streaming<T> {
    type Item = Result<T, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let item = match std::task::ready!(this.inner.as_mut().poll_next(cx)) {
            None => None,
            Some(Ok(bytes)) => Some(T::decode(bytes).map_err(|e| {
                Status::invalid_argument(format!("error unmarshalling stream message: {e}"))
            })),
            Some(Err(status)) => Some(Err(status)),
        };
        this.done = !matches!(item, Some(Ok(_)));
        Poll::Ready(item)
    }
}

impl<T> fmt::Debug for Streaming<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Streaming")
            .field("done", &self.done)
            .finish()
    }
}

/// Limits of one stream's inbound buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboxLimits {
    /// The most messages buffered for a consumer that has not read them.
    pub messages: usize,
    /// The most bytes buffered; each message counts its length plus
    /// [`MESSAGE_OVERHEAD`], so empty messages are bounded too.
    pub bytes: usize,
    /// How long a full buffer waits for its consumer. A consumer that has
    /// read a message within this time is slow, not gone: the connection
    /// stops reading until it catches up, which slows the sender through the
    /// socket. One that has read nothing for this long is taken to have
    /// stopped, and its stream fails with `RESOURCE_EXHAUSTED`.
    pub stall_timeout: Duration,
}

/// What each buffered message costs on top of its length, in bytes.
pub const MESSAGE_OVERHEAD: usize = 64;

impl Default for InboxLimits {
    fn default() -> Self {
        InboxLimits {
            messages: 1024,
            bytes: 1 << 20,
            stall_timeout: Duration::from_secs(1),
        }
    }
}

/// Why a message could not be buffered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The buffer is at its limit; the message is handed back.
    Full(Bytes),
    /// The consumer dropped the stream.
    Gone,
    /// The stream was already ended.
    Closed,
}

/// A bounded single-consumer buffer of inbound messages for one stream.
///
/// The connection pushes without waiting. When a buffer is full the
/// connection holds the message ([`Held`]) and asks [`InboxSender::poll_room`]
/// whether to wait for the consumer or give the stream up.
pub fn inbox(limits: InboxLimits) -> (InboxSender, BodyStream) {
    let shared = Arc::new(Mutex::new(Shared {
        queue: VecDeque::new(),
        bytes: 0,
        end: None,
        ended: false,
        waker: None,
        receiver_gone: false,
        last_pop: Instant::now(),
        pops: 0,
        pops_at_stamp: 0,
        limits,
        sender_waker: None,
        closed_waker: None,
    }));
    let sender = InboxSender {
        shared: shared.clone(),
        limits,
        timer: None,
    };
    (sender, Box::pin(InboxReceiver { shared }))
}

struct Shared {
    queue: VecDeque<Bytes>,
    bytes: usize,
    /// How the stream ends once the queue is drained: `Ok` cleanly.
    end: Option<Result<(), Status>>,
    ended: bool,
    waker: Option<Waker>,
    receiver_gone: bool,
    /// When the consumer was last seen taking messages (or the stream
    /// began). Stamped only while the buffer is at least half full, so a
    /// consumer that keeps up reads no clock.
    last_pop: Instant,
    /// Messages taken in all, and as of `last_pop`.
    pops: u64,
    pops_at_stamp: u64,
    limits: InboxLimits,
    /// The connection, waiting for room.
    sender_waker: Option<Waker>,
    /// The connection, waiting for the consumer to go away.
    closed_waker: Option<Waker>,
}

impl Shared {
    fn fits(&self, len: usize, limits: &InboxLimits) -> bool {
        self.queue.is_empty()
            || (self.queue.len() < limits.messages
                && self.bytes + len + MESSAGE_OVERHEAD <= limits.bytes)
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The connection's end of an [`inbox`].
pub struct InboxSender {
    shared: Arc<Mutex<Shared>>,
    limits: InboxLimits,
    timer: Option<Pin<Box<Sleep>>>,
}

impl InboxSender {
    /// Buffers one message, or hands it back if the buffer is full.
    pub fn push(&self, message: Bytes) -> Result<(), PushError> {
        let mut s = lock(&self.shared);
        if s.receiver_gone {
            return Err(PushError::Gone);
        }
        if s.end.is_some() {
            return Err(PushError::Closed);
        }
        if !s.fits(message.len(), &self.limits) {
            return Err(PushError::Full(message));
        }
        s.bytes += message.len() + MESSAGE_OVERHEAD;
        s.queue.push_back(message);
        let waker = s.waker.take();
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Whether a message of `len` bytes fits now. `Pending` while the
    /// consumer is reading but behind (the task is woken when it takes a
    /// message); `Ready(Err(Full))` once it has read nothing for the stall
    /// timeout; `Ready(Err(Gone))` if it dropped the stream.
    pub fn poll_room(&mut self, len: usize, cx: &mut Context<'_>) -> Poll<Result<(), PushError>> {
        let mut s = lock(&self.shared);
        if s.receiver_gone {
            return Poll::Ready(Err(PushError::Gone));
        }
        if s.fits(len, &self.limits) {
            self.timer = None;
            return Poll::Ready(Ok(()));
        }
        if s.pops != s.pops_at_stamp {
            // Taken while the buffer was short, unstamped: recent enough.
            s.last_pop = Instant::now();
            s.pops_at_stamp = s.pops;
        }
        let give_up_at = s.last_pop + self.limits.stall_timeout;
        if Instant::now() >= give_up_at {
            return Poll::Ready(Err(PushError::Full(Bytes::new())));
        }
        s.sender_waker = Some(cx.waker().clone());
        drop(s);
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(give_up_at.into())));
        if timer.deadline() != give_up_at.into() {
            timer.as_mut().reset(give_up_at.into());
        }
        if timer.as_mut().poll(cx).is_ready() {
            self.timer = None;
            return Poll::Ready(Err(PushError::Full(Bytes::new())));
        }
        Poll::Pending
    }

    /// Ends the stream after the buffered messages: cleanly with `Ok`.
    pub fn finish(&self, end: Result<(), Status>) {
        let mut s = lock(&self.shared);
        if s.end.is_none() {
            s.end = Some(end);
        }
        let waker = s.waker.take();
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Ends the stream with `status` at once, dropping buffered messages.
    pub fn fail(&self, status: Status) {
        let mut s = lock(&self.shared);
        s.queue.clear();
        s.bytes = 0;
        s.end = Some(Err(status));
        let waker = s.waker.take();
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether the consumer dropped the stream.
    pub fn is_gone(&self) -> bool {
        lock(&self.shared).receiver_gone
    }

    /// `Ready` once the consumer has dropped the stream; until then the
    /// task is woken when it does.
    pub fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = lock(&self.shared);
        if s.receiver_gone {
            return Poll::Ready(());
        }
        s.closed_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for InboxSender {
    fn drop(&mut self) {
        self.finish(Err(crate::ConnectionClosed::default().into_status()));
    }
}

impl fmt::Debug for InboxSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboxSender")
            .field("limits", &self.limits)
            .finish()
    }
}

struct InboxReceiver {
    shared: Arc<Mutex<Shared>>,
}

impl Stream for InboxReceiver {
    type Item = Result<Bytes, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut s = lock(&self.shared);
        if let Some(message) = s.queue.pop_front() {
            s.bytes -= message.len() + MESSAGE_OVERHEAD;
            s.pops += 1;
            if s.queue.len() * 2 >= s.limits.messages || s.bytes * 2 >= s.limits.bytes {
                s.last_pop = Instant::now();
                s.pops_at_stamp = s.pops;
            }
            let sender = s.sender_waker.take();
            drop(s);
            if let Some(w) = sender {
                w.wake();
            }
            return Poll::Ready(Some(Ok(message)));
        }
        if s.ended {
            return Poll::Ready(None);
        }
        match s.end.take() {
            Some(end) => {
                s.ended = true;
                s.end = Some(Ok(()));
                Poll::Ready(end.err().map(Err))
            }
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for InboxReceiver {
    fn drop(&mut self) {
        let mut s = lock(&self.shared);
        s.receiver_gone = true;
        let wakers = [s.sender_waker.take(), s.closed_waker.take()];
        drop(s);
        for w in wakers.into_iter().flatten() {
            w.wake();
        }
    }
}

/// A Data frame the connection could not deliver yet because its stream's
/// buffer was full. While one is held the connection reads nothing more.
#[derive(Debug)]
pub struct Held {
    /// The stream the message belongs to.
    pub stream_id: u32,
    message: Option<Bytes>,
    /// The frame also ended the sender's side.
    pub closing: bool,
}

/// What became of a [`Held`] message.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Delivered (and the stream finished, if the frame was closing).
    Delivered,
    /// The consumer dropped the stream; the message was discarded.
    Gone,
    /// The consumer stopped reading: the stream should be failed.
    Stalled,
}

impl Held {
    /// A message waiting for room in stream `stream_id`'s buffer.
    pub fn new(stream_id: u32, message: Bytes, closing: bool) -> Held {
        Held {
            stream_id,
            message: Some(message),
            closing,
        }
    }

    /// Tries again to deliver the message into `inbox`.
    pub fn poll_deliver(
        &mut self,
        inbox: &mut InboxSender,
        cx: &mut Context<'_>,
    ) -> Poll<Delivery> {
        let len = self.message.as_ref().map_or(0, Bytes::len);
        match std::task::ready!(inbox.poll_room(len, cx)) {
            Ok(()) => {
                if let Some(message) = self.message.take() {
                    if let Err(PushError::Full(message)) = inbox.push(message) {
                        self.message = Some(message);
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                if self.closing {
                    inbox.finish(Ok(()));
                }
                Poll::Ready(Delivery::Delivered)
            }
            Err(PushError::Full(_)) => Poll::Ready(Delivery::Stalled),
            Err(PushError::Gone | PushError::Closed) => Poll::Ready(Delivery::Gone),
        }
    }
}
