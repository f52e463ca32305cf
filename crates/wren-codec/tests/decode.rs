//! Scenarios for `FrameCodec`'s decoder: split reads, empty frames, the size
//! limit, skipping oversize payloads without buffering them, and EOF.

use std::io;

use bytes::{BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};
use wren_codec::{
    DEFAULT_MAX_MESSAGE_SIZE, Decoded, Flags, Frame, FrameCodec, HEADER_LEN, Header, MessageType,
};

/// The most the decode buffer may ever hold while an oversize payload goes by.
const SMALL: usize = 64 * 1024;

fn header_bytes(length: u32, stream_id: u32, kind: u8, flags: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN);
    v.put_u32(length);
    v.put_u32(stream_id);
    v.put_u8(kind);
    v.put_u8(flags);
    v
}

fn frame_bytes(frame: &Frame) -> Vec<u8> {
    let mut v = header_bytes(
        frame.payload.len() as u32,
        frame.stream_id,
        frame.kind.as_u8(),
        frame.flags.bits(),
    );
    v.extend_from_slice(&frame.payload);
    v
}

/// Decodes everything `buf` holds.
fn drain(codec: &mut FrameCodec, buf: &mut BytesMut) -> Vec<Decoded> {
    let mut out = Vec::new();
    while let Some(item) = codec.decode(buf).unwrap() {
        out.push(item);
    }
    out
}

fn sample_frame() -> Frame {
    Frame::new(
        0x0102_0305,
        MessageType::REQUEST,
        Flags::REMOTE_OPEN,
        b"\x0a\x03svc\x12\x02Mm\x1a\x03abc".to_vec(),
    )
}

#[test]
fn frame_split_at_every_byte_position() {
    let frame = sample_frame();
    let bytes = frame_bytes(&frame);
    for split in 0..=bytes.len() {
        let mut codec = FrameCodec::new();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&bytes[..split]);
        if split < bytes.len() {
            assert_eq!(codec.decode(&mut buf).unwrap(), None, "split at {split}");
            assert_eq!(
                codec.is_idle(),
                split < HEADER_LEN,
                "idle state wrong at split {split}"
            );
            buf.extend_from_slice(&bytes[split..]);
        }
        assert_eq!(
            codec.decode(&mut buf).unwrap(),
            Some(Decoded::Frame(frame.clone())),
            "split at {split}"
        );
        assert!(buf.is_empty());
        assert!(codec.is_idle());
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
    }
}

#[test]
fn frame_fed_one_byte_at_a_time() {
    let frame = sample_frame();
    let bytes = frame_bytes(&frame);
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::new();
    for (i, b) in bytes.iter().enumerate() {
        buf.put_u8(*b);
        let item = codec.decode(&mut buf).unwrap();
        if i + 1 < bytes.len() {
            assert_eq!(item, None, "byte {i}");
        } else {
            assert_eq!(item, Some(Decoded::Frame(frame.clone())));
        }
    }
}

#[test]
fn payload_split_across_many_reads() {
    let payload: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    let frame = Frame::data(9, Flags::EMPTY, payload);
    let bytes = frame_bytes(&frame);
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&bytes[..HEADER_LEN]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(!codec.is_idle());
    assert!(!codec.is_discarding());
    assert_eq!(codec.bytes_wanted(buf.len()), 5000);

    let body = &bytes[HEADER_LEN..];
    let mut fed = 0;
    for chunk in body.chunks(333) {
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        let item = codec.decode(&mut buf).unwrap();
        if fed < body.len() {
            assert_eq!(item, None);
            assert_eq!(codec.bytes_wanted(buf.len()), body.len() - fed);
        } else {
            assert_eq!(item, Some(Decoded::Frame(frame.clone())));
        }
    }
    assert!(codec.is_idle());
}

#[test]
fn bytes_wanted_reports_the_header_when_idle() {
    let codec = FrameCodec::new();
    assert!(codec.is_idle());
    assert_eq!(codec.bytes_wanted(0), HEADER_LEN);
    assert_eq!(codec.bytes_wanted(4), HEADER_LEN - 4);
    assert_eq!(codec.bytes_wanted(HEADER_LEN + 5), 0);
}

