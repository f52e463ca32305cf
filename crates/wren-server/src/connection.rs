//! [`ServerConnection`]: the server's side of the connection driver.

use std::io;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use prost::Message;
use tower::ServiceExt;
use tower::util::Oneshot;
use tower_service::Service;
use wren_transport::codec::{Frame, Header, MessageType, Metadata, ResponseRef, Status, proto};
use wren_transport::{Body, BoxError, Dispatch, Outbox, Request, Response};

use crate::call::CallFuture;

/// Serves the calls of one connection. Handlers run inside the connection's
/// task, so a call costs no spawn and no cross-task hand-off.
pub(crate) struct ServerConnection<S>
where
    S: Service<Request<Body>>,
{
    service: S,
    calls: FuturesUnordered<CallFuture<Oneshot<S, Request<Body>>>>,
    last_stream_id: u32,
    draining: bool,
    closing: bool,
}

impl<S> ServerConnection<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone,
    S::Error: Into<BoxError>,
{
    pub(crate) fn new(service: S) -> ServerConnection<S> {
        ServerConnection {
            service,
            calls: FuturesUnordered::new(),
            last_stream_id: 0,
            draining: false,
            closing: false,
        }
    }

    /// Stop taking new calls; finish the ones in flight, then close.
    pub(crate) fn drain(&mut self) {
        self.draining = true;
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
        let envelope = match proto::Request::decode(frame.payload) {
            Ok(envelope) => envelope,
            Err(e) => {
                let status = Status::invalid_argument(format!("unmarshal request error: {e}"));
                return out.push_status(id, &status);
            }
        };
        let mut req = Request::new(Body::new(envelope.payload));
        req.set_path(envelope.service, envelope.method);
        if !envelope.metadata.is_empty() {
            *req.metadata_mut() = Metadata::from_key_values(envelope.metadata);
        }
        let deadline = match envelope.timeout_nano {
            0 => None,
            n if n < 0 => Some(Instant::now()),
            n => Instant::now().checked_add(Duration::from_nanos(n as u64)),
        };
        req.set_deadline(deadline);
        let sleep = deadline.map(|d| tokio::time::sleep_until(d.into()));
        let call = self.service.clone().oneshot(req);
        self.calls.push(CallFuture::new(id, call, sleep));
    }
}

impl<S> Dispatch for ServerConnection<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone,
    S::Error: Into<BoxError>,
{
    fn on_frame(&mut self, frame: Frame, out: &mut Outbox) {
        match frame.kind {
            MessageType::REQUEST => self.on_request(frame, out),
            // Streaming Data frames are not served yet: ignored, as a Go 1.1 server does.
            MessageType::DATA => {
                tracing::debug!(stream_id = frame.stream_id, "ignoring data frame");
            }
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
        out.push_status(header.stream_id, &status);
    }

    fn poll_work(&mut self, cx: &mut Context<'_>, out: &mut Outbox) -> Poll<()> {
        if self.closing {
            return Poll::Ready(());
        }
        while let Poll::Ready(Some((id, result))) = self.calls.poll_next_unpin(cx) {
            match result {
                Ok(resp) => {
                    let payload = resp.into_inner().into_message();
                    let response = ResponseRef {
                        status: None,
                        payload: &payload,
                    };
                    if let Err(oversize) = out.push_response(id, &response) {
                        // Go 1.2.6+ drops the whole connection here; only this call fails.
                        out.push_status(id, &oversize.to_status());
                    }
                }
                Err(status) => out.push_status(id, &status),
            }
        }
        if self.draining && self.calls.is_empty() {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    fn is_idle(&self) -> bool {
        self.calls.is_empty()
    }

    fn on_close(&mut self, error: Option<&io::Error>) {
        if let Some(e) = error {
            tracing::debug!(error = %e, "ttrpc connection closed with error");
        }
        self.closing = true;
        // Dropping the calls cancels their handlers.
        self.calls = FuturesUnordered::new();
    }
}
