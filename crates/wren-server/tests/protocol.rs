//! The server's wire behaviour, driven by a raw client sending hand-made
//! frames: successful replies, protocol errors answered on the offending
//! stream, size limits, and surviving clients that misbehave.
#![allow(missing_docs)]

mod support;

use bytes::Bytes;
use prost::Message;
use tokio::io::AsyncWriteExt;
use wren_server::Server;
use wren_transport::codec::{Code, Decoded, Flags, Frame, FrameCodec, MessageType, proto};
use wren_transport::{Request, Response};

use support::{
    Echo, Empty, Raw, SERVICE, TestServer, decode_response, echo_service, envelope, status,
};

fn server_with_empty() -> TestServer {
    let svc = echo_service().unary("Empty", |_: Request<Empty>| async {
        Ok(Response::new(Empty {}))
    });
    TestServer::spawn(Server::builder().add_service(svc))
}

// ===== 1. unary success =====

#[tokio::test]
async fn unary_echo_reply_has_no_status_field() {
    let server = server_with_empty();
    let mut raw = server.raw().await;

    let msg = Echo {
        msg: "hello".into(),
        n: 42,
    };
    raw.send(Frame::request(
        1,
        envelope(SERVICE, "Echo", &msg).encode_to_vec(),
    ))
    .await;
    let frame = raw.recv().await;
    assert_eq!(frame.stream_id, 1);
    assert_eq!(frame.kind, MessageType::RESPONSE);
    assert_eq!(frame.flags, Flags::EMPTY);
    // Field 2 (payload, length-delimited) comes first: status is left out entirely.
    assert_eq!(
        frame.payload[0],
        0x12,
        "reply bytes: {:02x?}",
        &frame.payload[..]
    );
    let mut expected = vec![0x12, msg.encoded_len() as u8];
    expected.extend(msg.encode_to_vec());
    assert_eq!(&frame.payload[..], &expected[..]);
    let resp = decode_response(&frame);
    assert_eq!(resp.status, None);
    assert_eq!(Echo::decode(resp.payload).unwrap(), msg);
}

#[tokio::test]
async fn empty_reply_is_a_zero_length_response_frame() {
    let server = server_with_empty();
    let mut raw = server.raw().await;

    raw.send(Frame::request(
        1,
        envelope(SERVICE, "Empty", &Empty {}).encode_to_vec(),
    ))
    .await;
    let frame = raw.recv().await;
    assert_eq!(frame.stream_id, 1);
    assert_eq!(frame.kind, MessageType::RESPONSE);
    assert!(
        frame.payload.is_empty(),
        "reply bytes: {:02x?}",
        &frame.payload[..]
    );

    // An empty echo message is also an empty reply.
    raw.send(Frame::request(
        3,
        envelope(SERVICE, "Echo", &Echo::default()).encode_to_vec(),
    ))
    .await;
    let frame = raw.recv().await;
    assert_eq!((frame.stream_id, frame.kind), (3, MessageType::RESPONSE));
    assert!(
        frame.payload.is_empty(),
        "reply bytes: {:02x?}",
        &frame.payload[..]
    );
}

#[tokio::test]
async fn unary_echo_through_channel() {
    let server = server_with_empty();
    let mut client = server.client().await;
    let msg = Echo {
        msg: "via channel".into(),
        n: 7,
    };
    let reply: Response<Echo> = client
        .unary(Request::new(msg.clone()), SERVICE, "Echo")
        .await
        .expect("echo succeeds");
    assert_eq!(reply.into_inner(), msg);
}

// ===== 2. unknown service and method =====

