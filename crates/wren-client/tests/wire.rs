//! What the client puts on the wire and how it reads what comes back,
//! checked against a raw server made of a unix listener and `FrameCodec`.
#![allow(missing_docs)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tokio::task::JoinSet;
use wren_client::Client;
use wren_transport::codec::prost_types::Any;
use wren_transport::codec::{
    Code, DEFAULT_MAX_MESSAGE_SIZE, Flags, Frame, FrameCodec, MessageType, Status, proto,
};
use wren_transport::{Request, is_closed};

use support::{Echo, RawServer, SERVICE, echo, within};

/// Only field 4 of `ttrpc.Request`, to tell "absent" from "zero".
#[derive(Clone, PartialEq, prost::Message)]
struct TimeoutPresence {
    #[prost(int64, optional, tag = "4")]
    timeout_nano: Option<i64>,
}

fn msg(text: &str, n: u64) -> Echo {
    Echo {
        msg: text.to_owned(),
        n,
    }
}

// ===== 1. stream ids =====

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_ids_are_odd_from_one_and_increase_by_two() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let mut client = Client::new(channel);

    // Sequential calls: 1, 3, 5.
    for (i, expected) in [1u32, 3, 5].into_iter().enumerate() {
        let call = tokio::spawn({
            let mut client = client.clone();
            async move { echo(&mut client, msg("seq", i as u64)).await }
        });
        let req = raw.echo_next().await;
        assert_eq!(req.id(), expected);
        assert_eq!(
            within("call", call).await.unwrap().unwrap(),
            msg("seq", i as u64)
        );
    }

    // Twenty concurrent calls: the ids on the wire are 7, 9, ... in arrival
    // order, with no gaps and no repeats.
    let mut set = JoinSet::new();
    for i in 0..20u64 {
        let mut client = client.clone();
        set.spawn(async move { (i, echo(&mut client, msg("par", i)).await) });
    }
    let mut received = Vec::new();
    for _ in 0..20 {
        received.push(raw.recv_request().await);
    }
    let ids: Vec<u32> = received.iter().map(|r| r.id()).collect();
    let expected: Vec<u32> = (0..20).map(|k| 7 + 2 * k).collect();
    assert_eq!(ids, expected);
    // Reply in reverse order; each caller gets its own reply.
    for req in received.iter().rev() {
        raw.reply_ok(req.id(), req.request.payload.clone()).await;
    }
    while let Some(res) = within("concurrent calls", set.join_next()).await {
        let (i, r) = res.unwrap();
        assert_eq!(r.expect("concurrent call"), msg("par", i));
    }

    // And on from there.
    let call = tokio::spawn(async move { echo(&mut client, msg("last", 0)).await });
    assert_eq!(raw.echo_next().await.id(), 47);
    within("call", call).await.unwrap().unwrap();
}

// ===== 2. the request envelope =====

#[tokio::test]
async fn request_envelope_carries_service_method_payload_and_metadata() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let mut client = Client::new(channel);

    let sent = msg("payload", 9);
    let mut req = Request::new(sent.clone());
    req.metadata_mut().append("Foo", "a");
    req.metadata_mut().append("X-Other", "z");
    req.metadata_mut().append("FOO", "b");
    let call = tokio::spawn(async move {
        client
            .unary::<Echo, Echo>(req, "wren.test.Other", "DoThing")
            .await
    });

    let got = raw.recv_request().await;
    assert_eq!(got.id(), 1);
    assert_eq!(got.request.service, "wren.test.Other");
    assert_eq!(got.request.method, "DoThing");
    assert_eq!(got.request.payload, Bytes::from(sent.encode_to_vec()));
    let kv: Vec<(&str, &str)> = got
        .request
        .metadata
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.as_str()))
        .collect();
    assert_eq!(kv, [("foo", "a"), ("x-other", "z"), ("foo", "b")]);
    assert_eq!(got.request.timeout_nano, 0);
    assert_eq!(
        TimeoutPresence::decode(got.frame.payload.clone())
            .unwrap()
            .timeout_nano,
        None,
        "timeout_nano must be left out without a deadline"
    );
    // Exactly what prost (and Go) would encode: fields in number order.
    assert_eq!(got.frame.payload, Bytes::from(got.request.encode_to_vec()));

    raw.reply_ok(1, sent.encode_to_vec()).await;
    assert_eq!(
        within("call", call).await.unwrap().unwrap().into_inner(),
        sent
    );
}

