//! The pieces both connection targets build their frame sequences from:
//! frame types, flags, stream ids and payloads, as `arbitrary` values that
//! turn into bytes.

use arbitrary::Arbitrary;
use wren_transport::codec::{Flags, MessageType};

/// A frame type: mostly the three real ones, sometimes any byte.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub(crate) enum KindChoice {
    /// Type 1.
    Request,
    /// Type 2.
    Response,
    /// Type 3.
    Data,
    /// Any type byte, known or not.
    Other(u8),
}

impl KindChoice {
    /// The type byte.
    pub(crate) fn kind(self) -> MessageType {
        match self {
            KindChoice::Request => MessageType::REQUEST,
            KindChoice::Response => MessageType::RESPONSE,
            KindChoice::Data => MessageType::DATA,
            KindChoice::Other(b) => MessageType::from_u8(b),
        }
    }
}

/// A flags byte: mostly meaningful combinations, sometimes any byte.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub(crate) enum FlagChoice {
    /// 0.
    None,
    /// Remote closed.
    Close,
    /// Remote open.
    Open,
    /// Remote closed and no data: the close marker.
    CloseNoData,
    /// No data without remote closed.
    NoData,
    /// Any bits.
    Bits(u8),
}

impl FlagChoice {
    /// The flags byte.
    pub(crate) fn flags(self) -> Flags {
        match self {
            FlagChoice::None => Flags::EMPTY,
            FlagChoice::Close => Flags::REMOTE_CLOSED,
            FlagChoice::Open => Flags::REMOTE_OPEN,
            FlagChoice::CloseNoData => Flags::REMOTE_CLOSED | Flags::NO_DATA,
            FlagChoice::NoData => Flags::NO_DATA,
            FlagChoice::Bits(b) => Flags::from_bits(b),
        }
    }
}

/// How the byte stream ends.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub(crate) enum Ending {
    /// At a frame boundary.
    Clean,
    /// In the middle of a header (`n % 9 + 1` header bytes).
    MidHeader(u8),
    /// After a header announcing `n + 1` bytes, with none of them sent.
    MidBody(u8),
}

impl Ending {
    /// The bytes that end the stream (after the last frame).
    pub(crate) fn bytes(self, stream_id: u32) -> Vec<u8> {
        let header = |length: u32| {
            crate::peer::header_bytes(length, stream_id, MessageType::DATA, Flags::EMPTY)
        };
        match self {
            Ending::Clean => Vec::new(),
            Ending::MidHeader(n) => header(0)[..usize::from(n % 9) + 1].to_vec(),
            Ending::MidBody(n) => header(u32::from(n) + 1).to_vec(),
        }
    }
}

/// One write of a script: bytes, then a pause (in virtual milliseconds) that
/// lets the other side run.
#[derive(Debug, Default)]
pub(crate) struct Write {
    /// The bytes written.
    pub(crate) bytes: Vec<u8>,
    /// Virtual milliseconds to wait afterwards.
    pub(crate) pause_ms: u64,
}

/// Header plus payload of one frame.
pub(crate) fn frame_bytes(
    stream_id: u32,
    kind: MessageType,
    flags: Flags,
    payload: &[u8],
) -> Vec<u8> {
    let length = u32::try_from(payload.len()).expect("script payloads are small");
    let mut out = crate::peer::header_bytes(length, stream_id, kind, flags).to_vec();
    out.extend_from_slice(payload);
    out
}