#[tokio::test]
async fn unknown_service_and_method_are_unimplemented() {
    let server = server_with_empty();
    let mut raw = server.raw().await;

    raw.send(Frame::request(
        1,
        envelope("nope.Svc", "Echo", &Empty {}).encode_to_vec(),
    ))
    .await;
    let frame = raw.recv().await;
    assert_eq!(frame.stream_id, 1);
    // Byte-for-byte what Go sends (reference §2.3).
    assert_eq!(
        &frame.payload[..],
        b"\x0a\x14\x08\x0c\x12\x10service nope.Svc"
    );
    let resp = decode_response(&frame);
    assert_eq!(
        status(&resp),
        (Code::Unimplemented.as_i32(), "service nope.Svc")
    );
    assert!(resp.payload.is_empty());

    raw.echo_ok(3, "still usable").await;

    let resp = raw.call(5, "Nope", &Empty {}).await;
    assert_eq!(status(&resp), (Code::Unimplemented.as_i32(), "method Nope"));

    raw.echo_ok(7, "still usable").await;
}

// ===== 3. stream id and envelope errors =====

#[tokio::test]
async fn even_stream_id_is_rejected_on_that_id() {
    let server = server_with_empty();
    let mut raw = server.raw().await;

    raw.send(Frame::request(
        2,
        envelope(SERVICE, "Echo", &Echo::default()).encode_to_vec(),
    ))
    .await;
    let resp = raw.recv_response(2).await;
    assert_eq!(
        status(&resp),
        (
            Code::InvalidArgument.as_i32(),
            "StreamID must be odd for client initiated streams"
        )
    );
    // An even id does not use anything up: 1 is still fresh.
    raw.echo_ok(1, "after even").await;
}

#[tokio::test]
async fn reused_or_decreasing_stream_id_is_rejected() {
    let server = server_with_empty();
    let mut raw = server.raw().await;
    const REUSED: &str = "StreamID cannot be re-used and must increment";

    raw.echo_ok(5, "first").await;

    // The same id again.
    let resp = raw.call(5, "Echo", &Echo::default()).await;
    assert_eq!(status(&resp), (Code::InvalidArgument.as_i32(), REUSED));
    // A smaller id that was skipped over (1 and 3 were) is still fresh:
    // clients that write frames from another task than the one taking ids
    // put them on the wire late. It may be used once.
    raw.echo_ok(3, "late").await;
    let resp = raw.call(3, "Echo", &Echo::default()).await;
    assert_eq!(status(&resp), (Code::InvalidArgument.as_i32(), REUSED));
    // A rejected id does not lower the bar either: 5 is still used.
    let resp = raw.call(5, "Echo", &Echo::default()).await;
    assert_eq!(status(&resp), (Code::InvalidArgument.as_i32(), REUSED));
    raw.echo_ok(1, "later still").await;

    raw.echo_ok(7, "next").await;
}

#[tokio::test]
async fn strict_stream_ids_reject_any_id_that_does_not_increase() {
    let svc = echo_service();
    let server = TestServer::spawn(Server::builder().strict_stream_ids(true).add_service(svc));
    let mut raw = server.raw().await;
    const REUSED: &str = "StreamID cannot be re-used and must increment";

    raw.echo_ok(5, "first").await;
    for id in [5, 3, 1] {
        let resp = raw.call(id, "Echo", &Echo::default()).await;
        assert_eq!(
            status(&resp),
            (Code::InvalidArgument.as_i32(), REUSED),
            "{id}"
        );
    }
    raw.echo_ok(7, "next").await;
}

#[tokio::test]
async fn undecodable_request_is_invalid_argument_and_uses_up_its_id() {
    let server = server_with_empty();
    let mut raw = server.raw().await;

    raw.send(Frame::request(1, Bytes::from_static(&[0xff, 0xff, 0xff])))
        .await;
    let resp = raw.recv_response(1).await;
    let (code, message) = status(&resp);
    assert_eq!(code, Code::InvalidArgument.as_i32());
    assert!(
        message.starts_with("unmarshal request error"),
        "message: {message:?}"
    );

    // As in Go, the malformed request's id counts as used.
    let resp = raw.call(1, "Echo", &Echo::default()).await;
    assert_eq!(
        status(&resp),
        (
            Code::InvalidArgument.as_i32(),
            "StreamID cannot be re-used and must increment"
        )
    );
    raw.echo_ok(3, "after garbage").await;
}

