//! Scenarios for `FrameCodec`'s encoder: layout, appending, and refusing
//! oversize payloads before writing anything.

use std::error::Error as _;
use std::io;

use bytes::BytesMut;
use tokio_util::codec::Encoder;
use wren_codec::{
    DEFAULT_MAX_MESSAGE_SIZE, EncodeError, Flags, Frame, FrameCodec, HEADER_LEN, MessageType,
};

#[test]
fn encodes_header_then_payload() {
    let mut codec = FrameCodec::new();
    let mut dst = BytesMut::new();
    let frame = Frame::new(
        0xdead_beef,
        MessageType::from_u8(0x42),
        Flags::from_bits(0x83),
        b"payload".to_vec(),
    );
    codec.encode(frame, &mut dst).unwrap();
    assert_eq!(&dst[..], b"\x00\x00\x00\x07\xde\xad\xbe\xef\x42\x83payload");
}

#[test]
fn appends_after_existing_bytes() {
    let mut codec = FrameCodec::new();
    let mut dst = BytesMut::from(&b"prefix"[..]);
    codec
        .encode(Frame::response(1, b"a".to_vec()), &mut dst)
        .unwrap();
    codec
        .encode(Frame::data(1, Flags::REMOTE_CLOSED, Vec::new()), &mut dst)
        .unwrap();
    assert_eq!(
        &dst[..],
        b"prefix\x00\x00\x00\x01\x00\x00\x00\x01\x02\x00a\x00\x00\x00\x00\x00\x00\x00\x01\x03\x01"
    );
}

#[test]
fn exactly_the_limit_is_encoded() {
    let mut codec = FrameCodec::new();
    let mut dst = BytesMut::new();
    codec
        .encode(
            Frame::data(1, Flags::EMPTY, vec![0u8; DEFAULT_MAX_MESSAGE_SIZE]),
            &mut dst,
        )
        .unwrap();
    assert_eq!(dst.len(), HEADER_LEN + DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(&dst[..4], &(DEFAULT_MAX_MESSAGE_SIZE as u32).to_be_bytes());
}

#[test]
fn oversize_payload_is_refused_and_nothing_is_written() {
    let mut codec = FrameCodec::new();
    let mut dst = BytesMut::from(&b"already here"[..]);
    let err = codec
        .encode(
            Frame::request(5, vec![0u8; DEFAULT_MAX_MESSAGE_SIZE + 1]),
            &mut dst,
        )
        .unwrap_err();
    match err {
        EncodeError::Oversize { length, max } => {
            assert_eq!(length, 4_194_305);
            assert_eq!(max, 4_194_304);
        }
        EncodeError::Io(e) => panic!("expected Oversize, got Io({e})"),
    }
    assert_eq!(&dst[..], b"already here");
    assert_eq!(
        err.to_string(),
        "message length 4194305 exceed maximum message size of 4194304"
    );
    assert!(err.source().is_none());

    // The codec is still usable afterwards.
    codec
        .encode(Frame::request(7, b"ok".to_vec()), &mut dst)
        .unwrap();
    assert_eq!(&dst[12..], b"\x00\x00\x00\x02\x00\x00\x00\x07\x01\x00ok");
}

#[test]
fn oversize_with_a_custom_limit() {
    let mut codec = FrameCodec::builder().max_message_size(3).new_codec();
    let mut dst = BytesMut::new();
    codec
        .encode(Frame::response(1, b"abc".to_vec()), &mut dst)
        .unwrap();
    let written = dst.len();
    let err = codec
        .encode(Frame::response(3, b"abcd".to_vec()), &mut dst)
        .unwrap_err();
    assert!(
        matches!(err, EncodeError::Oversize { length: 4, max: 3 }),
        "{err:?}"
    );
    assert_eq!(dst.len(), written);

    codec.set_max_message_size(4);
    codec
        .encode(Frame::response(3, b"abcd".to_vec()), &mut dst)
        .unwrap();
    assert_eq!(dst.len(), written + HEADER_LEN + 4);
}

#[test]
fn io_errors_convert_and_keep_their_source() {
    let err = EncodeError::from(io::Error::new(io::ErrorKind::BrokenPipe, "pipe gone"));
    assert!(matches!(&err, EncodeError::Io(e) if e.kind() == io::ErrorKind::BrokenPipe));
    assert_eq!(err.to_string(), "write failed: pipe gone");
    let source = err.source().expect("io error is the source");
    assert_eq!(source.to_string(), "pipe gone");
}

#[test]
fn frame_constructors_set_type_and_flags() {
    let r = Frame::request(1, b"x".to_vec());
    assert_eq!((r.kind, r.flags), (MessageType::REQUEST, Flags::EMPTY));
    let r = Frame::response(2, b"x".to_vec());
    assert_eq!((r.kind, r.flags), (MessageType::RESPONSE, Flags::EMPTY));
    let d = Frame::data(3, Flags::REMOTE_CLOSED, b"xy".to_vec());
    assert_eq!((d.kind, d.flags), (MessageType::DATA, Flags::REMOTE_CLOSED));
    let h = d.header();
    assert_eq!(
        (h.length, h.stream_id, h.kind, h.flags),
        (2, 3, MessageType::DATA, Flags::REMOTE_CLOSED)
    );
}
