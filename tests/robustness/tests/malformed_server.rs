//! Raw bytes to a wren server: every row of Go ttrpc's status table, and
//! every kind of malformed input the hardening issue lists, each with the
//! exact reply and the state the connection is left in (kept, and the next
//! call works; or closed, with its handlers cancelled).
#![allow(missing_docs)]

use bytes::Bytes;
use prost::Message;
use wren_robustness::fixture::{CHAT, COUNT, ECHO, HOARD, Msg, PARK, SERVICE, SLEEP, SUM};
use wren_robustness::harness::TestServer;
use wren_robustness::peer::{RawPeer, request, request_frame, status_of};
use wren_server::Server;
use wren_transport::codec::{
    Code, DEFAULT_MAX_MESSAGE_SIZE, Flags, Frame, FrameCodec, MessageType, proto,
};

const CLOSE: Flags = Flags::from_bits(0x05);

fn server() -> TestServer {
    TestServer::start(Server::builder())
}

fn msg(seq: u64) -> Msg {
    Msg::new(seq, &b"payload"[..])
}

fn envelope(service: &str, method: &str) -> Vec<u8> {
    proto::Request {
        service: service.to_owned(),
        method: method.to_owned(),
        payload: msg(1).encode_to_vec().into(),
        ..Default::default()
    }
    .encode_to_vec()
}

/// Reads the stream's Data frames up to its close marker; returns their `seq`s.
async fn read_stream<T>(raw: &mut RawPeer<T>, id: u32) -> Vec<u64>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut seqs = Vec::new();
    loop {
        let frame = raw.recv().await;
        assert_eq!(frame.stream_id, id, "{frame:?}");
        assert_eq!(frame.kind, MessageType::DATA, "{frame:?}");
        if frame.flags == CLOSE {
            assert!(frame.payload.is_empty());
            return seqs;
        }
        assert_eq!(frame.flags, Flags::EMPTY);
        seqs.push(Msg::decode(frame.payload).expect("a Msg").seq);
    }
}

/// The reply to a Sum call on `id`: how many messages the handler counted.
async fn sum_reply<T>(raw: &mut RawPeer<T>, id: u32) -> u64
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let resp = raw.recv_response(id).await;
    assert_eq!(status_of(&resp), None, "Sum on {id} failed");
    Msg::decode(resp.payload).expect("a Msg").seq
}

// ===== Go's status table (go-ttrpc.md §2.2), row by row =====

#[tokio::test]
async fn unknown_service_is_unimplemented_and_the_connection_stays() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(Frame::request(1, envelope("wren.robust.Nope", ECHO)))
        .await;
    raw.expect_status(1, Code::Unimplemented, "service wren.robust.Nope")
        .await;
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn unknown_method_is_unimplemented_and_the_connection_stays() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(Frame::request(1, envelope(SERVICE, "Nope"))).await;
    raw.expect_status(1, Code::Unimplemented, "method Nope")
        .await;
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn a_length_just_over_the_limit_is_skipped_with_resource_exhausted() {
    let server = server();
    let over = DEFAULT_MAX_MESSAGE_SIZE + 1;
    let codec = FrameCodec::builder().max_message_size(over).new_codec();
    let mut raw = server.raw_with(codec).await;
    raw.send(Frame::request(1, vec![0u8; over])).await;
    raw.expect_status(
        1,
        Code::ResourceExhausted,
        "message length 4194305 exceed maximum message size of 4194304",
    )
    .await;
    // The payload was skipped exactly: the next frame is read in step, and
    // the id of the oversize frame was not used up.
    raw.echo_ok(1).await;
}

#[tokio::test]
async fn a_frame_of_exactly_the_limit_is_read() {
    let server = server();
    let mut raw = server.raw().await;
    // An envelope of exactly 4 MiB for a method that does not exist: the
    // answer is about the method, so the frame was accepted and decoded.
    let mut envelope = proto::Request {
        service: SERVICE.to_owned(),
        method: "Nope".to_owned(),
        ..Default::default()
    };
    let overhead = envelope.encoded_len() + 1 + 4; // field tag + 4-byte length
    envelope.payload = Bytes::from(vec![0u8; DEFAULT_MAX_MESSAGE_SIZE - overhead]);
    let bytes = envelope.encode_to_vec();
    assert_eq!(bytes.len(), DEFAULT_MAX_MESSAGE_SIZE);
    raw.send(Frame::request(1, bytes)).await;
    raw.expect_status(1, Code::Unimplemented, "method Nope")
        .await;
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn an_even_stream_id_is_invalid_argument_on_that_id() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request_frame(2, ECHO, Flags::EMPTY, &msg(2)))
        .await;
    raw.expect_status(
        2,
        Code::InvalidArgument,
        "StreamID must be odd for client initiated streams",
    )
    .await;
    // Data on an even id gets the same answer.
    raw.send(Frame::data(4, Flags::EMPTY, msg(4).encode_to_vec()))
        .await;
    raw.expect_status(
        4,
        Code::InvalidArgument,
        "StreamID must be odd for client initiated streams",
    )
    .await;
    raw.echo_ok(1).await;
}

