//! Streams of messages: [`Streaming`] for typed inbound streams, the
//! per-stream buffer ([`inbox`]) a connection fills with the Data frames it
//! reads, and the per-connection [`Budget`] those buffers draw on.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

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
///
/// ttrpc has no flow control, and the frames of every call share one
/// socket: a connection that stopped reading because one stream's consumer
/// is slow would stall every other call behind that stream's Data. So a
/// connection never waits for a consumer. Messages a consumer has not read
/// yet are buffered, each stream up to [`InboxLimits::bytes`] and all
/// streams of a connection together up to the connection's [`Budget`]; a
/// message past either bound fails only its stream, with
/// `RESOURCE_EXHAUSTED`, and the stream's later messages are discarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboxLimits {
    /// The most bytes one stream buffers for a consumer that has not read
    /// them. Each message counts its length plus [`MESSAGE_OVERHEAD`], so
    /// empty messages are bounded too. A message always fits into an empty
    /// buffer (if the connection's budget has room), so a stream can carry
    /// messages up to the size limit whatever this says. Default: 4 MiB
    /// ([`DEFAULT_STREAM_BUFFER`]).
    pub bytes: usize,
}

/// What each buffered message costs on top of its length, in bytes.
pub const MESSAGE_OVERHEAD: usize = 64;

/// The default of [`InboxLimits::bytes`]: 4 MiB.
pub const DEFAULT_STREAM_BUFFER: usize = 4 << 20;

impl Default for InboxLimits {
    fn default() -> Self {
        InboxLimits {
            bytes: DEFAULT_STREAM_BUFFER,
        }
    }
}

/// A connection's memory budget for input it holds on behalf of its calls:
/// stream messages not yet read by their consumers and, on a server, the
/// requests of calls in flight. Cheap to clone; every clone draws on the
/// same budget.
///
/// Charging and refunding are single atomic operations; what is charged
/// is refunded when the memory is given up (a consumer takes a batch of
/// messages and reads past it, a call ends).
#[derive(Clone, Debug)]
pub struct Budget {
    inner: Arc<BudgetInner>,
}

#[derive(Debug)]
struct BudgetInner {
    used: AtomicUsize,
    limit: usize,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Budget {
        Budget {
            inner: Arc::new(BudgetInner {
                used: AtomicUsize::new(0),
                limit,
            }),
        }
    }

    /// Takes `bytes` from the budget; `false` (and nothing taken) if that
    /// would exceed the limit.
    pub fn try_charge(&self, bytes: usize) -> bool {
        let mut used = self.inner.used.load(Ordering::Relaxed);
        loop {
            let Some(next) = used.checked_add(bytes).filter(|&n| n <= self.inner.limit) else {
                return false;
            };
            match self.inner.used.compare_exchange_weak(
                used,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => used = actual,
            }
        }
    }

    /// Gives `bytes` back.
    pub fn refund(&self, bytes: usize) {
        if bytes > 0 {
            self.inner.used.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    /// Bytes in use.
    pub fn used(&self) -> usize {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// The limit, in bytes.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }
}

/// Why a message could not be buffered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The stream's buffer, or the connection's budget, has no room: the
    /// stream should be failed with [`Overflow::to_status`].
    Overflow(Overflow),
    /// The consumer dropped the stream.
    Gone,
    /// The stream was already ended.
    Closed,
}

/// A message that did not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow {
    /// The message's length.
    pub length: usize,
    /// Bytes the stream had buffered.
    pub buffered: usize,
    /// Which bound it hit.
    pub bound: OverflowBound,
}

/// The bound a message hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverflowBound {
    /// The stream's own buffer ([`InboxLimits::bytes`]), of this many bytes.
    Stream(usize),
    /// The connection's [`Budget`], of this many bytes.
    Connection(usize),
}

impl Overflow {
    /// The `RESOURCE_EXHAUSTED` status the stream fails with.
    pub fn to_status(self) -> Status {
        let (what, limit) = match self.bound {
            OverflowBound::Stream(limit) => ("stream buffer", limit),
            OverflowBound::Connection(limit) => ("connection buffer budget", limit),
        };
        Status::resource_exhausted(format!(
            "{what} full: the consumer is reading slower than the sender sends \
             ({} bytes buffered on this stream, limit {limit} bytes)",
            self.buffered
        ))
    }
}