#[tokio::test]
async fn request_with_a_deadline_sends_timeout_nano() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let mut client = Client::new(channel);

    let requested = Duration::from_secs(5);
    let mut req = Request::new(msg("t", 1));
    req.set_timeout(requested);
    let call = tokio::spawn(async move { client.unary::<Echo, Echo>(req, SERVICE, "Echo").await });

    let got = raw.recv_request().await;
    let nanos = got.request.timeout_nano;
    assert!(nanos > 0, "timeout_nano {nanos}");
    assert!(
        nanos <= requested.as_nanos() as i64,
        "timeout_nano {nanos} over the requested 5 s"
    );
    assert!(
        nanos > Duration::from_secs(2).as_nanos() as i64,
        "timeout_nano {nanos}"
    );
    assert_eq!(
        TimeoutPresence::decode(got.frame.payload.clone())
            .unwrap()
            .timeout_nano,
        Some(nanos)
    );
    assert!(got.request.metadata.is_empty());
    raw.reply_ok(got.id(), got.request.payload.clone()).await;
    within("call", call).await.unwrap().unwrap();
}

// ===== 5. replies for unknown streams, unexpected frames =====

#[tokio::test]
async fn reply_for_an_unknown_stream_is_dropped() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let mut client = Client::new(channel.clone());

    let call = tokio::spawn({
        let mut client = client.clone();
        async move { echo(&mut client, msg("real", 1)).await }
    });
    let req = raw.recv_request().await;
    assert_eq!(req.id(), 1);

    // Replies on streams the client never opened, and a frame of an unknown type.
    raw.reply_ok(999, msg("stray", 999).encode_to_vec()).await;
    raw.reply_err(2, &Status::internal("stray error")).await;
    raw.send(Frame::new(
        1,
        MessageType::from_u8(0x07),
        Flags::EMPTY,
        &b"??"[..],
    ))
    .await;
    // Then the real reply, which is what the call gets.
    raw.reply_ok(1, req.request.payload.clone()).await;
    assert_eq!(within("call", call).await.unwrap().unwrap(), msg("real", 1));

    // The connection keeps working.
    let call = tokio::spawn(async move { echo(&mut client, msg("next", 2)).await });
    assert_eq!(raw.echo_next().await.id(), 3);
    assert_eq!(within("call", call).await.unwrap().unwrap(), msg("next", 2));
    assert!(!channel.is_closed());
}

#[tokio::test]
async fn data_frame_on_a_unary_call_is_a_protocol_error() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let mut client = Client::new(channel);

    let call = tokio::spawn({
        let mut client = client.clone();
        async move { echo(&mut client, msg("x", 1)).await }
    });
    let req = raw.recv_request().await;
    raw.send(Frame::data(
        req.id(),
        Flags::EMPTY,
        req.request.payload.clone(),
    ))
    .await;
    let err = within("call", call)
        .await
        .unwrap()
        .expect_err("data on a unary call");
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert!(!is_closed(&err));

    // The Response that would follow is for a finished stream: dropped.
    raw.reply_ok(req.id(), req.request.payload.clone()).await;
    let call = tokio::spawn(async move { echo(&mut client, msg("y", 2)).await });
    assert_eq!(raw.echo_next().await.id(), 3);
    assert_eq!(within("call", call).await.unwrap().unwrap(), msg("y", 2));
}

