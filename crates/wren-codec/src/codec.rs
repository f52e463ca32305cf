//! [`FrameCodec`]: a `tokio_util::codec` decoder and encoder for ttrpc frames.

use std::{fmt, io};

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::frame::{Frame, HEADER_LEN, Header};

/// The default largest payload, in bytes, of one frame: 4 MiB, Go ttrpc's
/// fixed limit. A frame of exactly this length is accepted.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 << 20;

/// An item produced by [`FrameCodec`]'s decoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A complete frame.
    Frame(Frame),
    /// A frame whose payload was over the limit. Its payload was skipped as it
    /// arrived, never buffered; the connection is still in step. Go answers
    /// such a Request with `RESOURCE_EXHAUSTED` on `header.stream_id`.
    Oversize(Header),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Head,
    Payload(Header),
    Discard { header: Header, left: usize },
}

/// Splits a byte stream into ttrpc frames and writes frames back out.
///
/// Use it with `tokio_util::codec::Framed` or on its own. Decoding never
/// buffers more than the configured maximum: an oversize frame's payload is
/// dropped as it streams in and reported as [`Decoded::Oversize`].
///
/// ```
/// use bytes::BytesMut;
/// use tokio_util::codec::{Decoder, Encoder};
/// use wren_codec::{Decoded, Frame, FrameCodec};
///
/// let mut codec = FrameCodec::new();
/// let mut buf = BytesMut::new();
/// codec.encode(Frame::response(1, &b"\x12\x01a"[..]), &mut buf).unwrap();
/// assert_eq!(&buf[..], b"\x00\x00\x00\x03\x00\x00\x00\x01\x02\x00\x12\x01a");
/// let Some(Decoded::Frame(frame)) = codec.decode(&mut buf).unwrap() else { panic!() };
/// assert_eq!(frame.stream_id, 1);
/// ```
#[derive(Clone, Debug)]
pub struct FrameCodec {
    max_message_size: usize,
    state: State,
}

/// Settings for a [`FrameCodec`].
#[derive(Clone, Copy, Debug)]
pub struct Builder {
    max_message_size: usize,
}

/// An error from [`FrameCodec`]'s encoder.
#[derive(Debug)]
pub enum EncodeError {
    /// The payload is over the codec's maximum; nothing was written.
    Oversize {
        /// The payload's length.
        length: usize,
        /// The codec's maximum.
        max: usize,
    },
    /// The underlying I/O failed.
    Io(io::Error),
}

// ===== impl FrameCodec =====

impl FrameCodec {
    /// A codec with the default limit ([`DEFAULT_MAX_MESSAGE_SIZE`]).
    pub fn new() -> FrameCodec {
        Builder::new().new_codec()
    }

    /// Settings for a codec.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The largest payload this codec accepts, in bytes.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Changes the limit. A frame already being decoded keeps the decision
    /// made when its header was read.
    pub fn set_max_message_size(&mut self, max: usize) {
        self.max_message_size = max;
    }

    /// Whether the decoder is between frames.
    pub fn is_idle(&self) -> bool {
        self.state == State::Head
    }

    /// Whether the decoder is skipping an oversize payload.
    pub fn is_discarding(&self) -> bool {
        matches!(self.state, State::Discard { .. })
    }

    /// How many more bytes the frame being decoded needs, if one is started.
    pub fn bytes_wanted(&self, buffered: usize) -> usize {
        match self.state {
            State::Head => HEADER_LEN.saturating_sub(buffered),
            State::Payload(h) => (h.length as usize).saturating_sub(buffered),
            State::Discard { left, .. } => left.saturating_sub(buffered),
        }
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new()
    }
}

impl Decoder for FrameCodec {
    type Item = Decoded;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Decoded>> {
        loop {
            match self.state {
                State::Head => {
                    if src.len() < HEADER_LEN {
                        return Ok(None);
                    }
                    let header = Header::parse(&src[..HEADER_LEN]);
                    src.advance(HEADER_LEN);
                    let length = header.length as usize;
                    if length > self.max_message_size {
                        self.state = State::Discard {
                            header,
                            left: length,
                        };
                    } else {
                        src.reserve(length.saturating_sub(src.len()));
                        self.state = State::Payload(header);
                    }
                }
                State::Payload(header) => {
                    let length = header.length as usize;
                    if src.len() < length {
                        return Ok(None);
                    }
                    self.state = State::Head;
                    let payload = src.split_to(length).freeze();
                    return Ok(Some(Decoded::Frame(Frame {
                        stream_id: header.stream_id,
                        kind: header.kind,
                        flags: header.flags,
                        payload,
                    })));
                }
                State::Discard { header, left } => {
                    let n = left.min(src.len());
                    src.advance(n);
                    if n < left {
                        self.state = State::Discard {
                            header,
                            left: left - n,
                        };
                        return Ok(None);
                    }
                    self.state = State::Head;
                    return Ok(Some(Decoded::Oversize(header)));
                }
            }
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> io::Result<Option<Decoded>> {
        match self.decode(buf)? {
            Some(item) => Ok(Some(item)),
            None if buf.is_empty() && self.is_idle() => Ok(None),
            None => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed in the middle of a frame",
            )),
        }
    }
}

impl Encoder<Frame> for FrameCodec {
    type Error = EncodeError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let length = frame.payload.len();
        if length > self.max_message_size || length > u32::MAX as usize {
            return Err(EncodeError::Oversize {
                length,
                max: self.max_message_size,
            });
        }
        dst.reserve(HEADER_LEN + length);
        frame.header().encode(dst);
        dst.put_slice(&frame.payload);
        Ok(())
    }
}

// ===== impl Builder =====

impl Builder {
    /// Default settings.
    pub fn new() -> Builder {
        Builder {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }

    /// The largest payload accepted, in bytes (inclusive). Default: 4 MiB,
    /// as Go ttrpc. A peer with the default limit rejects larger messages, so
    /// raise it on both sides together.
    ///
    /// ```
    /// let codec = wren_codec::FrameCodec::builder().max_message_size(16 << 20).new_codec();
    /// assert_eq!(codec.max_message_size(), 16 << 20);
    /// ```
    pub fn max_message_size(&mut self, max: usize) -> &mut Builder {
        self.max_message_size = max;
        self
    }

    /// A codec with these settings.
    pub fn new_codec(&self) -> FrameCodec {
        FrameCodec {
            max_message_size: self.max_message_size,
            state: State::Head,
        }
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

// ===== impl EncodeError =====

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::Oversize { length, max } => write!(
                f,
                "message length {length} exceed maximum message size of {max}"
            ),
            EncodeError::Io(e) => write!(f, "write failed: {e}"),
        }
    }
}

impl std::error::Error for EncodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EncodeError::Io(e) => Some(e),
            EncodeError::Oversize { .. } => None,
        }
    }
}

impl From<io::Error> for EncodeError {
    fn from(e: io::Error) -> Self {
        EncodeError::Io(e)
    }
}
