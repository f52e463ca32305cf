//! [`Code`] and [`Status`]: the outcome of a call, as `google.rpc.Status`.

use std::{error::Error, fmt, sync::Arc};

use bytes::Bytes;
use prost::Message;
use prost_types::Any;

use crate::proto;

/// The gRPC status codes, which ttrpc uses unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Code {
    /// Not an error.
    Ok = 0,
    /// The operation was cancelled, typically by the caller.
    Cancelled = 1,
    /// An error with no better code.
    Unknown = 2,
    /// The client sent an invalid argument.
    InvalidArgument = 3,
    /// The deadline passed before the operation finished.
    DeadlineExceeded = 4,
    /// Something requested was not found.
    NotFound = 5,
    /// Something the client tried to create already exists.
    AlreadyExists = 6,
    /// The caller may not do this.
    PermissionDenied = 7,
    /// A resource (a quota, a size limit, a stream limit) ran out.
    ResourceExhausted = 8,
    /// The system is not in a state where the operation can run.
    FailedPrecondition = 9,
    /// The operation was aborted, typically by a concurrency conflict.
    Aborted = 10,
    /// The operation went past the valid range.
    OutOfRange = 11,
    /// The operation is not implemented or not supported.
    Unimplemented = 12,
    /// An invariant was broken inside the server.
    Internal = 13,
    /// The service is unavailable right now; retrying may help.
    Unavailable = 14,
    /// Data was lost or corrupted.
    DataLoss = 15,
    /// The caller is not authenticated.
    Unauthenticated = 16,
}

impl Code {
    /// The code for a wire value; values outside 0..=16 become [`Code::Unknown`].
    pub const fn from_i32(value: i32) -> Code {
        match value {
            0 => Code::Ok,
            1 => Code::Cancelled,
            2 => Code::Unknown,
            3 => Code::InvalidArgument,
            4 => Code::DeadlineExceeded,
            5 => Code::NotFound,
            6 => Code::AlreadyExists,
            7 => Code::PermissionDenied,
            8 => Code::ResourceExhausted,
            9 => Code::FailedPrecondition,
            10 => Code::Aborted,
            11 => Code::OutOfRange,
            12 => Code::Unimplemented,
            13 => Code::Internal,
            14 => Code::Unavailable,
            15 => Code::DataLoss,
            16 => Code::Unauthenticated,
            _ => Code::Unknown,
        }
    }

    /// The wire value.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }

    /// The code's name as gRPC spells it, such as `"RESOURCE_EXHAUSTED"`.
    pub const fn description(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl From<i32> for Code {
    fn from(value: i32) -> Self {
        Code::from_i32(value)
    }
}

/// The error of a call: a [`Code`], a message and optional typed details.
///
/// It travels as `google.rpc.Status` in a Response frame. A status may also
/// hold a local `source` error, which is never sent.
///
/// ```
/// use wren_codec::{Code, Status};
///
/// let status = Status::not_found("no such container");
/// assert_eq!(status.code(), Code::NotFound);
/// assert_eq!(status.to_string(), "NOT_FOUND: no such container");
/// ```
#[derive(Clone)]
pub struct Status(Box<Inner>);

#[derive(Clone)]
struct Inner {
    code: Code,
    message: String,
    details: Vec<Any>,
    source: Option<Arc<dyn Error + Send + Sync + 'static>>,
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(message: impl Into<String>) -> Status {
                Status::new(Code::$code, message)
            }
        )*
    };
}

impl Status {
    /// A status with a code and a message.
    pub fn new(code: Code, message: impl Into<String>) -> Status {
        Status(Box::new(Inner {
            code,
            message: message.into(),
            details: Vec::new(),
            source: None,
        }))
    }

    constructors! {
        /// A `CANCELLED` status.
        cancelled => Cancelled,
        /// An `UNKNOWN` status.
        unknown => Unknown,
        /// An `INVALID_ARGUMENT` status.
        invalid_argument => InvalidArgument,
        /// A `DEADLINE_EXCEEDED` status.
        deadline_exceeded => DeadlineExceeded,
        /// A `NOT_FOUND` status.
        not_found => NotFound,
        /// An `ALREADY_EXISTS` status.
        already_exists => AlreadyExists,
        /// A `PERMISSION_DENIED` status.
        permission_denied => PermissionDenied,
        /// A `RESOURCE_EXHAUSTED` status.
        resource_exhausted => ResourceExhausted,
        /// A `FAILED_PRECONDITION` status.
        failed_precondition => FailedPrecondition,
        /// An `ABORTED` status.
        aborted => Aborted,
        /// An `OUT_OF_RANGE` status.
        out_of_range => OutOfRange,
        /// An `UNIMPLEMENTED` status.
        unimplemented => Unimplemented,
        /// An `INTERNAL` status.
        internal => Internal,
        /// An `UNAVAILABLE` status.
        unavailable => Unavailable,
        /// A `DATA_LOSS` status.
        data_loss => DataLoss,
        /// An `UNAUTHENTICATED` status.
        unauthenticated => Unauthenticated,
    }

