//! Errors the transport produces.

use std::fmt;

use wren_codec::Status;

/// The connection a call was on has closed, or was never open.
///
/// Calls fail with an `UNAVAILABLE` [`Status`] whose source is this error;
/// [`is_closed`] tells such a status apart from one the peer sent.
#[derive(Clone, Debug, Default)]
pub struct ConnectionClosed {
    reason: Option<String>,
}

impl ConnectionClosed {
    /// A closed-connection error, optionally saying why.
    pub fn new(reason: Option<String>) -> ConnectionClosed {
        ConnectionClosed { reason }
    }

    /// The status a call fails with.
    pub fn into_status(self) -> Status {
        Status::unavailable(self.to_string()).with_source(self)
    }
}

impl fmt::Display for ConnectionClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Some(reason) => write!(f, "connection closed: {reason}"),
            None => f.write_str("connection closed"),
        }
    }
}

impl std::error::Error for ConnectionClosed {}

/// Whether `status` reports a closed connection (rather than an error the
/// peer sent).
pub fn is_closed(status: &Status) -> bool {
    status
        .source_ref()
        .is_some_and(|s| s.downcast_ref::<ConnectionClosed>().is_some())
}

/// A boxed error, as tower middleware produces.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The status a middleware or service error stands for.
///
/// A [`Status`] is returned as it is; tower's timeout `Elapsed` becomes
/// `DEADLINE_EXCEEDED` and load-shed `Overloaded` becomes
/// `RESOURCE_EXHAUSTED`; anything else goes through [`Status::from_error`].
pub fn status_from_error(error: BoxError) -> Status {
    let error = match error.downcast::<Status>() {
        Ok(status) => return *status,
        Err(e) => e,
    };
    if error.is::<tower::timeout::error::Elapsed>() {
        return Status::deadline_exceeded("deadline exceeded").with_source(ErrorSource(error));
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        return Status::resource_exhausted("service overloaded").with_source(ErrorSource(error));
    }
    Status::from_error(&*error)
}

#[derive(Debug)]
struct ErrorSource(BoxError);

impl fmt::Display for ErrorSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ErrorSource {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}
