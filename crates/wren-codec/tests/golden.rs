//! Byte-exact frames taken from the Go implementation (go-ttrpc.md §2.3).
//!
//! Each golden is checked three ways: built with wren's hand-written
//! envelope encoders, built with the prost types, and decoded back.

use bytes::{Bytes, BytesMut};
use prost::Message;
use tokio_util::codec::{Decoder, Encoder};
use wren_codec::{
    Code, Decoded, Flags, Frame, FrameCodec, HEADER_LEN, Header, MessageType, Metadata, RequestRef,
    ResponseRef, Status, proto,
};

/// The timeout the Go client sent with a 5 s deadline (≈ 4999916535 ns).
const TIMEOUT_NANO: i64 = 4_999_916_535;

/// `Request{service: "probe.v1.Probe", method: "Unary", payload: 08 07 12 01 6d,
/// timeout_nano: 4999916535, metadata: [key-a=v1, key-a=v2]}` on stream 1.
fn golden_request_frame() -> Vec<u8> {
    let mut v = Vec::new();
    // Header: length 0x3e, stream 1, Request, no flags.
    v.extend_from_slice(&[0x00, 0x00, 0x00, 0x3e, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00]);
    // 1: service
    v.extend_from_slice(&[0x0a, 0x0e]);
    v.extend_from_slice(b"probe.v1.Probe");
    // 2: method
    v.extend_from_slice(&[0x12, 0x05]);
    v.extend_from_slice(b"Unary");
    // 3: payload
    v.extend_from_slice(&[0x1a, 0x05, 0x08, 0x07, 0x12, 0x01, 0x6d]);
    // 4: timeout_nano, varint of 4999916535
    v.extend_from_slice(&[0x20, 0xf7, 0xd7, 0x92, 0xd0, 0x12]);
    // 5: metadata, one KeyValue per value
    v.extend_from_slice(&[0x2a, 0x0b, 0x0a, 0x05]);
    v.extend_from_slice(b"key-a");
    v.extend_from_slice(&[0x12, 0x02]);
    v.extend_from_slice(b"v1");
    v.extend_from_slice(&[0x2a, 0x0b, 0x0a, 0x05]);
    v.extend_from_slice(b"key-a");
    v.extend_from_slice(&[0x12, 0x02]);
    v.extend_from_slice(b"v2");
    v
}

fn golden_metadata() -> Metadata {
    let mut md = Metadata::new();
    md.append("key-a", "v1");
    md.append("key-a", "v2");
    md
}

fn encode_frame(frame: Frame) -> BytesMut {
    let mut buf = BytesMut::new();
    FrameCodec::new().encode(frame, &mut buf).unwrap();
    buf
}

fn decode_one(bytes: &[u8]) -> Frame {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(bytes);
    let item = codec.decode_eof(&mut buf).unwrap();
    assert!(buf.is_empty(), "decoder left {} bytes", buf.len());
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    match item {
        Some(Decoded::Frame(frame)) => frame,
        other => panic!("expected a frame, got {other:?}"),
    }
}

#[test]
fn golden_request_frame_is_62_bytes_of_data() {
    let golden = golden_request_frame();
    assert_eq!(golden.len(), HEADER_LEN + 0x3e);
}

#[test]
fn request_ref_encodes_the_go_request_byte_for_byte() {
    let md = golden_metadata();
    let req = RequestRef {
        service: "probe.v1.Probe",
        method: "Unary",
        payload: &[0x08, 0x07, 0x12, 0x01, 0x6d],
        timeout_nano: TIMEOUT_NANO,
        metadata: &md,
    };
    assert_eq!(req.encoded_len(), 0x3e);

    let mut data = BytesMut::with_capacity(req.encoded_len());
    req.encode(&mut data);
    assert_eq!(data.len(), 0x3e);

    let golden = golden_request_frame();
    assert_eq!(&data[..], &golden[HEADER_LEN..]);

    let frame = Frame::request(1, data.freeze());
    assert_eq!(
        frame.header(),
        Header {
            length: 0x3e,
            stream_id: 1,
            kind: MessageType::REQUEST,
            flags: Flags::EMPTY,
        }
    );
    let mut header = Vec::new();
    frame.header().encode(&mut header);
    assert_eq!(header, &golden[..HEADER_LEN]);

    assert_eq!(&encode_frame(frame)[..], &golden[..]);
}

