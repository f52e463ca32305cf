//! Streams on the wire: a raw frame-level client against the wren server,
//! and the wren client against a raw frame-level server. Checks every flag,
//! envelope and Data frame against Go ttrpc 1.2's rules.

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream;
use prost::Message;
use prost::bytes::Bytes;
use support::streaming::*;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Notify;
use wren_rpc::codec::{Flags, Frame, MessageType, proto};
use wren_rpc::server::Methods;
use wren_rpc::{Channel, Client, Code, Request, Response, Server, Streaming};

const GATED: &str = "wren.test.Gated";

/// The Request flags of a client-streaming or bidi call from a wren client:
/// remote-open ("Data follows"), as Go 1.2 sends, plus no-data ("this
/// Request's payload is not a message"), which ttrpc-rust servers need and Go
/// servers ignore.
const CLIENT_STREAM_FLAGS: Flags = Flags::from_bits(0x02 | 0x04);

/// A unary method that answers only once `gate` is notified.
fn gated(gate: Arc<Notify>) -> Methods {
    Methods::new(GATED).unary("Wait", move |req: Request<EchoPayload>| {
        let gate = gate.clone();
        async move {
            gate.notified().await;
            let m = req.into_inner();
            Ok(Response::new(EchoPayload {
                seq: m.seq + 1,
                msg: m.msg,
            }))
        }
    })
}

fn server() -> TestServer {
    TestServer::spawn(Server::builder().add_service(service()))
}

fn decode<M: Message + Default>(payload: Bytes) -> M {
    M::decode(payload).expect("a well-formed message")
}

/// Sends a unary Echo on `id` and checks that its Response is the next frame:
/// nothing else was pending on the connection, and it still works.
async fn echo_is_next(raw: &mut Raw, id: u32) {
    raw.send(request(
        id,
        Flags::EMPTY,
        "Echo",
        EchoPayload {
            seq: id,
            msg: String::new(),
        }
        .encode_to_vec(),
    ))
    .await;
    let reply = raw.recv_response(id).await;
    assert_eq!(reply.status, None, "{reply:?}");
    assert_eq!(decode::<EchoPayload>(reply.payload).seq, id + 1);
}

// ===== raw client → wren server =====

#[tokio::test]
async fn server_streaming_sends_data_flags_0_then_close_0x05() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request(
        1,
        Flags::REMOTE_CLOSED,
        "DivideStream",
        Sum { sum: 392, num: 30 }.encode_to_vec(),
    ))
    .await;
    let mut parts = Vec::new();
    for _ in 0..30 {
        let (flags, payload) = raw.recv_data(1).await;
        assert_eq!(flags, Flags::EMPTY, "each message is Data with flags 0");
        parts.push(payload);
    }
    // The empty parts are zero-length Data frames with flags 0, not ND.
    assert!(parts[0].is_empty() && parts[29].is_empty());
    assert!(parts[1..29].iter().all(|p| !p.is_empty()));
    let total: i32 = parts.into_iter().map(|p| decode::<Part>(p).add).sum();
    assert_eq!(total, 392);
    let (flags, payload) = raw.recv_data(1).await;
    assert_eq!(
        (flags, payload.len()),
        (CLOSE, 0),
        "the end is Data 0x05, empty"
    );
    // Nothing follows the close.
    echo_is_next(&mut raw, 3).await;
}

#[tokio::test]
async fn a_streaming_method_streams_whatever_the_request_flags_say() {
    // Go decides from the registration, not the flags: a unary-style request
    // (flags 0) to a server-streaming method gets Data frames.
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request(1, Flags::EMPTY, "EmptyPayloadStream", Vec::new()))
        .await;
    for want in empty_payload_replies() {
        let (flags, payload) = raw.recv_data(1).await;
        assert_eq!(flags, Flags::EMPTY);
        assert_eq!(decode::<EchoPayload>(payload), want);
    }
    assert_eq!(raw.recv_data(1).await.0, CLOSE);
    echo_is_next(&mut raw, 3).await;
}