#[tokio::test]
async fn a_reused_stream_id_is_invalid_argument() {
    let server = server();
    let mut raw = server.raw().await;
    raw.echo_ok(1).await;
    raw.send(request_frame(1, ECHO, Flags::EMPTY, &msg(1)))
        .await;
    raw.expect_status(
        1,
        Code::InvalidArgument,
        "StreamID cannot be re-used and must increment",
    )
    .await;
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn a_reused_id_of_a_call_still_in_flight_is_rejected_and_the_call_goes_on() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request_frame(
        1,
        SLEEP,
        Flags::EMPTY,
        &Msg::new(200, Bytes::new()),
    ))
    .await;
    raw.send(request_frame(1, ECHO, Flags::EMPTY, &msg(1)))
        .await;
    raw.expect_status(
        1,
        Code::InvalidArgument,
        "StreamID cannot be re-used and must increment",
    )
    .await;
    let resp = raw.recv_response(1).await;
    assert_eq!(status_of(&resp), None, "the first call on 1 still succeeds");
    assert_eq!(Msg::decode(resp.payload).unwrap().seq, 200);
}

#[tokio::test]
async fn out_of_order_fresh_odd_ids_are_accepted() {
    // The hardening issue: a fresh odd id below the highest seen (calls
    // issued concurrently reach the socket out of order) is served, not
    // rejected as Go 1.2 does.
    let server = server();
    let mut raw = server.raw().await;
    raw.echo_ok(7).await;
    raw.echo_ok(3).await;
    raw.echo_ok(5).await;
    raw.echo_ok(9).await;
}

#[tokio::test]
async fn stream_ids_near_the_top_of_the_id_space_work_and_never_wrap() {
    let server = server();
    let mut raw = server.raw().await;
    raw.echo_ok(u32::MAX - 2).await;
    raw.echo_ok(u32::MAX).await;
    // A client that wrapped back to 1 is not served on a reused id.
    raw.send(request_frame(u32::MAX, ECHO, Flags::EMPTY, &msg(1)))
        .await;
    let resp = raw.recv_response(u32::MAX).await;
    assert_eq!(status_of(&resp).map(|s| s.0), Some(Code::InvalidArgument));
}

