//! [`ClientConnection`]: the client's side of the connection driver.

use std::borrow::Cow;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{AbortHandle, Abortable, SelectAll};
use futures_util::{Stream, StreamExt};
use prost::Message;
use tokio::sync::{mpsc, oneshot};
use wren_transport::codec::{
    Flags, Frame, Header, MessageType, Metadata, RequestRef, Status, proto,
};
use wren_transport::{
    BodyStream, ConnectionClosed, Delivery, Dispatch, Held, InboxSender, MethodKind, Outbox,
    PushError,
};

pub(crate) type Reply = Result<Bytes, Status>;

/// Where a call's reply goes.
#[derive(Debug)]
pub(crate) enum ReplyTo {
    /// One reply message (unary and client-streaming calls).
    Once(oneshot::Sender<Reply>),
    /// A stream of replies (server-streaming and bidi calls).
    Stream(InboxSender),
}

impl ReplyTo {
    fn is_gone(&self) -> bool {
        match self {
            ReplyTo::Once(tx) => tx.is_closed(),
            ReplyTo::Stream(inbox) => inbox.is_gone(),
        }
    }

    /// Whether the caller gave up; if not, the task is woken when it does.
    fn poll_gone(&mut self, cx: &mut Context<'_>) -> bool {
        match self {
            ReplyTo::Once(tx) => tx.poll_closed(cx).is_ready(),
            ReplyTo::Stream(inbox) => inbox.poll_closed(cx).is_ready(),
        }
    }

    pub(crate) fn fail(self, status: Status) {
        match self {
            ReplyTo::Once(tx) => {
                let _ = tx.send(Err(status));
            }
            ReplyTo::Stream(inbox) => inbox.fail(status),
        }
    }
}

/// One call for the connection to send.
pub(crate) struct Command {
    pub(crate) service: Cow<'static, str>,
    pub(crate) method: Cow<'static, str>,
    pub(crate) payload: Bytes,
    pub(crate) metadata: Metadata,
    pub(crate) timeout_nano: i64,
    pub(crate) kind: MethodKind,
    /// The request messages of a client-streaming or bidi call.
    pub(crate) outbound: Option<BodyStream>,
    pub(crate) reply: ReplyTo,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("service", &self.service)
            .field("method", &self.method)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A call in flight.
#[derive(Debug)]
struct Pending {
    reply: ReplyTo,
    /// Stops sending the call's request stream.
    outbound: Option<AbortHandle>,
    /// The server has ended its stream of replies.
    received_all: bool,
}

/// A request stream tagged with its stream id; ends with one `None` item.
struct Tagged {
    id: u32,
    inner: BodyStream,
    done: bool,
}

impl Stream for Tagged {
    type Item = (u32, Option<Result<Bytes, Status>>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let item = std::task::ready!(self.inner.as_mut().poll_next(cx));
        self.done = item.is_none();
        Poll::Ready(Some((self.id, item)))
    }
}

/// Assigns stream ids, sends queued calls and their request streams, and
/// routes replies to callers.
///
/// Ids are assigned here, in the one task that writes, so they reach the
/// wire strictly increasing without a lock.
pub(crate) struct ClientConnection {
    commands: mpsc::Receiver<Command>,
    pending: wren_transport::StreamMap<Pending>,
    outbound: SelectAll<Abortable<Tagged>>,
    next_id: Option<u32>,
    sweep_at: usize,
    handles_gone: bool,
    /// Calls were queued into the outbox since the last write.
    fresh: bool,
    /// The last write was put off once already.
    held: bool,
    /// Part of a reconnecting channel: when the connection ends, queued
    /// calls stay queued for the next one.
    reconnecting: bool,
    /// A call taken from the queue before the connection existed.
    first: Option<Command>,
    /// A reply waiting for room in a full stream buffer; no frame is read
    /// while it waits.
    waiting: Option<Held>,
}

impl std::fmt::Debug for ClientConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConnection")
            .field("pending", &self.pending.len())
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

const MIN_SWEEP: usize = 64;
const CLOSE: Flags = Flags::from_bits(Flags::REMOTE_CLOSED.bits() | Flags::NO_DATA.bits());
const OPEN_NO_DATA: Flags = Flags::from_bits(Flags::REMOTE_OPEN.bits() | Flags::NO_DATA.bits());

impl ClientConnection {
    pub(crate) fn new(commands: mpsc::Receiver<Command>) -> ClientConnection {
        ClientConnection {
            commands,
            pending: wren_transport::StreamMap::default(),
            outbound: SelectAll::new(),
            next_id: Some(1),
            sweep_at: MIN_SWEEP,
            handles_gone: false,
            fresh: false,
            held: false,
            reconnecting: false,
            first: None,
            waiting: None,
        }
    }