#[tokio::test]
async fn an_empty_request_payload_is_the_first_message_of_a_server_stream() {
    let server = server();
    let mut raw = server.raw().await;
    // google.protobuf.Empty encodes to zero bytes: the Request has no
    // payload field at all, and the handler must still run with it.
    raw.send(request(
        1,
        Flags::REMOTE_CLOSED,
        "EmptyPayloadStream",
        Vec::new(),
    ))
    .await;
    let mut received = Vec::new();
    loop {
        let (flags, payload) = raw.recv_data(1).await;
        if flags == CLOSE {
            break;
        }
        received.push(decode::<EchoPayload>(payload));
    }
    assert_eq!(received, empty_payload_replies());
}

#[tokio::test]
async fn a_handler_error_ends_the_stream_with_a_response_carrying_the_status() {
    let server = server();
    let mut raw = server.raw().await;
    // Before any message: a handler that fails at once.
    raw.send(request(
        1,
        Flags::REMOTE_CLOSED,
        "DivideStream",
        Sum { sum: 1, num: 1 }.encode_to_vec(),
    ))
    .await;
    let status = raw.recv_status(1).await;
    assert_eq!(status.code, Code::InvalidArgument as i32, "{status:?}");

    // After messages: an inbound message that does not decode fails the echo
    // stream, whose replies so far were Data frames.
    raw.send(request(3, Flags::REMOTE_OPEN, "EchoStream", Vec::new()))
        .await;
    raw.send(data(
        3,
        &EchoPayload {
            seq: 1,
            msg: "a".into(),
        },
    ))
    .await;
    let (flags, payload) = raw.recv_data(3).await;
    assert_eq!(
        (flags, decode::<EchoPayload>(payload).seq),
        (Flags::EMPTY, 2)
    );
    raw.send(Frame::data(3, Flags::EMPTY, vec![0xff, 0xff, 0xff]))
        .await;
    let status = raw.recv_status(3).await;
    assert_eq!(status.code, Code::InvalidArgument as i32, "{status:?}");
    assert!(status.message.contains("unmarshal"), "{status:?}");
    // Nothing follows the Response: no close Data.
    echo_is_next(&mut raw, 5).await;
}

#[tokio::test]
async fn client_streaming_with_empty_messages_and_close() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request(1, Flags::REMOTE_OPEN, "SumStream", Vec::new()))
        .await;
    raw.send(data(1, &Part { add: 5 })).await;
    // Zero-length Data with flags 0: a real, empty message.
    raw.send(Frame::data(1, Flags::EMPTY, Bytes::new())).await;
    raw.send(data(1, &Part::default())).await;
    raw.send(close(1)).await;
    let reply = raw.recv_response(1).await;
    assert_eq!(reply.status, None, "success carries no status");
    assert_eq!(decode::<Sum>(reply.payload), Sum { sum: 5, num: 3 });
    echo_is_next(&mut raw, 3).await;
}

#[tokio::test]
async fn client_stream_requests_with_or_without_no_data_are_the_same() {
    // Go clients send 0x02, wren clients 0x06: both open a client stream
    // whose empty payload is not a message.
    let server = server();
    let mut raw = server.raw().await;
    for (id, flags) in [(1, Flags::REMOTE_OPEN), (3, CLIENT_STREAM_FLAGS)] {
        raw.send(request(id, flags, "SumStream", Vec::new())).await;
        raw.send(data(id, &Part { add: 4 })).await;
        raw.send(close(id)).await;
        let reply = raw.recv_response(id).await;
        assert_eq!(
            decode::<Sum>(reply.payload),
            Sum { sum: 4, num: 1 },
            "flags {flags:?}"
        );
    }
}

