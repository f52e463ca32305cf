//! Encoding the `ttrpc.Request` and `ttrpc.Response` envelopes straight from
//! borrowed parts, so a call's payload is copied once, into the frame.
//!
//! The output is byte-identical to encoding the prost types in
//! [`crate::proto`] (tested), which is what Go sends: fields in number order,
//! proto3 defaults left out, and no `status` on success.

use std::fmt;

use bytes::{Buf, BufMut, Bytes};
use prost::encoding::{
    DecodeContext, WireType, decode_key, decode_varint, encode_key, encode_varint,
    encoded_len_varint, key_len, skip_field,
};
use prost::{DecodeError, Message};

use crate::{ByteStr, Metadata, Status};

fn bytes_field_len(tag: u32, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(len as u64) + len
    }
}

fn put_bytes_field(tag: u32, value: &[u8], buf: &mut impl BufMut) {
    if !value.is_empty() {
        encode_key(tag, WireType::LengthDelimited, buf);
        encode_varint(value.len() as u64, buf);
        buf.put_slice(value);
    }
}

fn key_value_len(key: &str, value: &str) -> usize {
    bytes_field_len(1, key.len()) + bytes_field_len(2, value.len())
}

/// A `ttrpc.Request` made of borrowed parts.
#[derive(Clone, Copy, Debug)]
pub struct RequestRef<'a> {
    /// Full service name, such as `containerd.task.v2.Task`.
    pub service: &'a str,
    /// Method name, such as `Create`.
    pub method: &'a str,
    /// The serialized request message.
    pub payload: &'a [u8],
    /// Relative timeout in nanoseconds; 0 for none.
    pub timeout_nano: i64,
    /// The metadata.
    pub metadata: &'a Metadata,
}

impl RequestRef<'_> {
    /// The encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        let mut len = bytes_field_len(1, self.service.len())
            + bytes_field_len(2, self.method.len())
            + bytes_field_len(3, self.payload.len());
        if self.timeout_nano != 0 {
            len += key_len(4) + encoded_len_varint(self.timeout_nano as u64);
        }
        for (k, v) in self.metadata.iter() {
            let inner = key_value_len(k, v);
            len += key_len(5) + encoded_len_varint(inner as u64) + inner;
        }
        len
    }

    /// Writes the encoding; `buf` must have room for [`Self::encoded_len`] bytes.
    pub fn encode(&self, buf: &mut impl BufMut) {
        self.encode_head(buf);
        buf.put_slice(self.payload);
        self.encode_tail(buf);
    }

    /// Writes the encoding up to the payload's bytes (service, method, and
    /// the payload's key and length). With the payload's bytes and then
    /// [`Self::encode_tail`] it makes [`Self::encode`]: a sender can hand
    /// a large payload to a vectored write instead of copying it.
    pub fn encode_head(&self, buf: &mut impl BufMut) {
        put_bytes_field(1, self.service.as_bytes(), buf);
        put_bytes_field(2, self.method.as_bytes(), buf);
        if !self.payload.is_empty() {
            encode_key(3, WireType::LengthDelimited, buf);
            encode_varint(self.payload.len() as u64, buf);
        }
    }

    /// Writes the encoding after the payload's bytes (timeout, metadata).
    pub fn encode_tail(&self, buf: &mut impl BufMut) {
        if self.timeout_nano != 0 {
            encode_key(4, WireType::Varint, buf);
            encode_varint(self.timeout_nano as u64, buf);
        }
        for (k, v) in self.metadata.iter() {
            encode_key(5, WireType::LengthDelimited, buf);
            encode_varint(key_value_len(k, v) as u64, buf);
            put_bytes_field(1, k.as_bytes(), buf);
            put_bytes_field(2, v.as_bytes(), buf);
        }
    }
}

/// A `ttrpc.Response` made of borrowed parts.
#[derive(Clone, Copy, Debug)]
pub struct ResponseRef<'a> {
    /// The error, or `None` on success (the field is then left out, as Go does).
    pub status: Option<&'a Status>,
    /// The serialized response message.
    pub payload: &'a [u8],
}

