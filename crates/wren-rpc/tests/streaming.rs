//! Go ttrpc's streaming fixture (`stream_test.go`, `integration/streaming_test.go`)
//! mirrored on `proto/interop/streaming.proto`: a wren client against a wren
//! server over a real unix socket.

mod support;

use futures_util::stream;
use support::streaming::*;
use wren_rpc::{Client, Code, Request, Response, Server, Streaming};

fn server() -> TestServer {
    TestServer::spawn(Server::builder().add_service(service()))
}

async fn echo_stream(
    client: &mut Client,
) -> (
    tokio::sync::mpsc::Sender<EchoPayload>,
    Streaming<EchoPayload>,
) {
    let (tx, requests) = channel_stream(1);
    let replies = within(
        "EchoStream to open",
        client.streaming(Request::new(requests), SERVICE, "EchoStream"),
    )
    .await
    .expect("EchoStream opens")
    .into_inner();
    (tx, replies)
}

#[tokio::test]
async fn echo() {
    let server = server();
    let mut client = server.client().await;
    let reply: Response<EchoPayload> = within(
        "Echo",
        client.unary(
            Request::new(EchoPayload {
                seq: 41,
                msg: "hello".into(),
            }),
            SERVICE,
            "Echo",
        ),
    )
    .await
    .expect("Echo succeeds");
    assert_eq!(
        reply.into_inner(),
        EchoPayload {
            seq: 42,
            msg: "hello".into()
        }
    );
}

#[tokio::test]
async fn echo_stream_round_trips_then_close_send_ends_cleanly() {
    let server = server();
    let mut client = server.client().await;
    let (tx, mut replies) = echo_stream(&mut client).await;
    for seq in 0..100u32 {
        let msg = format!("message {seq}");
        within(
            "a send",
            tx.send(EchoPayload {
                seq,
                msg: msg.clone(),
            }),
        )
        .await
        .expect("the request stream is still open");
        let reply = within("a reply", replies.message())
            .await
            .expect("no error")
            .expect("a reply before the end");
        assert_eq!(reply, EchoPayload { seq: seq + 1, msg });
    }
    // Closing the send side: the server's stream ends, cleanly.
    drop(tx);
    assert_eq!(
        within("the end", replies.message())
            .await
            .expect("a clean end"),
        None
    );
    // And stays ended.
    assert_eq!(
        within("the end again", replies.message())
            .await
            .expect("still clean"),
        None
    );
}

#[tokio::test]
async fn sum_stream_counts_empty_parts() {
    let server = server();
    let mut client = server.client().await;
    let parts = vec![
        Part { add: 1 },
        Part::default(),
        Part { add: 2 },
        Part::default(),
        Part::default(),
        Part { add: 3 },
        Part { add: -10 },
        Part::default(),
    ];
    let sum: Response<Sum> = within(
        "SumStream",
        client.client_streaming(Request::new(stream::iter(parts)), SERVICE, "SumStream"),
    )
    .await
    .expect("SumStream succeeds");
    assert_eq!(sum.into_inner(), Sum { sum: -4, num: 8 });

    // Only empty parts: each is a message.
    let sum: Response<Sum> = within(
        "SumStream of empties",
        client.client_streaming(
            Request::new(stream::iter(vec![Part::default(); 7])),
            SERVICE,
            "SumStream",
        ),
    )
    .await
    .expect("SumStream succeeds");
    assert_eq!(sum.into_inner(), Sum { sum: 0, num: 7 });

    // No parts at all.
    let sum: Response<Sum> = within(
        "SumStream of nothing",
        client.client_streaming(
            Request::new(stream::iter(Vec::<Part>::new())),
            SERVICE,
            "SumStream",
        ),
    )
    .await
    .expect("SumStream succeeds");
    assert_eq!(sum.into_inner(), Sum { sum: 0, num: 0 });
}