#[tokio::test]
async fn garbage_protobuf_in_a_request_is_invalid_argument_and_uses_up_the_id() {
    let server = server();
    let mut raw = server.raw().await;
    // Field 1, wire type 2, length 100, and 2 bytes: truncated.
    raw.send(Frame::request(1, &b"\x0a\x64ab"[..])).await;
    let resp = raw.recv_response(1).await;
    let (code, message) = status_of(&resp).expect("an error");
    assert_eq!(code, Code::InvalidArgument);
    assert!(
        message.starts_with("unmarshal request error: "),
        "message: {message}"
    );
    // The id is used up even though the request was malformed (as Go).
    raw.send(request_frame(1, ECHO, Flags::EMPTY, &msg(1)))
        .await;
    raw.expect_status(
        1,
        Code::InvalidArgument,
        "StreamID cannot be re-used and must increment",
    )
    .await;
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn metadata_with_a_non_utf8_key_is_invalid_argument() {
    let server = server();
    let mut raw = server.raw().await;
    let mut bytes = request(ECHO, &msg(1)).encode_to_vec();
    // metadata (field 5) { key (field 1): "\xff\xfe" }
    bytes.extend_from_slice(b"\x2a\x04\x0a\x02\xff\xfe");
    raw.send(Frame::request(1, bytes)).await;
    let resp = raw.recv_response(1).await;
    let (code, message) = status_of(&resp).expect("an error");
    assert_eq!(code, Code::InvalidArgument);
    assert!(
        message.starts_with("unmarshal request error: "),
        "message: {message}"
    );
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn a_payload_the_handler_cannot_decode_is_invalid_argument() {
    // Go answers INTERNAL `ttrpc: error unmarshalling payload`; wren says
    // it is the caller's fault.
    let server = server();
    let mut raw = server.raw().await;
    let envelope = proto::Request {
        service: SERVICE.to_owned(),
        method: ECHO.to_owned(),
        payload: Bytes::from_static(b"\xff\xff\xff"),
        ..Default::default()
    };
    raw.send(Frame::request(1, envelope.encode_to_vec())).await;
    let resp = raw.recv_response(1).await;
    let (code, message) = status_of(&resp).expect("an error");
    assert_eq!(code, Code::InvalidArgument);
    assert!(
        message.starts_with("error unmarshalling payload: "),
        "message: {message}"
    );
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn data_for_a_stream_never_opened_or_already_finished_is_no_longer_active() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(Frame::data(5, Flags::EMPTY, msg(5).encode_to_vec()))
        .await;
    raw.expect_status(5, Code::InvalidArgument, "StreamID is no longer active")
        .await;

    raw.echo_ok(7).await;
    raw.send(Frame::data(7, Flags::EMPTY, msg(7).encode_to_vec()))
        .await;
    raw.expect_status(7, Code::InvalidArgument, "StreamID is no longer active")
        .await;
    raw.echo_ok(9).await;
}

#[tokio::test]
async fn a_close_with_a_payload_delivers_it_as_the_last_message() {
    // Go's server answers INVALID_ARGUMENT `data close message cannot
    // include data` and lets the handler run on; wren, like Go's client,
    // takes the payload as the last message.
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request_frame(1, SUM, Flags::REMOTE_OPEN, &Msg::default()))
        .await;
    raw.send(Frame::data(1, Flags::EMPTY, msg(1).encode_to_vec()))
        .await;
    raw.send(Frame::data(1, Flags::REMOTE_CLOSED, msg(2).encode_to_vec()))
        .await;
    assert_eq!(sum_reply(&mut raw, 1).await, 2);
    raw.echo_ok(3).await;
}

// ===== frames and bytes Go's table does not cover =====

#[tokio::test]
async fn a_data_frame_flagged_no_data_carries_no_message() {
    // NO_DATA (0x04) means the frame carries no message, with or without
    // REMOTE_CLOSED: its payload is never delivered.
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request_frame(1, SUM, Flags::REMOTE_OPEN, &Msg::default()))
        .await;
    raw.send(Frame::data(1, Flags::EMPTY, Bytes::new())).await; // a real, empty message
    raw.send(Frame::data(1, Flags::NO_DATA, msg(1).encode_to_vec()))
        .await;
    raw.send(Frame::data(1, CLOSE, msg(2).encode_to_vec()))
        .await;
    assert_eq!(sum_reply(&mut raw, 1).await, 1);
}

#[tokio::test]
async fn unknown_message_types_are_ignored() {
    let server = server();
    let mut raw = server.raw().await;
    for kind in [0u8, 4, 5, 0x7f, 0xff] {
        let kind = MessageType::from_u8(kind);
        raw.send(Frame::new(1, kind, Flags::EMPTY, envelope(SERVICE, ECHO)))
            .await;
    }
    // A Response from a client is not for a server either.
    raw.send(Frame::response(1, &b"\x12\x00"[..])).await;
    // Nothing was answered: the first reply is the Echo's.
    raw.echo_ok(1).await;
}