#[tokio::test]
async fn undecodable_request_payload_is_rejected_by_methods() {
    let server = server_with_empty();
    let mut raw = server.raw().await;
    // A valid envelope whose payload is not a valid Echo (field 1 claims 100 bytes).
    let req = proto::Request {
        service: SERVICE.into(),
        method: "Echo".into(),
        payload: Bytes::from_static(&[0x0a, 0x64, 0x01]),
        ..Default::default()
    };
    raw.send(Frame::request(1, req.encode_to_vec())).await;
    let resp = raw.recv_response(1).await;
    let (code, _) = status(&resp);
    assert_eq!(code, Code::InvalidArgument.as_i32());
    raw.echo_ok(3, "after bad payload").await;
}

#[tokio::test]
async fn unknown_frame_types_are_ignored_and_stray_data_is_rejected() {
    let server = server_with_empty();
    let mut raw = server.raw().await;

    raw.send(Frame::new(
        1,
        MessageType::from_u8(0x07),
        Flags::EMPTY,
        &b"whatever"[..],
    ))
    .await;
    raw.send(Frame::new(
        3,
        MessageType::from_u8(0x04),
        Flags::EMPTY,
        Bytes::new(),
    ))
    .await;
    raw.send(Frame::data(5, Flags::REMOTE_CLOSED, &b"\x0a\x01x"[..]))
        .await;
    // Nothing is sent for unknown types; Data for a stream that is not open
    // gets INVALID_ARGUMENT on its id, as Go 1.2 answers.
    let resp = raw.recv_response(5).await;
    let status = resp.status.expect("an error status");
    assert_eq!(status.code, 3);
    assert_eq!(status.message, "StreamID is no longer active");
    raw.echo_ok(1, "after unknown types").await;
    raw.echo_ok(3, "again").await;

    // Request flags are not looked at (as in Go): REMOTE_OPEN on a unary
    // method still gets a plain Response.
    let msg = Echo {
        msg: "flagged".into(),
        n: 5,
    };
    raw.send(Frame::new(
        5,
        MessageType::REQUEST,
        Flags::REMOTE_OPEN,
        envelope(SERVICE, "Echo", &msg).encode_to_vec(),
    ))
    .await;
    let resp = raw.recv_response(5).await;
    assert_eq!(resp.status, None);
    assert_eq!(Echo::decode(resp.payload).unwrap(), msg);
}

// ===== 4. size limits =====

#[tokio::test]
async fn oversize_request_default_limit() {
    let server = server_with_empty();
    let max = wren_transport::codec::DEFAULT_MAX_MESSAGE_SIZE;
    assert_eq!(max, 4 << 20);
    let codec = FrameCodec::builder().max_message_size(16 << 20).new_codec();
    let mut raw = Raw::connect_with(&server.path, codec).await;

    raw.send(Frame::request(1, vec![0u8; max + 1])).await;
    let resp = raw.recv_response(1).await;
    assert_eq!(
        status(&resp),
        (
            Code::ResourceExhausted.as_i32(),
            "message length 4194305 exceed maximum message size of 4194304"
        )
    );
    raw.echo_ok(3, "after oversize").await;

    // Exactly the limit is accepted: an envelope of 4 MiB is decoded and served.
    let mut msg = Echo {
        msg: String::new(),
        n: 0,
    };
    let mut req = envelope(SERVICE, "Echo", &msg);
    let overhead = req.encoded_len();
    msg.msg = "x".repeat(max - overhead - 32);
    loop {
        req = envelope(SERVICE, "Echo", &msg);
        let len = req.encoded_len();
        if len == max {
            break;
        }
        assert!(len < max, "overshot: {len}");
        msg.msg.push('x');
    }
    raw.send(Frame::request(5, req.encode_to_vec())).await;
    let resp = raw.recv_response(5).await;
    assert_eq!(resp.status, None);
    assert_eq!(Echo::decode(resp.payload).unwrap(), msg);
}

