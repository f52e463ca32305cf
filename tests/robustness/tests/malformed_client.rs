//! Raw bytes from a server to a wren client: malformed, unexpected and
//! oversize replies, each with the exact outcome of the calls involved and
//! the state the connection is left in.
#![allow(missing_docs)]

use bytes::Bytes;
use futures_util::stream;
use prost::Message;
use tokio::net::UnixStream;
use wren_client::Client;
use wren_robustness::fixture::{CHAT, COUNT, ECHO, Msg, SERVICE, SUM};
use wren_robustness::harness::RawServer;
use wren_robustness::peer::{RawPeer, header_bytes, within};
use wren_transport::codec::{
    Code, DEFAULT_MAX_MESSAGE_SIZE, Flags, Frame, FrameCodec, MessageType, Status, proto,
};
use wren_transport::{Request, Streaming, is_closed};

const CLOSE: Flags = Flags::from_bits(0x05);

fn msg(seq: u64) -> Msg {
    Msg::new(seq, &b"payload"[..])
}

/// Starts a unary Echo call in its own task.
fn echo(client: &Client, seq: u64) -> tokio::task::JoinHandle<Result<Msg, Status>> {
    let mut client = client.clone();
    tokio::spawn(async move {
        client
            .unary::<Msg, Msg>(Request::new(msg(seq)), SERVICE, ECHO)
            .await
            .map(wren_transport::Response::into_inner)
    })
}

async fn outcome<T>(call: tokio::task::JoinHandle<T>) -> T {
    within("the call to finish", call)
        .await
        .expect("the call's task")
}

/// A unary call that must succeed through the raw server's echo: the
/// connection still works.
async fn still_works(client: &Client, raw: &mut RawPeer<UnixStream>) {
    let call = echo(client, 99);
    raw.echo_next().await;
    assert_eq!(outcome(call).await.expect("the next call works"), msg(99));
}

fn response(status: Option<proto::Status>, payload: Vec<u8>) -> Vec<u8> {
    proto::Response {
        status,
        payload: payload.into(),
    }
    .encode_to_vec()
}

#[tokio::test]
async fn a_response_for_a_stream_never_opened_is_dropped() {
    let server = RawServer::bind();
    let (client, mut raw) = server.connect().await;
    let call = echo(&client, 1);
    let (frame, _) = raw.recv_request().await;
    assert_eq!(frame.stream_id, 1);
    for id in [3, 2, 0, u32::MAX] {
        raw.send(Frame::response(
            id,
            response(None, msg(id.into()).encode_to_vec()),
        ))
        .await;
        raw.send(Frame::data(id, Flags::EMPTY, msg(7).encode_to_vec()))
            .await;
    }
    raw.reply(1, &msg(1)).await;
    assert_eq!(outcome(call).await.unwrap(), msg(1));
    still_works(&client, &mut raw).await;
}

#[tokio::test]
async fn a_data_frame_on_a_unary_call_fails_that_call_only() {
    let server = RawServer::bind();
    let (client, mut raw) = server.connect().await;
    let call = echo(&client, 1);
    raw.recv_request().await;
    raw.send(Frame::data(1, Flags::EMPTY, msg(1).encode_to_vec()))
        .await;
    let status = outcome(call).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(
        status.message(),
        "protocol error: data frame received on a call that expects one reply"
    );
    // The real reply arrives late: dropped.
    raw.reply(1, &msg(1)).await;
    still_works(&client, &mut raw).await;
}

#[tokio::test]
async fn a_reply_just_over_the_limit_fails_that_call_and_the_connection_stays() {
    let server = RawServer::bind();
    let codec = FrameCodec::builder()
        .max_message_size(DEFAULT_MAX_MESSAGE_SIZE + 1)
        .new_codec();
    let (client, mut raw) = server.connect_with(codec).await;
    let call = echo(&client, 1);
    raw.recv_request().await;
    raw.send(Frame::response(1, vec![0u8; DEFAULT_MAX_MESSAGE_SIZE + 1]))
        .await;
    let status = outcome(call).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        status.message(),
        "message length 4194305 exceed maximum message size of 4194304"
    );
    still_works(&client, &mut raw).await;
}