    /// The status for a message over the size limit, worded as Go words it.
    pub fn message_too_large(length: usize, max: usize) -> Status {
        Status::resource_exhausted(format!(
            "message length {length} exceed maximum message size of {max}"
        ))
    }

    /// Adds typed details, sent as `google.protobuf.Any` values.
    #[must_use]
    pub fn with_details(mut self, details: impl IntoIterator<Item = Any>) -> Status {
        self.0.details.extend(details);
        self
    }

    /// Attaches a local cause, reachable through [`Error::source`]. It is not sent.
    #[must_use]
    pub fn with_source(mut self, source: impl Error + Send + Sync + 'static) -> Status {
        self.0.source = Some(Arc::new(source));
        self
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.0.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The typed details.
    pub fn details(&self) -> &[Any] {
        &self.0.details
    }

    /// The local cause, if one was attached.
    pub fn source_ref(&self) -> Option<&(dyn Error + Send + Sync + 'static)> {
        self.0.source.as_deref()
    }

    /// The wire form.
    pub fn to_proto(&self) -> proto::Status {
        proto::Status {
            code: self.0.code.as_i32(),
            message: self.0.message.clone(),
            details: self.0.details.clone(),
        }
    }

    /// A status from its wire form. Unknown codes become [`Code::Unknown`].
    pub fn from_proto(status: proto::Status) -> Status {
        Status(Box::new(Inner {
            code: Code::from_i32(status.code),
            message: status.message,
            details: status.details,
            source: None,
        }))
    }

    /// The status encoded as `google.rpc.Status` bytes.
    pub fn encode_to_bytes(&self) -> Bytes {
        self.to_proto().encode_to_vec().into()
    }

    /// The status an error stands for: a [`Status`] anywhere in its source
    /// chain is returned as it is; an `io::Error` maps by kind; anything else
    /// becomes `UNKNOWN` with the error's text. The mapping may grow.
    ///
    /// A [`Status`] wins over an `io::Error` nearer the top of the chain, and
    /// a [`Status`] wrapped directly in an `io::Error` (which
    /// `io::Error::source` skips) is found too.
    pub fn from_error(error: &(dyn Error + 'static)) -> Status {
        let mut first_io = None;
        let mut cause = Some(error);
        while let Some(e) = cause {
            if let Some(status) = e.downcast_ref::<Status>() {
                return status.clone();
            }
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if let Some(status) = io
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<Status>())
                {
                    return status.clone();
                }
                first_io.get_or_insert(io);
            }
            cause = e.source();
        }
        match first_io {
            Some(io) => Status::from_io_error(io),
            None => Status::unknown(error.to_string()),
        }
    }

    /// The status for an I/O error, by its kind.
    pub fn from_io_error(error: &std::io::Error) -> Status {
        use std::io::ErrorKind as K;
        let code = match error.kind() {
            K::TimedOut => Code::DeadlineExceeded,
            K::NotFound => Code::NotFound,
            K::PermissionDenied => Code::PermissionDenied,
            K::AlreadyExists => Code::AlreadyExists,
            K::InvalidInput | K::InvalidData => Code::InvalidArgument,
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::UnexpectedEof => Code::Unavailable,
            K::Interrupted => Code::Cancelled,
            _ => Code::Unknown,
        };
        Status::new(code, error.to_string())
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Status");
        d.field("code", &self.0.code)
            .field("message", &self.0.message);
        if !self.0.details.is_empty() {
            d.field("details", &self.0.details);
        }
        if let Some(source) = &self.0.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.message)
    }
}

impl Error for Status {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn Error + 'static))
    }
}

impl From<proto::Status> for Status {
    fn from(status: proto::Status) -> Self {
        Status::from_proto(status)
    }
}

impl From<std::io::Error> for Status {
    fn from(error: std::io::Error) -> Self {
        Status::from_io_error(&error)
    }
}