#[tokio::test]
async fn remote_closed_with_a_payload_delivers_it_then_ends() {
    let server = server();
    let mut raw = server.raw().await;
    raw.send(request(1, Flags::REMOTE_OPEN, "SumStream", Vec::new()))
        .await;
    raw.send(data(1, &Part { add: 1 })).await;
    raw.send(Frame::data(
        1,
        Flags::REMOTE_CLOSED,
        Part { add: 2 }.encode_to_vec(),
    ))
    .await;
    let reply = raw.recv_response(1).await;
    assert_eq!(reply.status, None);
    assert_eq!(decode::<Sum>(reply.payload), Sum { sum: 3, num: 2 });

    // RC without ND and with an empty payload: an empty last message.
    raw.send(request(3, Flags::REMOTE_OPEN, "SumStream", Vec::new()))
        .await;
    raw.send(Frame::data(3, Flags::REMOTE_CLOSED, Bytes::new()))
        .await;
    let reply = raw.recv_response(3).await;
    assert_eq!(decode::<Sum>(reply.payload), Sum { sum: 0, num: 1 });

    // Bidi: the payload is answered, then the server's stream ends.
    raw.send(request(5, Flags::REMOTE_OPEN, "EchoStream", Vec::new()))
        .await;
    raw.send(Frame::data(
        5,
        Flags::REMOTE_CLOSED,
        EchoPayload {
            seq: 9,
            msg: "last".into(),
        }
        .encode_to_vec(),
    ))
    .await;
    let (flags, payload) = raw.recv_data(5).await;
    assert_eq!(flags, Flags::EMPTY);
    assert_eq!(
        decode::<EchoPayload>(payload),
        EchoPayload {
            seq: 10,
            msg: "last".into()
        }
    );
    assert_eq!(raw.recv_data(5).await.0, CLOSE);
    echo_is_next(&mut raw, 7).await;
}

#[tokio::test]
async fn the_request_payload_opens_a_client_stream_only_when_not_empty() {
    let server = server();
    let mut raw = server.raw().await;
    // Non-empty: counted as the first message (as Go 1.2.3+ does).
    raw.send(request(
        1,
        Flags::REMOTE_OPEN,
        "SumStream",
        Part { add: 100 }.encode_to_vec(),
    ))
    .await;
    raw.send(data(1, &Part { add: 1 })).await;
    raw.send(close(1)).await;
    let reply = raw.recv_response(1).await;
    assert_eq!(decode::<Sum>(reply.payload), Sum { sum: 101, num: 2 });

    // Empty, on a bidi method: not a message. Ten replies per message, so
    // closing at once gets only the close.
    raw.send(request(3, Flags::REMOTE_OPEN, "EchoNullStream", Vec::new()))
        .await;
    raw.send(close(3)).await;
    assert_eq!(raw.recv_data(3).await, (CLOSE, Bytes::new()));

    // Non-empty on the same bidi method: one message, ten empty replies.
    raw.send(request(
        5,
        Flags::REMOTE_OPEN,
        "EchoNullStream",
        EchoPayload {
            seq: 1,
            msg: "x".into(),
        }
        .encode_to_vec(),
    ))
    .await;
    raw.send(close(5)).await;
    for _ in 0..10 {
        assert_eq!(raw.recv_data(5).await, (Flags::EMPTY, Bytes::new()));
    }
    assert_eq!(raw.recv_data(5).await.0, CLOSE);

    // A client-streaming method called without "I will send Data" (flags 0,
    // a unary-style request) gets no Data: its stream ends after the payload.
    raw.send(request(
        7,
        Flags::EMPTY,
        "SumStream",
        Part { add: 7 }.encode_to_vec(),
    ))
    .await;
    let reply = raw.recv_response(7).await;
    assert_eq!(decode::<Sum>(reply.payload), Sum { sum: 7, num: 1 });
}

