//! Micro-benchmarks of the wire: frames through `FrameCodec` (0 B, 256 B,
//! 64 KiB payloads) and the envelopes, wren's borrowed `RequestRef` /
//! `ResponseRef` encoders against building and encoding the prost messages.
//!
//! `cargo bench -p wren-codec --bench codec`; instruction counts with
//! `cargo xtask bench micro`. Decoding a frame includes copying its bytes
//! into the read buffer, as a socket read does.

mod icount;

use bytes::{Bytes, BytesMut};
use prost::Message;
use tokio_util::codec::{Decoder, Encoder};
use wren_codec::{Decoded, Frame, FrameCodec, Metadata, RequestRef, ResponseRef, proto};

use icount::Case;

const SERVICE: &str = "wren.bench.v1.Bench";
const METHOD: &str = "Echo";

fn payload(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

fn frame_cases(cases: &mut Vec<Case>, label: &'static str, len: usize) {
    let data = payload(len);
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::with_capacity(len + 64);
    let encode_name = match label {
        "0B" => "frame/encode/0B",
        "256B" => "frame/encode/256B",
        _ => "frame/encode/64KiB",
    };
    let decode_name = match label {
        "0B" => "frame/decode/0B",
        "256B" => "frame/decode/256B",
        _ => "frame/decode/64KiB",
    };
    let frame_data = data.clone();
    cases.push(Case::new(encode_name, move || {
        buf.clear();
        codec
            .encode(Frame::request(1, frame_data.clone()), &mut buf)
            .expect("within the limit");
        buf.len()
    }));
    let mut encoded = BytesMut::new();
    FrameCodec::new()
        .encode(Frame::request(1, data), &mut encoded)
        .expect("within the limit");
    let mut codec = FrameCodec::new();
    let mut read = BytesMut::with_capacity(len + 64);
    cases.push(Case::new(decode_name, move || {
        read.extend_from_slice(&encoded);
        match codec.decode(&mut read) {
            Ok(Some(Decoded::Frame(frame))) => frame.payload.len(),
            other => panic!("decoded {other:?}"),
        }
    }));
}

fn envelope_cases(cases: &mut Vec<Case>) {
    let data = payload(256);
    let metadata = Metadata::default();

    let mut buf = BytesMut::with_capacity(512);
    let d = data.clone();
    cases.push(Case::new("envelope/request/encode/RequestRef", move || {
        let request = RequestRef {
            service: SERVICE,
            method: METHOD,
            payload: &d,
            timeout_nano: 0,
            metadata: &metadata,
        };
        buf.clear();
        buf.reserve(request.encoded_len());
        request.encode(&mut buf);
        buf.len()
    }));

    let mut buf = BytesMut::with_capacity(512);
    let d = data.clone();
    cases.push(Case::new("envelope/request/encode/prost", move || {
        let request = proto::Request {
            service: SERVICE.to_owned(),
            method: METHOD.to_owned(),
            payload: d.clone(),
            timeout_nano: 0,
            metadata: Vec::new(),
        };
        buf.clear();
        request.encode(&mut buf).expect("room reserved");
        buf.len()
    }));

    let encoded = proto::Request {
        service: SERVICE.to_owned(),
        method: METHOD.to_owned(),
        payload: data.clone(),
        timeout_nano: 0,
        metadata: Vec::new(),
    }
    .encode_to_vec();
    let encoded = Bytes::from(encoded);
    cases.push(Case::new("envelope/request/decode/prost", move || {
        proto::Request::decode(encoded.clone())
            .expect("valid")
            .payload
            .len()
    }));

    let mut buf = BytesMut::with_capacity(512);
    let d = data.clone();
    cases.push(Case::new(
        "envelope/response/encode/ResponseRef",
        move || {
            let response = ResponseRef {
                status: None,
                payload: &d,
            };
            buf.clear();
            buf.reserve(response.encoded_len());
            response.encode(&mut buf);
            buf.len()
        },
    ));

    let mut buf = BytesMut::with_capacity(512);
    let d = data.clone();
    cases.push(Case::new("envelope/response/encode/prost", move || {
        let response = proto::Response {
            status: None,
            payload: d.clone(),
        };
        buf.clear();
        response.encode(&mut buf).expect("room reserved");
        buf.len()
    }));

    let encoded = Bytes::from(
        proto::Response {
            status: None,
            payload: data,
        }
        .encode_to_vec(),
    );
    cases.push(Case::new("envelope/response/decode/prost", move || {
        proto::Response::decode(encoded.clone())
            .expect("valid")
            .payload
            .len()
    }));
}

fn main() {
    let mut cases = Vec::new();
    frame_cases(&mut cases, "0B", 0);
    frame_cases(&mut cases, "256B", 256);
    frame_cases(&mut cases, "64KiB", 64 << 10);
    envelope_cases(&mut cases);
    icount::main(cases);
}
