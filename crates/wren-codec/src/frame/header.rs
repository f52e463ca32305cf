//! The 10-byte frame header and the values of its type and flags fields.

use std::fmt;

use bytes::BufMut;

/// Length of the frame header in bytes.
pub const HEADER_LEN: usize = 10;

/// The type byte of a frame.
///
/// An open set: values wren does not know round-trip unchanged, so a peer's
/// future message types can be recognised and ignored (as Go does).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType(u8);

impl MessageType {
    /// Opens a stream; the payload is a `ttrpc.Request`. Sent by clients.
    pub const REQUEST: MessageType = MessageType(1);
    /// Ends a stream; the payload is a `ttrpc.Response`. Sent by servers.
    pub const RESPONSE: MessageType = MessageType(2);
    /// One message on an open stream (ttrpc 1.2 streaming); bare message bytes.
    pub const DATA: MessageType = MessageType(3);

    /// The type with this wire value.
    pub const fn from_u8(value: u8) -> MessageType {
        MessageType(value)
    }

    /// The wire value.
    pub const fn as_u8(self) -> u8 {
        self.0
    }

    /// Whether this is one of the three types the protocol defines.
    pub const fn is_known(self) -> bool {
        matches!(self.0, 1..=3)
    }
}

impl fmt::Debug for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            MessageType::REQUEST => f.write_str("REQUEST"),
            MessageType::RESPONSE => f.write_str("RESPONSE"),
            MessageType::DATA => f.write_str("DATA"),
            MessageType(other) => write!(f, "MessageType({other:#04x})"),
        }
    }
}

/// The flags byte of a frame. Which bits mean something depends on the type.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// No flag set.
    pub const EMPTY: Flags = Flags(0);
    /// The sender will send nothing more on this stream.
    pub const REMOTE_CLOSED: Flags = Flags(0x01);
    /// On a Request: the client will send Data frames.
    pub const REMOTE_OPEN: Flags = Flags(0x02);
    /// On a Data frame: the frame carries no message (a pure close marker).
    pub const NO_DATA: Flags = Flags(0x04);

    /// Flags from their wire value; unknown bits are kept.
    pub const fn from_bits(bits: u8) -> Flags {
        Flags(bits)
    }

    /// The wire value.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every bit of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Flags::REMOTE_CLOSED, "REMOTE_CLOSED"),
            (Flags::REMOTE_OPEN, "REMOTE_OPEN"),
            (Flags::NO_DATA, "NO_DATA"),
        ];
        let mut first = true;
        let mut rest = self.0;
        for (flag, name) in names {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 || first {
            if !first {
                f.write_str(" | ")?;
            }
            write!(f, "{rest:#04x}")?;
        }
        Ok(())
    }
}

/// A decoded frame header.
///
/// ```text
/// 0               4               8       9       10
/// +---------------+---------------+-------+-------+------------------
/// | length (BE)   | stream id (BE)| type  | flags | length bytes ...
/// +---------------+---------------+-------+-------+------------------
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Number of payload bytes after the header.
    pub length: u32,
    /// The stream the frame belongs to: odd for client-started streams.
    pub stream_id: u32,
    /// The message type.
    pub kind: MessageType,
    /// The flags.
    pub flags: Flags,
}

impl Header {
    /// Parses the first [`HEADER_LEN`] bytes of `src`.
    ///
    /// # Panics
    ///
    /// If `src` is shorter than [`HEADER_LEN`].
    pub fn parse(src: &[u8]) -> Header {
        Header {
            length: u32::from_be_bytes([src[0], src[1], src[2], src[3]]),
            stream_id: u32::from_be_bytes([src[4], src[5], src[6], src[7]]),
            kind: MessageType(src[8]),
            flags: Flags(src[9]),
        }
    }

    /// Writes the 10 header bytes.
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_u32(self.length);
        dst.put_u32(self.stream_id);
        dst.put_u8(self.kind.0);
        dst.put_u8(self.flags.0);
    }
}
