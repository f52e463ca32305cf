//! The ttrpc wire protocol, with nothing else attached.
//!
//! ttrpc sends frames over any reliable byte stream. Each frame is a 10-byte
//! big-endian header and a payload:
//!
//! ```text
//! 00 00 00 07 | 00 00 00 01 | 02   | 00    | 12 05 08 02 12 01 61
//! length = 7  | stream 1    | type | flags | payload: ttrpc.Response{payload: ...}
//! ```
//!
//! This crate holds:
//!
//! - [`Header`], [`MessageType`] and [`Flags`], and the [`Frame`] they describe;
//! - [`FrameCodec`], a `tokio_util::codec` [`Decoder`](tokio_util::codec::Decoder)
//!   and [`Encoder`](tokio_util::codec::Encoder) with a configurable size limit
//!   that skips oversize payloads without buffering them ([`Decoded::Oversize`]);
//! - the envelope messages as prost types ([`proto`]) and allocation-free
//!   encoders for them ([`RequestRef`], [`ResponseRef`]);
//! - [`Code`], [`Status`] and [`Metadata`].
//!
//! It needs no async runtime. `docs/PROTOCOL.md` in the repository describes
//! the protocol in full.
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use tokio_util::codec::Framed;
//! use wren_codec::{Decoded, Frame, FrameCodec};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let (a, b) = tokio::io::duplex(64);
//! let mut a = Framed::new(a, FrameCodec::new());
//! let mut b = Framed::new(b, FrameCodec::new());
//! a.send(Frame::request(1, &b"\x0a\x03svc"[..])).await.unwrap();
//! let Some(Ok(Decoded::Frame(frame))) = b.next().await else { panic!() };
//! assert_eq!(frame, Frame::request(1, &b"\x0a\x03svc"[..]));
//! # Ok(())
//! # }
//! ```
#![doc(test(attr(deny(warnings, rust_2018_idioms), allow(dead_code, unused_variables))))]

mod bytestr;
mod codec;
mod envelope;
mod frame;
mod generated;
mod metadata;
mod status;

pub use crate::bytestr::{ByteStr, IntoByteStr};
pub use crate::codec::{Builder, DEFAULT_MAX_MESSAGE_SIZE, Decoded, EncodeError, FrameCodec};
pub use crate::envelope::{EnvelopeError, RequestRef, RequestView, ResponseRef};
pub use crate::frame::{Flags, Frame, HEADER_LEN, Header, MessageType};
pub use crate::metadata::{METADATA_ENTRY_SIZE, Metadata};
pub use crate::status::{Code, Status};

/// The protocol's own protobuf messages, generated from `proto/` by
/// `cargo xtask codegen`.
pub mod proto {
    pub use crate::generated::google::rpc::Status;
    pub use crate::generated::ttrpc::{KeyValue, Request, Response, StringList};
}

pub use prost;
pub use prost_types;