#[tokio::test]
async fn data_for_an_unknown_or_finished_stream_is_invalid_argument_on_that_id() {
    let server = server();
    let mut raw = server.raw().await;
    // Never opened.
    raw.send(data(9, &Part { add: 1 })).await;
    let status = raw.recv_status(9).await;
    assert_eq!(status.code, Code::InvalidArgument as i32);
    assert_eq!(status.message, "StreamID is no longer active");

    // Finished.
    raw.send(request(11, Flags::REMOTE_OPEN, "SumStream", Vec::new()))
        .await;
    raw.send(close(11)).await;
    let reply = raw.recv_response(11).await;
    assert_eq!(reply.status, None);
    raw.send(data(11, &Part { add: 1 })).await;
    let status = raw.recv_status(11).await;
    assert_eq!(status.code, Code::InvalidArgument as i32);
    assert_eq!(status.message, "StreamID is no longer active");
    raw.send(close(11)).await;
    let status = raw.recv_status(11).await;
    assert_eq!(status.message, "StreamID is no longer active");

    // A finished server stream too.
    raw.send(request(
        13,
        Flags::REMOTE_CLOSED,
        "EmptyPayloadStream",
        Vec::new(),
    ))
    .await;
    for _ in 0..2 {
        raw.recv_data(13).await;
    }
    assert_eq!(raw.recv_data(13).await.0, CLOSE);
    raw.send(data(13, &EchoPayload::default())).await;
    let status = raw.recv_status(13).await;
    assert_eq!(status.message, "StreamID is no longer active");

    // An even id is never a client's.
    raw.send(data(14, &Part { add: 1 })).await;
    let status = raw.recv_status(14).await;
    assert_eq!(status.code, Code::InvalidArgument as i32);

    echo_is_next(&mut raw, 15).await;
}

#[tokio::test]
async fn data_sent_to_a_unary_call_in_flight_is_ignored() {
    let gate = Arc::new(Notify::new());
    let server = TestServer::spawn(
        Server::builder()
            .add_service(service())
            .add_service(gated(gate.clone())),
    );
    let mut raw = server.raw().await;
    let wait = EchoPayload {
        seq: 1,
        msg: "wait".into(),
    };
    // Flags 0x02, as a client that believes the method streams would send.
    raw.send(request_to(
        1,
        Flags::REMOTE_OPEN,
        GATED,
        "Wait",
        wait.encode_to_vec(),
        0,
    ))
    .await;
    raw.send(data(1, &EchoPayload::default())).await;
    raw.send(Frame::data(1, Flags::EMPTY, Bytes::new())).await;
    raw.send(Frame::data(1, Flags::REMOTE_CLOSED, vec![1, 2, 3]))
        .await;
    raw.send(close(1)).await;
    // The connection still serves, and nothing was sent on stream 1.
    echo_is_next(&mut raw, 3).await;
    gate.notify_one();
    let reply = raw.recv_response(1).await;
    assert_eq!(reply.status, None, "the unary call completes normally");
    assert_eq!(
        decode::<EchoPayload>(reply.payload),
        EchoPayload {
            seq: 2,
            msg: "wait".into()
        }
    );
    echo_is_next(&mut raw, 5).await;
}

#[tokio::test]
async fn a_stream_id_that_was_used_or_is_open_is_rejected() {
    let server = server();
    let mut raw = server.raw().await;
    echo_is_next(&mut raw, 3).await;
    raw.send(request(5, Flags::REMOTE_OPEN, "EchoStream", Vec::new()))
        .await;
    raw.send(data(
        5,
        &EchoPayload {
            seq: 1,
            msg: String::new(),
        },
    ))
    .await;
    assert_eq!(decode::<EchoPayload>(raw.recv_data(5).await.1).seq, 2);

    // Lower and used, and equal to the open stream's.
    for id in [3, 5] {
        raw.send(request(id, Flags::REMOTE_OPEN, "EchoStream", Vec::new()))
            .await;
        let status = raw.recv_status(id).await;
        assert_eq!(status.code, Code::InvalidArgument as i32, "{status:?}");
        assert!(status.message.contains("re-used"), "{status:?}");
    }
    // The open stream on 5 is untouched.
    raw.send(data(
        5,
        &EchoPayload {
            seq: 2,
            msg: String::new(),
        },
    ))
    .await;
    assert_eq!(decode::<EchoPayload>(raw.recv_data(5).await.1).seq, 3);
    raw.send(close(5)).await;
    assert_eq!(raw.recv_data(5).await.0, CLOSE);
    echo_is_next(&mut raw, 7).await;
}