#[test]
fn zero_length_data_frame_is_a_real_frame() {
    let bytes = header_bytes(0, 5, 3, 0);
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&bytes[..]);
    let item = codec.decode(&mut buf).unwrap();
    let Some(Decoded::Frame(frame)) = item else {
        panic!("expected a frame, got {item:?}")
    };
    assert_eq!(frame.stream_id, 5);
    assert_eq!(frame.kind, MessageType::DATA);
    assert_eq!(frame.flags, Flags::EMPTY);
    assert!(frame.payload.is_empty());
    assert!(buf.is_empty());
    assert!(codec.is_idle());
}

#[test]
fn back_to_back_zero_length_frames_all_decode() {
    let frames = [
        Frame::data(1, Flags::EMPTY, Vec::new()),
        Frame::response(1, Vec::new()),
        Frame::data(3, Flags::REMOTE_CLOSED | Flags::NO_DATA, Vec::new()),
        Frame::request(5, b"x".to_vec()),
        Frame::data(5, Flags::EMPTY, Vec::new()),
    ];
    let mut buf = BytesMut::new();
    for f in &frames {
        buf.extend_from_slice(&frame_bytes(f));
    }
    let mut codec = FrameCodec::new();
    let got = drain(&mut codec, &mut buf);
    let want: Vec<_> = frames.iter().cloned().map(Decoded::Frame).collect();
    assert_eq!(got, want);
    assert!(buf.is_empty());
}

#[test]
fn payload_of_exactly_4_mib_is_accepted() {
    assert_eq!(DEFAULT_MAX_MESSAGE_SIZE, 4_194_304);
    let payload: Vec<u8> = (0..DEFAULT_MAX_MESSAGE_SIZE).map(|i| i as u8).collect();
    let frame = Frame::data(11, Flags::EMPTY, payload);

    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::new();
    codec.encode(frame.clone(), &mut buf).unwrap();
    assert_eq!(buf.len(), HEADER_LEN + DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(&buf[..4], &[0x00, 0x40, 0x00, 0x00]);

    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Decoded::Frame(frame)));
    assert!(buf.is_empty());
}

/// Feeds `total` bytes of junk in `chunk`-sized pieces, asserting the decoder
/// keeps waiting and the buffer stays small.
fn feed_junk(codec: &mut FrameCodec, buf: &mut BytesMut, total: usize, chunk: usize) {
    let junk = vec![0xa5u8; chunk];
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk);
        buf.extend_from_slice(&junk[..n]);
        left -= n;
        assert_eq!(codec.decode(buf).unwrap(), None, "{left} bytes still to go");
        assert!(codec.is_discarding());
        assert!(buf.is_empty(), "discarded bytes must be consumed");
        assert!(
            buf.capacity() < SMALL,
            "buffer grew to {} bytes while discarding",
            buf.capacity()
        );
    }
}

#[test]
fn one_byte_over_4_mib_is_skipped_without_buffering() {
    let over = DEFAULT_MAX_MESSAGE_SIZE + 1;
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    buf.extend_from_slice(&header_bytes(over as u32, 7, 1, 0));
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(codec.is_discarding());
    assert!(!codec.is_idle());
    assert_eq!(codec.bytes_wanted(0), over);
    assert!(buf.capacity() < SMALL, "reserved {} bytes", buf.capacity());

    // All but the last 3 bytes of the oversize body, in 8 KiB reads.
    feed_junk(&mut codec, &mut buf, over - 3, 8 * 1024);
    assert_eq!(codec.bytes_wanted(0), 3);

    // The last read holds the tail of the body and a whole next frame.
    let next = Frame::request(9, b"\x0a\x01s".to_vec());
    buf.extend_from_slice(&[0xa5; 3]);
    buf.extend_from_slice(&frame_bytes(&next));

    let expected_header = Header {
        length: over as u32,
        stream_id: 7,
        kind: MessageType::REQUEST,
        flags: Flags::EMPTY,
    };
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(Decoded::Oversize(expected_header))
    );
    assert!(codec.is_idle());
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Decoded::Frame(next)));
    assert!(buf.is_empty());
    assert!(buf.capacity() < SMALL);
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
}

