//! [`CallTask`]: one call on a server connection, from its handler to its
//! last frame.
//!
//! A call task runs the layered service's future and, for a streaming
//! reply, the reply stream; it encodes its frames straight into the
//! connection's [`Outbox`] and notes there when it queued its last one. It
//! runs in a tokio task of its own by default, so a handler that blocks its
//! thread holds up only its own call, or inside the connection's task when
//! the server is built with `inline_handlers(true)`.
//!
//! Only the task sends its call's final frame. When the connection has to
//! end a call early (its client sent too much, or the connection is
//! closing) it [cancels](CallControl::cancel) the task with a status, and
//! the task sends that status the next time it runs — so no call ever gets
//! two final frames.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::task::AtomicWaker;
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use wren_transport::codec::{Flags, MessageType, ResponseRef, Status};
use wren_transport::{
    BatchEnd, Body, BodyStream, BoxError, Frames, Outbox, Response, Side, drop_guarded,
    panic_status, poll_batch, status_from_error,
};

/// How long after its deadline a call is ended even if the layers around
/// the handler did not end it. The handler and its reply stream are ended
/// at the deadline itself, inside the user's layers, so that the layers see
/// `DEADLINE_EXCEEDED`; this backstop only catches a layer that ignores it.
pub(crate) const DEADLINE_GRACE: Duration = Duration::from_millis(100);
/// The most reply messages taken from a stream between two looks at the
/// outbox's room and the deadline.
pub(crate) const BATCH: usize = 32;
/// Batches sent in one poll before the task lets others run.
const BATCHES_PER_POLL: usize = 8;
/// Flags of the Data frame that ends a reply stream cleanly.
const CLOSE: Flags = Flags::from_bits(Flags::REMOTE_CLOSED.bits() | Flags::NO_DATA.bits());

/// The connection's handle on a call task.
#[derive(Debug, Default)]
pub(crate) struct CallControl {
    cancelled: AtomicBool,
    status: Mutex<Option<Status>>,
    waker: AtomicWaker,
}

impl CallControl {
    /// Ends the call with `status` (sent by the task, unless it already
    /// sent its final frame), dropping its handler and reply stream.
    pub(crate) fn cancel(&self, status: Status) {
        {
            let mut slot = self.status.lock().unwrap_or_else(|p| p.into_inner());
            if self.cancelled.load(Ordering::Acquire) {
                return;
            }
            *slot = Some(status);
        }
        self.cancelled.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Makes a control block no task uses any more as good as new.
    pub(crate) fn reset(&mut self) {
        *self.cancelled.get_mut() = false;
        *self.status.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
        drop(self.waker.take());
    }

    /// The status the call was cancelled with, if it was.
    fn poll_cancelled(&self, cx: &mut Context<'_>) -> Option<Status> {
        if !self.cancelled.load(Ordering::Acquire) {
            self.waker.register(cx.waker());
            if !self.cancelled.load(Ordering::Acquire) {
                return None;
            }
        }
        let status = self.status.lock().unwrap_or_else(|p| p.into_inner()).take();
        Some(status.unwrap_or_else(|| Status::cancelled("call cancelled")))
    }
}

pin_project! {
    #[project = PhaseProj]
    enum Phase<F> {
        Handler { #[pin] future: F },
        Reply { stream: BodyStream },
        Done,
    }
}

pin_project! {
    /// One call, driven to its last frame. Resolves once that frame is
    /// queued (or the call was cancelled while its connection closed).
    pub(crate) struct CallTask<F> {
        stream_id: u32,
        streaming_reply: bool,
        out: Outbox,
        control: Arc<CallControl>,
        // When the backstop ends the call whatever the layers do.
        backstop: Option<Instant>,
        timer: Option<Pin<Box<Sleep>>>,
        batch: Vec<Bytes>,
        #[pin]
        phase: Phase<F>,
    }

    impl<F> PinnedDrop for CallTask<F> {
        fn drop(this: Pin<&mut Self>) {
            // Dropping the handler or the reply stream runs user code.
            let mut phase = this.project().phase;
            if catch_unwind(AssertUnwindSafe(|| phase.set(Phase::Done))).is_err() {
                tracing::error!("ttrpc: dropping a call panicked");
            }
        }
    }
}

impl<F, E> CallTask<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
    E: Into<BoxError>,
{
    pub(crate) fn new(
        stream_id: u32,
        streaming_reply: bool,
        out: Outbox,
        control: Arc<CallControl>,
        deadline: Option<Instant>,
        future: F,
    ) -> CallTask<F> {
        CallTask {
            stream_id,
            streaming_reply,
            out,
            control,
            backstop: deadline.and_then(|d| d.checked_add(DEADLINE_GRACE)),
            timer: None,
            batch: Vec::new(),
            phase: Phase::Handler { future },
        }
    }

    /// Queues the call's final frames and notes that it ended.
    fn finish(self: Pin<&mut Self>, last: impl FnOnce(&mut Frames<'_>, u32)) -> Poll<()> {
        let mut this = self.project();
        let id = *this.stream_id;
        this.out.frames(|f| {
            last(f, id);
            f.end(id);
        });
        // Drop the handler or stream now, while a panic in its Drop is
        // still contained by the poll's guard.
        this.phase.set(Phase::Done);
        Poll::Ready(())
    }

    fn fail(self: Pin<&mut Self>, status: Status) -> Poll<()> {
        self.finish(|f, id| f.push_status(id, &status))
    }

    /// Whether the backstop timer fired; registers it otherwise.
    fn backstop_fired(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        let this = self.project();
        let Some(at) = *this.backstop else {
            return false;
        };
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at.into())));
        timer.as_mut().poll(cx).is_ready()
    }