#[tokio::test]
async fn data_to_a_unary_call_in_flight_is_dropped_and_the_call_goes_on() {
    // Go's server dereferences nil here and crashes.
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request_frame(
        1,
        SLEEP,
        Flags::EMPTY,
        &Msg::new(100, Bytes::new()),
    ))
    .await;
    raw.send(Frame::data(1, Flags::EMPTY, msg(1).encode_to_vec()))
        .await;
    raw.send(Frame::data(1, CLOSE, Bytes::new())).await;
    let resp = raw.recv_response(1).await;
    assert_eq!(status_of(&resp), None);
    assert_eq!(Msg::decode(resp.payload).unwrap().seq, 100);
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn data_after_the_client_closed_its_side_fails_only_that_stream() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request_frame(1, HOARD, Flags::REMOTE_OPEN, &Msg::default()))
        .await;
    raw.send(Frame::data(1, CLOSE, Bytes::new())).await;
    raw.send(Frame::data(1, Flags::EMPTY, msg(1).encode_to_vec()))
        .await;
    let resp = raw.recv_response(1).await;
    assert_eq!(status_of(&resp).map(|s| s.0), Some(Code::InvalidArgument));
    server.all_handlers_gone().await;
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn an_oversize_data_frame_fails_its_stream_and_cancels_the_handler() {
    let server = TestServer::start(Server::builder().max_message_size(1024));
    let codec = FrameCodec::builder().max_message_size(4096).new_codec();
    let mut raw = server.raw_with(codec).await;
    raw.send(request_frame(1, HOARD, Flags::REMOTE_OPEN, &Msg::default()))
        .await;
    raw.send(Frame::data(1, Flags::EMPTY, vec![0u8; 2000]))
        .await;
    raw.expect_status(
        1,
        Code::ResourceExhausted,
        "message length 2000 exceed maximum message size of 1024",
    )
    .await;
    server.all_handlers_gone().await;
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn request_flags_do_not_change_how_a_method_is_served() {
    let server = server();
    let mut raw = server.raw().await;
    // "Data follows" on a unary method: still one Response.
    raw.send(request_frame(1, ECHO, Flags::REMOTE_OPEN, &msg(1)))
        .await;
    let resp = raw.recv_response(1).await;
    assert_eq!(Msg::decode(resp.payload).unwrap(), msg(1));
    // No flags on a server-streaming method: still a stream.
    raw.send(request_frame(
        3,
        COUNT,
        Flags::EMPTY,
        &Msg::new(2, Bytes::new()),
    ))
    .await;
    assert_eq!(read_stream(&mut raw, 3).await, [0, 1]);
    // A client-streaming method called without "Data follows" gets a
    // closed inbound stream (and its payload as the one message).
    raw.send(request_frame(5, SUM, Flags::EMPTY, &msg(5))).await;
    assert_eq!(sum_reply(&mut raw, 5).await, 1);
}

#[tokio::test]
async fn garbage_in_a_bidi_stream_fails_only_that_stream() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request_frame(1, CHAT, Flags::REMOTE_OPEN, &Msg::default()))
        .await;
    raw.send(Frame::data(1, Flags::EMPTY, &b"\xff\xff\xff"[..]))
        .await;
    let resp = raw.recv_response(1).await;
    let (code, message) = status_of(&resp).expect("an error");
    assert_eq!(code, Code::InvalidArgument);
    assert!(
        message.starts_with("error unmarshalling stream message: "),
        "message: {message}"
    );
    server.all_handlers_gone().await;
    raw.echo_ok(3).await;
}

// ===== truncation and end of stream =====

#[tokio::test]
async fn a_truncated_header_then_eof_closes_quietly_and_cancels_calls() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request_frame(1, PARK, Flags::EMPTY, &msg(1)))
        .await;
    raw.send_raw(&[0, 0, 0, 5, 0, 0]).await;
    raw.shutdown().await;
    assert!(raw.closed().await, "no reply, then the server closes");
    server.all_handlers_gone().await;
    server.raw().await.echo_ok(1).await;
}

#[tokio::test]
async fn a_truncated_body_then_eof_closes_quietly_and_cancels_calls() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request_frame(1, PARK, Flags::EMPTY, &msg(1)))
        .await;
    raw.send(request_frame(3, HOARD, Flags::REMOTE_OPEN, &msg(3)))
        .await;
    let whole = request_frame(5, ECHO, Flags::EMPTY, &msg(5));
    let mut bytes = wren_robustness::peer::header_bytes(
        whole.payload.len() as u32,
        5,
        MessageType::REQUEST,
        Flags::EMPTY,
    )
    .to_vec();
    bytes.extend_from_slice(&whole.payload[..whole.payload.len() / 2]);
    raw.send_raw(&bytes).await;
    raw.shutdown().await;
    assert!(raw.closed().await, "no reply, then the server closes");
    server.all_handlers_gone().await;
    server.raw().await.echo_ok(1).await;
}