#[test]
fn prost_request_encodes_identically_and_decodes_back() {
    let golden = golden_request_frame();
    let md = golden_metadata();
    let expected = proto::Request {
        service: "probe.v1.Probe".into(),
        method: "Unary".into(),
        payload: Bytes::from_static(&[0x08, 0x07, 0x12, 0x01, 0x6d]),
        timeout_nano: TIMEOUT_NANO,
        metadata: md.to_key_values(),
    };
    assert_eq!(expected.encode_to_vec(), &golden[HEADER_LEN..]);

    let frame = decode_one(&golden);
    assert_eq!(frame.stream_id, 1);
    assert_eq!(frame.kind, MessageType::REQUEST);
    assert_eq!(frame.flags, Flags::EMPTY);

    let decoded = proto::Request::decode(frame.payload).unwrap();
    assert_eq!(decoded, expected);
    assert_eq!(decoded.timeout_nano, TIMEOUT_NANO);
    let md = Metadata::from_key_values(decoded.metadata);
    assert_eq!(md.get_all("key-a").collect::<Vec<_>>(), ["v1", "v2"]);
}

/// Response to `EchoPayload{seq: 2, msg: "a"}`: no status field at all.
const GOLDEN_RESPONSE_FRAME: &[u8] = &[
    0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, // header
    0x12, 0x05, 0x08, 0x02, 0x12, 0x01, 0x61, // payload field only
];

#[test]
fn successful_response_has_no_status_field() {
    let payload = [0x08, 0x02, 0x12, 0x01, 0x61];
    let resp = ResponseRef {
        status: None,
        payload: &payload,
    };
    assert_eq!(resp.encoded_len(), 7);
    let mut data = BytesMut::new();
    resp.encode(&mut data);
    assert_eq!(&data[..], &GOLDEN_RESPONSE_FRAME[HEADER_LEN..]);

    assert_eq!(
        &encode_frame(Frame::response(1, data.freeze()))[..],
        GOLDEN_RESPONSE_FRAME
    );

    let prost = proto::Response {
        status: None,
        payload: Bytes::copy_from_slice(&payload),
    };
    assert_eq!(prost.encode_to_vec(), &GOLDEN_RESPONSE_FRAME[HEADER_LEN..]);

    let frame = decode_one(GOLDEN_RESPONSE_FRAME);
    assert_eq!(
        frame,
        Frame::response(1, &GOLDEN_RESPONSE_FRAME[HEADER_LEN..])
    );
    let decoded = proto::Response::decode(frame.payload).unwrap();
    assert_eq!(decoded, prost);
}

#[test]
fn successful_empty_response_is_a_zero_length_frame() {
    let resp = ResponseRef {
        status: None,
        payload: &[],
    };
    assert_eq!(resp.encoded_len(), 0);
    let mut data = BytesMut::new();
    resp.encode(&mut data);
    assert!(data.is_empty());
    assert_eq!(
        &encode_frame(Frame::response(3, data.freeze()))[..],
        &[0, 0, 0, 0, 0, 0, 0, 3, 2, 0]
    );
}

fn golden_unknown_service_data() -> Vec<u8> {
    let mut v = vec![0x0a, 0x14, 0x08, 0x0c, 0x12, 0x10];
    v.extend_from_slice(b"service nope.Svc");
    v
}