#[tokio::test]
async fn a_length_near_4_gib_then_a_short_body_and_eof_fails_the_calls_cleanly() {
    let server = RawServer::bind();
    let (client, mut raw) = server.connect().await;
    let before = wren_robustness::sys::Memory::of_self().expect("/proc/self/status");
    let (first, second) = (echo(&client, 1), echo(&client, 3));
    raw.recv_request().await;
    raw.recv_request().await;
    raw.send_raw(&header_bytes(
        u32::MAX,
        1,
        MessageType::RESPONSE,
        Flags::EMPTY,
    ))
    .await;
    raw.send_raw(&[0u8; 1000]).await;
    drop(raw);
    for call in [first, second] {
        let status = outcome(call).await.unwrap_err();
        assert!(is_closed(&status), "{status:?}");
        assert_eq!(status.code(), Code::Unavailable);
    }
    let after = wren_robustness::sys::Memory::of_self().expect("/proc/self/status");
    assert!(
        after.peak_kib < before.peak_kib + 256 * 1024,
        "peak RSS went from {} KiB to {} KiB",
        before.peak_kib,
        after.peak_kib
    );
    // The channel says so, and later calls fail at once.
    assert!(client.get_ref().is_closed());
    let status = outcome(echo(&client, 5)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
}

#[tokio::test]
async fn a_truncated_header_or_body_then_eof_fails_the_calls_in_flight() {
    for cut in [3usize, 10 + 4] {
        let server = RawServer::bind();
        let (client, mut raw) = server.connect().await;
        let call = echo(&client, 1);
        raw.recv_request().await;
        let mut bytes = header_bytes(20, 1, MessageType::RESPONSE, Flags::EMPTY).to_vec();
        bytes.extend_from_slice(&[0x12; 10]);
        raw.send_raw(&bytes[..cut]).await;
        drop(raw);
        let status = outcome(call).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "cut at {cut}: {status:?}");
        assert!(is_closed(&status));
    }
}

#[tokio::test]
async fn a_response_that_is_not_protobuf_fails_that_call_only() {
    let server = RawServer::bind();
    let (client, mut raw) = server.connect().await;
    let call = echo(&client, 1);
    raw.recv_request().await;
    raw.send(Frame::response(1, &b"\x0a\x64ab"[..])).await;
    let status = outcome(call).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status
            .message()
            .starts_with("malformed response from server: "),
        "{status:?}"
    );
    still_works(&client, &mut raw).await;
}

#[tokio::test]
async fn a_reply_message_the_caller_cannot_decode_is_internal() {
    let server = RawServer::bind();
    let (client, mut raw) = server.connect().await;
    let call = echo(&client, 1);
    raw.recv_request().await;
    raw.send(Frame::response(1, response(None, b"\xff\xff\xff".to_vec())))
        .await;
    let status = outcome(call).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status.message().starts_with("malformed reply: "),
        "{status:?}"
    );
    still_works(&client, &mut raw).await;
}

#[tokio::test]
async fn statuses_code_zero_is_success_and_unknown_codes_are_unknown() {
    let server = RawServer::bind();
    let (client, mut raw) = server.connect().await;
    let (ok, odd) = (echo(&client, 1), echo(&client, 3));
    raw.recv_request().await;
    raw.recv_request().await;
    let zero = proto::Status {
        code: 0,
        message: "fine".into(),
        details: Vec::new(),
    };
    raw.send(Frame::response(
        1,
        response(Some(zero), msg(1).encode_to_vec()),
    ))
    .await;
    let weird = proto::Status {
        code: 99,
        message: "from the future".into(),
        details: Vec::new(),
    };
    raw.send(Frame::response(3, response(Some(weird), Vec::new())))
        .await;
    assert_eq!(outcome(ok).await.unwrap(), msg(1));
    let status = outcome(odd).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown);
    assert_eq!(status.message(), "from the future");
    still_works(&client, &mut raw).await;
}

#[tokio::test]
async fn unknown_message_types_and_requests_from_the_server_are_ignored() {
    let server = RawServer::bind();
    let (client, mut raw) = server.connect().await;
    let call = echo(&client, 1);
    raw.recv_request().await;
    for kind in [0u8, 1, 4, 5, 0xff] {
        raw.send(Frame::new(
            1,
            MessageType::from_u8(kind),
            Flags::EMPTY,
            response(None, msg(7).encode_to_vec()),
        ))
        .await;
    }
    raw.reply(1, &msg(1)).await;
    assert_eq!(outcome(call).await.unwrap(), msg(1));
    still_works(&client, &mut raw).await;
}

