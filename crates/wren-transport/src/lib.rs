//! From byte streams to multiplexed ttrpc calls.
//!
//! - [`Connection`] drives one connection for either side: it reads frames,
//!   hands them to a [`Dispatch`] that routes them by stream id, and writes
//!   what the dispatcher queues in an [`Outbox`], coalescing the frames of
//!   many calls into few writes.
//! - [`Listener`] is where a server's connections come from.
//! - [`Request`], [`Response`], [`Body`] and [`Extensions`] are the call
//!   types the server and client layers share.
//!
//! `docs/ARCHITECTURE.md` in the repository explains how the pieces fit.
#![doc(test(attr(deny(warnings, rust_2018_idioms), allow(dead_code, unused_variables))))]

mod call;
mod conn;
mod error;
mod extensions;
mod listener;
mod stream;

pub use crate::call::{Body, IntoRequest, IntoStreamingRequest, Parts, Request, Response};
pub use crate::conn::{Connection, ConnectionSettings, Dispatch, Outbox, Oversize};
pub use crate::error::{BoxError, ConnectionClosed, is_closed, status_from_error};
pub use crate::extensions::Extensions;
pub use crate::listener::{Listener, is_connection_error};
pub use crate::stream::{
    BodyStream, InboxLimits, InboxSender, MethodKind, PushError, Streaming, inbox,
};

pub use wren_codec as codec;
