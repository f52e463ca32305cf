//! Payloads at and around the size from which frames carry them by
//! reference (written with vectored writes instead of copied into the write
//! buffer): every byte arrives, in order, on every kind of call, and the
//! frames on the wire are exactly what prost would encode.

mod support;

use futures_util::{StreamExt, stream};
use prost::Message;
use prost::bytes::Bytes;
use support::streaming::*;
use tokio::task::JoinSet;
use wren_rpc::codec::{Flags, Frame, MessageType, proto};
use wren_rpc::server::Methods;
use wren_rpc::{Request, Response, Server, Streaming};
use wren_transport::SHARE_THRESHOLD;

const SVC: &str = "wren.test.Large";

#[derive(Clone, PartialEq, prost::Message)]
struct Blob {
    #[prost(bytes = "bytes", tag = "1")]
    data: Bytes,
}

fn blob(len: usize, seed: u8) -> Blob {
    Blob {
        data: (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect(),
    }
}

fn service() -> Methods {
    Methods::new(SVC)
        .unary("Echo", |req: Request<Blob>| async move {
            Ok(Response::new(req.into_inner()))
        })
        .bidi("EchoStream", |req: Request<Streaming<Blob>>| async move {
            Ok(Response::new(req.into_inner()))
        })
}

const SIZES: [usize; 7] = [
    0,
    100,
    SHARE_THRESHOLD - 8,
    SHARE_THRESHOLD,
    SHARE_THRESHOLD + 1,
    70_000,
    1 << 20,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_around_the_sharing_threshold_arrive_whole_on_every_call_kind() {
    let server = TestServer::spawn(Server::builder().add_service(service()));
    let client = server.client().await;

    // Unary calls of every size at once, interleaved on one connection.
    let mut calls = JoinSet::new();
    for (i, &len) in SIZES.iter().enumerate() {
        for round in 0..3u8 {
            let mut client = client.clone();
            calls.spawn(async move {
                let sent = blob(len, i as u8 + round);
                let reply: Response<Blob> = client
                    .unary(Request::new(sent.clone()), SVC, "Echo")
                    .await
                    .unwrap();
                assert_eq!(reply.into_inner(), sent, "{len} bytes");
            });
        }
    }
    while let Some(done) = within("the unary calls", calls.join_next()).await {
        done.unwrap();
    }

    // One bidi stream carrying every size, both ways.
    let mut c = client.clone();
    let sent: Vec<Blob> = SIZES
        .iter()
        .enumerate()
        .map(|(i, &len)| blob(len, i as u8))
        .collect();
    let mut replies: Streaming<Blob> = within(
        "EchoStream",
        c.streaming(Request::new(stream::iter(sent.clone())), SVC, "EchoStream"),
    )
    .await
    .unwrap()
    .into_inner();
    let mut got = Vec::new();
    while let Some(m) = within("a reply", replies.next()).await {
        got.push(m.unwrap());
    }
    assert_eq!(got, sent);
}

#[tokio::test]
async fn a_shared_payload_frame_is_byte_for_byte_what_prost_encodes() {
    let server = TestServer::spawn(Server::builder().add_service(service()));
    let mut raw = server.raw().await;
    let sent = blob(100_000, 7);
    let request = proto::Request {
        service: SVC.into(),
        method: "Echo".into(),
        payload: sent.encode_to_vec().into(),
        timeout_nano: 5_000_000_000,
        metadata: vec![proto::KeyValue {
            key: "k".into(),
            value: "v".into(),
        }],
    };
    raw.send(Frame::new(
        1,
        MessageType::REQUEST,
        Flags::EMPTY,
        request.encode_to_vec(),
    ))
    .await;
    let frame = raw.recv().await;
    assert_eq!((frame.kind, frame.stream_id), (MessageType::RESPONSE, 1));
    let expected = proto::Response {
        status: None,
        payload: sent.encode_to_vec().into(),
    };
    assert_eq!(frame.payload, expected.encode_to_vec());
}