#[tokio::test]
async fn an_oversize_data_frame_fails_its_stream_and_keeps_the_connection() {
    let server = TestServer::spawn(
        Server::builder()
            .max_message_size(1024)
            .add_service(service()),
    );
    let mut raw = server.raw().await;
    raw.send(request(1, Flags::REMOTE_OPEN, "EchoStream", Vec::new()))
        .await;
    raw.send(data(
        1,
        &EchoPayload {
            seq: 1,
            msg: "x".repeat(2000),
        },
    ))
    .await;
    let status = raw.recv_status(1).await;
    assert_eq!(status.code, Code::ResourceExhausted as i32, "{status:?}");
    // The stream is gone; the connection is not. The client had not heard
    // yet when it sent more: that Data is dropped without a reply, so the
    // next frame back answers the next call.
    raw.send(data(1, &EchoPayload::default())).await;
    echo_is_next(&mut raw, 3).await;
    // Once the client closes its side the id is forgotten: Data after that
    // is an error, as in Go.
    raw.send(close(1)).await;
    raw.send(data(1, &EchoPayload::default())).await;
    assert_eq!(
        raw.recv_status(1).await.message,
        "StreamID is no longer active"
    );
    echo_is_next(&mut raw, 5).await;
}

// ===== wren client → raw server =====

/// A wren channel connected to a socket this test serves by hand.
struct RawServer {
    io: UnixStream,
    channel: Channel,
    _dir: tempfile::TempDir,
}

impl RawServer {
    async fn start() -> RawServer {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let channel = Channel::connect_unix(&path).await.unwrap();
        let (io, _) = within("accept", listener.accept()).await.unwrap();
        RawServer {
            io,
            channel,
            _dir: dir,
        }
    }

    fn client(&self) -> Client {
        Client::new(self.channel.clone())
    }

    async fn recv(&mut self) -> Frame {
        within("a frame from the client", read_frame(&mut self.io))
            .await
            .unwrap()
            .expect("a frame, not the end of the connection")
    }

    async fn recv_request(&mut self) -> (Frame, proto::Request) {
        let frame = self.recv().await;
        assert_eq!(frame.kind, MessageType::REQUEST, "{frame:?}");
        let envelope = proto::Request::decode(frame.payload.clone()).unwrap();
        (frame, envelope)
    }

    async fn recv_data(&mut self, id: u32) -> (Flags, Bytes) {
        let frame = self.recv().await;
        assert_eq!(
            (frame.kind, frame.stream_id),
            (MessageType::DATA, id),
            "{frame:?}"
        );
        (frame.flags, frame.payload)
    }

    async fn send(&mut self, frame: Frame) {
        within("a write", write_frame(&mut self.io, &frame))
            .await
            .unwrap();
    }

    async fn respond(&mut self, id: u32, payload: impl Into<Bytes>) {
        let response = proto::Response {
            status: None,
            payload: payload.into(),
        };
        self.send(Frame::response(id, response.encode_to_vec()))
            .await;
    }

    async fn fail(&mut self, id: u32, code: Code, message: &str) {
        let response = proto::Response {
            status: Some(wren_rpc::Status::new(code, message).to_proto()),
            payload: Bytes::new(),
        };
        self.send(Frame::response(id, response.encode_to_vec()))
            .await;
    }
}

