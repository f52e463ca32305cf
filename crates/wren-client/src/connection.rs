//! [`ClientConnection`]: the client's side of the connection driver.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io;
use std::task::{Context, Poll};

use bytes::Bytes;
use prost::Message;
use tokio::sync::{mpsc, oneshot};
use wren_transport::codec::{
    Flags, Frame, Header, MessageType, Metadata, RequestRef, Status, proto,
};
use wren_transport::{ConnectionClosed, Dispatch, Outbox};

pub(crate) type Reply = Result<Bytes, Status>;

/// One call for the connection to send.
#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) service: Cow<'static, str>,
    pub(crate) method: Cow<'static, str>,
    pub(crate) payload: Bytes,
    pub(crate) metadata: Metadata,
    pub(crate) timeout_nano: i64,
    pub(crate) reply: oneshot::Sender<Reply>,
}

/// Assigns stream ids, sends queued calls and routes replies to callers.
///
/// Ids are assigned here, in the one task that writes, so they reach the
/// wire strictly increasing without a lock.
#[derive(Debug)]
pub(crate) struct ClientConnection {
    commands: mpsc::Receiver<Command>,
    pending: HashMap<u32, oneshot::Sender<Reply>>,
    next_id: Option<u32>,
    sweep_at: usize,
    handles_gone: bool,
    /// Calls were queued into the outbox since the last write.
    fresh: bool,
    /// The last write was put off once already.
    held: bool,
}

const MIN_SWEEP: usize = 64;

impl ClientConnection {
    pub(crate) fn new(commands: mpsc::Receiver<Command>) -> ClientConnection {
        ClientConnection {
            commands,
            pending: HashMap::new(),
            next_id: Some(1),
            sweep_at: MIN_SWEEP,
            handles_gone: false,
            fresh: false,
            held: false,
        }
    }

    fn send(&mut self, cmd: Command, out: &mut Outbox) {
        if cmd.reply.is_closed() {
            return; // The caller gave up before the call was sent.
        }
        let Some(id) = self.next_id else {
            let _ = cmd.reply.send(Err(Status::unavailable(
                "connection has used up its stream ids",
            )));
            return;
        };
        let request = RequestRef {
            service: &cmd.service,
            method: &cmd.method,
            payload: &cmd.payload,
            timeout_nano: cmd.timeout_nano,
            metadata: &cmd.metadata,
        };
        if let Err(oversize) = out.push_request(id, Flags::EMPTY, &request) {
            let _ = cmd.reply.send(Err(oversize.to_status()));
            return;
        }
        self.next_id = id.checked_add(2);
        self.pending.insert(id, cmd.reply);
        if self.pending.len() >= self.sweep_at {
            // Forget calls whose callers stopped waiting (deadline, drop).
            self.pending.retain(|_, reply| !reply.is_closed());
            self.sweep_at = (self.pending.len() * 2).max(MIN_SWEEP);
        }
    }

    fn complete(&mut self, stream_id: u32, reply: Reply) {
        match self.pending.remove(&stream_id) {
            Some(tx) => {
                let _ = tx.send(reply);
            }
            None => tracing::warn!(stream_id, "ttrpc: received message on inactive stream"),
        }
    }
}

fn response_to_reply(payload: Bytes) -> Reply {
    let response = proto::Response::decode(payload)
        .map_err(|e| Status::internal(format!("malformed response from server: {e}")))?;
    match response.status {
        Some(status) if status.code != 0 => Err(Status::from_proto(status)),
        _ => Ok(response.payload),
    }
}

impl Dispatch for ClientConnection {
    fn on_frame(&mut self, frame: Frame, _out: &mut Outbox) {
        match frame.kind {
            MessageType::RESPONSE => {
                let reply = response_to_reply(frame.payload);
                self.complete(frame.stream_id, reply);
            }
            MessageType::DATA if self.pending.contains_key(&frame.stream_id) => {
                let status =
                    Status::internal("protocol error: data frame received on a unary call");
                self.complete(frame.stream_id, Err(status));
            }
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
        self.complete(header.stream_id, Err(status));
    }

    fn poll_work(&mut self, cx: &mut Context<'_>, out: &mut Outbox) -> Poll<()> {
        while !self.handles_gone {
            match self.commands.poll_recv(cx) {
                Poll::Ready(Some(cmd)) => {
                    self.send(cmd, out);
                    self.fresh = true;
                }
                Poll::Ready(None) => self.handles_gone = true,
                Poll::Pending => break,
            }
        }
        if self.handles_gone {
            // No call can be added any more: forget the calls whose callers
            // gave up, and be woken when the rest do, so that an unanswered
            // abandoned call does not hold the connection open forever.
            self.pending
                .retain(|_, reply| reply.poll_closed(cx).is_pending());
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

    fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    fn on_close(&mut self, error: Option<&io::Error>) {
        let closed = ConnectionClosed::new(error.map(|e| e.to_string()));
        for (_, tx) in self.pending.drain() {
            let _ = tx.send(Err(closed.clone().into_status()));
        }
        self.commands.close();
        while let Ok(cmd) = self.commands.try_recv() {
            let _ = cmd.reply.send(Err(closed.clone().into_status()));
        }
    }
}
