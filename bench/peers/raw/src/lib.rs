//! The raw floor's framing: ttrpc's 10-byte header (payload length and
//! stream id, big-endian u32s, then a type byte and a flags byte) and an
//! opaque payload, no protobuf, read and written with blocking std sockets.
//!
//! - A request (type 1) is echoed back as a response (type 2) with the same
//!   stream id and payload.
//! - A request flagged [`FLOOD`] carries two big-endian u64s, `count` and
//!   `size`: the server answers with `count` data frames (type 3) of `size`
//!   bytes, the last one flagged [`CLOSED`].

use std::io::{self, Read, Write};
use std::ops::Range;

/// The header's length in bytes.
pub const HEADER_LEN: usize = 10;
/// Frame types, as ttrpc numbers them.
pub const REQUEST: u8 = 1;
/// A reply to a request.
pub const RESPONSE: u8 = 2;
/// A streamed message.
pub const DATA: u8 = 3;
/// On a request: answer with a stream (see the module docs).
pub const FLOOD: u8 = 0x80;
/// On a data frame: the last one of its stream.
pub const CLOSED: u8 = 0x01;

/// A frame's header.
#[derive(Clone, Copy, Debug)]
pub struct Header {
    /// Payload length in bytes.
    pub len: u32,
    /// The stream id.
    pub stream: u32,
    /// The frame type.
    pub kind: u8,
    /// The flags.
    pub flags: u8,
}

/// Appends a frame to `out`.
pub fn put_frame(out: &mut Vec<u8>, stream: u32, kind: u8, flags: u8, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&stream.to_be_bytes());
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(payload);
}

/// Complete frames out of a byte stream, read into one growing buffer.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl FrameReader {
    /// An empty reader with a 4 KiB buffer; [`FrameReader::fill`] doubles
    /// it, up to 64 KiB, whenever a read fills it, and grows it to any
    /// frame's length.
    pub fn new() -> FrameReader {
        FrameReader {
            buf: vec![0; 4 << 10],
            start: 0,
            end: 0,
        }
    }

    /// The next complete frame already read: its header and where its
    /// payload is (see [`FrameReader::payload`]).
    pub fn next_frame(&mut self) -> Option<(Header, Range<usize>)> {
        let have = &self.buf[self.start..self.end];
        if have.len() < HEADER_LEN {
            return None;
        }
        let len = u32::from_be_bytes(have[0..4].try_into().unwrap());
        let header = Header {
            len,
            stream: u32::from_be_bytes(have[4..8].try_into().unwrap()),
            kind: have[8],
            flags: have[9],
        };
        let total = HEADER_LEN + len as usize;
        if have.len() < total {
            return None;
        }
        let payload = self.start + HEADER_LEN..self.start + total;
        self.start += total;
        Some((header, payload))
    }

    /// The bytes at `range`, as [`FrameReader::next_frame`] gave it; valid
    /// until the next [`FrameReader::fill`].
    pub fn payload(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// Reads more bytes (one `read`), first making room for the frame in
    /// progress. `Ok(0)` is EOF.
    pub fn fill(&mut self, from: &mut impl Read) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        // Room for the whole frame in progress, if its header is in.
        if self.end >= HEADER_LEN {
            let len = u32::from_be_bytes(self.buf[0..4].try_into().unwrap()) as usize;
            if HEADER_LEN + len > self.buf.len() {
                self.buf.resize(HEADER_LEN + len, 0);
            }
        }
        let room = self.buf.len() - self.end;
        let n = from.read(&mut self.buf[self.end..])?;
        self.end += n;
        if n == room && self.buf.len() < 64 << 10 {
            let len = self.buf.len() * 2;
            self.buf.resize(len, 0);
        }
        Ok(n)
    }
}

/// Writes `out` and clears it.
pub fn flush(to: &mut impl Write, out: &mut Vec<u8>) -> io::Result<()> {
    if !out.is_empty() {
        to.write_all(out)?;
        out.clear();
    }
    Ok(())
}
