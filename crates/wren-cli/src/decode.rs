//! `wren decode`: a capture of ttrpc bytes, frame by frame.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Read;
use std::time::Duration;

use bytes::BytesMut;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor};
use tokio_util::codec::Decoder;
use wren_codec::{
    Decoded, Flags, Frame, FrameCodec, HEADER_LEN, Header, MessageType, Status, proto,
};

use crate::args::{DecodeArgs, Format};
use crate::call::{find_method, split_method};
use crate::error::{Failure, Result};
use crate::report::detail_text;
use crate::source;

/// Payloads longer than this print as their first bytes only.
const HEX_SHOWN: usize = 1024;

pub(crate) fn run(args: DecodeArgs) -> Result<()> {
    let raw = read_input(args.input.as_deref())?;
    let bytes = match args.format {
        Format::Binary => raw,
        Format::Hex => from_hex(&raw)?,
        Format::Auto if looks_like_hex(&raw) => from_hex(&raw)?,
        Format::Auto => raw,
    };
    let pool = source::from_files(&args.sources)?;
    let hint = match (&args.method, &pool) {
        (Some(full), Some(pool)) => {
            let (service, method) = split_method(full)?;
            Some(find_method(pool, &service, &method)?)
        }
        (Some(_), None) => {
            return Err(Failure::usage(
                "--method needs the types: give --proto or --descriptor-set",
            ));
        }
        (None, _) => None,
    };
    let mut decoder = CaptureDecoder {
        pool: pool.as_ref(),
        hint,
        streams: HashMap::new(),
    };
    let (text, trouble) = decoder.decode_all(&bytes, args.max_message_size);
    print!("{text}");
    match trouble {
        None => Ok(()),
        Some(why) => Err(Failure::usage(why)),
    }
}

fn read_input(path: Option<&std::path::Path>) -> Result<Vec<u8>> {
    let mut raw = Vec::new();
    match path {
        Some(path) if path.as_os_str() != "-" => {
            raw = std::fs::read(path)
                .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
        }
        _ => {
            std::io::stdin()
                .lock()
                .read_to_end(&mut raw)
                .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        }
    }
    Ok(raw)
}

fn looks_like_hex(raw: &[u8]) -> bool {
    raw.iter().any(u8::is_ascii_hexdigit)
        && raw
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace())
}

fn from_hex(raw: &[u8]) -> Result<Vec<u8>> {
    let digits: Vec<u8> = raw
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    hex::decode(&digits).map_err(|e| Failure::usage(format!("the capture is not valid hex: {e}")))
}

struct CaptureDecoder<'a> {
    pool: Option<&'a DescriptorPool>,
    hint: Option<MethodDescriptor>,
    /// Methods of the streams whose Request frame is in the capture: their
    /// "service/method" and, where known, the descriptor.
    streams: HashMap<u32, (String, Option<MethodDescriptor>)>,
}