#[test]
fn oversize_header_and_body_in_one_read() {
    let mut codec = FrameCodec::builder().max_message_size(4).new_codec();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&header_bytes(5, 3, 3, 0x05));
    buf.extend_from_slice(b"12345");
    buf.extend_from_slice(&header_bytes(4, 3, 3, 0x01));
    buf.extend_from_slice(b"abcd");
    let got = drain(&mut codec, &mut buf);
    assert_eq!(
        got,
        [
            Decoded::Oversize(Header {
                length: 5,
                stream_id: 3,
                kind: MessageType::DATA,
                flags: Flags::REMOTE_CLOSED | Flags::NO_DATA,
            }),
            Decoded::Frame(Frame::data(3, Flags::REMOTE_CLOSED, b"abcd".to_vec())),
        ]
    );
}

#[test]
fn length_near_u32_max_is_discarded_without_allocating() {
    let length = u32::MAX - 15;
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::with_capacity(1024);
    buf.extend_from_slice(&header_bytes(length, 0x7fff_ffff, 2, 0));
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(codec.is_discarding());
    assert!(buf.capacity() < SMALL, "reserved {} bytes", buf.capacity());
    assert_eq!(codec.bytes_wanted(0), length as usize);

    feed_junk(&mut codec, &mut buf, 3 * 16 * 1024, 16 * 1024);
    assert_eq!(codec.bytes_wanted(0), length as usize - 3 * 16 * 1024);

    // The connection ending now is an error: the frame never finished.
    let err = codec.decode_eof(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn nonzero_reserved_length_byte_takes_the_oversize_path() {
    // PROTOCOL.md calls the first length byte reserved; Go does not enforce it,
    // it just sees a huge length.
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&header_bytes(0x0100_0001, 1, 1, 0)[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(codec.is_discarding());
    assert_eq!(codec.bytes_wanted(0), 0x0100_0001);
}

#[test]
fn decode_eof_on_a_clean_boundary_is_the_end() {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::new();
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);

    let frame = sample_frame();
    buf.extend_from_slice(&frame_bytes(&frame));
    assert_eq!(
        codec.decode_eof(&mut buf).unwrap(),
        Some(Decoded::Frame(frame))
    );
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
}

#[test]
fn decode_eof_mid_header_is_unexpected_eof() {
    let bytes = frame_bytes(&sample_frame());
    for cut in 1..HEADER_LEN {
        let mut codec = FrameCodec::new();
        let mut buf = BytesMut::from(&bytes[..cut]);
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}");
    }
}

#[test]
fn decode_eof_mid_payload_is_unexpected_eof() {
    let bytes = frame_bytes(&sample_frame());
    for cut in HEADER_LEN..bytes.len() {
        let mut codec = FrameCodec::new();
        let mut buf = BytesMut::from(&bytes[..cut]);
        // As Framed does: decode first, decode_eof once the stream ends.
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        let err = codec.decode_eof(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}");
    }
}

#[test]
fn decode_eof_mid_discard_is_unexpected_eof() {
    let mut codec = FrameCodec::builder().max_message_size(2).new_codec();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&header_bytes(10, 1, 1, 0));
    buf.extend_from_slice(b"12345");
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(codec.is_discarding());
    let err = codec.decode_eof(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn decode_eof_after_a_finished_discard_is_clean() {
    let mut codec = FrameCodec::builder().max_message_size(2).new_codec();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&header_bytes(3, 1, 1, 0));
    buf.extend_from_slice(b"123");
    assert!(matches!(
        codec.decode_eof(&mut buf).unwrap(),
        Some(Decoded::Oversize(Header { length: 3, .. }))
    ));
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
}

#[test]
fn custom_max_message_size_from_the_builder() {
    let mut codec = FrameCodec::builder().max_message_size(16).new_codec();
    assert_eq!(codec.max_message_size(), 16);

    let at_limit = Frame::data(1, Flags::EMPTY, vec![1u8; 16]);
    let mut buf = BytesMut::from(&frame_bytes(&at_limit)[..]);
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(Decoded::Frame(at_limit))
    );

    let over = Frame::data(3, Flags::EMPTY, vec![2u8; 17]);
    buf.extend_from_slice(&frame_bytes(&over));
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(Decoded::Oversize(over.header()))
    );
    assert!(buf.is_empty());

    // A larger limit than the default lets a 4 MiB + 1 payload through.
    let big = DEFAULT_MAX_MESSAGE_SIZE + 1;
    let mut codec = FrameCodec::builder().max_message_size(big).new_codec();
    let frame = Frame::data(5, Flags::EMPTY, vec![3u8; big]);
    let mut buf = BytesMut::from(&frame_bytes(&frame)[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Decoded::Frame(frame)));
}