    /// A connection of a reconnecting channel, sending `first` first.
    pub(crate) fn reconnecting(
        commands: mpsc::Receiver<Command>,
        first: Option<Command>,
    ) -> ClientConnection {
        ClientConnection {
            reconnecting: true,
            first,
            ..ClientConnection::new(commands)
        }
    }

    /// The queue of calls, to hand to the next connection.
    pub(crate) fn into_commands(self) -> mpsc::Receiver<Command> {
        self.commands
    }

    fn send(&mut self, cmd: Command, out: &mut Outbox) {
        if cmd.reply.is_gone() {
            return; // The caller gave up before the call was sent.
        }
        let Some(id) = self.next_id else {
            cmd.reply
                .fail(Status::unavailable("connection has used up its stream ids"));
            return;
        };
        let request = RequestRef {
            service: &cmd.service,
            method: &cmd.method,
            payload: &cmd.payload,
            timeout_nano: cmd.timeout_nano,
            metadata: &cmd.metadata,
        };
        // Go 1.2's flags: "I will send Data" for client-streaming and bidi
        // calls, "I will not" for server-streaming, none for unary. The
        // request of a client stream carries no message, and says so
        // (no-data): ttrpc-rust servers would otherwise take the empty
        // payload for a first message. Go servers ignore Request flags.
        let flags = match cmd.kind {
            MethodKind::Unary => Flags::EMPTY,
            MethodKind::ServerStreaming => Flags::REMOTE_CLOSED,
            _ => OPEN_NO_DATA,
        };
        if let Err(oversize) = out.push_request(id, flags, &request) {
            cmd.reply.fail(oversize.to_status());
            return;
        }
        self.next_id = id.checked_add(2);
        let outbound = cmd.outbound.map(|inner| {
            let (handle, registration) = AbortHandle::new_pair();
            let tagged = Tagged {
                id,
                inner,
                done: false,
            };
            self.outbound.push(Abortable::new(tagged, registration));
            handle
        });
        self.pending.insert(
            id,
            Pending {
                reply: cmd.reply,
                outbound,
                received_all: false,
            },
        );
        if self.pending.len() >= self.sweep_at {
            // Forget calls whose callers stopped waiting (deadline, drop).
            // Those still sending are closed by `poll_abandoned`.
            self.pending
                .retain(|_, p| p.outbound.is_some() || !p.reply.is_gone());
            self.sweep_at = (self.pending.len() * 2).max(MIN_SWEEP);
        }
    }

    /// Forgets call `id`, stops its request stream, and returns its state.
    fn take(&mut self, id: u32) -> Option<Pending> {
        let pending = self.pending.remove(&id)?;
        if let Some(abort) = &pending.outbound {
            abort.abort();
        }
        Some(pending)
    }

    fn on_response(&mut self, frame: Frame) {
        let Some(pending) = self.take(frame.stream_id) else {
            tracing::warn!(
                stream_id = frame.stream_id,
                "ttrpc: received message on inactive stream"
            );
            return;
        };
        let reply = proto::Response::decode(frame.payload)
            .map_err(|e| Status::internal(format!("malformed response from server: {e}")))
            .and_then(|response| match response.status {
                Some(status) if status.code != 0 => Err(Status::from_proto(status)),
                _ => Ok(response.payload),
            });
        match pending.reply {
            ReplyTo::Once(tx) => {
                let _ = tx.send(reply);
            }
            // A stream ends with messages already delivered, then this.
            ReplyTo::Stream(inbox) => inbox.finish(reply.map(drop)),
        }
    }