/// A single-consumer buffer of inbound messages for one stream.
///
/// The connection pushes without waiting; a push past the stream's limit
/// or the connection's budget is refused ([`PushError::Overflow`]), and the
/// connection fails the stream. The consumer takes every buffered message
/// in one batch under one lock and reads them without locking, and gives
/// their bytes back to the budget when it comes back for the next batch.
pub fn inbox(limits: InboxLimits, budget: Budget) -> (InboxSender, BodyStream) {
    let shared = Arc::new(Mutex::new(Shared::default()));
    let sender = InboxSender {
        shared: shared.clone(),
        limits,
        budget: budget.clone(),
        staged: Vec::new(),
    };
    let receiver = InboxReceiver {
        shared,
        budget,
        batch: VecDeque::new(),
        done: false,
    };
    (sender, Box::pin(receiver))
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Bytes>,
    /// Charged bytes of the messages in `queue`.
    queued: usize,
    /// Charged bytes of the batch the consumer took and is reading.
    taken: usize,
    /// How the stream ends once the queue is drained: `Ok` cleanly.
    end: Option<Result<(), Status>>,
    /// The consumer, waiting for a message.
    waker: Option<Waker>,
    receiver_gone: bool,
    /// The connection, waiting for the consumer to go away.
    closed_waker: Option<Waker>,
    /// The connection, waiting for the consumer to take what is buffered.
    drained_waker: Option<Waker>,
    /// Batches the consumer has taken.
    takes: u64,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn wake(waker: Option<Waker>) {
    if let Some(w) = waker {
        w.wake();
    }
}

/// The connection's end of an [`inbox`].
pub struct InboxSender {
    shared: Arc<Mutex<Shared>>,
    limits: InboxLimits,
    budget: Budget,
    /// Messages read but not yet handed over: a connection stages the
    /// messages of one read batch and hands them over under one lock.
    staged: Vec<Bytes>,
}

impl InboxSender {
    /// Buffers one message, or refuses it (see [`PushError`]).
    pub fn push(&mut self, message: Bytes) -> Result<(), PushError> {
        self.stage(message);
        self.flush()
    }

    /// Keeps `message` to hand over with the next [`InboxSender::flush`],
    /// taking no lock.
    pub fn stage(&mut self, message: Bytes) {
        self.staged.push(message);
    }

    /// Whether messages are staged.
    pub fn has_staged(&self) -> bool {
        !self.staged.is_empty()
    }

    /// Hands the staged messages over under one lock, in order, and wakes
    /// the consumer once. The first message that does not fit is refused
    /// (see [`PushError`]) and the rest are dropped with it.
    pub fn flush(&mut self) -> Result<(), PushError> {
        let mut staged = std::mem::take(&mut self.staged);
        let result = self.push_all(&mut staged);
        // Keep the (emptied) vector for the next batch.
        self.staged = staged;
        result
    }

    /// Hands `messages` over under one lock, in order, leaving the vector
    /// empty, as [`InboxSender::flush`] does with staged ones.
    pub fn push_all(&mut self, staged: &mut Vec<Bytes>) -> Result<(), PushError> {
        if staged.is_empty() {
            return Ok(());
        }
        let mut s = lock(&self.shared);
        let mut result = Ok(());
        if s.receiver_gone {
            result = Err(PushError::Gone);
        } else if s.end.is_some() {
            result = Err(PushError::Closed);
        }
        if result.is_ok() {
            for message in staged.drain(..) {
                let cost = message.len() + MESSAGE_OVERHEAD;
                let buffered = s.queued + s.taken;
                let overflow = |bound| {
                    PushError::Overflow(Overflow {
                        length: message.len(),
                        buffered,
                        bound,
                    })
                };
                if buffered > 0 && buffered + cost > self.limits.bytes {
                    result = Err(overflow(OverflowBound::Stream(self.limits.bytes)));
                    break;
                }
                if !self.budget.try_charge(cost) {
                    result = Err(overflow(OverflowBound::Connection(self.budget.limit())));
                    break;
                }
                s.queued += cost;
                s.queue.push_back(message);
            }
        }
        let waker = s.waker.take();
        drop(s);
        staged.clear();
        wake(waker);
        result
    }

    /// Ends the stream after the buffered messages: cleanly with `Ok`.
    /// Staged messages must have been flushed first.
    pub fn finish(&self, end: Result<(), Status>) {
        let mut s = lock(&self.shared);
        if s.end.is_none() {
            s.end = Some(end);
        }
        let waker = s.waker.take();
        drop(s);
        wake(waker);
    }

    /// Ends the stream with `status` at once, dropping buffered messages.
    pub fn fail(&self, status: Status) {
        let mut s = lock(&self.shared);
        s.queue.clear();
        self.budget.refund(std::mem::take(&mut s.queued));
        s.end = Some(Err(status));
        let waker = s.waker.take();
        drop(s);
        wake(waker);
    }

    /// Whether the consumer dropped the stream.
    pub fn is_gone(&self) -> bool {
        lock(&self.shared).receiver_gone
    }

    /// Bytes buffered for the consumer (charged to the budget).
    pub fn buffered(&self) -> usize {
        let s = lock(&self.shared);
        s.queued + s.taken
    }

    /// How many times the consumer has taken the buffered messages: it
    /// made progress between two readings if this changed.
    pub fn takes(&self) -> u64 {
        lock(&self.shared).takes
    }

    /// The stream's buffer limit, in bytes ([`InboxLimits::bytes`]).
    pub fn limit(&self) -> usize {
        self.limits.bytes
    }

    /// Bytes buffered above which a connection whose only call is this
    /// stream pauses its reads until the consumer has taken half of them:
    /// half the stream's limit, at most 1 MiB. Pausing then costs no other
    /// call anything, and slows the sender as flow control would.
    pub fn pause_level(&self) -> usize {
        (self.limits.bytes / 2).clamp(1, 1 << 20)
    }

    /// `Ready` once fewer than `level` bytes are buffered (or the consumer
    /// is gone); until then the task is woken each time the consumer takes
    /// a batch. A connection that pauses its reads for a slow consumer
    /// waits on this.
    pub fn poll_below(&self, level: usize, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = lock(&self.shared);
        if s.receiver_gone || s.queued + s.taken < level {
            return Poll::Ready(());
        }
        match &s.drained_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.drained_waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// `Ready` once the consumer has dropped the stream; until then the
    /// task is woken when it does.
    pub fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = lock(&self.shared);
        if s.receiver_gone {
            return Poll::Ready(());
        }
        match &s.closed_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.closed_waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for InboxSender {
    fn drop(&mut self) {
        // What was read before the connection ended is still delivered.
        let _ = self.flush();
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
    budget: Budget,
    /// Messages taken from the queue in one go, read without the lock.
    batch: VecDeque<Bytes>,
    done: bool,
}

impl Stream for InboxReceiver {
    type Item = Result<Bytes, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(message) = this.batch.pop_front() {
            return Poll::Ready(Some(Ok(message)));
        }
        if this.done {
            return Poll::Ready(None);
        }
        let mut s = lock(&this.shared);
        // The last batch is read: its bytes go back to the budget, and a
        // connection waiting for the buffer to drain looks again.
        this.budget.refund(std::mem::take(&mut s.taken));
        let drained = s.drained_waker.take();
        if !s.queue.is_empty() {
            std::mem::swap(&mut this.batch, &mut s.queue);
            s.taken = std::mem::take(&mut s.queued);
            s.takes += 1;
            drop(s);
            wake(drained);
            let message = this.batch.pop_front().expect("a batch is never empty");
            return Poll::Ready(Some(Ok(message)));
        }
        if let Some(w) = drained {
            w.wake_by_ref();
        }
        match s.end.take() {
            Some(end) => {
                this.done = true;
                s.end = Some(Ok(()));
                Poll::Ready(end.err().map(Err))
            }
            None => {
                match &s.waker {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => s.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for InboxReceiver {
    fn drop(&mut self) {
        let mut s = lock(&self.shared);
        s.receiver_gone = true;
        s.queue.clear();
        let drained = s.drained_waker.take();
        self.budget
            .refund(std::mem::take(&mut s.queued) + std::mem::take(&mut s.taken));
        let waker = s.closed_waker.take();
        drop(s);
        wake(waker);
        wake(drained);
    }
}

/// How taking a batch of messages from a stream ended
/// ([`poll_batch`]).
#[derive(Debug)]
pub enum BatchEnd {
    /// The batch is full; the stream may have more ready.
    Full,
    /// The stream has nothing ready; the task will be woken when it does.
    Pending,
    /// The stream ended: cleanly, or with a status.
    End(Result<(), Status>),
}

/// Takes the messages `stream` has ready into `batch`, until it holds `max`
/// or the stream is pending or ends: what a connection sends in one go.
pub fn poll_batch(
    stream: &mut BodyStream,
    cx: &mut Context<'_>,
    batch: &mut Vec<Bytes>,
    max: usize,
) -> BatchEnd {
    while batch.len() < max {
        match stream.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(message))) => batch.push(message),
            Poll::Ready(Some(Err(status))) => return BatchEnd::End(Err(status)),
            Poll::Ready(None) => return BatchEnd::End(Ok(())),
            Poll::Pending => return BatchEnd::Pending,
        }
    }
    BatchEnd::Full
}
