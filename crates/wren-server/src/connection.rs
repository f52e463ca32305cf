//! [`ServerConnection`]: the server's side of the connection driver.
//!
//! The connection task reads frames, opens calls and routes Data frames to
//! their streams' buffers. Each call runs as a [`CallTask`] — in a tokio
//! task of its own by default (a runner task, reused from call to call:
//! see [`Runners`]), or inside the connection's task when the server runs
//! handlers inline — and queues its own frames into the shared outbox. The
//! connection never waits for a call: a stream whose consumer falls behind
//! buffers within the connection's budget and fails alone when it runs
//! out.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tower::util::Oneshot;
use tower_service::Service;
use wren_transport::codec::{
    EnvelopeError, Flags, Frame, Header, METADATA_ENTRY_SIZE, MessageType, RequestView, Status,
};
use wren_transport::{
    Body, BoxError, Budget, ConnectionClosed, Dispatch, InboxLimits, InboxSender, MethodKind,
    Outbox, PushError, Request, Response, inbox, panic_status,
};

use crate::Routes;
use crate::call::{CallControl, CallTask, drop_call};
use crate::ids::StreamIds;
use crate::runners::{RETIRE_AFTER, Runners};

/// What every connection of a server shares.
#[derive(Debug)]
pub(crate) struct ConnectionConfig {
    /// The registered services, to look up how a method streams.
    pub(crate) routes: Routes,
    /// The bound of each stream's inbound buffer.
    pub(crate) inbox: InboxLimits,
    /// The bytes of input one connection may hold for its calls.
    pub(crate) budget: usize,
    /// The most calls and streams open at once on one connection.
    pub(crate) max_concurrent_streams: usize,
    /// Closes a connection with no call in flight for this long.
    pub(crate) idle_timeout: Option<Duration>,
    /// Runs handlers inside the connection's task instead of a task each.
    pub(crate) inline_handlers: bool,
    /// Refuses any stream id not above the last one, as Go does.
    pub(crate) strict_stream_ids: bool,
    /// Where call runners are spawned, so that a shutdown waits for them.
    pub(crate) tasks: TaskTracker,
}

/// The longest a connection stops reading for the slow handler of its only
/// call: a call that arrives meanwhile waits at most this long.
pub(crate) const MAX_PAUSE: Duration = Duration::from_millis(100);

/// What a call in flight costs its connection's budget on top of its
/// request's payload and twice its future (in its runner task, and in the
/// runner's hand-off slot): the task's header, the call's state and
/// control, its request's names and metadata.
pub(crate) const CALL_OVERHEAD: usize = 1280;
/// The most control blocks of ended calls kept for the next calls.
const SPARE_CONTROLS: usize = 256;
/// The most streams remembered as failed while their client still sends;
/// their later Data frames are dropped without a reply.
const DISCARD_LIMIT: usize = 256;

/// The future of one call: the layered service, called once.
type Call<S> = CallTask<Oneshot<S, Request<Body>>>;

/// One open stream id: a call whose task has not queued its last frame.
struct StreamState {
    kind: MethodKind,
    /// Where Data frames from the client go, while it still sends.
    inbox: Option<InboxSender>,
    control: Arc<CallControl>,
    /// Bytes charged to the connection's budget for the request.
    charge: usize,
    /// The call was told to end early; the client's Data is dropped.
    cancelled: bool,
    /// The call runs in one of the connection's runners.
    on_runner: bool,
}

