//! Unwind guards for user code a connection polls or drops: a panic fails
//! the one call it belongs to, never the connection.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use wren_codec::Status;

use crate::BodyStream;

/// The text of a panic payload (`panic!("...")` gives a `&str` or a
/// `String`), or `"unknown panic"`.
pub fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "unknown panic"
    }
}

/// Logs a panic of user code and returns the status its call fails with:
/// `INTERNAL` with `"<what> panicked"`. The panic's own text stays in the
/// log: it may hold internals the peer should not see.
pub fn panic_status(what: &'static str, panic: &(dyn Any + Send)) -> Status {
    tracing::error!(panic = panic_message(panic), "ttrpc: {what} panicked");
    Status::internal(format!("{what} panicked"))
}

/// Drops `value`, containing a panic in its `Drop` (logged as `what`).
pub fn drop_guarded<T>(what: &'static str, value: T) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        let _ = panic_status(what, &*panic);
    }
}

/// A stream of encoded messages whose panics end it with `INTERNAL`.
///
/// A panic while polling the inner stream yields one `Err` item (`"<what>
/// panicked"`), after which the stream has ended; the inner stream is
/// dropped there and then, its own `Drop` guarded too.
pub struct CatchPanic {
    inner: Option<BodyStream>,
    what: &'static str,
}

impl CatchPanic {
    /// Guards `inner`; `what` names it in the status and the log (for
    /// example `"reply stream"`).
    pub fn new(inner: BodyStream, what: &'static str) -> CatchPanic {
        CatchPanic {
            inner: Some(inner),
            what,
        }
    }
}

impl std::fmt::Debug for CatchPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatchPanic")
            .field("what", &self.what)
            .field("done", &self.inner.is_none())
            .finish()
    }
}

impl Stream for CatchPanic {
    type Item = Result<bytes::Bytes, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let what = self.what;
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll_next(cx))) {
            Ok(Poll::Ready(None)) => {
                if let Some(inner) = self.inner.take() {
                    drop_guarded(what, inner);
                }
                Poll::Ready(None)
            }
            Ok(poll) => poll,
            Err(panic) => {
                let status = panic_status(what, &*panic);
                if let Some(inner) = self.inner.take() {
                    drop_guarded(what, inner);
                }
                Poll::Ready(Some(Err(status)))
            }
        }
    }
}

impl Drop for CatchPanic {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            drop_guarded(self.what, inner);
        }
    }
}