#[tokio::test]
async fn divide_stream_first_and_last_parts_are_empty() {
    let server = server();
    let mut client = server.client().await;
    let mut parts: Streaming<Part> = within(
        "DivideStream to open",
        client.server_streaming(
            Request::new(Sum { sum: 392, num: 30 }),
            SERVICE,
            "DivideStream",
        ),
    )
    .await
    .expect("DivideStream opens")
    .into_inner();
    let mut received = Vec::new();
    while let Some(part) = within("a part", parts.message()).await.expect("no error") {
        received.push(part);
    }
    assert_eq!(received.len(), 30);
    assert_eq!(received.iter().map(|p| p.add).sum::<i32>(), 392);
    assert_eq!(received[0], Part::default());
    assert_eq!(received[29], Part::default());
    assert!(
        received[1..29].iter().all(|p| p.add != 0),
        "only the first and last parts are empty: {received:?}"
    );

    // A handler error before the first message reaches the caller.
    let mut parts: Streaming<Part> = within(
        "DivideStream to open",
        client.server_streaming(
            Request::new(Sum { sum: 1, num: 1 }),
            SERVICE,
            "DivideStream",
        ),
    )
    .await
    .expect("a streaming call opens before the server answers")
    .into_inner();
    let err = within("the error", parts.message()).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert_eq!(
        within("after the error", parts.message()).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn echo_null_returns_empty() {
    let server = server();
    let mut client = server.client().await;
    let messages = (0..20).map(|seq| EchoPayload {
        seq,
        msg: "null".into(),
    });
    let reply: Response<()> = within(
        "EchoNull",
        client.client_streaming(Request::new(stream::iter(messages)), SERVICE, "EchoNull"),
    )
    .await
    .expect("EchoNull succeeds");
    reply.into_inner();

    // The handler really checks what it reads: a gap is an error.
    let messages = [0, 1, 3].map(|seq| EchoPayload {
        seq,
        msg: "null".into(),
    });
    let err = within(
        "EchoNull with a gap",
        client.client_streaming::<_, _, ()>(
            Request::new(stream::iter(messages)),
            SERVICE,
            "EchoNull",
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
}

#[tokio::test]
async fn echo_null_stream_sends_ten_per_message_while_receiving() {
    let server = server();
    let mut client = server.client().await;
    let (tx, requests) = channel_stream(1);
    let mut replies: Streaming<()> = within(
        "EchoNullStream to open",
        client.streaming(Request::new(requests), SERVICE, "EchoNullStream"),
    )
    .await
    .expect("EchoNullStream opens")
    .into_inner();
    let mut count = 0;
    for seq in 0..5 {
        within(
            "a send",
            tx.send(EchoPayload {
                seq,
                msg: "x".into(),
            }),
        )
        .await
        .expect("the request stream is open");
        // The ten replies to this message come while the send side is open.
        for _ in 0..10 {
            within("a reply", replies.message())
                .await
                .expect("no error")
                .expect("a reply before the end");
            count += 1;
        }
    }
    drop(tx);
    while within("a reply or the end", replies.message())
        .await
        .expect("no error")
        .is_some()
    {
        count += 1;
    }
    assert_eq!(count, 50);
}

#[tokio::test]
async fn echo_null_stream_counted_until_end_with_a_concurrent_sender() {
    let server = server();
    let mut client = server.client().await;
    let (tx, requests) = channel_stream(4);
    let mut replies: Streaming<()> = within(
        "EchoNullStream to open",
        client.streaming(Request::new(requests), SERVICE, "EchoNullStream"),
    )
    .await
    .expect("EchoNullStream opens")
    .into_inner();
    let sender = tokio::spawn(async move {
        for seq in 0..30 {
            tx.send(EchoPayload {
                seq,
                msg: String::new(),
            })
            .await
            .expect("the request stream is open");
        }
    });
    let mut count = 0;
    while within("a reply or the end", replies.message())
        .await
        .expect("no error")
        .is_some()
    {
        count += 1;
    }
    within("the sender", sender).await.unwrap();
    assert_eq!(count, 300);
}

#[tokio::test]
async fn empty_payload_stream_yields_exactly_two() {
    let server = server();
    let mut client = server.client().await;
    let mut replies: Streaming<EchoPayload> = within(
        "EmptyPayloadStream to open",
        client.server_streaming(Request::new(()), SERVICE, "EmptyPayloadStream"),
    )
    .await
    .expect("EmptyPayloadStream opens")
    .into_inner();
    let mut received = Vec::new();
    while let Some(m) = within("a reply", replies.message())
        .await
        .expect("no error")
    {
        received.push(m);
    }
    assert_eq!(received, empty_payload_replies());
}

#[tokio::test]
async fn unknown_streaming_method_is_unimplemented() {
    let server = server();
    let mut client = server.client().await;
    let mut replies: Streaming<EchoPayload> = within(
        "the call to open",
        client.streaming(
            Request::new(stream::iter(vec![EchoPayload::default()])),
            SERVICE,
            "Nope",
        ),
    )
    .await
    .expect("a streaming call opens before the server answers")
    .into_inner();
    let err = within("the error", replies.message()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented, "{err:?}");
}
