//! [`ServerConnection`]: the server's side of the connection driver.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::{AbortHandle, Abortable, FuturesUnordered, SelectAll};
use prost::Message;
use tokio::sync::oneshot;
use tower::ServiceExt;
use tower::util::Oneshot;
use tower_service::Service;
use wren_transport::codec::{
    Flags, Frame, Header, MessageType, Metadata, ResponseRef, Status, proto,
};
use wren_transport::{
    Body, BoxError, Delivery, Dispatch, Held, InboxLimits, InboxSender, MethodKind, Outbox,
    PushError, Request, Response, inbox,
};

use crate::Routes;
use crate::call::CallFuture;
use crate::outbound::{Event, OutStream};

/// What every connection of a server shares.
#[derive(Debug)]
pub(crate) struct ConnectionConfig {
    /// The registered services, to look up how a method streams.
    pub(crate) routes: Routes,
    /// The bound of each stream's inbound buffer.
    pub(crate) inbox: InboxLimits,
    /// The most calls and streams open at once on one connection.
    pub(crate) max_concurrent_streams: usize,
    /// Closes a connection with no call in flight for this long.
    pub(crate) idle_timeout: Option<Duration>,
}

/// The handlers of a connection's calls in flight.
type Calls<S> = FuturesUnordered<CallFuture<Oneshot<S, Request<Body>>>>;

/// One open stream id: a unary call or a stream in flight.
struct StreamState {
    kind: MethodKind,
    /// Where Data frames from the client go, while it still sends.
    inbox: Option<InboxSender>,
    /// Stops the handler's outbound stream if the call ends early.
    outbound: Option<AbortHandle>,
    deadline: Option<Instant>,
    /// Cancels the handler of a call whose stream is failed while the
    /// handler still runs (client-streaming and bidi calls).
    cancel: Option<oneshot::Sender<()>>,
}

/// Serves the calls of one connection. Handlers run inside the connection's
/// task, so a call costs no spawn and no cross-task hand-off.
pub(crate) struct ServerConnection<S>
where
    S: Service<Request<Body>>,
{
    service: S,
    config: Arc<ConnectionConfig>,
    /// Who is on the other end; a clone goes into every request's extensions.
    /// The connection's peer, attached to every request without an allocation.
    peer: Arc<wren_transport::Peer>,
    /// Created with the connection's first call (its allocation is sized by
    /// the handler future, which can be large).
    calls: Option<Calls<S>>,
    /// Created with the connection's first server stream: an idle
    /// connection that never streamed keeps no select state.
    outbound: Option<SelectAll<Abortable<OutStream>>>,
    streams: wren_transport::StreamMap<StreamState>,
    last_stream_id: u32,
    /// A message waiting for room in a full stream buffer; no frame is read
    /// while it waits.
    held: Option<Held>,
    /// Runs while the connection has no call in flight, with an idle timeout.
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    draining: bool,
    closing: bool,
}