impl ResponseRef<'_> {
    /// The encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        let status = self.status.map_or(0, |s| {
            let len = s.to_proto().encoded_len();
            key_len(1) + encoded_len_varint(len as u64) + len
        });
        status + bytes_field_len(2, self.payload.len())
    }

    /// Writes the encoding; `buf` must have room for [`Self::encoded_len`] bytes.
    pub fn encode(&self, buf: &mut impl BufMut) {
        self.encode_head(buf);
        buf.put_slice(self.payload);
    }

    /// Writes the encoding up to the payload's bytes: the status, if any,
    /// and the payload's key and length. The payload's bytes follow.
    pub fn encode_head(&self, buf: &mut impl BufMut) {
        if let Some(status) = self.status {
            let proto = status.to_proto();
            encode_key(1, WireType::LengthDelimited, buf);
            encode_varint(proto.encoded_len() as u64, buf);
            proto.encode_raw(buf);
        }
        if !self.payload.is_empty() {
            encode_key(2, WireType::LengthDelimited, buf);
            encode_varint(self.payload.len() as u64, buf);
        }
    }
}

/// A `ttrpc.Request` decoded without copying: its names, payload and
/// metadata point into the frame's buffer.
///
/// Decoding checks what [`proto::Request`](crate::proto::Request) checks
/// (valid protobuf, UTF-8 strings) and accepts what it accepts (fields in
/// any order, repeated scalars where the last wins, unknown fields skipped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestView {
    /// Full service name, such as `containerd.task.v2.Task`.
    pub service: ByteStr,
    /// Method name, such as `Create`.
    pub method: ByteStr,
    /// The serialized request message.
    pub payload: Bytes,
    /// Relative timeout in nanoseconds; 0 for none, negative for already
    /// passed.
    pub timeout_nano: i64,
    /// The metadata, keys lowercased.
    pub metadata: Metadata,
}

/// Why a request envelope was not decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The bytes are not a `ttrpc.Request`.
    Malformed(String),
    /// It carries more metadata entries than the caller allowed; nothing
    /// was allocated for them.
    TooMuchMetadata {
        /// Entries in the request.
        entries: usize,
        /// The most allowed.
        max: usize,
    },
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvelopeError::Malformed(why) => write!(f, "malformed ttrpc.Request: {why}"),
            EnvelopeError::TooMuchMetadata { entries, max } => write!(
                f,
                "request carries {entries} metadata entries, more than the {max} allowed"
            ),
        }
    }
}

impl std::error::Error for EnvelopeError {}

impl From<DecodeError> for EnvelopeError {
    fn from(e: DecodeError) -> EnvelopeError {
        EnvelopeError::Malformed(e.to_string())
    }
}

fn malformed(why: &str) -> EnvelopeError {
    EnvelopeError::Malformed(why.to_owned())
}

/// Reads a length-delimited field's bytes, sharing `buf`.
fn take_len_delimited(buf: &mut Bytes) -> Result<Bytes, EnvelopeError> {
    let len = decode_varint(buf)?;
    if len > buf.remaining() as u64 {
        return Err(malformed("buffer underflow"));
    }
    Ok(buf.split_to(len as usize))
}

fn take_string(buf: &mut Bytes, field: &str) -> Result<ByteStr, EnvelopeError> {
    let bytes = take_len_delimited(buf)?;
    ByteStr::from_utf8(bytes).map_err(|_| {
        EnvelopeError::Malformed(format!(
            "{field}: invalid string value: data is not UTF-8 encoded"
        ))
    })
}

fn expect_wire_type(
    actual: WireType,
    expected: WireType,
    field: &str,
) -> Result<(), EnvelopeError> {
    if actual == expected {
        Ok(())
    } else {
        Err(EnvelopeError::Malformed(format!(
            "{field}: invalid wire type: {actual:?} (expected {expected:?})"
        )))
    }
}