/// Serves the calls of one connection.
pub(crate) struct ServerConnection<S>
where
    S: Service<Request<Body>>,
{
    service: S,
    config: Arc<ConnectionConfig>,
    /// The connection's peer, attached to every request without an allocation.
    peer: Arc<wren_transport::Peer>,
    budget: Budget,
    /// Calls run inside this task (`inline_handlers`). Created with the
    /// first call and given back when the connection falls quiet: its
    /// allocation is sized by the handler future.
    inline: Option<FuturesUnordered<Call<S>>>,
    /// The tasks calls run in otherwise, from the connection's second call
    /// on.
    runners: Runners<Call<S>>,
    /// Calls opened on this connection (saturating).
    calls_opened: u32,
    /// How many calls were in flight at once before the connection last
    /// fell quiet and gave its call table back: when the table first fills
    /// after the quiet moment it grows to that in one step, instead of
    /// growing (and rehashing) step by step through every burst of calls.
    streams_size: wren_transport::BurstSize,
    /// Control blocks of ended calls, for the next calls.
    spare_controls: Vec<Arc<CallControl>>,
    /// Ends the runners left waiting for a call and gives back the spare
    /// control blocks; runs from the moment a call ends until it fires.
    retire: Option<Pin<Box<tokio::time::Sleep>>>,
    streams: wren_transport::StreamMap<StreamState>,
    ids: StreamIds,
    /// Streams ended while their client was still sending: its further
    /// Data frames are dropped silently. Oldest first, bounded.
    discard: VecDeque<u32>,
    /// Scratch for the ids of calls that ended.
    ended: Vec<u32>,
    /// Runs while the connection has no call in flight, with an idle timeout.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    draining: bool,
    closing: bool,
    /// Calls were handed to runners since the connection last yielded.
    spawned: bool,
    /// The stream whose inbox has messages staged, not yet handed over.
    staged: Option<u32>,
    /// Reading is paused for this stream's slow handler, the only call in
    /// flight; at most [`MAX_PAUSE`] at a time.
    paused: Option<u32>,
    /// Ends a pause. Created with the connection's first pause.
    pause_timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// A pause just ran out: read one batch before pausing again.
    pause_expired: bool,
    /// How many batches the paused stream's handler had taken when the
    /// pause began.
    paused_at: u64,
    /// A stream whose handler took nothing during a whole pause: it has
    /// stopped, not slowed, and pausing for it would only delay its
    /// failure; the connection no longer pauses for it.
    stopped: Option<u32>,
}

