//! Property tests: any frames, encoded and fed back in any pieces, decode to
//! the same frames in the same order; also through `Framed` over a small pipe.

use std::io;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{Decoder, Encoder, Framed, FramedRead};
use wren_codec::{Decoded, Flags, Frame, FrameCodec, Header, MessageType};

fn arb_frame(max_payload: usize) -> impl Strategy<Value = Frame> {
    (
        any::<u32>(),
        prop_oneof![
            Just(MessageType::REQUEST),
            Just(MessageType::RESPONSE),
            Just(MessageType::DATA),
            any::<u8>().prop_map(MessageType::from_u8),
        ],
        any::<u8>().prop_map(Flags::from_bits),
        prop::collection::vec(any::<u8>(), 0..max_payload),
    )
        .prop_map(|(sid, kind, flags, payload)| Frame::new(sid, kind, flags, payload))
}

fn encode_all(frames: &[Frame]) -> BytesMut {
    let mut codec = FrameCodec::new();
    let mut wire = BytesMut::new();
    for f in frames {
        codec.encode(f.clone(), &mut wire).unwrap();
    }
    wire
}

/// Feeds `wire` to `codec` in pieces of the given sizes (cycled) and returns
/// every item, finishing with `decode_eof`.
fn decode_in_pieces(codec: &mut FrameCodec, wire: &[u8], sizes: &[usize]) -> Vec<Decoded> {
    let mut out = Vec::new();
    let mut buf = BytesMut::new();
    let mut rest = wire;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let n = (*sizes.next().unwrap()).min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        while let Some(item) = codec.decode(&mut buf).unwrap() {
            out.push(item);
        }
    }
    while let Some(item) = codec.decode_eof(&mut buf).unwrap() {
        out.push(item);
    }
    assert!(buf.is_empty());
    assert!(codec.is_idle());
    out
}

proptest! {
    #[test]
    fn frames_survive_arbitrary_splits(
        frames in prop::collection::vec(arb_frame(2000), 0..24),
        sizes in prop::collection::vec(1usize..700, 1..16),
    ) {
        let wire = encode_all(&frames);
        let expected_len: usize = frames.iter().map(|f| 10 + f.payload.len()).sum();
        prop_assert_eq!(wire.len(), expected_len);

        let got = decode_in_pieces(&mut FrameCodec::new(), &wire, &sizes);
        let want: Vec<_> = frames.into_iter().map(Decoded::Frame).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn oversize_frames_are_reported_in_place(
        frames in prop::collection::vec(arb_frame(2000), 0..24),
        sizes in prop::collection::vec(1usize..700, 1..16),
        max in 0usize..1500,
    ) {
        let wire = encode_all(&frames);
        let mut codec = FrameCodec::builder().max_message_size(max).new_codec();
        let got = decode_in_pieces(&mut codec, &wire, &sizes);
        let want: Vec<_> = frames
            .into_iter()
            .map(|f| {
                if f.payload.len() > max {
                    Decoded::Oversize(f.header())
                } else {
                    Decoded::Frame(f)
                }
            })
            .collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn header_encode_parse_round_trip(
        length in any::<u32>(),
        stream_id in any::<u32>(),
        kind in any::<u8>(),
        flags in any::<u8>(),
    ) {
        let header = Header {
            length,
            stream_id,
            kind: MessageType::from_u8(kind),
            flags: Flags::from_bits(flags),
        };
        let mut bytes = Vec::new();
        header.encode(&mut bytes);
        prop_assert_eq!(bytes.len(), 10);
        prop_assert_eq!(&bytes[..4], &length.to_be_bytes()[..]);
        prop_assert_eq!(&bytes[4..8], &stream_id.to_be_bytes()[..]);
        prop_assert_eq!(bytes[8], kind);
        prop_assert_eq!(bytes[9], flags);
        prop_assert_eq!(Header::parse(&bytes), header);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn framed_round_trip_over_a_small_duplex(
        frames in prop::collection::vec(arb_frame(2000), 0..16),
        pipe in 1usize..64,
    ) {
        let got = runtime().block_on(async {
            let (a, b) = tokio::io::duplex(pipe);
            let mut tx = Framed::new(a, FrameCodec::new());
            let mut rx = Framed::new(b, FrameCodec::new());
            let send = async {
                for f in &frames {
                    tx.send(f.clone()).await.unwrap();
                }
                // Dropping the writer closes the pipe: the reader sees EOF.
                drop(tx);
            };
            let recv = async {
                let mut got = Vec::new();
                while let Some(item) = rx.next().await {
                    got.push(item.unwrap());
                }
                got
            };
            let ((), got) = tokio::join!(send, recv);
            got
        });
        let want: Vec<_> = frames.into_iter().map(Decoded::Frame).collect();
        prop_assert_eq!(got, want);
    }
}

#[tokio::test]
async fn framed_skips_an_oversize_frame_without_buffering_it() {
    let (mut a, b) = tokio::io::duplex(16 * 1024);
    let mut rx = FramedRead::new(b, FrameCodec::new());

    let over = wren_codec::DEFAULT_MAX_MESSAGE_SIZE + 1;
    let next = Frame::request(3, b"\x0a\x01s".to_vec());
    let write = async move {
        let mut header = Vec::new();
        Header {
            length: over as u32,
            stream_id: 1,
            kind: MessageType::REQUEST,
            flags: Flags::EMPTY,
        }
        .encode(&mut header);
        a.write_all(&header).await.unwrap();
        let junk = vec![0x5a; 4096];
        let mut left = over;
        while left > 0 {
            let n = left.min(junk.len());
            a.write_all(&junk[..n]).await.unwrap();
            left -= n;
        }
        let mut wire = BytesMut::new();
        FrameCodec::new().encode(next.clone(), &mut wire).unwrap();
        a.write_all(&wire).await.unwrap();
        a.shutdown().await.unwrap();
        next
    };
    let read = async {
        let mut items = Vec::new();
        let mut max_capacity = 0;
        while let Some(item) = rx.next().await {
            max_capacity = max_capacity.max(rx.read_buffer().capacity());
            items.push(item.unwrap());
        }
        (items, max_capacity)
    };
    let (next, (items, max_capacity)) = tokio::join!(write, read);
    assert_eq!(
        items,
        [
            Decoded::Oversize(Header {
                length: over as u32,
                stream_id: 1,
                kind: MessageType::REQUEST,
                flags: Flags::EMPTY,
            }),
            Decoded::Frame(next),
        ]
    );
    assert!(
        max_capacity < 64 * 1024,
        "read buffer grew to {max_capacity} bytes"
    );
}

#[tokio::test]
async fn framed_reports_a_connection_closed_mid_frame() {
    let (mut a, b) = tokio::io::duplex(64);
    let mut rx = FramedRead::new(b, FrameCodec::new());
    a.write_all(b"\x00\x00\x00\x05\x00\x00\x00\x01\x01\x00abc")
        .await
        .unwrap();
    drop(a);
    let err = rx.next().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[tokio::test]
async fn framed_ends_cleanly_on_a_frame_boundary() {
    let (a, b) = tokio::io::duplex(64);
    let mut tx = Framed::new(a, FrameCodec::new());
    let mut rx = FramedRead::new(b, FrameCodec::new());
    tx.send(Frame::data(1, Flags::EMPTY, Vec::new()))
        .await
        .unwrap();
    drop(tx);
    assert_eq!(
        rx.next().await.unwrap().unwrap(),
        Decoded::Frame(Frame::data(1, Flags::EMPTY, Vec::new()))
    );
    assert!(rx.next().await.is_none());
}
