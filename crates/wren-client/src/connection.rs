//! [`ClientConnection`]: the client's side of the connection driver.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{AbortHandle, Abortable, SelectAll};
use futures_util::{Stream, StreamExt};
use prost::Message;
use tokio::sync::{mpsc, oneshot};
use wren_transport::codec::{
    ByteStr, Flags, Frame, Header, MessageType, Metadata, RequestRef, Status, proto,
};
use wren_transport::{
    BatchEnd, BodyStream, ConnectionClosed, Dispatch, InboxSender, MethodKind, Outbox, PushError,
    StreamIdSlot, drop_guarded, poll_batch,
};

pub(crate) type Reply = Result<Bytes, Status>;

/// Where a call's reply goes.
#[derive(Debug)]
pub(crate) enum ReplyTo {
    /// One reply message (unary and client-streaming calls).
    Once(oneshot::Sender<Reply>),
    /// A stream of replies (server-streaming and bidi calls). Boxed: it is
    /// several times the size of a oneshot sender, and every call's command
    /// and pending entry would otherwise carry that size.
    Stream(Box<InboxSender>),
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
    pub(crate) service: ByteStr,
    pub(crate) method: ByteStr,
    pub(crate) payload: Bytes,
    pub(crate) metadata: Metadata,
    pub(crate) timeout_nano: i64,
    /// The request envelope's encoded length, worked out once, when the
    /// call was checked against the message size limit.
    pub(crate) envelope_len: usize,
    pub(crate) kind: MethodKind,
    /// The request messages of a client-streaming or bidi call.
    pub(crate) outbound: Option<BodyStream>,
    pub(crate) reply: ReplyTo,
    /// Told the call's stream id once it is written (from the request's
    /// extensions).
    pub(crate) stream_id_slot: Option<StreamIdSlot>,
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

/// The most request messages taken from one stream in one go.
const BATCH: usize = 32;
/// The most streams remembered as given up while their server still sends;
/// their later frames are dropped without a warning.
const DISCARD_LIMIT: usize = 256;

/// Request messages taken from one stream, and how it ended if it did.
struct Batch {
    messages: Vec<Bytes>,
    end: Option<Result<(), Status>>,
}

/// A request stream tagged with its stream id, taken in batches. The inner
/// stream is the caller's code: it is guarded (`CatchPanic`) so that a panic
/// ends the call with `INTERNAL`, and bounded by the call's deadline.
struct Tagged {
    id: u32,
    inner: Option<BodyStream>,
}

impl Stream for Tagged {
    type Item = (u32, Batch);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let id = self.id;
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let mut messages = Vec::new();
        let end = match poll_batch(inner, cx, &mut messages, BATCH) {
            BatchEnd::End(end) => Some(end),
            BatchEnd::Full | BatchEnd::Pending => None,
        };
        if end.is_some() {
            if let Some(inner) = self.inner.take() {
                drop_guarded("request stream", inner);
            }
        } else if messages.is_empty() {
            return Poll::Pending;
        }
        Poll::Ready(Some((id, Batch { messages, end })))
    }
}