#[test]
fn unknown_service_error_response_matches_go() {
    let golden = golden_unknown_service_data();
    assert_eq!(golden.len(), 0x16);

    let status = Status::unimplemented("service nope.Svc");
    let resp = ResponseRef {
        status: Some(&status),
        payload: &[],
    };
    assert_eq!(resp.encoded_len(), golden.len());
    let mut data = BytesMut::new();
    resp.encode(&mut data);
    assert_eq!(&data[..], &golden[..]);

    let prost = proto::Response {
        status: Some(status.to_proto()),
        payload: Bytes::new(),
    };
    assert_eq!(prost.encode_to_vec(), golden);

    let decoded = proto::Response::decode(&golden[..]).unwrap();
    let status = Status::from_proto(decoded.status.expect("status present"));
    assert_eq!(status.code(), Code::Unimplemented);
    assert_eq!(status.code().as_i32(), 12);
    assert_eq!(status.message(), "service nope.Svc");
    assert!(decoded.payload.is_empty());
}

#[test]
fn end_of_stream_data_frame_header() {
    for sid in [1u32, 3, 0x0102_0305, u32::MAX] {
        let frame = Frame::data(sid, Flags::REMOTE_CLOSED | Flags::NO_DATA, Bytes::new());
        let mut golden = vec![0x00, 0x00, 0x00, 0x00];
        golden.extend_from_slice(&sid.to_be_bytes());
        golden.extend_from_slice(&[0x03, 0x05]);

        assert_eq!(&encode_frame(frame.clone())[..], &golden[..]);

        let decoded = decode_one(&golden);
        assert_eq!(decoded, frame);
        assert_eq!(decoded.kind, MessageType::DATA);
        assert_eq!(decoded.flags.bits(), 0x05);
        assert!(decoded.flags.contains(Flags::REMOTE_CLOSED));
        assert!(decoded.flags.contains(Flags::NO_DATA));
        assert!(!decoded.flags.contains(Flags::REMOTE_OPEN));
        assert!(decoded.payload.is_empty());
    }
}

#[test]
fn header_fields_are_big_endian() {
    let header = Header {
        length: 0x0102_0304,
        stream_id: 0x0506_0708,
        kind: MessageType::from_u8(0x09),
        flags: Flags::from_bits(0x0a),
    };
    let mut bytes = Vec::new();
    header.encode(&mut bytes);
    assert_eq!(bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert_eq!(Header::parse(&bytes), header);
    // Extra bytes after the header are ignored by parse.
    bytes.extend_from_slice(&[0xff; 4]);
    assert_eq!(Header::parse(&bytes), header);
}

#[test]
fn message_type_and_flag_wire_values() {
    assert_eq!(MessageType::REQUEST.as_u8(), 1);
    assert_eq!(MessageType::RESPONSE.as_u8(), 2);
    assert_eq!(MessageType::DATA.as_u8(), 3);
    assert_eq!(Flags::REMOTE_CLOSED.bits(), 0x01);
    assert_eq!(Flags::REMOTE_OPEN.bits(), 0x02);
    assert_eq!(Flags::NO_DATA.bits(), 0x04);
    assert!(Flags::EMPTY.is_empty());
    assert!(!Flags::REMOTE_CLOSED.is_empty());
    assert_eq!(Flags::default(), Flags::EMPTY);
    for v in 0..=u8::MAX {
        assert_eq!(MessageType::from_u8(v).as_u8(), v);
        assert_eq!(MessageType::from_u8(v).is_known(), (1..=3).contains(&v));
        assert_eq!(Flags::from_bits(v).bits(), v);
    }
    assert_eq!(format!("{:?}", MessageType::DATA), "DATA");
    assert_eq!(
        format!("{:?}", MessageType::from_u8(7)),
        "MessageType(0x07)"
    );
    assert_eq!(
        format!("{:?}", Flags::REMOTE_CLOSED | Flags::NO_DATA),
        "REMOTE_CLOSED | NO_DATA"
    );
    assert_eq!(format!("{:?}", Flags::EMPTY), "0x00");
    assert_eq!(
        format!("{:?}", Flags::from_bits(0x81)),
        "REMOTE_CLOSED | 0x80"
    );
}