impl<S> ServerConnection<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    pub(crate) fn new(
        service: S,
        config: Arc<ConnectionConfig>,
        peer: wren_transport::Peer,
    ) -> ServerConnection<S> {
        ServerConnection {
            service,
            budget: Budget::new(config.budget),
            ids: StreamIds::new(config.strict_stream_ids),
            runners: Runners::new(),
            calls_opened: 0,
            streams_size: wren_transport::BurstSize::default(),
            config,
            peer: Arc::new(peer),
            inline: None,
            spare_controls: Vec::new(),
            retire: None,
            streams: wren_transport::StreamMap::default(),
            discard: VecDeque::new(),
            ended: Vec::new(),
            idle: None,
            draining: false,
            closing: false,
            spawned: false,
            staged: None,
            paused: None,
            pause_timer: None,
            pause_expired: false,
            paused_at: 0,
            stopped: None,
        }
    }

    /// Stop taking new calls; finish the ones in flight, then close.
    pub(crate) fn drain(&mut self) {
        self.draining = true;
    }

    /// Ends stream `id` early with `status`: its task sends the status as
    /// the call's final frame and drops the handler. The client's further
    /// Data for it is dropped.
    fn cancel_stream(&mut self, id: u32, status: Status) {
        let Some(state) = self.streams.get_mut(&id) else {
            return;
        };
        if let Some(inbox) = state.inbox.take() {
            inbox.fail(status.clone());
            remember(&mut self.discard, id);
        }
        state.cancelled = true;
        state.control.cancel(status);
    }

    fn on_request(&mut self, frame: Frame, out: &Outbox) {
        let id = frame.stream_id;
        if let Err(e) = self.ids.open(id) {
            return out.push_status(id, &Status::invalid_argument(e.message()));
        }
        if self.draining {
            return out.push_status(id, &Status::unavailable("server is shutting down"));
        }
        if self.streams.len() >= self.config.max_concurrent_streams {
            // A call may have queued its reply since the last look, and the
            // client answered it with this request: count it out first.
            self.reap(out);
        }
        if self.streams.len() >= self.config.max_concurrent_streams {
            let status = Status::resource_exhausted(format!(
                "too many concurrent streams on this connection (limit {})",
                self.config.max_concurrent_streams
            ));
            return out.push_status(id, &status);
        }
        let charge = frame.payload.len() + CALL_OVERHEAD + 2 * std::mem::size_of::<Call<S>>();
        if self.budget.used() + charge > self.budget.limit() {
            self.reap(out);
        }
        if !self.budget.try_charge(charge) {
            let status = Status::resource_exhausted(format!(
                "connection buffer budget exhausted ({} of {} bytes in use by calls in flight)",
                self.budget.used(),
                self.budget.limit()
            ));
            return out.push_status(id, &status);
        }
        // Each metadata entry costs more decoded than on the wire (as few
        // as two bytes there): count them against the budget before
        // anything is allocated for them.
        let room = self.budget.limit().saturating_sub(self.budget.used());
        let envelope = match RequestView::decode(frame.payload, room / METADATA_ENTRY_SIZE) {
            Ok(envelope) => envelope,
            Err(e) => {
                self.budget.refund(charge);
                let status = match e {
                    EnvelopeError::Malformed(_) => {
                        Status::invalid_argument(format!("unmarshal request error: {e}"))
                    }
                    EnvelopeError::TooMuchMetadata { .. } => Status::resource_exhausted(format!(
                        "connection buffer budget exhausted: {e}"
                    )),
                };
                return out.push_status(id, &status);
            }
        };
        let metadata_charge = envelope.metadata.len() * METADATA_ENTRY_SIZE;
        if !self.budget.try_charge(metadata_charge) {
            self.budget.refund(charge);
            let status = Status::resource_exhausted(format!(
                "connection buffer budget exhausted ({} of {} bytes in use by calls in flight)",
                self.budget.used(),
                self.budget.limit()
            ));
            return out.push_status(id, &status);
        }
        let charge = charge + metadata_charge;
        let kind = self
            .config
            .routes
            .method_kind(&envelope.service, &envelope.method);
        let mut inbox_sender = None;
        let body = if kind.client_streaming() {
            let (mut sender, stream) = inbox(self.config.inbox, self.budget.clone());
            // Go hands a non-empty Request payload to a client-streaming
            // handler as its first message.
            if !envelope.payload.is_empty() {
                let _ = sender.push(envelope.payload);
            }
            // A client that did not say it will send Data (a unary-style
            // request) sends none: end the inbound stream now.
            if frame.flags.contains(Flags::REMOTE_OPEN) {
                inbox_sender = Some(sender);
            } else {
                sender.finish(Ok(()));
            }
            Body::from_boxed_stream(stream)
        } else {
            // Unary and server-streaming methods get the payload as their
            // one request message, even when it is empty.
            Body::new(envelope.payload)
        };
        let mut req = Request::new(body);
        req.extensions_mut().insert_shared(self.peer.clone());
        req.set_stream_id(id);
        req.set_path(envelope.service, envelope.method);
        req.set_method_kind(kind);
        if !envelope.metadata.is_empty() {
            *req.metadata_mut() = envelope.metadata;
        }
        let deadline = match envelope.timeout_nano {
            0 => None,
            n if n < 0 => Some(Instant::now()),
            n => Instant::now().checked_add(Duration::from_nanos(n as u64)),
        };
        req.set_deadline(deadline);

        // Cloning the service runs the user's layers' `Clone`.
        let service = &self.service;
        let call = match catch_unwind(AssertUnwindSafe(|| service.clone().oneshot(req))) {
            Ok(call) => call,
            Err(panic) => {
                self.budget.refund(charge);
                return out.push_status(id, &panic_status("cloning the service", &*panic));
            }
        };
        let control = self.spare_controls.pop().unwrap_or_default();
        let mut on_runner = false;
        let task = CallTask::new(
            id,
            kind.server_streaming(),
            out.clone(),
            control.clone(),
            deadline,
            call,
        );
        if self.config.inline_handlers {
            self.inline
                .get_or_insert_with(FuturesUnordered::new)
                .push(task);
        } else {
            // Many connections carry a single call (a command-line client,
            // a health check): their call gets a task spawned for it, and
            // only a connection that carries more keeps runners, and a timer
            // to end them, for the next ones.
            if self.calls_opened == 0 {
                self.config.tasks.spawn(task);
            } else {
                self.runners.run(&self.config.tasks, task);
                on_runner = true;
            }
            self.spawned = true;
        }
        self.calls_opened = self.calls_opened.saturating_add(1);
        let grow = self
            .streams_size
            .additional(self.streams.len(), self.streams.capacity());
        self.streams.reserve(grow);
        self.streams.insert(
            id,
            StreamState {
                kind,
                inbox: inbox_sender,
                control,
                charge,
                cancelled: false,
                on_runner,
            },
        );
        self.streams_size.note(self.streams.len());
    }

    fn on_data(&mut self, frame: Frame, out: &Outbox) {
        let id = frame.stream_id;
        if id % 2 == 0 {
            let status =
                Status::invalid_argument("StreamID must be odd for client initiated streams");
            return out.push_status(id, &status);
        }
        let closing = frame.flags.contains(Flags::REMOTE_CLOSED);
        if let Some(i) = self.discard.iter().position(|&d| d == id) {
            // A stream this side already ended; the client has not heard yet.
            if closing {
                self.discard.remove(i);
            }
            return;
        }
        let Some(state) = self.streams.get_mut(&id) else {
            let status = Status::invalid_argument("StreamID is no longer active");
            return out.push_status(id, &status);
        };
        if state.cancelled {
            return;
        }
        if state.inbox.is_none() {
            if state.kind.client_streaming() {
                // The client already closed its side.
                let status = Status::invalid_argument("data received after the stream was closed");
                return self.cancel_stream(id, status);
            }
            // Data for a call that takes none (Go's server crashes here):
            // the call goes on, the frame is dropped.
            tracing::debug!(
                stream_id = id,
                "ignoring data frame on a non-streaming call"
            );
            return;
        }
        // A frame flagged no-data carries no message, whatever else it says.
        if !frame.flags.contains(Flags::NO_DATA) {
            // Messages are handed to the handler once per read batch (or
            // when another stream's frame comes), under one lock.
            if self.staged.is_some_and(|staged| staged != id) {
                self.flush_staged();
            }
            if let Some(inbox) = self.streams.get_mut(&id).and_then(|s| s.inbox.as_mut()) {
                inbox.stage(frame.payload);
                self.staged = Some(id);
            }
        }
        if closing {
            self.flush_staged();
            if let Some(inbox) = self.streams.get_mut(&id).and_then(|s| s.inbox.take()) {
                inbox.finish(Ok(()));
            }
        }
    }

    /// Hands the messages staged for one stream to its handler; a stream
    /// whose handler is too far behind fails.
    fn flush_staged(&mut self) {
        let Some(id) = self.staged.take() else {
            return;
        };
        let Some(inbox) = self.streams.get_mut(&id).and_then(|s| s.inbox.as_mut()) else {
            return;
        };
        match inbox.flush() {
            Ok(()) => {}
            Err(PushError::Overflow(overflow)) => self.cancel_stream(id, overflow.to_status()),
            // The handler stopped reading on purpose; its reply decides.
            Err(PushError::Gone | PushError::Closed) => {}
        }
    }

    /// Pauses reading while the only call in flight is a stream whose
    /// handler is behind, resuming when it has caught up or after
    /// [`MAX_PAUSE`], whichever comes first. Pausing slows the client as
    /// flow control would; bounding the pause bounds what a call that
    /// arrives meanwhile (its frames behind the stream's in the socket)
    /// can wait. A handler that takes nothing during a whole pause has
    /// stopped rather than slowed, and is not paused for again. With other
    /// calls in flight the connection never pauses: it buffers, and fails a
    /// stream that falls too far behind.
    fn poll_pause(&mut self, cx: &mut Context<'_>) {
        if let Some(id) = self.paused {
            let inbox = self.streams.get(&id).and_then(|s| s.inbox.as_ref());
            let caught_up =
                inbox.is_none_or(|inbox| inbox.poll_below(inbox.pause_level() / 2, cx).is_ready());
            let timer = self.pause_timer.as_mut().map(|t| t.as_mut().poll(cx));
            if caught_up || self.streams.len() > 1 || !matches!(timer, Some(Poll::Pending)) {
                self.paused = None;
                self.pause_expired = !caught_up;
                if inbox.is_some_and(|inbox| inbox.takes() == self.paused_at) {
                    self.stopped = Some(id);
                }
                // Reading resumes: take another turn.
                cx.waker().wake_by_ref();
            }
            return;
        }
        if std::mem::take(&mut self.pause_expired) || self.streams.len() != 1 {
            return;
        }
        let Some((&id, state)) = self.streams.iter().next() else {
            return;
        };
        let Some(inbox) = &state.inbox else {
            return;
        };
        if inbox.buffered() < inbox.pause_level() || self.stopped == Some(id) {
            return;
        }
        self.paused = Some(id);
        self.paused_at = inbox.takes();
        let until = tokio::time::Instant::now() + MAX_PAUSE;
        match &mut self.pause_timer {
            Some(timer) => timer.as_mut().reset(until),
            None => self.pause_timer = Some(Box::pin(tokio::time::sleep_until(until))),
        }
        // Register the wake-ups.
        self.poll_pause(cx);
    }

    /// Once the retire timer fires, ends the runners waiting for a call
    /// and gives back the spare control blocks.
    fn poll_retire(&mut self, cx: &mut Context<'_>) {
        let Some(timer) = &mut self.retire else {
            return;
        };
        if timer.as_mut().poll(cx).is_pending() {
            return;
        }
        self.spare_controls = Vec::new();
        // Busy runners offer themselves when their calls end, and the next
        // call to end starts the timer again. A runner whose call has ended
        // (and been forgotten) but which has not offered itself yet is busy
        // too, with no call left to start the timer for it: look again
        // later.
        let busy = self.runners.retire_idle();
        let in_runners = self.streams.values().filter(|s| s.on_runner).count();
        if busy > in_runners {
            timer
                .as_mut()
                .reset(tokio::time::Instant::now() + RETIRE_AFTER);
            let _ = timer.as_mut().poll(cx);
        } else {
            self.retire = None;
        }
    }

    /// Forgets the calls whose tasks queued their last frame.
    fn reap(&mut self, out: &Outbox) {
        out.take_ended(&mut self.ended);
        // A connection's first call leaves nothing to reuse or end.
        let reusing = self.calls_opened > 1;
        if reusing && !self.ended.is_empty() && self.retire.is_none() {
            // Their runners wait for the next call from now on: end them
            // if none comes soon.
            self.retire = Some(Box::pin(tokio::time::sleep(RETIRE_AFTER)));
        }
        for id in self.ended.drain(..) {
            let Some(mut state) = self.streams.remove(&id) else {
                continue;
            };
            self.budget.refund(state.charge);
            // The task has nearly always dropped its handle by now.
            if let Some(control) = Arc::get_mut(&mut state.control) {
                if reusing && self.spare_controls.len() < SPARE_CONTROLS {
                    control.reset();
                    self.spare_controls.push(state.control);
                }
            }
            if let Some(inbox) = state.inbox {
                // The call is over while its client still sends.
                inbox.finish(Ok(()));
                remember(&mut self.discard, id);
            }
        }
    }
}

