//! [`CallSpan`]: one call's span, and how its outcome is recorded.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tracing::Span;
use wren_transport::codec::{Code, Status};
use wren_transport::{BoxError, StreamIdSlot};

/// Which end of a call a span describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Side {
    Server,
    Client,
}

/// Messages counted on one call, shared with the streams that carry them.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) inbound: AtomicU64,
    pub(crate) outbound: AtomicU64,
}

impl Counts {
    /// Counts one message, received (`true`) or sent.
    pub(crate) fn add(&self, received: bool) {
        let counter = if received {
            &self.inbound
        } else {
            &self.outbound
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// How a call ended.
#[derive(Debug)]
pub(crate) enum Outcome<'a> {
    Ok,
    Status(&'a Status),
    Code(Code, &'a str),
    Panicked(String),
}

/// A call in flight: its span, when it started and its deadline. Recorded
/// once, by [`CallSpan::finish`] or when dropped unfinished.
#[derive(Debug)]
pub(crate) struct CallSpan {
    pub(crate) span: Span,
    pub(crate) side: Side,
    pub(crate) counts: Arc<Counts>,
    /// A client call's stream id, filled in by its connection; recorded
    /// when the call ends.
    pub(crate) stream_id: Option<StreamIdSlot>,
    started: Instant,
    deadline: Option<Instant>,
    done: bool,
}

impl CallSpan {
    pub(crate) fn new(span: Span, side: Side, deadline: Option<Instant>) -> CallSpan {
        CallSpan {
            span,
            side,
            counts: Arc::default(),
            stream_id: None,
            started: Instant::now(),
            deadline,
            done: false,
        }
    }

    /// Records the outcome on the span and emits the call's one event:
    /// `DEBUG` for `OK`, `INFO` for another status, `ERROR` for a panic.
    pub(crate) fn finish(&mut self, outcome: Outcome<'_>) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let (code, message) = match &outcome {
            Outcome::Ok => (Code::Ok, ""),
            Outcome::Status(status) => (status.code(), status.message()),
            Outcome::Code(code, message) => (*code, *message),
            Outcome::Panicked(message) => (Code::Internal, message.as_str()),
        };
        let span = &self.span;
        let duration = self.started.elapsed();
        span.record("rpc.ttrpc.status_code", code.as_i32());
        span.record("status", code.description());
        span.record("duration_ms", duration.as_secs_f64() * 1000.0);
        if let Some(id) = self.stream_id.as_ref().and_then(StreamIdSlot::get) {
            span.record("stream_id", id);
        }
        span.record("messages_in", self.counts.inbound.load(Ordering::Relaxed));
        span.record("messages_out", self.counts.outbound.load(Ordering::Relaxed));
        if code != Code::Ok {
            span.record("error", message);
            // Read by tracing-opentelemetry; as otelttrpc, a server marks
            // its span an error only for codes that are the server's fault.
            if self.side == Side::Client || server_fault(code) {
                span.record("otel.status_code", "ERROR");
                span.record("otel.status_description", message);
            }
        }
        let status = code.description();
        let duration_ms = duration.as_secs_f64() * 1000.0;
        match outcome {
            Outcome::Ok => {
                tracing::debug!(parent: span, status, duration_ms, "ttrpc call finished");
            }
            Outcome::Panicked(_) => {
                tracing::error!(parent: span, status, duration_ms, error = message, "ttrpc call panicked");
            }
            _ => {
                tracing::info!(parent: span, status, duration_ms, error = message, "ttrpc call failed");
            }
        }
    }

    /// Records a panic that is unwinding through the call.
    pub(crate) fn panicked(&mut self, payload: &(dyn Any + Send)) {
        let what = if let Some(s) = payload.downcast_ref::<&str>() {
            s
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.as_str()
        } else {
            "unknown panic"
        };
        self.finish(Outcome::Panicked(format!("panicked: {what}")));
    }
}

impl Drop for CallSpan {
    /// Dropped unfinished: the call was given up. If its deadline has
    /// passed, that is why (the server or a timeout layer outside this one
    /// gave up on it); otherwise it was cancelled.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let passed = self.deadline.is_some_and(|d| d <= Instant::now());
        if passed {
            self.finish(Outcome::Code(
                Code::DeadlineExceeded,
                "deadline exceeded before the call finished",
            ));
        } else {
            self.finish(Outcome::Code(
                Code::Cancelled,
                "the call was dropped before it finished",
            ));
        }
    }
}

/// Codes otelttrpc's server interceptor reports as span errors.
fn server_fault(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// The status an error from the inner service stands for, without taking
/// it, as `wren_transport::status_from_error` maps one: a [`Status`], or a
/// [`BoxError`] holding one, a tower timeout (`DEADLINE_EXCEEDED`) or
/// load-shed (`RESOURCE_EXHAUSTED`); else `UNKNOWN` with the error's text.
pub(crate) fn status_of<E: std::fmt::Display + 'static>(error: &E) -> Status {
    let any: &dyn Any = error;
    if let Some(status) = any.downcast_ref::<Status>() {
        return status.clone();
    }
    if let Some(boxed) = any.downcast_ref::<BoxError>() {
        if let Some(status) = boxed.downcast_ref::<Status>() {
            return status.clone();
        }
        if boxed.is::<tower::timeout::error::Elapsed>() {
            return Status::deadline_exceeded("deadline exceeded");
        }
        if boxed.is::<tower::load_shed::error::Overloaded>() {
            return Status::resource_exhausted("service overloaded");
        }
        return Status::from_error(&**boxed);
    }
    Status::unknown(error.to_string())
}