#[tokio::test]
async fn a_length_near_4_gib_then_a_short_body_and_eof_closes_without_allocating() {
    let server = server();
    let before = wren_robustness::sys::Memory::of_self().expect("/proc/self/status");
    let mut raw = server.raw().await;
    raw.send(request_frame(1, PARK, Flags::EMPTY, &msg(1)))
        .await;
    raw.send_header(u32::MAX - 1, 3, MessageType::REQUEST, Flags::EMPTY)
        .await;
    raw.send_raw(&[0u8; 1000]).await;
    // The server is skipping the body: still serving the other connections.
    server.raw().await.echo_ok(1).await;
    raw.shutdown().await;
    assert!(raw.closed().await, "no reply, then the server closes");
    server.all_handlers_gone().await;
    let after = wren_robustness::sys::Memory::of_self().expect("/proc/self/status");
    // Nothing near the announced 4 GiB was ever resident (the whole test
    // process, with its runtime, stays far below it).
    assert!(
        after.peak_kib < before.peak_kib + 256 * 1024,
        "peak RSS went from {} KiB to {} KiB",
        before.peak_kib,
        after.peak_kib
    );
}

#[tokio::test]
async fn garbage_bytes_that_parse_as_headers_never_stop_the_server() {
    let server = server();
    let mut raw = server.raw().await;
    // 10 bytes of 0xff: a header announcing ~4 GiB on stream 2^32-1 of type
    // 0xff, whose body then swallows everything; then EOF.
    raw.send_raw(&[0xff; 64]).await;
    raw.shutdown().await;
    assert!(raw.closed().await);
    // 10 zero bytes: an empty frame of type 0 on stream 0, ignored.
    let mut raw = server.raw().await;
    raw.send_raw(&[0u8; 10]).await;
    raw.echo_ok(1).await;
}

// ===== limits: Go's "data could not be queued", and wren's budgets =====

#[tokio::test]
async fn a_stream_whose_handler_falls_behind_fails_alone_with_resource_exhausted() {
    // Go: INVALID_ARGUMENT `data handling error: ttrpc: stream buffer full`
    // after blocking the connection for a second. wren fails the stream at
    // once and never stops reading.
    let server = TestServer::start(Server::builder().max_buffered_bytes_per_stream(4096));
    let mut raw = server.raw().await;
    raw.send(request_frame(1, HOARD, Flags::REMOTE_OPEN, &Msg::default()))
        .await;
    for _ in 0..8 {
        raw.send(Frame::data(1, Flags::EMPTY, vec![0u8; 1024]))
            .await;
    }
    let resp = raw.recv_response(1).await;
    let (code, message) = status_of(&resp).expect("an error");
    assert_eq!(code, Code::ResourceExhausted);
    assert!(
        message.starts_with(
            "stream buffer full: the consumer is reading slower than the sender sends"
        ) && message.ends_with("limit 4096 bytes)"),
        "message: {message}"
    );
    server.all_handlers_gone().await;
    raw.echo_ok(3).await;
}

#[tokio::test]
async fn calls_past_max_concurrent_streams_are_refused_and_the_connection_stays() {
    let server = TestServer::start(Server::builder().max_concurrent_streams(2));
    let mut raw = server.raw().await;
    raw.send(request_frame(1, PARK, Flags::EMPTY, &msg(1)))
        .await;
    raw.send(request_frame(3, PARK, Flags::EMPTY, &msg(3)))
        .await;
    raw.send(request_frame(5, PARK, Flags::EMPTY, &msg(5)))
        .await;
    raw.expect_status(
        5,
        Code::ResourceExhausted,
        "too many concurrent streams on this connection (limit 2)",
    )
    .await;
}

#[tokio::test]
async fn calls_past_the_connection_budget_are_refused_and_the_connection_stays() {
    let server = TestServer::start(Server::builder().connection_budget(64 * 1024));
    let mut raw = server.raw().await;
    let big = Msg::new(1, vec![b'b'; 10 * 1024]);
    // 20 parked calls of 10 KiB: 200 KiB asked of a 64 KiB budget. Parked
    // calls never reply, so every reply is a refusal.
    for i in 0..20 {
        raw.send(request_frame(2 * i + 1, PARK, Flags::EMPTY, &big))
            .await;
    }
    let refusal = raw.recv().await;
    assert!(refusal.stream_id > 1, "the first call fits: {refusal:?}");
    let resp = wren_robustness::peer::decode_response(&refusal);
    let (code, message) = status_of(&resp).expect("an error");
    assert_eq!(code, Code::ResourceExhausted);
    assert!(
        message.starts_with("connection buffer budget exhausted ("),
        "message: {message}"
    );
    // Still serving what fits.
    drop(raw);
    server.all_handlers_gone().await;
    server.raw().await.echo_ok(1).await;
}