fn assert_envelope(envelope: &proto::Request, method: &str) {
    assert_eq!(envelope.service, SERVICE);
    assert_eq!(envelope.method, method);
    let metadata: Vec<(&str, &str)> = envelope
        .metadata
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_str()))
        .collect();
    assert_eq!(
        metadata,
        [("foo", "bar")],
        "metadata is sent on stream requests"
    );
    assert!(
        envelope.timeout_nano > 0 && envelope.timeout_nano <= 30_000_000_000,
        "timeout_nano is sent on stream requests: {}",
        envelope.timeout_nano
    );
}

fn with_metadata<T>(message: T) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut().insert("foo", "bar");
    req.set_timeout(Duration::from_secs(30));
    req
}

#[tokio::test]
async fn the_client_sends_client_streams_as_remote_open_data_and_close() {
    let mut raw = RawServer::start().await;
    let mut client = raw.client();
    let (tx, requests) = channel_stream::<Part>(8);
    let call = tokio::spawn(async move {
        client
            .client_streaming::<_, _, Sum>(with_metadata(requests), SERVICE, "SumStream")
            .await
    });
    let (frame, envelope) = raw.recv_request().await;
    assert_eq!((frame.stream_id, frame.flags), (1, CLIENT_STREAM_FLAGS));
    assert_envelope(&envelope, "SumStream");
    assert!(
        envelope.payload.is_empty(),
        "the messages go in Data frames"
    );

    for part in [Part { add: 3 }, Part::default(), Part { add: -1 }] {
        tx.send(part.clone()).await.unwrap();
        let (flags, payload) = raw.recv_data(1).await;
        assert_eq!(flags, Flags::EMPTY);
        assert_eq!(
            payload,
            part.encode_to_vec(),
            "bare message bytes, no envelope"
        );
    }
    // Ending the request stream closes the send side: Data 0x05, empty.
    drop(tx);
    assert_eq!(raw.recv_data(1).await, (CLOSE, Bytes::new()));
    raw.respond(1, Sum { sum: 2, num: 3 }.encode_to_vec()).await;
    let sum = within("the reply", call)
        .await
        .unwrap()
        .expect("the call succeeds");
    assert_eq!(sum.into_inner(), Sum { sum: 2, num: 3 });
}

#[tokio::test]
async fn the_client_sends_server_streams_as_flags_0x01_and_reads_every_data_form() {
    let mut raw = RawServer::start().await;
    let mut client = raw.client();
    let mut parts: Streaming<Part> = within(
        "the call to open",
        client.server_streaming(
            with_metadata(Sum { sum: 4, num: 3 }),
            SERVICE,
            "DivideStream",
        ),
    )
    .await
    .expect("opens")
    .into_inner();
    let (frame, envelope) = raw.recv_request().await;
    assert_eq!((frame.stream_id, frame.flags), (1, Flags::REMOTE_CLOSED));
    assert_envelope(&envelope, "DivideStream");
    assert_eq!(envelope.payload, Sum { sum: 4, num: 3 }.encode_to_vec());

    raw.send(data(1, &Part { add: 1 })).await;
    // Zero-length Data with flags 0: an empty message.
    raw.send(Frame::data(1, Flags::EMPTY, Bytes::new())).await;
    // Remote closed with a payload: the last message.
    raw.send(Frame::data(
        1,
        Flags::REMOTE_CLOSED,
        Part { add: 3 }.encode_to_vec(),
    ))
    .await;
    let mut received = Vec::new();
    while let Some(part) = within("a part", parts.message()).await.expect("no error") {
        received.push(part);
    }
    assert_eq!(
        received,
        [Part { add: 1 }, Part::default(), Part { add: 3 }]
    );

    // A Response after Data ends the stream with its status.
    let mut parts: Streaming<Part> = client
        .server_streaming(Request::new(Sum::default()), SERVICE, "DivideStream")
        .await
        .expect("opens")
        .into_inner();
    let (frame, envelope) = raw.recv_request().await;
    assert_eq!((frame.stream_id, frame.flags), (3, Flags::REMOTE_CLOSED));
    assert!(
        envelope.payload.is_empty(),
        "the default Sum encodes to nothing"
    );
    assert_eq!((envelope.timeout_nano, envelope.metadata.len()), (0, 0));
    raw.send(data(3, &Part { add: 1 })).await;
    raw.fail(3, Code::Aborted, "stop").await;
    assert_eq!(
        within("a part", parts.message()).await.unwrap(),
        Some(Part { add: 1 })
    );
    let err = within("the error", parts.message()).await.unwrap_err();
    assert_eq!((err.code(), err.message()), (Code::Aborted, "stop"));
    assert_eq!(parts.message().await.unwrap(), None);

    // A close with no messages at all.
    let mut parts: Streaming<Part> = client
        .server_streaming(Request::new(Sum::default()), SERVICE, "DivideStream")
        .await
        .expect("opens")
        .into_inner();
    let (frame, _) = raw.recv_request().await;
    assert_eq!(frame.stream_id, 5);
    raw.send(close(5)).await;
    assert_eq!(within("the end", parts.message()).await.unwrap(), None);
}

