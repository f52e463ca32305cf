//! No peer and no user code can take a connection down or stall it: one
//! regression test per fault of the hardening issue, in both server modes
//! (a task per call, and inline handlers) where the mode matters.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::{StreamExt, stream};
use prost::Message;
use support::streaming::*;
use tokio::task::JoinSet;
use tower_service::Service;
use wren_rpc::codec::{Flags, Frame, MessageType, proto};
use wren_rpc::server::Methods;
use wren_rpc::{Body, Channel, Client, Code, Request, Response, Server, Status, Streaming};

const PROBE: &str = "wren.test.Hardening";

/// Handlers that misbehave on purpose.
fn probe() -> Methods {
    Methods::new(PROBE)
        .unary("Sleep", |req: Request<Part>| async move {
            tokio::time::sleep(Duration::from_millis(req.get_ref().add as u64)).await;
            Ok(Response::new(req.into_inner()))
        })
        .unary("Echo", |req: Request<Part>| async move {
            Ok(Response::new(req.into_inner()))
        })
        .server_streaming("PanicStream", |_req: Request<()>| async move {
            let replies = stream::iter(0..1).map(|_| -> Result<Part, Status> { panic!("boom") });
            Ok(Response::new(replies))
        })
        .bidi("PanicBidi", |req: Request<Streaming<Part>>| async move {
            let replies = req
                .into_inner()
                .map(|_| -> Result<Part, Status> { panic!("boom") });
            Ok(Response::new(replies))
        })
        .server_streaming("DropPanics", |_req: Request<()>| async move {
            // A reply stream whose Drop panics once it is done with.
            Ok(Response::new(PanicOnDrop(Some(Part { add: 7 }))))
        })
        // A million replies, every one ready at once.
        .server_streaming("Million", |_req: Request<()>| async move {
            Ok(Response::new(stream::iter(
                (0..1_000_000).map(|n| Ok(Part { add: n })),
            )))
        })
        // Reads one message every `add` milliseconds of the first message.
        .client_streaming("SlowSum", |req: Request<Streaming<Part>>| async move {
            let mut parts = req.into_inner();
            let mut sum = Sum::default();
            let mut pace = 0;
            while let Some(part) = parts.message().await? {
                if sum.num == 0 {
                    pace = part.add as u64;
                }
                sum.sum += part.add;
                sum.num += 1;
                tokio::time::sleep(Duration::from_millis(pace)).await;
            }
            Ok(Response::new(sum))
        })
        // Reads every message, pausing 2 ms every hundred: slower than a
        // client can send.
        .client_streaming(
            "Upload",
            |req: Request<Streaming<EchoPayload>>| async move {
                let mut parts = req.into_inner();
                let mut sum = Sum::default();
                while let Some(part) = parts.message().await? {
                    sum.sum += part.msg.len() as i32;
                    sum.num += 1;
                    if sum.num % 100 == 0 {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                }
                Ok(Response::new(sum))
            },
        )
        .server_streaming("Replies", |req: Request<Sum>| async move {
            let Sum { sum: size, num } = req.into_inner();
            Ok(Response::new(stream::iter((0..num).map(move |seq| {
                Ok(EchoPayload {
                    seq: seq as u32,
                    msg: "r".repeat(size as usize),
                })
            }))))
        })
}

/// A one-message stream that panics when dropped.
struct PanicOnDrop(Option<Part>);

impl futures_util::Stream for PanicOnDrop {
    type Item = Result<Part, Status>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Ok))
    }
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("a reply stream that panics in Drop");
    }
}

fn server(inline: bool) -> TestServer {
    TestServer::spawn(
        Server::builder()
            .inline_handlers(inline)
            .add_service(probe())
            .add_service(service()),
    )
}

async fn echo(client: &mut Client, n: i32) -> Result<i32, Status> {
    let reply: Response<Part> = within(
        "echo",
        client.unary(Request::new(Part { add: n }), PROBE, "Echo"),
    )
    .await?;
    Ok(reply.into_inner().add)
}

async fn sleep_call(client: &Client, ms: i32) -> Result<Part, Status> {
    let mut client = client.clone();
    let reply: Response<Part> = client
        .unary(Request::new(Part { add: ms }), PROBE, "Sleep")
        .await?;
    Ok(reply.into_inner())
}

// ===== 1. panics in reply streams fail their call only =====