#[tokio::test]
async fn frames_after_the_end_of_a_stream_are_dropped() {
    let server = RawServer::bind();
    let (mut client, mut raw) = server.connect().await;
    let replies = tokio::spawn(async move {
        let resp = client
            .server_streaming::<Msg, Msg>(Request::new(msg(2)), SERVICE, COUNT)
            .await?;
        read_all(resp.into_inner()).await
    });
    let (frame, _) = raw.recv_request().await;
    assert_eq!(frame.flags, Flags::REMOTE_CLOSED);
    raw.send(Frame::data(1, Flags::EMPTY, msg(0).encode_to_vec()))
        .await;
    raw.send(Frame::data(1, CLOSE, Bytes::new())).await;
    raw.send(Frame::data(1, Flags::EMPTY, msg(1).encode_to_vec()))
        .await;
    raw.send(Frame::response(1, response(None, Vec::new())))
        .await;
    assert_eq!(outcome(replies).await.unwrap(), [0]);
}

#[tokio::test]
async fn a_data_frame_flagged_no_data_is_not_a_message_for_the_caller() {
    let server = RawServer::bind();
    let (mut client, mut raw) = server.connect().await;
    let replies = tokio::spawn(async move {
        let resp = client
            .server_streaming::<Msg, Msg>(Request::new(msg(2)), SERVICE, COUNT)
            .await?;
        read_all(resp.into_inner()).await
    });
    raw.recv_request().await;
    raw.send(Frame::data(1, Flags::EMPTY, msg(0).encode_to_vec()))
        .await;
    raw.send(Frame::data(1, Flags::NO_DATA, msg(1).encode_to_vec()))
        .await;
    raw.send(Frame::data(1, Flags::REMOTE_CLOSED, msg(2).encode_to_vec()))
        .await;
    // A close that carries a payload delivers it last (as Go's client does).
    assert_eq!(outcome(replies).await.unwrap(), [0, 2]);
}

#[tokio::test]
async fn an_error_response_ends_a_client_stream_and_its_sending() {
    let server = RawServer::bind();
    let (mut client, mut raw) = server.connect().await;
    let call = tokio::spawn(async move {
        let forever = stream::repeat(msg(1));
        client
            .client_streaming::<Msg, _, Msg>(Request::new(forever), SERVICE, SUM)
            .await
    });
    let (frame, _) = raw.recv_request().await;
    assert!(frame.flags.contains(Flags::REMOTE_OPEN));
    let failure = Status::invalid_argument("enough").to_proto();
    raw.send(Frame::response(1, response(Some(failure), Vec::new())))
        .await;
    let status = outcome(call).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "enough");
    // The client stopped sending: with the call over and the client
    // dropped, the connection ends instead of streaming on for ever.
    while let Some(item) = raw.next().await {
        let Ok(wren_transport::codec::Decoded::Frame(frame)) = item else {
            break;
        };
        assert_eq!((frame.stream_id, frame.kind), (1, MessageType::DATA));
    }
}

#[tokio::test]
async fn an_oversize_data_frame_fails_only_its_stream() {
    let server = RawServer::bind();
    let codec = FrameCodec::builder()
        .max_message_size(DEFAULT_MAX_MESSAGE_SIZE + 1)
        .new_codec();
    let (client, mut raw) = server.connect_with(codec).await;
    let mut c = client.clone();
    let chat = tokio::spawn(async move {
        let resp = c
            .streaming::<Msg, _, Msg>(Request::new(stream::pending()), SERVICE, CHAT)
            .await?;
        read_all(resp.into_inner()).await
    });
    raw.recv_request().await;
    raw.send(Frame::data(
        1,
        Flags::EMPTY,
        vec![0u8; DEFAULT_MAX_MESSAGE_SIZE + 1],
    ))
    .await;
    let status = outcome(chat).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert_eq!(
        status.message(),
        "message length 4194305 exceed maximum message size of 4194304"
    );
    // The client closes its side of the failed stream.
    let close = raw.recv().await;
    assert_eq!(
        (close.stream_id, close.kind, close.flags),
        (1, MessageType::DATA, CLOSE)
    );
    still_works(&client, &mut raw).await;
}

async fn read_all(mut replies: Streaming<Msg>) -> Result<Vec<u64>, Status> {
    let mut seqs = Vec::new();
    while let Some(m) = replies.message().await? {
        seqs.push(m.seq);
    }
    Ok(seqs)
}