/// Counts the metadata entries (field 5) after the one `buf` starts with,
/// checking only the framing of the fields.
fn count_more_metadata(buf: &Bytes) -> Result<usize, EnvelopeError> {
    let mut rest: &[u8] = buf;
    // Skip the entry being decoded.
    skip_field(
        WireType::LengthDelimited,
        5,
        &mut rest,
        DecodeContext::default(),
    )?;
    let mut entries = 0;
    while rest.has_remaining() {
        let (tag, wire_type) = decode_key(&mut rest)?;
        if tag == 5 && wire_type == WireType::LengthDelimited {
            entries += 1;
        }
        skip_field(wire_type, tag, &mut rest, DecodeContext::default())?;
    }
    Ok(entries)
}

impl RequestView {
    /// Decodes an encoded `ttrpc.Request`. A request with more than
    /// `max_metadata` metadata entries is refused
    /// ([`EnvelopeError::TooMuchMetadata`]) with no more than room for
    /// `max_metadata` allocated: each entry costs
    /// [`METADATA_ENTRY_SIZE`](crate::METADATA_ENTRY_SIZE) bytes once
    /// decoded, where it took as few as two on the wire. A request without
    /// metadata is read in one pass.
    pub fn decode(buf: Bytes, max_metadata: usize) -> Result<RequestView, EnvelopeError> {
        let mut view = RequestView::default();
        let mut buf = buf;
        while buf.has_remaining() {
            let (tag, wire_type) = decode_key(&mut buf)?;
            match tag {
                1 => {
                    expect_wire_type(wire_type, WireType::LengthDelimited, "Request.service")?;
                    view.service = take_string(&mut buf, "Request.service")?;
                }
                2 => {
                    expect_wire_type(wire_type, WireType::LengthDelimited, "Request.method")?;
                    view.method = take_string(&mut buf, "Request.method")?;
                }
                3 => {
                    expect_wire_type(wire_type, WireType::LengthDelimited, "Request.payload")?;
                    view.payload = take_len_delimited(&mut buf)?;
                }
                4 => {
                    expect_wire_type(wire_type, WireType::Varint, "Request.timeout_nano")?;
                    view.timeout_nano = decode_varint(&mut buf)? as i64;
                }
                5 => {
                    expect_wire_type(wire_type, WireType::LengthDelimited, "Request.metadata")?;
                    if view.metadata.len() == max_metadata {
                        return Err(EnvelopeError::TooMuchMetadata {
                            entries: max_metadata + 1 + count_more_metadata(&buf)?,
                            max: max_metadata,
                        });
                    }
                    if view.metadata.is_empty() {
                        // One allocation for every entry, bounded by the limit.
                        view.metadata = Metadata::with_capacity(
                            count_more_metadata(&buf)?
                                .saturating_add(1)
                                .min(max_metadata),
                        );
                    }
                    let mut entry = take_len_delimited(&mut buf)?;
                    let (mut key, mut value) = (ByteStr::new(), ByteStr::new());
                    while entry.has_remaining() {
                        let (tag, wire_type) = decode_key(&mut entry)?;
                        match tag {
                            1 => {
                                expect_wire_type(
                                    wire_type,
                                    WireType::LengthDelimited,
                                    "KeyValue.key",
                                )?;
                                key = take_string(&mut entry, "KeyValue.key")?;
                            }
                            2 => {
                                expect_wire_type(
                                    wire_type,
                                    WireType::LengthDelimited,
                                    "KeyValue.value",
                                )?;
                                value = take_string(&mut entry, "KeyValue.value")?;
                            }
                            _ => skip_field(wire_type, tag, &mut entry, DecodeContext::default())?,
                        }
                    }
                    view.metadata.append(key, value);
                }
                _ => skip_field(wire_type, tag, &mut buf, DecodeContext::default())?,
            }
        }
        Ok(view)
    }
}