#[tokio::test]
async fn the_client_runs_bidi_streams_both_ways_and_closes_when_the_sender_is_dropped() {
    let mut raw = RawServer::start().await;
    let mut client = raw.client();
    let (tx, requests) = channel_stream::<EchoPayload>(1);
    let mut replies: Streaming<EchoPayload> = within(
        "the call to open",
        client.streaming(with_metadata(requests), SERVICE, "EchoStream"),
    )
    .await
    .expect("opens")
    .into_inner();
    let (frame, envelope) = raw.recv_request().await;
    assert_eq!((frame.stream_id, frame.flags), (1, CLIENT_STREAM_FLAGS));
    assert_envelope(&envelope, "EchoStream");
    assert!(envelope.payload.is_empty());

    for seq in 0..3 {
        let m = EchoPayload {
            seq,
            msg: "m".into(),
        };
        tx.send(m.clone()).await.unwrap();
        assert_eq!(
            raw.recv_data(1).await,
            (Flags::EMPTY, Bytes::from(m.encode_to_vec()))
        );
        raw.send(data(
            1,
            &EchoPayload {
                seq: seq + 1,
                msg: "m".into(),
            },
        ))
        .await;
        let reply = within("a reply", replies.message()).await.unwrap().unwrap();
        assert_eq!(reply.seq, seq + 1);
    }
    drop(tx);
    assert_eq!(raw.recv_data(1).await, (CLOSE, Bytes::new()));
    raw.send(close(1)).await;
    assert_eq!(within("the end", replies.message()).await.unwrap(), None);

    // The next call takes the next odd id; a unary call has flags 0.
    let call = tokio::spawn({
        let mut client = raw.client();
        async move {
            client
                .unary::<_, EchoPayload>(Request::new(EchoPayload::default()), SERVICE, "Echo")
                .await
        }
    });
    let (frame, _) = raw.recv_request().await;
    assert_eq!((frame.stream_id, frame.flags), (3, Flags::EMPTY));
    raw.respond(
        3,
        EchoPayload {
            seq: 1,
            msg: String::new(),
        }
        .encode_to_vec(),
    )
    .await;
    assert_eq!(call.await.unwrap().unwrap().into_inner().seq, 1);
}

#[tokio::test]
async fn the_server_ending_a_bidi_stream_first_leaves_the_send_side_open() {
    let mut raw = RawServer::start().await;
    let mut client = raw.client();
    let (tx, requests) = channel_stream::<EchoPayload>(1);
    let mut replies: Streaming<EchoPayload> = client
        .streaming(Request::new(requests), SERVICE, "EchoStream")
        .await
        .expect("opens")
        .into_inner();
    raw.recv_request().await;
    raw.send(close(1)).await;
    assert_eq!(within("the end", replies.message()).await.unwrap(), None);
    // Still sending: Go lets a client send after the server's close.
    tx.send(EchoPayload {
        seq: 5,
        msg: String::new(),
    })
    .await
    .unwrap();
    assert_eq!(
        raw.recv_data(1).await.1,
        EchoPayload {
            seq: 5,
            msg: String::new()
        }
        .encode_to_vec()
    );
    drop(tx);
    assert_eq!(raw.recv_data(1).await, (CLOSE, Bytes::new()));
}