impl CaptureDecoder<'_> {
    /// Every frame as text, and what was wrong with the capture, if
    /// anything (the frames before it are still printed).
    fn decode_all(&mut self, bytes: &[u8], max: usize) -> (String, Option<String>) {
        let mut codec = FrameCodec::builder().max_message_size(max).new_codec();
        let mut buf = BytesMut::from(bytes);
        let mut out = String::new();
        let mut offset = 0usize;
        let mut count = 0usize;
        loop {
            let before = buf.len();
            let item = match codec.decode(&mut buf) {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => {
                    return (out, Some(format!("byte {offset}: {e}")));
                }
            };
            count += 1;
            match item {
                Decoded::Frame(frame) => self.frame(&mut out, count, offset, &frame),
                Decoded::Oversize(header) => {
                    header_line(&mut out, count, offset, &header);
                    let _ = writeln!(
                        out,
                        "  payload:  over the {max}-byte limit (--max-message-size), skipped"
                    );
                }
            }
            offset += before - buf.len();
        }
        let trouble = if buf.is_empty() {
            if count == 0 {
                Some("the capture holds no frame".to_owned())
            } else {
                None
            }
        } else {
            // The codec may have taken the header already: read it again
            // from where the frame starts.
            let rest = &bytes[offset..];
            Some(if rest.len() < HEADER_LEN {
                format!(
                    "byte {offset}: {} trailing bytes, less than a 10-byte header",
                    rest.len()
                )
            } else {
                let h = Header::parse(&rest[..HEADER_LEN]);
                format!(
                    "byte {offset}: an incomplete frame: stream {}, {} ({} of its {} payload bytes captured)",
                    h.stream_id,
                    type_name(h.kind),
                    rest.len() - HEADER_LEN,
                    h.length
                )
            })
        };
        let _ = writeln!(out, "{count} frame{}", if count == 1 { "" } else { "s" });
        (out, trouble)
    }

    fn frame(&mut self, out: &mut String, n: usize, offset: usize, frame: &Frame) {
        header_line(out, n, offset, &frame.header());
        let id = frame.stream_id;
        if frame.kind == MessageType::REQUEST {
            let envelope = match proto::Request::decode(frame.payload.clone()) {
                Ok(envelope) => envelope,
                Err(e) => {
                    let _ = writeln!(out, "  envelope: not a ttrpc.Request: {e}");
                    return hex_line(out, "payload", &frame.payload);
                }
            };
            let _ = writeln!(out, "  service:  {}", envelope.service);
            let _ = writeln!(out, "  method:   {}", envelope.method);
            if envelope.timeout_nano != 0 {
                let timeout = Duration::from_nanos(envelope.timeout_nano.unsigned_abs());
                let sign = if envelope.timeout_nano < 0 { "-" } else { "" };
                let _ = writeln!(
                    out,
                    "  timeout:  {sign}{} ({} ns)",
                    humantime::format_duration(timeout),
                    envelope.timeout_nano
                );
            }
            for kv in &envelope.metadata {
                let _ = writeln!(out, "  metadata: {}={}", kv.key, kv.value);
            }
            let method = self.pool.and_then(|pool| {
                let svc = pool.get_service_by_name(&envelope.service)?;
                svc.methods().find(|m| m.name() == envelope.method)
            });
            let input = method.as_ref().map(MethodDescriptor::input);
            self.streams.insert(
                id,
                (format!("{}/{}", envelope.service, envelope.method), method),
            );
            // A streaming call's Request may say it carries no message.
            if frame.flags.contains(Flags::NO_DATA) && envelope.payload.is_empty() {
                let _ = writeln!(out, "  payload:  none (NO_DATA)");
            } else {
                self.payload(out, &envelope.payload, input.as_ref());
            }
        } else if frame.kind == MessageType::RESPONSE {
            let envelope = match proto::Response::decode(frame.payload.clone()) {
                Ok(envelope) => envelope,
                Err(e) => {
                    let _ = writeln!(out, "  envelope: not a ttrpc.Response: {e}");
                    return hex_line(out, "payload", &frame.payload);
                }
            };
            self.call_line(out, id);
            match envelope.status {
                Some(status) if status.code != 0 => {
                    let status = Status::from_proto(status);
                    let _ = writeln!(
                        out,
                        "  status:   {} (code {}): {}",
                        status.code().description(),
                        status.code().as_i32(),
                        status.message()
                    );
                    for (i, detail) in status.details().iter().enumerate() {
                        let _ = writeln!(
                            out,
                            "  detail {}: {}",
                            i + 1,
                            detail_text(detail, self.pool)
                        );
                    }
                }
                _ => {
                    let _ = writeln!(out, "  status:   OK");
                }
            }
            let output = self.method_of(id).map(|m| m.output());
            self.payload(out, &envelope.payload, output.as_ref());
        } else if frame.kind == MessageType::DATA {
            self.call_line(out, id);
            // The client's stream messages if its Request is in this
            // capture; otherwise the server's replies.
            let ty = match self.streams.get(&id) {
                Some((_, method)) => method.as_ref().map(MethodDescriptor::input),
                None => self.hint.as_ref().map(MethodDescriptor::output),
            };
            let no_data = frame.flags.contains(Flags::NO_DATA);
            if no_data && frame.payload.is_empty() {
                let _ = writeln!(out, "  payload:  none (NO_DATA)");
            } else {
                self.payload(out, &frame.payload, ty.as_ref());
            }
        } else {
            hex_line(out, "payload", &frame.payload);
        }
    }

    fn method_of(&self, id: u32) -> Option<MethodDescriptor> {
        match self.streams.get(&id) {
            Some((_, method)) => method.clone(),
            None => self.hint.clone(),
        }
    }

    fn call_line(&self, out: &mut String, id: u32) {
        let name = match self.streams.get(&id) {
            Some((name, _)) => Some(name.clone()),
            None => self
                .hint
                .as_ref()
                .map(|m| format!("{}/{}", m.parent_service().full_name(), m.name())),
        };
        if let Some(name) = name {
            let _ = writeln!(out, "  call:     {name}");
        }
    }

    fn payload(&self, out: &mut String, payload: &[u8], ty: Option<&MessageDescriptor>) {
        let Some(ty) = ty else {
            return hex_line(out, "payload", payload);
        };
        match DynamicMessage::decode(ty.clone(), payload) {
            Ok(message) => match serde_json::to_string(&message) {
                Ok(json) => {
                    let _ = writeln!(out, "  payload:  {} {json}", ty.full_name());
                }
                Err(e) => {
                    let _ = writeln!(
                        out,
                        "  payload:  {} (not printable as JSON: {e})",
                        ty.full_name()
                    );
                    hex_line(out, "bytes", payload);
                }
            },
            Err(e) => {
                let _ = writeln!(
                    out,
                    "  payload:  does not decode as {}: {e}",
                    ty.full_name()
                );
                hex_line(out, "bytes", payload);
            }
        }
    }
}