// ===== 6. size limits =====

#[tokio::test]
async fn oversize_reply_fails_that_call_only() {
    let server = RawServer::bind();
    let codec = FrameCodec::builder().max_message_size(16 << 20).new_codec();
    let (channel, mut raw) = server.connect_with(codec).await;
    let mut client = Client::new(channel);

    let call = tokio::spawn({
        let mut client = client.clone();
        async move { echo(&mut client, msg("big", 1)).await }
    });
    let req = raw.recv_request().await;
    raw.send(Frame::response(
        req.id(),
        vec![0u8; DEFAULT_MAX_MESSAGE_SIZE + 1],
    ))
    .await;
    let err = within("call", call)
        .await
        .unwrap()
        .expect_err("oversize reply");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(
        err.message(),
        "message length 4194305 exceed maximum message size of 4194304"
    );

    let call = tokio::spawn(async move { echo(&mut client, msg("small", 2)).await });
    assert_eq!(raw.echo_next().await.id(), 3);
    assert_eq!(
        within("call", call).await.unwrap().unwrap(),
        msg("small", 2)
    );
}

#[tokio::test]
async fn oversize_request_fails_locally_without_using_an_id() {
    let server = RawServer::bind();
    // The raw side would decode (not skip) an oversize frame if one were sent.
    let codec = FrameCodec::builder().max_message_size(16 << 20).new_codec();
    let (channel, mut raw) = server.connect_with(codec).await;
    let mut client = Client::new(channel);

    let call = tokio::spawn({
        let mut client = client.clone();
        async move { echo(&mut client, msg("one", 1)).await }
    });
    assert_eq!(raw.echo_next().await.id(), 1);
    within("call", call).await.unwrap().unwrap();

    let huge = msg(&"x".repeat(DEFAULT_MAX_MESSAGE_SIZE), 2);
    let err = within("oversize call", echo(&mut client, huge))
        .await
        .expect_err("oversize request");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().starts_with("message length ")
            && err
                .message()
                .ends_with(" exceed maximum message size of 4194304"),
        "{err:?}"
    );
    assert!(!is_closed(&err));

    // Nothing was sent for it, and its id was not used up: the next request is 3.
    let call = tokio::spawn({
        let mut client = client.clone();
        async move { echo(&mut client, msg("three", 3)).await }
    });
    let next = raw.echo_next().await;
    assert_eq!(next.id(), 3);
    assert_eq!(next.echo(), msg("three", 3));
    within("call", call).await.unwrap().unwrap();

    // An envelope of exactly the limit is sent.
    let mut edge = msg(&"y".repeat(DEFAULT_MAX_MESSAGE_SIZE - 64), 4);
    loop {
        let len = proto::Request {
            service: SERVICE.into(),
            method: "Echo".into(),
            payload: edge.encode_to_vec().into(),
            ..Default::default()
        }
        .encoded_len();
        if len == DEFAULT_MAX_MESSAGE_SIZE {
            break;
        }
        assert!(len < DEFAULT_MAX_MESSAGE_SIZE);
        edge.msg.push('y');
    }
    let call = tokio::spawn({
        let mut client = client.clone();
        let edge = edge.clone();
        async move {
            client
                .unary::<Echo, support::Empty>(Request::new(edge), SERVICE, "Echo")
                .await
        }
    });
    let got = raw.recv_request().await;
    assert_eq!(got.id(), 5);
    assert_eq!(got.frame.payload.len(), DEFAULT_MAX_MESSAGE_SIZE);
    assert_eq!(got.echo(), edge);
    raw.reply_ok(5, Bytes::new()).await;
    within("call", call).await.unwrap().unwrap();
}