/// Remembers `id` in the bounded set of discarded streams.
fn remember(discard: &mut VecDeque<u32>, id: u32) {
    if discard.len() >= DISCARD_LIMIT {
        discard.pop_front();
    }
    discard.push_back(id);
}

impl<S> Dispatch for ServerConnection<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    fn on_frame(&mut self, frame: Frame, out: &Outbox) {
        self.idle = None;
        match frame.kind {
            MessageType::REQUEST => self.on_request(frame, out),
            MessageType::DATA => self.on_data(frame, out),
            kind => {
                tracing::debug!(
                    stream_id = frame.stream_id,
                    ?kind,
                    "ignoring frame of unexpected type"
                );
            }
        }
    }

    fn on_oversize(&mut self, header: Header, out: &Outbox) {
        let status = Status::message_too_large(header.length as usize, out.max_message_size());
        if header.kind == MessageType::DATA {
            if self.discard.contains(&header.stream_id) {
                return;
            }
            if self.streams.contains_key(&header.stream_id) {
                // A message of the stream was lost: the stream cannot go on.
                return self.cancel_stream(header.stream_id, status);
            }
        }
        out.push_status(header.stream_id, &status);
    }

    fn poll_work(&mut self, cx: &mut Context<'_>, out: &Outbox) -> Poll<()> {
        if self.closing {
            return Poll::Ready(());
        }
        // The read batch is over: hand its messages over.
        self.flush_staged();
        if let Some(calls) = &mut self.inline {
            while let Poll::Ready(Some(())) = calls.poll_next_unpin(cx) {}
        }
        if std::mem::take(&mut self.spawned) {
            // Let the calls just handed out start on this worker while this
            // task goes to the back of its queue, where an idle worker is
            // woken to take it (and the I/O driver) over. Without this, a
            // handler that blocks this worker could leave the connection,
            // and the I/O driver, with no thread until it returns.
            cx.waker().wake_by_ref();
        }
        self.reap(out);
        self.poll_retire(cx);
        self.poll_pause(cx);
        let quiet = self.streams.is_empty();
        if quiet {
            // Give back what the calls grew (the call set is sized by the
            // handler future): an idle connection should cost next to
            // nothing.
            if self.inline.as_ref().is_some_and(|c| c.is_empty()) {
                self.inline = None;
            }
            if self.streams.capacity() > 0 {
                self.streams_size.end();
                self.streams = wren_transport::StreamMap::default();
            }
            if self.ended.capacity() > 0 {
                self.ended = Vec::new();
            }
            out.release_idle();
        }
        if self.draining && quiet {
            return Poll::Ready(());
        }
        if let (true, Some(timeout)) = (quiet, self.config.idle_timeout) {
            let idle = self
                .idle
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
            if idle.as_mut().poll(cx).is_ready() {
                tracing::debug!("closing idle ttrpc connection");
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }

    fn wants_read(&self) -> bool {
        self.paused.is_none()
    }

    fn is_idle(&self) -> bool {
        self.streams.is_empty()
    }

    fn on_close(&mut self, error: Option<&io::Error>) {
        if let Some(e) = error {
            tracing::debug!(error = %e, "ttrpc connection closed with error");
        }
        self.closing = true;
        self.cancel_all();
    }
}

impl<S: Service<Request<Body>>> ServerConnection<S> {
    /// Cancels every call: those in their own tasks stop at their next
    /// poll, inline ones are dropped here. Nothing they queue is written.
    fn cancel_all(&mut self) {
        let closed = ConnectionClosed::new(None).into_status();
        for (_, state) in self.streams.drain() {
            state.control.cancel(closed.clone());
        }
        if let Some(calls) = self.inline.take() {
            drop_call(calls);
        }
    }
}

impl<S: Service<Request<Body>>> Drop for ServerConnection<S> {
    fn drop(&mut self) {
        // A connection dropped without closing (an immediate shutdown)
        // still cancels its calls.
        self.cancel_all();
    }
}