impl<S> ServerConnection<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone,
    S::Error: Into<BoxError>,
{
    pub(crate) fn new(
        service: S,
        config: Arc<ConnectionConfig>,
        peer: wren_transport::Peer,
    ) -> ServerConnection<S> {
        ServerConnection {
            service,
            config,
            peer: Arc::new(peer),
            calls: None,
            outbound: None,
            streams: wren_transport::StreamMap::default(),
            last_stream_id: 0,
            held: None,
            idle: None,
            draining: false,
            closing: false,
        }
    }

    /// Stop taking new calls; finish the ones in flight, then close.
    pub(crate) fn drain(&mut self) {
        self.draining = true;
    }

    /// Ends stream `id` with `status` as its final Response, stopping its
    /// handler's output; whatever the handler still produces is dropped.
    fn fail_stream(&mut self, id: u32, status: &Status, out: &mut Outbox) {
        if let Some(state) = self.streams.remove(&id) {
            if let Some(inbox) = &state.inbox {
                inbox.fail(status.clone());
            }
            if let Some(abort) = state.outbound {
                abort.abort();
            }
            if let Some(cancel) = state.cancel {
                let _ = cancel.send(());
            }
        }
        out.push_status(id, status);
    }

    fn on_request(&mut self, frame: Frame, out: &mut Outbox) {
        let id = frame.stream_id;
        if id % 2 == 0 {
            let status =
                Status::invalid_argument("StreamID must be odd for client initiated streams");
            return out.push_status(id, &status);
        }
        if id <= self.last_stream_id {
            let status = Status::invalid_argument("StreamID cannot be re-used and must increment");
            return out.push_status(id, &status);
        }
        // The id is used up even if the request turns out malformed, as in Go.
        self.last_stream_id = id;
        if self.draining {
            return out.push_status(id, &Status::unavailable("server is shutting down"));
        }
        if self.streams.len() >= self.config.max_concurrent_streams {
            let status = Status::resource_exhausted(format!(
                "too many concurrent streams on this connection (limit {})",
                self.config.max_concurrent_streams
            ));
            return out.push_status(id, &status);
        }
        let envelope = match proto::Request::decode(frame.payload) {
            Ok(envelope) => envelope,
            Err(e) => {
                let status = Status::invalid_argument(format!("unmarshal request error: {e}"));
                return out.push_status(id, &status);
            }
        };
        let kind = self
            .config
            .routes
            .method_kind(&envelope.service, &envelope.method);
        let mut inbox_sender = None;
        let body = if kind.client_streaming() {
            let (sender, stream) = inbox(self.config.inbox);
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
            Body::from_stream(stream)
        } else {
            // Unary and server-streaming methods get the payload as their
            // one request message, even when it is empty.
            Body::new(envelope.payload)
        };
        let mut req = Request::new(body);
        req.extensions_mut().insert_shared(self.peer.clone());
        req.set_path(envelope.service, envelope.method);
        req.set_method_kind(kind);
        if !envelope.metadata.is_empty() {
            *req.metadata_mut() = Metadata::from_key_values(envelope.metadata);
        }
        let deadline = match envelope.timeout_nano {
            0 => None,
            n if n < 0 => Some(Instant::now()),
            n => Instant::now().checked_add(Duration::from_nanos(n as u64)),
        };
        req.set_deadline(deadline);
        let (cancel, cancelled) = if kind.client_streaming() {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        self.streams.insert(
            id,
            StreamState {
                kind,
                inbox: inbox_sender,
                outbound: None,
                deadline,
                cancel,
            },
        );
        let sleep = deadline.map(|d| tokio::time::sleep_until(d.into()));
        let call = self.service.clone().oneshot(req);
        self.calls
            .get_or_insert_with(FuturesUnordered::new)
            .push(CallFuture::new(id, call, sleep, cancelled));
    }

    fn on_data(&mut self, frame: Frame, out: &mut Outbox) {
        let id = frame.stream_id;
        if id % 2 == 0 {
            let status =
                Status::invalid_argument("StreamID must be odd for client initiated streams");
            return out.push_status(id, &status);
        }
        let Some(state) = self.streams.get_mut(&id) else {
            let status = Status::invalid_argument("StreamID is no longer active");
            return out.push_status(id, &status);
        };
        let Some(inbox) = &state.inbox else {
            if state.kind.client_streaming() {
                // The client already closed its side.
                let status = Status::invalid_argument("data received after the stream was closed");
                return self.fail_stream(id, &status, out);
            }
            // Data for a call that takes none (Go's server crashes here):
            // the call goes on, the frame is dropped.
            tracing::debug!(
                stream_id = id,
                "ignoring data frame on a non-streaming call"
            );
            return;
        };
        let closing = frame.flags.contains(Flags::REMOTE_CLOSED);
        let carries_message = !(closing && frame.flags.contains(Flags::NO_DATA));
        if carries_message {
            match inbox.push(frame.payload) {
                Ok(()) => {}
                Err(PushError::Full(message)) => {
                    // The handler is behind: hold the message and read no
                    // more until it catches up (or is found to have stopped).
                    self.held = Some(Held::new(id, message, closing));
                    return;
                }
                // The handler stopped reading on purpose; its reply decides.
                Err(PushError::Gone | PushError::Closed) => {}
            }
        }
        if closing {
            inbox.finish(Ok(()));
            state.inbox = None;
        }
    }

    /// Retries the message held for a full stream buffer.
    fn poll_held(&mut self, cx: &mut Context<'_>, out: &mut Outbox) {
        let Some(held) = &mut self.held else { return };
        let id = held.stream_id;
        let Some(inbox) = self.streams.get_mut(&id).and_then(|s| s.inbox.as_mut()) else {
            self.held = None;
            cx.waker().wake_by_ref();
            return;
        };
        let Poll::Ready(delivery) = held.poll_deliver(inbox, cx) else {
            return;
        };
        let closing = held.closing;
        self.held = None;
        // Reading resumes: make sure the connection takes another turn.
        cx.waker().wake_by_ref();
        match delivery {
            Delivery::Delivered | Delivery::Gone => {
                if closing {
                    if let Some(state) = self.streams.get_mut(&id) {
                        state.inbox = None;
                    }
                }
            }
            Delivery::Stalled => {
                let status = Status::resource_exhausted(format!(
                    "stream buffer full: the handler read nothing for {:?}",
                    self.config.inbox.stall_timeout
                ));
                self.fail_stream(id, &status, out);
            }
        }
    }

    fn on_call_done(&mut self, id: u32, result: Result<Response<Body>, Status>, out: &mut Outbox) {
        let Some(state) = self.streams.get_mut(&id) else {
            return; // The stream was already failed; its reply is dropped.
        };
        let resp = match result {
            Ok(resp) => resp,
            Err(status) => return self.fail_stream(id, &status, out),
        };
        if state.kind.server_streaming() {
            let (handle, registration) = AbortHandle::new_pair();
            state.outbound = Some(handle);
            let stream = OutStream::new(id, resp.into_inner().into_stream(), state.deadline);
            self.outbound
                .get_or_insert_with(SelectAll::new)
                .push(Abortable::new(stream, registration));
            return;
        }
        let payload = match resp.into_inner().into_message() {
            Ok(payload) => payload,
            Err(status) => return self.fail_stream(id, &status, out),
        };
        self.streams.remove(&id);
        let response = ResponseRef {
            status: None,
            payload: &payload,
        };
        if let Err(oversize) = out.push_response(id, &response) {
            // Go 1.2.6+ drops the whole connection here; only this call fails.
            out.push_status(id, &oversize.to_status());
        }
    }

    fn on_outbound(&mut self, id: u32, event: Event, out: &mut Outbox) {
        match event {
            Event::Messages(messages) => {
                for message in messages {
                    if let Err(oversize) = out.push(id, MessageType::DATA, Flags::EMPTY, &message) {
                        return self.fail_stream(id, &oversize.to_status(), out);
                    }
                }
            }
            Event::End(Ok(())) => {
                if let Some(state) = self.streams.remove(&id) {
                    if let Some(inbox) = state.inbox {
                        inbox.finish(Ok(()));
                    }
                }
                let flags = Flags::REMOTE_CLOSED | Flags::NO_DATA;
                let _ = out.push(id, MessageType::DATA, flags, &[]);
            }
            Event::End(Err(status)) => self.fail_stream(id, &status, out),
        }
    }
}

impl<S> Dispatch for ServerConnection<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone,
    S::Error: Into<BoxError>,
{
    fn on_frame(&mut self, frame: Frame, out: &mut Outbox) {
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

    fn on_oversize(&mut self, header: Header, out: &mut Outbox) {
        let status = Status::message_too_large(header.length as usize, out.max_message_size());
        if header.kind == MessageType::DATA && self.streams.contains_key(&header.stream_id) {
            // A message of the stream was lost: the stream cannot go on.
            return self.fail_stream(header.stream_id, &status, out);
        }
        out.push_status(header.stream_id, &status);
    }

    fn poll_work(&mut self, cx: &mut Context<'_>, out: &mut Outbox) -> Poll<()> {
        if self.closing {
            return Poll::Ready(());
        }
        self.poll_held(cx, out);
        while let Some(Poll::Ready(Some((id, result)))) =
            self.calls.as_mut().map(|calls| calls.poll_next_unpin(cx))
        {
            self.on_call_done(id, result, out);
        }
        while !out.is_full() {
            let Some(outbound) = &mut self.outbound else {
                break;
            };
            match outbound.poll_next_unpin(cx) {
                Poll::Ready(Some((id, event))) => self.on_outbound(id, event, out),
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        let quiet = self.streams.is_empty() && self.calls.as_ref().is_none_or(|c| c.is_empty());
        if quiet {
            // Give back the call set's allocation (sized by the handler
            // future): an idle connection should cost next to nothing.
            self.calls = None;
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
        self.held.is_none()
    }

    fn is_idle(&self) -> bool {
        self.streams.is_empty()
    }

    fn on_close(&mut self, error: Option<&io::Error>) {
        if let Some(e) = error {
            tracing::debug!(error = %e, "ttrpc connection closed with error");
        }
        self.closing = true;
        self.held = None;
        // Dropping the calls and streams cancels their handlers.
        self.calls = None;
        self.outbound = None;
        self.streams.clear();
    }
}
