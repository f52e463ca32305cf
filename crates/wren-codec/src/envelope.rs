//! Encoding the `ttrpc.Request` and `ttrpc.Response` envelopes straight from
//! borrowed parts, so a call's payload is copied once, into the frame.
//!
//! The output is byte-identical to encoding the prost types in
//! [`crate::proto`] (tested), which is what Go sends: fields in number order,
//! proto3 defaults left out, and no `status` on success.

use bytes::BufMut;
use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use crate::{Metadata, Status};

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
        put_bytes_field(1, self.service.as_bytes(), buf);
        put_bytes_field(2, self.method.as_bytes(), buf);
        put_bytes_field(3, self.payload, buf);
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
        if let Some(status) = self.status {
            let proto = status.to_proto();
            encode_key(1, WireType::LengthDelimited, buf);
            encode_varint(proto.encoded_len() as u64, buf);
            proto.encode_raw(buf);
        }
        put_bytes_field(2, self.payload, buf);
    }
}
