//! Frames: a header and its payload.

mod header;

use bytes::Bytes;

pub use self::header::{Flags, HEADER_LEN, Header, MessageType};

/// One ttrpc frame: the header's fields and the payload bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The stream the frame belongs to.
    pub stream_id: u32,
    /// The message type.
    pub kind: MessageType,
    /// The flags.
    pub flags: Flags,
    /// The payload: an envelope for Request and Response, message bytes for Data.
    pub payload: Bytes,
}

impl Frame {
    /// A frame with the given parts.
    pub fn new(
        stream_id: u32,
        kind: MessageType,
        flags: Flags,
        payload: impl Into<Bytes>,
    ) -> Frame {
        Frame {
            stream_id,
            kind,
            flags,
            payload: payload.into(),
        }
    }

    /// A Request frame with no flags (a unary call).
    pub fn request(stream_id: u32, payload: impl Into<Bytes>) -> Frame {
        Frame::new(stream_id, MessageType::REQUEST, Flags::EMPTY, payload)
    }

    /// A Response frame.
    pub fn response(stream_id: u32, payload: impl Into<Bytes>) -> Frame {
        Frame::new(stream_id, MessageType::RESPONSE, Flags::EMPTY, payload)
    }

    /// A Data frame.
    pub fn data(stream_id: u32, flags: Flags, payload: impl Into<Bytes>) -> Frame {
        Frame::new(stream_id, MessageType::DATA, flags, payload)
    }

    /// The header this frame is sent with.
    ///
    /// # Panics
    ///
    /// If the payload is longer than `u32::MAX` bytes.
    pub fn header(&self) -> Header {
        Header {
            length: u32::try_from(self.payload.len()).expect("payload length fits in u32"),
            stream_id: self.stream_id,
            kind: self.kind,
            flags: self.flags,
        }
    }
}