    fn on_data(&mut self, frame: Frame, out: &mut Outbox) {
        let id = frame.stream_id;
        let Some(pending) = self.pending.get(&id) else {
            tracing::warn!(stream_id = id, "ttrpc: received data on inactive stream");
            return;
        };
        let ReplyTo::Stream(inbox) = &pending.reply else {
            let status = Status::internal(
                "protocol error: data frame received on a call that expects one reply",
            );
            if let Some(p) = self.take(id) {
                p.reply.fail(status);
            }
            return;
        };
        let closing = frame.flags.contains(Flags::REMOTE_CLOSED);
        let carries_message = !(closing && frame.flags.contains(Flags::NO_DATA));
        if carries_message {
            match inbox.push(frame.payload) {
                Ok(()) | Err(PushError::Closed) => {}
                Err(PushError::Full(message)) => {
                    // The caller is behind: hold the message and read no more
                    // until it catches up (or is found to have stopped).
                    self.waiting = Some(Held::new(id, message, closing));
                    return;
                }
                Err(PushError::Gone) => return self.abandon(id, None, out),
            }
        }
        if closing {
            inbox.finish(Ok(()));
            self.received_all(id);
        }
    }

    /// The server ended its replies on `id`: forget the call unless its
    /// request stream is still being sent.
    fn received_all(&mut self, id: u32) {
        match self.pending.get_mut(&id) {
            Some(p) if p.outbound.is_some() => p.received_all = true,
            _ => {
                self.pending.remove(&id);
            }
        }
    }

    /// Retries the message held for a full reply buffer.
    fn poll_held(&mut self, cx: &mut Context<'_>, out: &mut Outbox) {
        let Some(held) = &mut self.waiting else {
            return;
        };
        let id = held.stream_id;
        let Some(Pending {
            reply: ReplyTo::Stream(inbox),
            ..
        }) = self.pending.get_mut(&id)
        else {
            self.waiting = None;
            cx.waker().wake_by_ref();
            return;
        };
        let Poll::Ready(delivery) = held.poll_deliver(inbox, cx) else {
            return;
        };
        let closing = held.closing;
        self.waiting = None;
        cx.waker().wake_by_ref();
        match delivery {
            Delivery::Delivered if closing => self.received_all(id),
            Delivery::Delivered => {}
            Delivery::Gone => self.abandon(id, None, out),
            Delivery::Stalled => self.abandon(
                id,
                Some(Status::resource_exhausted(
                    "stream buffer full: the caller stopped reading the replies",
                )),
                out,
            ),
        }
    }

    /// Closes the send side of calls whose caller gave up (dropped the reply
    /// future, or the stream of replies) while their request stream is
    /// still being sent, and drops that stream.
    fn poll_abandoned(&mut self, cx: &mut Context<'_>, out: &mut Outbox) {
        if self.outbound.is_empty() {
            return; // No call is sending.
        }
        let gone: Vec<u32> = self
            .pending
            .iter_mut()
            .filter_map(|(id, p)| (p.outbound.is_some() && p.reply.poll_gone(cx)).then_some(*id))
            .collect();
        for id in gone {
            self.abandon(id, None, out);
        }
    }

    /// Gives up on stream `id` locally: the caller gets `status` (if it is
    /// still there), and if this side was still sending it closes its send
    /// side, the only way ttrpc has to say "stop".
    fn abandon(&mut self, id: u32, status: Option<Status>, out: &mut Outbox) {
        if let Some(pending) = self.take(id) {
            if pending.outbound.is_some() {
                let _ = out.push(id, MessageType::DATA, CLOSE, &[]);
            }
            if let Some(status) = status {
                pending.reply.fail(status);
            }
        }
    }