impl Drop for Tagged {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            drop_guarded("request stream", inner);
        }
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
    /// Callers handed their reply since the last write: each may be about
    /// to make its next call.
    answered: usize,
    /// Calls queued since the last write.
    queued: usize,
    /// The last write was put off once already.
    held: bool,
    /// Part of a reconnecting channel: when the connection ends, queued
    /// calls stay queued for the next one.
    reconnecting: bool,
    /// A call taken from the queue before the connection existed.
    first: Option<Command>,
    /// The most calls in flight at once; more wait in the queue.
    max_concurrent_calls: usize,
    /// Calls given up locally while their server may still send frames for
    /// them: those are dropped quietly. Oldest first, bounded.
    discard: VecDeque<u32>,
    /// The stream whose messages are staged, not yet handed over.
    staged: Option<u32>,
    /// Its messages, read in this batch: handed over under one lock.
    staged_messages: Vec<Bytes>,
    /// Reading is paused for this stream's slow caller: it is the only call
    /// in flight, so no other call waits behind its Data.
    paused: Option<u32>,
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
    pub(crate) fn new(
        commands: mpsc::Receiver<Command>,
        max_concurrent_calls: usize,
    ) -> ClientConnection {
        ClientConnection {
            commands,
            pending: wren_transport::StreamMap::default(),
            outbound: SelectAll::new(),
            next_id: Some(1),
            sweep_at: MIN_SWEEP,
            handles_gone: false,
            answered: 0,
            queued: 0,
            held: false,
            reconnecting: false,
            first: None,
            max_concurrent_calls: max_concurrent_calls.max(1),
            discard: VecDeque::new(),
            staged: None,
            staged_messages: Vec::new(),
            paused: None,
        }
    }

    /// A connection of a reconnecting channel, sending `first` first.
    pub(crate) fn reconnecting(
        commands: mpsc::Receiver<Command>,
        first: Option<Command>,
        max_concurrent_calls: usize,
    ) -> ClientConnection {
        ClientConnection {
            reconnecting: true,
            first,
            ..ClientConnection::new(commands, max_concurrent_calls)
        }
    }

    /// The queue of calls, to hand to the next connection.
    pub(crate) fn into_commands(self) -> mpsc::Receiver<Command> {
        self.commands
    }

    /// Sends `cmd`. Returns whether the outbox is full afterwards, found
    /// under the lock taken to queue the request; `None` if nothing was
    /// queued (the caller was gone, or the stream ids ran out).
    fn send(&mut self, cmd: Command, out: &Outbox) -> Option<bool> {
        if cmd.reply.is_gone() {
            return None; // The caller gave up before the call was sent.
        }
        let Some(id) = self.next_id else {
            cmd.reply
                .fail(Status::unavailable("connection has used up its stream ids"));
            return None;
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
        let (pushed, full) = out.frames_then_is_full(|f| {
            f.push_request_bytes(id, flags, &request, &cmd.payload, cmd.envelope_len)
        });
        if let Err(oversize) = pushed {
            cmd.reply.fail(oversize.to_status());
            return Some(full);
        }
        self.next_id = id.checked_add(2);
        if let Some(slot) = &cmd.stream_id_slot {
            slot.set(id);
        }
        let outbound = cmd.outbound.map(|inner| {
            let (handle, registration) = AbortHandle::new_pair();
            let tagged = Tagged {
                id,
                inner: Some(inner),
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
        Some(full)
    }

    /// Forgets call `id`, stops its request stream, and returns its state.
    fn take(&mut self, id: u32) -> Option<Pending> {
        if self.staged == Some(id) {
            // Messages read before the call's end are still delivered.
            self.hand_over_staged();
        }
        let pending = self.pending.remove(&id)?;
        if let Some(abort) = &pending.outbound {
            abort.abort();
        }
        Some(pending)
    }

    fn on_response(&mut self, frame: Frame, out: &Outbox) {
        if self.staged == Some(frame.stream_id) {
            // The stream's messages come before its end.
            self.flush_staged(out);
        }
        let Some(pending) = self.take(frame.stream_id) else {
            if !self.forget_discarded(frame.stream_id) {
                tracing::warn!(
                    stream_id = frame.stream_id,
                    "ttrpc: received message on inactive stream"
                );
            }
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
                self.answered += 1;
            }
            // A stream ends with messages already delivered, then this.
            ReplyTo::Stream(inbox) => inbox.finish(reply.map(drop)),
        }
    }

    /// Whether `id` is a call given up locally; forgets it (its server has
    /// now ended it too).
    fn forget_discarded(&mut self, id: u32) -> bool {
        match self.discard.iter().position(|&d| d == id) {
            Some(i) => {
                self.discard.remove(i);
                true
            }
            None => false,
        }
    }

    fn on_data(&mut self, frame: Frame, out: &Outbox) {
        let id = frame.stream_id;
        let closing = frame.flags.contains(Flags::REMOTE_CLOSED);
        if !closing && self.staged == Some(id) && !frame.flags.contains(Flags::NO_DATA) {
            // The next message of the stream being staged: no lookup.
            self.staged_messages.push(frame.payload);
            return;
        }
        let Some(pending) = self.pending.get(&id) else {
            if self.discard.contains(&id) {
                if closing {
                    self.forget_discarded(id);
                }
            } else {
                tracing::warn!(stream_id = id, "ttrpc: received data on inactive stream");
            }
            return;
        };
        let ReplyTo::Stream(_) = &pending.reply else {
            let status = Status::internal(
                "protocol error: data frame received on a call that expects one reply",
            );
            return self.abandon(id, Some(status), out);
        };
        // A frame flagged no-data carries no message, whatever else it says.
        if !frame.flags.contains(Flags::NO_DATA) {
            // Messages are handed to the caller once per read batch (or
            // when another stream's frame comes), under one lock.
            if self.staged.is_some_and(|staged| staged != id) {
                self.flush_staged(out);
            }
            self.staged_messages.push(frame.payload);
            self.staged = Some(id);
        }
        if closing {
            self.flush_staged(out);
            if let Some(Pending {
                reply: ReplyTo::Stream(inbox),
                ..
            }) = self.pending.get(&id)
            {
                inbox.finish(Ok(()));
                self.received_all(id);
            }
        }
    }

    /// Hands the staged messages to their stream's inbox, returning the
    /// stream and how it went; `None` if nothing was staged.
    fn hand_over_staged(&mut self) -> Option<(u32, Result<(), PushError>)> {
        let id = self.staged.take()?;
        let result = match self.pending.get_mut(&id) {
            Some(Pending {
                reply: ReplyTo::Stream(inbox),
                ..
            }) => inbox.push_all(&mut self.staged_messages),
            _ => Ok(()),
        };
        self.staged_messages.clear();
        Some((id, result))
    }

    /// Resumes reading if the paused stream's caller caught up (or is gone);
    /// otherwise the task is woken when it takes a batch.
    fn poll_paused(&mut self, cx: &mut Context<'_>) {
        let Some(id) = self.paused else {
            return;
        };
        let below = match self.pending.get(&id) {
            Some(Pending {
                reply: ReplyTo::Stream(inbox),
                ..
            }) => inbox.poll_below(inbox.pause_level() / 2, cx).is_ready(),
            _ => true,
        };
        if below {
            self.resume(cx);
        }
    }

    /// Reads again, taking another turn of the driver to do it.
    fn resume(&mut self, cx: &mut Context<'_>) {
        self.paused = None;
        cx.waker().wake_by_ref();
    }

    /// Hands the messages staged for one stream to its caller.
    fn flush_staged(&mut self, out: &Outbox) {
        let Some((id, result)) = self.hand_over_staged() else {
            return;
        };
        let solo = self.pending.len() == 1;
        let Some(Pending {
            reply: ReplyTo::Stream(inbox),
            ..
        }) = self.pending.get_mut(&id)
        else {
            return;
        };
        match result {
            Ok(()) => {
                // The only call in flight, and its caller behind: stop
                // reading (the server's writes then wait, as with a
                // flow-controlled protocol) until it catches up or another
                // call starts. With other calls in flight the connection
                // reads on and buffers, so none of them waits.
                if solo && inbox.buffered() >= inbox.pause_level() {
                    self.paused = Some(id);
                }
            }
            Err(PushError::Closed) => {}
            // The caller reads slower than the server sends: this stream
            // fails alone, and the connection keeps reading.
            Err(PushError::Overflow(overflow)) => self.abandon(id, Some(overflow.to_status()), out),
            Err(PushError::Gone) => self.abandon(id, None, out),
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

    /// Closes the send side of calls whose caller gave up (dropped the reply
    /// future, or the stream of replies) while their request stream is
    /// still being sent, and drops that stream.
    fn poll_abandoned(&mut self, cx: &mut Context<'_>, out: &Outbox) {
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
    /// side, the only way ttrpc has to say "stop". Frames the server still
    /// sends for it are dropped quietly.
    fn abandon(&mut self, id: u32, status: Option<Status>, out: &Outbox) {
        if let Some(pending) = self.take(id) {
            if pending.outbound.is_some() {
                let _ = out.push(id, MessageType::DATA, CLOSE, &[]);
            }
            if let Some(status) = status {
                pending.reply.fail(status);
            }
            self.remember(id);
        }
    }

    fn remember(&mut self, id: u32) {
        if self.discard.len() >= DISCARD_LIMIT {
            self.discard.pop_front();
        }
        self.discard.push_back(id);
    }

    fn on_outbound(&mut self, id: u32, batch: Batch, out: &Outbox) {
        let oversize = out.frames(|f| {
            for message in &batch.messages {
                if let Err(oversize) = f.push_data_bytes(id, message) {
                    return Some(oversize);
                }
            }
            if let Some(Ok(())) = batch.end {
                let _ = f.push(id, MessageType::DATA, CLOSE, &[]);
            }
            None
        });
        drop_guarded("request message", batch.messages);
        if let Some(oversize) = oversize {
            return self.abandon(id, Some(oversize.to_status()), out);
        }
        match batch.end {
            None => {}
            Some(Ok(())) => {
                if let Some(pending) = self.pending.get_mut(&id) {
                    pending.outbound = None;
                    if pending.received_all {
                        self.pending.remove(&id);
                    }
                }
            }
            Some(Err(status)) => {
                // The request stream failed (or panicked) locally: the call
                // fails with that status. The send side is NOT closed: a
                // clean close would tell the server the stream was complete.
                // The server's handler ends at the call's deadline or when
                // the connection closes.
                if let Some(pending) = self.take(id) {
                    pending.reply.fail(status);
                    self.remember(id);
                }
            }
        }
    }
}

impl Dispatch for ClientConnection {
    fn on_frame(&mut self, frame: Frame, out: &Outbox) {
        match frame.kind {
            MessageType::RESPONSE => self.on_response(frame, out),
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

    fn on_oversize(&mut self, header: Header, out: &Outbox) {
        let status = Status::message_too_large(header.length as usize, out.max_message_size());
        if self.pending.contains_key(&header.stream_id) {
            self.abandon(header.stream_id, Some(status), out);
        } else if !self.discard.contains(&header.stream_id) {
            tracing::warn!(
                stream_id = header.stream_id,
                "ttrpc: oversize frame on inactive stream"
            );
        }
    }

    fn poll_work(&mut self, cx: &mut Context<'_>, out: &Outbox) -> Poll<()> {
        // The read batch is over: hand its messages over (most turns of
        // the driver staged none, and skip the call).
        if self.staged.is_some() {
            self.flush_staged(out);
        }
        self.poll_abandoned(cx, out);
        self.poll_paused(cx);
        if let Some(cmd) = self.first.take() {
            self.send(cmd, out);
        }
        // Calls over the concurrency limit wait in the queue (the caller's
        // `poll_ready` waits once the queue is full too).
        // Whether the outbox is full comes back from each send, checked
        // under the lock that queued it.
        let mut full = out.is_full();
        while !self.handles_gone && self.pending.len() < self.max_concurrent_calls && !full {
            match self.commands.poll_recv(cx) {
                Poll::Ready(Some(cmd)) => {
                    full = self.send(cmd, out).unwrap_or_else(|| out.is_full());
                    self.queued += 1;
                }
                Poll::Ready(None) => self.handles_gone = true,
                Poll::Pending => break,
            }
        }
        if self.paused.is_some() && (self.pending.len() > 1 || self.first.is_some()) {
            // Another call started: its reply may be behind the paused
            // stream's Data, so read on.
            self.resume(cx);
        }
        // With no request stream to send there is nothing to poll (an empty
        // set would only end at once), and no need to ask the outbox.
        while !self.outbound.is_empty() && !out.is_full() {
            match self.outbound.poll_next_unpin(cx) {
                Poll::Ready(Some((id, batch))) => {
                    self.on_outbound(id, batch, out);
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

    fn hold_writes(&mut self) -> bool {
        // A reply wakes its caller, and the first caller to make its next
        // call wakes this task, which tokio then runs straight after it
        // (the worker's "LIFO slot"), ahead of the other callers answered
        // in the same batch. Writing now would send that one call alone
        // and the others in writes of their own; so when one call is
        // queued and more callers were answered, yield once: they run,
        // queue theirs, and all leave in one write. A caller making one
        // call after another is never held (each reply answers one
        // caller). The counts are kept until a write: a call made long
        // after a batch of replies whose callers made none is held once,
        // for one pass of the runtime's queue.
        if self.queued == 0 {
            return false;
        }
        if !self.held && self.queued == 1 && self.answered > 1 {
            self.held = true;
            return true;
        }
        self.held = false;
        self.answered = 0;
        self.queued = 0;
        false
    }

    fn wants_read(&self) -> bool {
        self.paused.is_none()
    }

    fn reads_produce_writes(&self) -> bool {
        false
    }

    fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    fn on_close(&mut self, error: Option<&io::Error>) {
        // What was read before the end is still delivered, then the end.
        self.hand_over_staged();
        let closed = ConnectionClosed::new(error.map(|e| e.to_string()));
        for (_, pending) in self.pending.drain() {
            pending.reply.fail(closed.clone().into_status());
        }
        drop_guarded("request stream", std::mem::take(&mut self.outbound));
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