fn type_name(kind: MessageType) -> String {
    match kind {
        MessageType::REQUEST => "Request".to_owned(),
        MessageType::RESPONSE => "Response".to_owned(),
        MessageType::DATA => "Data".to_owned(),
        other => format!("unknown type {:#04x}", other.as_u8()),
    }
}

fn header_line(out: &mut String, n: usize, offset: usize, header: &Header) {
    let _ = writeln!(
        out,
        "frame {n} (byte {offset}): stream {}, {} (type {:#04x}), flags {:?}, {} payload bytes",
        header.stream_id,
        type_name(header.kind),
        header.kind.as_u8(),
        header.flags,
        header.length
    );
}

fn hex_line(out: &mut String, what: &str, payload: &[u8]) {
    if payload.is_empty() {
        let _ = writeln!(out, "  {what}:  empty");
    } else if payload.len() > HEX_SHOWN {
        let _ = writeln!(
            out,
            "  {what}:  {}... ({} bytes)",
            hex::encode(&payload[..HEX_SHOWN]),
            payload.len()
        );
    } else {
        let _ = writeln!(out, "  {what}:  {}", hex::encode(payload));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (String, Option<String>) {
        CaptureDecoder {
            pool: None,
            hint: None,
            streams: HashMap::new(),
        }
        .decode_all(bytes, 1024)
    }

    #[test]
    fn frames_and_envelopes_without_types() {
        // A Request for svc/m with metadata k=v and a 1 s timeout, then its
        // Response with status NOT_FOUND "gone".
        let req = proto::Request {
            service: "svc".into(),
            method: "m".into(),
            payload: bytes::Bytes::from_static(b"\x08\x01"),
            timeout_nano: 1_000_000_000,
            metadata: vec![proto::KeyValue {
                key: "k".into(),
                value: "v".into(),
            }],
        };
        let resp = proto::Response {
            status: Some(Status::not_found("gone").to_proto()),
            payload: bytes::Bytes::new(),
        };
        let mut capture = Vec::new();
        let mut codec = FrameCodec::new();
        let mut buf = BytesMut::new();
        for frame in [
            Frame::request(1, req.encode_to_vec()),
            Frame::response(1, resp.encode_to_vec()),
        ] {
            tokio_util::codec::Encoder::encode(&mut codec, frame, &mut buf).unwrap();
        }
        capture.extend_from_slice(&buf);
        let (text, trouble) = decode(&capture);
        assert_eq!(trouble, None, "{text}");
        assert!(
            text.contains("frame 1 (byte 0): stream 1, Request (type 0x01)"),
            "{text}"
        );
        assert!(text.contains("  service:  svc\n  method:   m\n  timeout:  1s (1000000000 ns)\n  metadata: k=v\n  payload:  0801\n"), "{text}");
        assert!(text.contains("stream 1, Response (type 0x02)"), "{text}");
        assert!(
            text.contains(
                "  call:     svc/m\n  status:   NOT_FOUND (code 5): gone\n  payload:  empty\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("2 frames\n"), "{text}");

        // Cut short: the frames before are printed, the rest is reported.
        let (text, trouble) = decode(&capture[..capture.len() - 3]);
        assert!(text.contains("svc"), "{text}");
        let trouble = trouble.unwrap();
        assert!(
            trouble.contains("an incomplete frame: stream 1, Response"),
            "{trouble}"
        );
    }

    #[test]
    fn hex_is_told_from_binary() {
        assert!(looks_like_hex(b"00 00 00 02\n00 00 00 01 02 00 08 01\n"));
        assert!(!looks_like_hex(b"\x00\x00\x00\x02"));
        assert!(!looks_like_hex(b"  \n"));
        assert_eq!(from_hex(b"0a 0B\n").unwrap(), [0x0a, 0x0b]);
        assert!(from_hex(b"0a0").is_err());
    }
}