    fn poll_call(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(status) = self.control.poll_cancelled(cx) {
            return self.fail(status);
        }
        let result = match self.as_mut().project().phase.project() {
            PhaseProj::Handler { future } => match future.poll(cx) {
                Poll::Ready(result) => result.map_err(|e| status_from_error(e.into())),
                Poll::Pending => {
                    if self.as_mut().backstop_fired(cx) {
                        return self.fail(Side::Server.deadline_exceeded());
                    }
                    return Poll::Pending;
                }
            },
            PhaseProj::Reply { .. } => return self.poll_reply(cx),
            PhaseProj::Done => return Poll::Ready(()),
        };
        let response = match result {
            Ok(response) => response,
            Err(status) => return self.fail(status),
        };
        let body = response.into_inner();
        if self.streaming_reply {
            let stream = body.into_stream();
            self.as_mut().project().phase.set(Phase::Reply { stream });
            return self.poll_reply(cx);
        }
        match body.into_message() {
            Ok(payload) => self.finish(|f, id| {
                let reply = ResponseRef {
                    status: None,
                    payload: &payload,
                };
                if let Err(oversize) = f.push_response_bytes(id, &reply, &payload) {
                    // Go 1.2.6+ drops the whole connection here; only this
                    // call fails.
                    f.push_status(id, &oversize.to_status());
                }
            }),
            Err(status) => self.fail(status),
        }
    }

    /// Sends reply messages in batches while the outbox has room, checking
    /// the backstop deadline before each batch.
    fn poll_reply(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        for _ in 0..BATCHES_PER_POLL {
            if self.backstop.is_some_and(|at| Instant::now() >= at) {
                return self.fail(Side::Server.deadline_exceeded());
            }
            if self.out.poll_room(cx).is_pending() {
                if self.as_mut().backstop_fired(cx) {
                    return self.fail(Side::Server.deadline_exceeded());
                }
                return Poll::Pending;
            }
            let this = self.as_mut().project();
            let PhaseProj::Reply { stream } = this.phase.project() else {
                return Poll::Ready(());
            };
            let batch = this.batch;
            let (end, pending) = match poll_batch(stream, cx, batch, BATCH) {
                BatchEnd::Full => (None, false),
                BatchEnd::Pending => (None, true),
                BatchEnd::End(end) => (Some(end), false),
            };
            let id = *this.stream_id;
            if !batch.is_empty() {
                let oversize = this.out.frames(|f| {
                    for message in batch.iter() {
                        if let Err(oversize) = f.push_data_bytes(id, message) {
                            return Some(oversize);
                        }
                    }
                    None
                });
                batch.clear();
                if let Some(oversize) = oversize {
                    return self.fail(oversize.to_status());
                }
            }
            match end {
                Some(Ok(())) => {
                    return self.finish(|f, id| {
                        let _ = f.push(id, MessageType::DATA, CLOSE, &[]);
                    });
                }
                Some(Err(status)) => return self.fail(status),
                None if pending => {
                    if self.as_mut().backstop_fired(cx) {
                        return self.fail(Side::Server.deadline_exceeded());
                    }
                    return Poll::Pending;
                }
                None => {}
            }
        }
        // A stream that is always ready: let other tasks run, then go on.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<F, E> Future for CallTask<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
    E: Into<BoxError>,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match catch_unwind(AssertUnwindSafe(|| self.as_mut().poll_call(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                // A panic outside the handler's own guard: in a layer, or
                // in a reply stream a layer wrapped.
                let status = panic_status("call", &*panic);
                let this = self.as_mut().project();
                let id = *this.stream_id;
                this.out.frames(|f| {
                    f.push_status(id, &status);
                    f.end(id);
                });
                let mut phase = this.phase;
                if catch_unwind(AssertUnwindSafe(|| phase.set(Phase::Done))).is_err() {
                    tracing::error!("ttrpc: dropping a call panicked");
                }
                Poll::Ready(())
            }
        }
    }
}

/// Drops a value that may run user code in its `Drop`, containing a panic.
pub(crate) fn drop_call<T>(value: T) {
    drop_guarded("call", value);
}