#[tokio::test]
async fn custom_client_limit_applies_both_ways() {
    let server = RawServer::bind();
    let channel = within(
        "connect",
        wren_client::Channel::builder()
            .max_message_size(256)
            .connect_unix(&server.path),
    )
    .await
    .unwrap();
    let codec = FrameCodec::builder().max_message_size(16 << 20).new_codec();
    let mut raw = server.accept_with(codec).await;
    let mut client = Client::new(channel);

    let err = within("oversize call", echo(&mut client, msg(&"x".repeat(300), 1)))
        .await
        .expect_err("request over 256 bytes");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(
        err.message()
            .ends_with("exceed maximum message size of 256"),
        "{err:?}"
    );

    // A reply over 256 bytes fails its call.
    let call = tokio::spawn({
        let mut client = client.clone();
        async move { echo(&mut client, msg("small", 2)).await }
    });
    let req = raw.recv_request().await;
    assert_eq!(req.id(), 1);
    raw.reply_ok(1, msg(&"z".repeat(300), 0).encode_to_vec())
        .await;
    let err = within("call", call)
        .await
        .unwrap()
        .expect_err("reply over 256 bytes");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(
        err.message()
            .ends_with("exceed maximum message size of 256"),
        "{err:?}"
    );

    let call = tokio::spawn(async move { echo(&mut client, msg("fine", 3)).await });
    assert_eq!(raw.echo_next().await.id(), 3);
    assert_eq!(within("call", call).await.unwrap().unwrap(), msg("fine", 3));
}

// ===== 7. error statuses =====

#[tokio::test]
async fn error_status_with_details_round_trips() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let mut client = Client::new(channel);

    let detail = Any {
        type_url: "type.googleapis.com/wren.test.Echo".into(),
        value: msg("detail", 7).encode_to_vec(),
    };
    let status = Status::not_found("no such thing").with_details([detail.clone()]);

    let call = tokio::spawn({
        let mut client = client.clone();
        async move { echo(&mut client, msg("q", 1)).await }
    });
    let req = raw.recv_request().await;
    raw.reply_err(req.id(), &status).await;
    let err = within("call", call)
        .await
        .unwrap()
        .expect_err("error status");
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.message(), "no such thing");
    assert_eq!(err.details(), [detail]);
    assert!(
        !is_closed(&err),
        "a peer's status is not a closed connection"
    );

    // A status with code 0 is success; the payload is the reply.
    let call = tokio::spawn({
        let mut client = client.clone();
        async move { echo(&mut client, msg("ok", 2)).await }
    });
    let req = raw.recv_request().await;
    let resp = proto::Response {
        status: Some(proto::Status {
            code: 0,
            message: String::new(),
            details: vec![],
        }),
        payload: req.request.payload.clone(),
    };
    raw.send(Frame::response(req.id(), resp.encode_to_vec()))
        .await;
    assert_eq!(within("call", call).await.unwrap().unwrap(), msg("ok", 2));

    // An error status wins over a payload; unknown codes become UNKNOWN.
    let call = tokio::spawn({
        let mut client = client.clone();
        async move { echo(&mut client, msg("e", 3)).await }
    });
    let req = raw.recv_request().await;
    let resp = proto::Response {
        status: Some(proto::Status {
            code: 99,
            message: "strange".into(),
            details: vec![],
        }),
        payload: req.request.payload.clone(),
    };
    raw.send(Frame::response(req.id(), resp.encode_to_vec()))
        .await;
    let err = within("call", call)
        .await
        .unwrap()
        .expect_err("error status");
    assert_eq!((err.code(), err.message()), (Code::Unknown, "strange"));

    // A reply whose payload is not a Response envelope fails the call.
    let call = tokio::spawn(async move { echo(&mut client, msg("m", 4)).await });
    let req = raw.recv_request().await;
    raw.send(Frame::response(req.id(), &[0xffu8, 0xff, 0xff][..]))
        .await;
    let err = within("call", call)
        .await
        .unwrap()
        .expect_err("malformed response");
    assert_eq!(err.code(), Code::Internal, "{err:?}");
}