#[tokio::test]
async fn a_caller_dropping_a_client_stream_call_closes_it_on_the_wire() {
    let mut raw = RawServer::start().await;
    let mut client = raw.client();
    let (tx, requests) = channel_stream::<Part>(1);
    let call = tokio::spawn(async move {
        client
            .client_streaming::<_, _, Sum>(Request::new(requests), SERVICE, "SumStream")
            .await
    });
    raw.recv_request().await;
    tx.send(Part { add: 1 }).await.unwrap();
    raw.recv_data(1).await;
    // The caller gives up on the call while its request stream is open.
    call.abort();
    let _ = call.await;
    assert_eq!(
        raw.recv_data(1).await,
        (CLOSE, Bytes::new()),
        "the send side is closed"
    );
    // And the request stream is dropped: the sender sees it closed.
    within("the request stream to be dropped", tx.closed()).await;
}

#[tokio::test]
async fn a_caller_dropping_a_bidi_stream_closes_it_on_the_wire() {
    let mut raw = RawServer::start().await;
    let mut client = raw.client();
    let (tx, requests) = channel_stream::<EchoPayload>(1);
    let replies: Streaming<EchoPayload> = client
        .streaming(Request::new(requests), SERVICE, "EchoStream")
        .await
        .expect("opens")
        .into_inner();
    raw.recv_request().await;
    drop(replies);
    assert_eq!(
        raw.recv_data(1).await,
        (CLOSE, Bytes::new()),
        "the send side is closed"
    );
    within("the request stream to be dropped", tx.closed()).await;
}

#[tokio::test]
async fn data_on_a_call_that_expects_one_reply_is_a_protocol_error() {
    let mut raw = RawServer::start().await;
    let mut client = raw.client();
    let call = tokio::spawn(async move {
        client
            .unary::<_, EchoPayload>(Request::new(EchoPayload::default()), SERVICE, "Echo")
            .await
    });
    raw.recv_request().await;
    raw.send(data(1, &EchoPayload::default())).await;
    let err = within("the call", call).await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    // The connection goes on.
    let call = tokio::spawn({
        let mut client = raw.client();
        async move {
            client
                .client_streaming::<_, _, Sum>(
                    Request::new(stream::iter([Part { add: 1 }])),
                    SERVICE,
                    "SumStream",
                )
                .await
        }
    });
    let (frame, _) = raw.recv_request().await;
    assert_eq!(frame.stream_id, 3);
    raw.recv_data(3).await;
    assert_eq!(raw.recv_data(3).await.0, CLOSE);
    raw.respond(3, Sum { sum: 1, num: 1 }.encode_to_vec()).await;
    assert_eq!(
        call.await.unwrap().unwrap().into_inner(),
        Sum { sum: 1, num: 1 }
    );
}

#[tokio::test]
async fn a_client_stream_past_its_deadline_is_closed_on_the_wire() {
    let mut raw = RawServer::start().await;
    let mut client = raw.client();
    let (tx, requests) = channel_stream::<Part>(1);
    let mut req = Request::new(requests);
    req.set_timeout(Duration::from_millis(100));
    let call = tokio::spawn(async move {
        client
            .client_streaming::<_, _, Sum>(req, SERVICE, "SumStream")
            .await
    });
    let (_, envelope) = raw.recv_request().await;
    assert!(envelope.timeout_nano > 0);
    // The server never answers: the caller's deadline ends the call...
    let err = within("the deadline", call).await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    // ...and with it the request stream, closed on the wire.
    assert_eq!(raw.recv_data(1).await, (CLOSE, Bytes::new()));
    within("the request stream to be dropped", tx.closed()).await;
}