    fn on_outbound(&mut self, id: u32, item: Option<Result<Bytes, Status>>, out: &mut Outbox) {
        match item {
            Some(Ok(message)) => {
                if let Err(oversize) = out.push(id, MessageType::DATA, Flags::EMPTY, &message) {
                    self.abandon(id, Some(oversize.to_status()), out);
                }
            }
            Some(Err(status)) => {
                // The request stream failed locally: close the send side
                // and fail the call with that status.
                self.abandon(id, Some(status), out);
            }
            None => {
                let _ = out.push(id, MessageType::DATA, CLOSE, &[]);
                if let Some(pending) = self.pending.get_mut(&id) {
                    pending.outbound = None;
                    if pending.received_all {
                        self.pending.remove(&id);
                    }
                }
            }
        }
    }
}

impl Dispatch for ClientConnection {
    fn on_frame(&mut self, frame: Frame, out: &mut Outbox) {
        match frame.kind {
            MessageType::RESPONSE => self.on_response(frame),
            MessageType::DATA => self.on_data(frame, out),
            kind => {
                tracing::warn!(
                    stream_id = frame.stream_id,
                    ?kind,
                    "ttrpc: ignoring unexpected frame"
                );
            }
        }
    }

    fn on_oversize(&mut self, header: Header, out: &mut Outbox) {
        let status = Status::message_too_large(header.length as usize, out.max_message_size());
        if self.pending.contains_key(&header.stream_id) {
            self.abandon(header.stream_id, Some(status), out);
        } else {
            tracing::warn!(
                stream_id = header.stream_id,
                "ttrpc: oversize frame on inactive stream"
            );
        }
    }

    fn poll_work(&mut self, cx: &mut Context<'_>, out: &mut Outbox) -> Poll<()> {
        self.poll_held(cx, out);
        self.poll_abandoned(cx, out);
        if let Some(cmd) = self.first.take() {
            self.send(cmd, out);
            self.fresh = true;
        }
        while !self.handles_gone && !out.is_full() {
            match self.commands.poll_recv(cx) {
                Poll::Ready(Some(cmd)) => {
                    self.send(cmd, out);
                    self.fresh = true;
                }
                Poll::Ready(None) => self.handles_gone = true,
                Poll::Pending => break,
            }
        }
        while !out.is_full() {
            match self.outbound.poll_next_unpin(cx) {
                Poll::Ready(Some((id, item))) => {
                    self.on_outbound(id, item, out);
                    self.fresh = true;
                }
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        if self.handles_gone {
            // No call can be added any more: forget the calls whose callers
            // gave up, and be woken when the rest do, so that an unanswered
            // abandoned call does not hold the connection open forever.
            // (Calls still sending are closed by `poll_abandoned`.)
            self.pending
                .retain(|_, p| p.outbound.is_some() || !p.reply.poll_gone(cx));
            if self.pending.is_empty() {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    }

    fn hold_writes(&mut self, cx: &mut Context<'_>) -> bool {
        // The caller that queued a call woke this task, and tokio runs a task
        // woken that way straight after the caller. Writing now would send one
        // frame per write while other callers are still about to queue
        // theirs, so yield once first: they run, queue, and the whole batch
        // leaves in one write.
        if std::mem::take(&mut self.fresh) && !self.held {
            self.held = true;
            cx.waker().wake_by_ref();
            return true;
        }
        self.held = false;
        false
    }

    fn wants_read(&self) -> bool {
        self.waiting.is_none()
    }

    fn reads_produce_writes(&self) -> bool {
        false
    }

    fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    fn on_close(&mut self, error: Option<&io::Error>) {
        self.waiting = None;
        let closed = ConnectionClosed::new(error.map(|e| e.to_string()));
        for (_, pending) in self.pending.drain() {
            pending.reply.fail(closed.clone().into_status());
        }
        self.outbound = SelectAll::new();
        if let Some(cmd) = self.first.take() {
            cmd.reply.fail(closed.clone().into_status());
        }
        if self.reconnecting {
            return; // Queued calls wait for the next connection.
        }
        self.commands.close();
        while let Ok(cmd) = self.commands.try_recv() {
            cmd.reply.fail(closed.clone().into_status());
        }
    }
}