#[test]
fn zero_max_accepts_only_empty_frames() {
    let mut codec = FrameCodec::builder().max_message_size(0).new_codec();
    let mut buf = BytesMut::new();
    buf.extend_from_slice(&header_bytes(0, 1, 3, 0));
    buf.extend_from_slice(&header_bytes(1, 1, 3, 0));
    buf.put_u8(0);
    let got = drain(&mut codec, &mut buf);
    assert_eq!(
        got,
        [
            Decoded::Frame(Frame::data(1, Flags::EMPTY, Vec::new())),
            Decoded::Oversize(Header {
                length: 1,
                stream_id: 1,
                kind: MessageType::DATA,
                flags: Flags::EMPTY,
            }),
        ]
    );
}

#[test]
fn set_max_message_size_keeps_the_decision_for_a_started_frame() {
    let mut codec = FrameCodec::new();
    let frame = Frame::data(1, Flags::EMPTY, vec![9u8; 100]);
    let bytes = frame_bytes(&frame);
    let mut buf = BytesMut::from(&bytes[..HEADER_LEN + 10]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    codec.set_max_message_size(50);
    assert_eq!(codec.max_message_size(), 50);
    buf.extend_from_slice(&bytes[HEADER_LEN + 10..]);
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(Decoded::Frame(frame.clone()))
    );

    // The next frame is judged by the new limit.
    buf.extend_from_slice(&bytes);
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(Decoded::Oversize(frame.header()))
    );
}

#[test]
fn unknown_message_types_and_flag_bits_pass_through() {
    for kind in [0u8, 4, 5, 7, 0x80, 0xff] {
        let mut codec = FrameCodec::new();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&header_bytes(2, 13, kind, 0xf0));
        buf.extend_from_slice(b"hi");
        let item = codec.decode(&mut buf).unwrap();
        let Some(Decoded::Frame(frame)) = item else {
            panic!("type {kind:#04x}: expected a frame, got {item:?}")
        };
        assert_eq!(frame.kind, MessageType::from_u8(kind));
        assert_eq!(frame.kind.as_u8(), kind);
        assert!(!frame.kind.is_known());
        assert_eq!(frame.flags.bits(), 0xf0);
        assert_eq!(frame.stream_id, 13);
        assert_eq!(&frame.payload[..], b"hi");

        // And it encodes back to the same bytes.
        let mut out = BytesMut::new();
        codec.encode(frame, &mut out).unwrap();
        assert_eq!(&out[..HEADER_LEN], &header_bytes(2, 13, kind, 0xf0)[..]);
    }
}

#[test]
fn default_codec_matches_new() {
    let codec = FrameCodec::default();
    assert_eq!(codec.max_message_size(), DEFAULT_MAX_MESSAGE_SIZE);
    assert!(codec.is_idle());
    assert_eq!(
        wren_codec::Builder::default()
            .new_codec()
            .max_message_size(),
        DEFAULT_MAX_MESSAGE_SIZE
    );
}