async fn reply_stream_panics(inline: bool) {
    let server = server(inline);
    let client = server.client().await;
    // A slow unary call in flight on the same connection meanwhile.
    let slow = tokio::spawn({
        let client = client.clone();
        async move { sleep_call(&client, 200).await }
    });
    let mut c = client.clone();
    let mut replies: Streaming<Part> = within(
        "PanicStream opens",
        c.server_streaming(Request::new(()), PROBE, "PanicStream"),
    )
    .await
    .expect("the handler itself returned a stream")
    .into_inner();
    let err = within("the panic", replies.message())
        .await
        .expect_err("the reply stream panicked");
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert!(err.message().contains("reply stream panicked"), "{err:?}");

    // Bidi: the reply stream panics on the first request message.
    let (tx, requests) = channel_stream::<Part>(4);
    let mut replies: Streaming<Part> = within(
        "PanicBidi opens",
        c.streaming(Request::new(requests), PROBE, "PanicBidi"),
    )
    .await
    .expect("opens")
    .into_inner();
    tx.send(Part { add: 1 }).await.unwrap();
    let err = within("the bidi panic", replies.message())
        .await
        .expect_err("the bidi reply stream panicked");
    assert_eq!(err.code(), Code::Internal, "{err:?}");

    // A reply stream that panics when dropped, after its one message.
    let mut replies: Streaming<Part> = within(
        "DropPanics opens",
        c.server_streaming(Request::new(()), PROBE, "DropPanics"),
    )
    .await
    .expect("opens")
    .into_inner();
    assert_eq!(
        within("its message", replies.message())
            .await
            .unwrap()
            .unwrap()
            .add,
        7
    );
    // The panic in Drop happens after the message; the call ends either
    // cleanly or with INTERNAL, but never takes the connection with it.
    let _ = within("its end", replies.message()).await;

    // The call in flight all along, and the connection, are fine.
    assert_eq!(within("slow call", slow).await.unwrap().unwrap().add, 200);
    assert!(!client.get_ref().is_closed());
    assert_eq!(echo(&mut c, 5).await.unwrap(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_reply_stream_fails_only_its_call() {
    reply_stream_panics(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_reply_stream_fails_only_its_call_inline() {
    reply_stream_panics(true).await;
}

// ===== 2. panics in request streams fail their call only =====

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_request_stream_fails_only_its_call() {
    let server = server(false);
    let channel = server.channel().await;
    let client = Client::new(channel.clone());
    let slow = tokio::spawn({
        let client = Client::new(channel.clone());
        async move { sleep_call(&client, 200).await }
    });
    let parts = stream::iter(0..3).map(|n| -> Part {
        if n == 0 {
            panic!("the caller's request stream panics");
        }
        Part { add: n }
    });
    let mut c = client.clone();
    let err = within(
        "SumStream with a panicking request stream",
        c.client_streaming::<_, _, Sum>(Request::new(parts), SERVICE, "SumStream"),
    )
    .await
    .expect_err("the call fails");
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert!(err.message().contains("request stream panicked"), "{err:?}");

    // The other clone's call in flight, and the channel, are fine.
    assert_eq!(within("slow call", slow).await.unwrap().unwrap().add, 200);
    assert!(!channel.is_closed(), "the channel survived");
    assert_eq!(echo(&mut c, 9).await.unwrap(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_layer_fails_only_its_call() {
    #[derive(Clone)]
    struct PanicLayer<S>(S);
    impl<S> Service<Request<Body>> for PanicLayer<S>
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Status>,
        S::Future: Send + 'static,
    {
        type Response = Response<Body>;
        type Error = Status;
        type Future = BoxFuture<'static, Result<Response<Body>, Status>>;
        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
            self.0.poll_ready(cx)
        }
        fn call(&mut self, req: Request<Body>) -> Self::Future {
            if req.metadata().get("panic").is_some() {
                panic!("a layer panics in call()");
            }
            Box::pin(self.0.call(req))
        }
    }
    let server = TestServer::spawn(
        Server::builder()
            .layer(tower::layer::layer_fn(PanicLayer))
            .add_service(probe()),
    );
    let mut client = server.client().await;
    let mut req = Request::new(Part { add: 1 });
    req.metadata_mut().insert("panic", "1");
    let err = within("a call through a panicking layer", async {
        client.unary::<_, Part>(req, PROBE, "Echo").await
    })
    .await
    .expect_err("the layer panicked");
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert_eq!(echo(&mut client, 3).await.unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_accept_hook_rejects_its_connection_only() {
    let hook_calls = Arc::new(AtomicUsize::new(0));
    let server = TestServer::spawn(
        Server::builder()
            .accept_hook({
                let hook_calls = hook_calls.clone();
                move |info: wren_rpc::server::ConnectInfo| {
                    let n = hook_calls.fetch_add(1, Ordering::SeqCst);
                    async move {
                        if n == 0 {
                            panic!("the first accept hook call panics");
                        }
                        Ok(info)
                    }
                }
            })
            .add_service(probe()),
    );
    let mut first = server.client().await;
    let err = echo(&mut first, 1)
        .await
        .expect_err("the first connection is rejected");
    assert!(wren_rpc::client::is_closed(&err), "{err:?}");
    let mut second = server.client().await;
    assert_eq!(echo(&mut second, 2).await.unwrap(), 2);
}

// ===== 3. a Data frame flagged no-data carries no message =====

#[tokio::test]
async fn no_data_frames_carry_no_message_whatever_else_is_set() {
    let server = server(false);
    let mut raw = server.raw().await;
    // The frames of the issue, byte for byte.
    let frames = [
        "000000300000000101020a237772656e2e696e7465726f702e73747265616d696e672e76312e53747265616d696e67120953756d53747265616d",
        "00000000000000010304",
        "000000020000000103040805",
        "00000000000000010305",
    ];
    for hex in frames {
        raw.send_bytes(&decode_hex(hex)).await;
    }
    let reply = raw.recv_response(1).await;
    assert!(
        reply.status.as_ref().is_none_or(|s| s.code == 0),
        "{reply:?}"
    );
    assert_eq!(Sum::decode(reply.payload).unwrap(), Sum { sum: 0, num: 0 });
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

// ===== 4. deadlines hold on streams whose next item is always ready =====

async fn million(timeout_nano: i64) -> (usize, proto::Status, Duration) {
    let server = server(false);
    let mut raw = server.raw().await;
    let mut req = proto::Request {
        service: PROBE.into(),
        method: "Million".into(),
        payload: Vec::new().into(),
        timeout_nano,
        metadata: Vec::new(),
    };
    req.timeout_nano = timeout_nano;
    let start = Instant::now();
    raw.send(Frame::new(
        1,
        MessageType::REQUEST,
        Flags::REMOTE_CLOSED,
        req.encode_to_vec(),
    ))
    .await;
    let mut messages = 0;
    loop {
        let frame = raw.recv().await;
        match frame.kind {
            MessageType::DATA if frame.flags.contains(Flags::NO_DATA) => {
                panic!("the stream closed cleanly after {messages} messages")
            }
            MessageType::DATA => messages += 1,
            MessageType::RESPONSE => {
                let status = proto::Response::decode(frame.payload)
                    .unwrap()
                    .status
                    .unwrap();
                return (messages, status, start.elapsed());
            }
            other => panic!("unexpected frame type {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_always_ready_server_stream_ends_at_its_deadline() {
    let (messages, status, _) = million(20_000_000).await;
    assert_eq!(status.code, Code::DeadlineExceeded as i32, "{status:?}");
    assert!(
        status.message.contains("server"),
        "says which side: {status:?}"
    );
    assert!(messages < 1_000_000, "stopped early: {messages}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_already_expired_deadline_gets_no_reply_message() {
    // One nanosecond is gone by the time the request is read.
    let (messages, status, _) = million(1).await;
    assert_eq!(status.code, Code::DeadlineExceeded as i32, "{status:?}");
    assert_eq!(messages, 0);
}

// ===== 5. bursts of concurrent calls are served =====

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_calls_on_one_connection_are_all_served() {
    let server = server(false);
    let client = server.client().await;
    let mut calls = JoinSet::new();
    for _ in 0..10_000 {
        let client = client.clone();
        calls.spawn(async move { sleep_call(&client, 20).await });
    }
    let mut ok = 0;
    while let Some(result) = within("the burst", calls.join_next()).await {
        result.unwrap().expect("every call of the burst is served");
        ok += 1;
    }
    assert_eq!(ok, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrent_calls_queues_calls_a_strict_server_would_refuse() {
    let server = TestServer::spawn(
        Server::builder()
            .max_concurrent_streams(8)
            .add_service(probe()),
    );
    let io = tokio::net::UnixStream::connect(&server.path).await.unwrap();
    let channel = Channel::builder().max_concurrent_calls(8).connect_with(io);
    let client = Client::new(channel);
    let mut calls = JoinSet::new();
    for _ in 0..200 {
        let client = client.clone();
        calls.spawn(async move { sleep_call(&client, 5).await });
    }
    while let Some(result) = within("the queued burst", calls.join_next()).await {
        result.unwrap().expect("queued locally, never refused");
    }

    // Without the client-side limit, the same server refuses some.
    let client = server.client().await;
    let mut calls = JoinSet::new();
    for _ in 0..200 {
        let client = client.clone();
        calls.spawn(async move { sleep_call(&client, 5).await });
    }
    let mut refused = 0;
    while let Some(result) = within("the unqueued burst", calls.join_next()).await {
        if let Err(status) = result.unwrap() {
            assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
            refused += 1;
        }
    }
    assert!(refused > 0, "the server's limit is real");
}

// ===== 6. a handler that blocks its thread stalls only its own call =====

/// A service whose `Block` handler blocks its thread until `release` is
/// set (bounded, so a failing test cannot hang), and whose `Echo` answers
/// at once, noting whether `Block` had been released by then.
fn blocking(blocked: Arc<AtomicBool>, release: Arc<AtomicBool>) -> Methods {
    Methods::new(PROBE)
        .unary("Block", move |req: Request<Part>| {
            let (blocked, release) = (blocked.clone(), release.clone());
            async move {
                blocked.store(true, Ordering::SeqCst);
                let start = Instant::now();
                while !release.load(Ordering::SeqCst) && start.elapsed() < HANG {
                    // A synchronous syscall, as a shim's handler makes.
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(Response::new(req.into_inner()))
            }
        })
        .unary("Echo", |req: Request<Part>| async move {
            Ok(Response::new(req.into_inner()))
        })
}

/// Makes one blocking call and, while it blocks, 50 quick calls on the same
/// connection: they must all complete while the handler still blocks.
async fn quick_calls_pass_a_blocked_handler(
    client: Client,
    blocked: Arc<AtomicBool>,
    release: Arc<AtomicBool>,
) {
    let block = tokio::spawn({
        let mut client = client.clone();
        async move {
            client
                .unary::<_, Part>(Request::new(Part { add: 1 }), PROBE, "Block")
                .await
        }
    });
    within("the handler to block", async {
        while !blocked.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    let mut client = client;
    for n in 0..50 {
        assert_eq!(echo(&mut client, n).await.unwrap(), n);
    }
    // Every quick call came back while the blocking handler still blocked.
    release.store(true, Ordering::SeqCst);
    within("the blocking call", block).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_handler_stalls_only_its_call_on_a_shared_runtime() {
    let (blocked, release) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let server = TestServer::spawn(
        Server::builder().add_service(blocking(blocked.clone(), release.clone())),
    );
    let client = server.client().await;
    quick_calls_pass_a_blocked_handler(client, blocked, release).await;
}

#[test]
fn a_blocking_handler_stalls_only_its_call_on_a_server_runtime_of_its_own() {
    // The server on a two-worker runtime of its own; the client elsewhere.
    let (blocked, release) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("own.sock");
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let router = Server::builder().add_service(blocking(blocked.clone(), release.clone()));
    let handle = router.shutdown_handle();
    let listener = server_rt.block_on(async { tokio::net::UnixListener::bind(&path).unwrap() });
    server_rt.spawn(router.serve(listener));

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    client_rt.block_on(async {
        let client = Client::new(Channel::connect_unix(&path).await.unwrap());
        quick_calls_pass_a_blocked_handler(client, blocked, release).await;
    });
    server_rt.block_on(async { within("shutdown", handle.shutdown()).await });
}

// ===== 8. a slow stream consumer never stalls its connection =====

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowly_read_client_stream_does_not_hold_up_other_calls() {
    let server = server(false);
    let client = server.client().await;
    let done = Arc::new(AtomicBool::new(false));
    // 20,000 small messages to a handler that reads one every 100 ms.
    let stream_call = tokio::spawn({
        let mut client = client.clone();
        let done = done.clone();
        async move {
            let parts = stream::iter(0..20_000).map(|_| Part { add: 100 });
            let result = client
                .client_streaming::<_, _, Sum>(Request::new(parts), PROBE, "SlowSum")
                .await;
            done.store(true, Ordering::SeqCst);
            result
        }
    });
    // Give the stream time to fill the socket and any buffer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut c = client.clone();
    for n in 0..10 {
        assert_eq!(echo(&mut c, n).await.unwrap(), n);
    }
    assert!(
        !done.load(Ordering::SeqCst),
        "the unary calls were answered while the slow stream was still being read"
    );
    stream_call.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowly_read_server_stream_does_not_hold_up_other_calls() {
    let server = server(false);
    let mut client = server.client().await;
    // 20,000 replies of 100 bytes (3.3 MB with overhead) read one every
    // 100 ms: the connection keeps reading and buffers them for the caller.
    let mut replies: Streaming<EchoPayload> = within(
        "Replies opens",
        client.server_streaming(
            Request::new(Sum {
                sum: 100,
                num: 20_000,
            }),
            PROBE,
            "Replies",
        ),
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(
        within("first reply", replies.message())
            .await
            .unwrap()
            .unwrap()
            .seq,
        0
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        within("second reply", replies.message())
            .await
            .unwrap()
            .unwrap()
            .seq,
        1
    );
    for n in 0..10 {
        assert_eq!(echo(&mut client, n).await.unwrap(), n);
    }
    // Everything still arrives, in order.
    let mut seq = 2;
    while let Some(m) = within("more replies", replies.message()).await.unwrap() {
        assert_eq!(m.seq, seq);
        seq += 1;
    }
    assert_eq!(seq, 20_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_its_buffer_fails_alone_and_the_connection_goes_on() {
    // Server side: a 64 KiB stream buffer and a handler reading one
    // message every 50 ms, against a client sending 10,000 at once.
    let server = TestServer::spawn(
        Server::builder()
            .max_buffered_bytes_per_stream(64 * 1024)
            .add_service(probe()),
    );
    let client = server.client().await;
    let mut c = client.clone();
    let parts = stream::iter(0..10_000).map(|_| Part { add: 50 });
    let err = within(
        "the overflowing stream",
        c.client_streaming::<_, _, Sum>(Request::new(parts), PROBE, "SlowSum"),
    )
    .await
    .expect_err("the stream outran its buffer");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("stream buffer"), "{err:?}");
    assert_eq!(echo(&mut c, 1).await.unwrap(), 1);

    // Client side: a 64 KiB budget for the channel's streamed replies,
    // and a caller that reads none of 10,000 replies.
    let io = tokio::net::UnixStream::connect(&server.path).await.unwrap();
    let channel = Channel::builder()
        .connection_budget(64 * 1024)
        .connect_with(io);
    let mut client = Client::new(channel);
    let mut replies: Streaming<EchoPayload> = within(
        "Replies opens",
        client.server_streaming(
            Request::new(Sum {
                sum: 100,
                num: 10_000,
            }),
            PROBE,
            "Replies",
        ),
    )
    .await
    .unwrap()
    .into_inner();
    let err = within("the overflowing replies", async {
        loop {
            match replies.message().await {
                Ok(Some(_)) => tokio::time::sleep(Duration::from_millis(1)).await,
                Ok(None) => panic!("every reply was buffered"),
                Err(status) => return status,
            }
        }
    })
    .await;
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(
        err.message().contains("connection buffer budget"),
        "{err:?}"
    );
    assert_eq!(echo(&mut client, 2).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_faster_than_its_handler_is_paced_when_it_is_alone() {
    // 16 MiB in 1 KiB messages, four times the stream buffer, to a handler
    // slower than the client: the only call on its connection, so the
    // server stops reading while the handler is behind instead of failing
    // the stream.
    let server = server(false);
    let mut client = server.client().await;
    let chunk = "u".repeat(1024);
    let parts = stream::iter(0..16 * 1024).map(move |seq| EchoPayload {
        seq,
        msg: chunk.clone(),
    });
    let sum: Response<Sum> = within(
        "the upload",
        client.client_streaming(Request::new(parts), PROBE, "Upload"),
    )
    .await
    .expect("a paced upload is not failed");
    assert_eq!(
        sum.into_inner(),
        Sum {
            sum: 16 << 20,
            num: 16 * 1024
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_a_full_queue_wait_for_room_and_are_all_served() {
    // A one-slot queue between callers and the connection: 300 calls at
    // once wait in their response futures, none is refused.
    let server = server(false);
    let io = tokio::net::UnixStream::connect(&server.path).await.unwrap();
    let client = Client::new(Channel::builder().queue_size(1).connect_with(io));
    let mut calls = JoinSet::new();
    for n in 0..300 {
        let mut client = client.clone();
        calls.spawn(async move { echo(&mut client, n).await.map(|got| (n, got)) });
    }
    while let Some(result) = within("the queued calls", calls.join_next()).await {
        let (sent, got) = result.unwrap().expect("served");
        assert_eq!(sent, got);
    }
}