#[tokio::test]
async fn oversize_request_custom_limit() {
    let svc = echo_service().unary("Big", |req: Request<Echo>| async move {
        let n = req.into_inner().n as usize;
        Ok(Response::new(Echo {
            msg: "y".repeat(n),
            n: 0,
        }))
    });
    let server = TestServer::spawn(Server::builder().max_message_size(1024).add_service(svc));
    let mut raw = server.raw().await;

    // A frame one byte over the limit: its bytes are skipped, the id gets the error.
    raw.send(Frame::request(1, vec![0xffu8; 1025])).await;
    let resp = raw.recv_response(1).await;
    assert_eq!(
        status(&resp),
        (
            Code::ResourceExhausted.as_i32(),
            "message length 1025 exceed maximum message size of 1024"
        )
    );
    raw.echo_ok(3, "after oversize").await;

    // Another oversize frame on an id that is still fresh; the limit also
    // applies to even ids and unknown types (checked first, as Go does).
    raw.send(Frame::new(
        6,
        MessageType::from_u8(9),
        Flags::EMPTY,
        vec![1u8; 5000],
    ))
    .await;
    let resp = raw.recv_response(6).await;
    assert_eq!(
        status(&resp),
        (
            Code::ResourceExhausted.as_i32(),
            "message length 5000 exceed maximum message size of 1024"
        )
    );
    raw.echo_ok(5, "after second oversize").await;

    // A reply over the server's limit fails that call only (Go would drop the
    // whole connection; wren keeps it).
    let resp = raw
        .call(
            7,
            "Big",
            &Echo {
                msg: String::new(),
                n: 2000,
            },
        )
        .await;
    let (code, message) = status(&resp);
    assert_eq!(code, Code::ResourceExhausted.as_i32());
    assert!(
        message.ends_with("exceed maximum message size of 1024"),
        "message: {message:?}"
    );
    raw.echo_ok(9, "after oversize reply").await;
}

// ===== 10. misbehaving clients do not hurt the server =====

#[tokio::test]
async fn server_survives_garbage_and_half_frames() {
    let server = server_with_empty();

    // Half a header, then EOF.
    let mut io = tokio::net::UnixStream::connect(&server.path).await.unwrap();
    io.write_all(&[0, 0, 0, 5, 0]).await.unwrap();
    io.shutdown().await.unwrap();
    drop(io);

    // A header promising 100 bytes, 3 of them, then EOF.
    let mut io = tokio::net::UnixStream::connect(&server.path).await.unwrap();
    io.write_all(&[0, 0, 0, 100, 0, 0, 0, 1, 1, 0, 1, 2, 3])
        .await
        .unwrap();
    io.shutdown().await.unwrap();
    drop(io);

    // A header claiming ~4 GiB (the server starts skipping it), then EOF.
    let mut io = tokio::net::UnixStream::connect(&server.path).await.unwrap();
    io.write_all(&[0xff; 64]).await.unwrap();
    io.shutdown().await.unwrap();
    drop(io);

    // A connection stuck skipping a huge frame does not hold anyone else up.
    let mut lingering = tokio::net::UnixStream::connect(&server.path).await.unwrap();
    lingering.write_all(&[0xff; 64]).await.unwrap();

    // The server keeps serving, on old and new connections.
    let mut raw = server.raw().await;
    raw.echo_ok(1, "after garbage").await;
    let mut client = server.client().await;
    let reply: Response<Echo> = client
        .unary(
            Request::new(Echo {
                msg: "ok".into(),
                n: 1,
            }),
            SERVICE,
            "Echo",
        )
        .await
        .expect("call after garbage");
    assert_eq!(reply.get_ref().msg, "ok");
    assert!(!server.task.is_finished(), "serve() returned");
    drop(lingering);
}

#[tokio::test]
async fn client_eof_between_frames_closes_quietly() {
    let server = server_with_empty();
    let mut raw = server.raw().await;
    raw.echo_ok(1, "one").await;
    // Half-close: the server sees EOF between frames and closes its side.
    raw.framed.get_mut().shutdown().await.unwrap();
    match raw.next().await {
        None => {}
        Some(Ok(Decoded::Frame(f))) => panic!("unexpected frame after EOF: {f:?}"),
        Some(other) => panic!("unexpected item after EOF: {other:?}"),
    }
    raw = server.raw().await;
    raw.echo_ok(1, "fresh connection").await;
}
