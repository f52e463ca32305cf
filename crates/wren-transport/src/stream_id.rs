//! [`StreamId`]: the stream a server-side call arrived on.

use std::fmt;

/// The stream id of a call, in every server-side request's extensions, for
/// layers that log or trace calls (`wren-tracing` records it).
///
/// ```
/// use wren_transport::{Request, StreamId};
///
/// fn stream_of<T>(req: &Request<T>) -> Option<u32> {
///     req.extensions().get::<StreamId>().map(|id| id.0)
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamId(pub u32);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
