//! Where wren's streams go beyond its peers': metadata and deadlines on
//! streams, tower layers on streaming calls (server and client), bounded
//! per-stream buffers without head-of-line blocking, cancellation of
//! handlers when their connection goes away, many streams at once.

mod support;

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt, stream};
use prost::Message;
use support::streaming::*;
use tokio::sync::{Notify, mpsc};
use tower::ServiceBuilder;
use tower_service::Service;
use wren_rpc::codec::{Flags, MessageType};
use wren_rpc::server::Methods;
use wren_rpc::{Body, Client, Code, MethodKind, Request, Response, Server, Status, Streaming};

const PROBE: &str = "wren.test.StreamProbe";

/// What a handler saw of its call.
#[derive(Clone, PartialEq, Message)]
struct Observed {
    /// Metadata as `key=value`, in order.
    #[prost(string, repeated, tag = "1")]
    entries: Vec<String>,
    /// Milliseconds left until the deadline; -1 for none.
    #[prost(int64, tag = "2")]
    deadline_left_ms: i64,
    /// Messages the handler read.
    #[prost(uint32, tag = "3")]
    read: u32,
}

fn observe<T>(req: &Request<T>) -> Observed {
    Observed {
        entries: req
            .metadata()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        deadline_left_ms: req.deadline().map_or(-1, |d| {
            d.saturating_duration_since(Instant::now()).as_millis() as i64
        }),
        read: 0,
    }
}

/// What handlers report: `started <name>` and `dropped <name>`.
#[derive(Clone)]
struct Events(mpsc::UnboundedSender<String>);

impl Events {
    fn new() -> (Events, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Events(tx), rx)
    }

    fn started(&self, name: &str) -> Guard {
        let _ = self.0.send(format!("started {name}"));
        Guard {
            name: name.to_owned(),
            events: self.0.clone(),
        }
    }
}

/// Reports `dropped <name>` when dropped.
struct Guard {
    name: String,
    events: mpsc::UnboundedSender<String>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.events.send(format!("dropped {}", self.name));
    }
}

async fn expect_event(events: &mut mpsc::UnboundedReceiver<String>, expected: &str) {
    within(&format!("event {expected:?}"), async {
        loop {
            let event = events.recv().await.expect("the events channel is open");
            if event == expected {
                return;
            }
        }
    })
    .await;
}

/// Handlers for the cases below, reporting to `events`. `flood_done` is
/// notified once `Flood` has produced all its messages.
fn probe(events: Events, flood_done: Arc<Notify>) -> Methods {
    let e1 = events.clone();
    let e2 = events.clone();
    let e3 = events.clone();
    let e4 = events.clone();
    let e5 = events.clone();
    Methods::new(PROBE)
        .server_streaming("ObserveServer", |req: Request<()>| async move {
            Ok(Response::new(stream::iter([Ok(observe(&req))])))
        })
        .client_streaming("ObserveClient", |req: Request<Streaming<()>>| async move {
            let mut seen = observe(&req);
            let mut messages = req.into_inner();
            while messages.message().await?.is_some() {
                seen.read += 1;
            }
            Ok(Response::new(seen))
        })
        .bidi("ObserveBidi", |req: Request<Streaming<()>>| async move {
            let mut seen = observe(&req);
            let mut messages = req.into_inner();
            while messages.message().await?.is_some() {
                seen.read += 1;
            }
            Ok(Response::new(stream::iter([Ok(seen)])))
        })
        // Sends a message every few milliseconds, forever.
        .server_streaming("Ticks", |_req: Request<()>| async move {
            let ticks = stream::unfold(0, |n| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Some((Ok(Part { add: n }), n + 1))
            });
            Ok(Response::new(ticks))
        })
        // Returns a stream that never yields.
        .server_streaming("Hang", move |_req: Request<()>| {
            let guard = e1.started("Hang");
            async move { Ok(Response::new(Stall::<_, Result<Part, Status>>::new(guard))) }
        })
        // A bidi handler that returns at once with a stream that never reads
        // its requests and never yields.
        .bidi("NeverRead", move |req: Request<Streaming<Part>>| {
            let guard = e2.started("NeverRead");
            async move {
                let held = (req.into_inner(), guard);
                Ok(Response::new(Stall::<_, Result<Part, Status>>::new(
                    Box::new(held),
                )))
            }
        })
        // A client-streaming handler that never reads and never returns.
        .client_streaming("NeverReturn", move |req: Request<Streaming<Part>>| {
            let guard = e3.started("NeverReturn");
            async move {
                let _held = (req.into_inner(), guard);
                std::future::pending::<()>().await;
                Ok(Response::new(Sum::default()))
            }
        })
        // Sends `num` messages of `sum` bytes each as fast as it can, then
        // notifies `flood_done`.
        .server_streaming("Flood", move |req: Request<Sum>| {
            let guard = e4.started("Flood");
            let done = flood_done.clone();
            async move {
                let Sum { sum: size, num } = req.into_inner();
                let mut sent = 0;
                let flood = stream::poll_fn(move |_cx| {
                    let _ = &guard;
                    if sent == num {
                        done.notify_one();
                        return Poll::Ready(None);
                    }
                    sent += 1;
                    Poll::Ready(Some(Ok(EchoPayload {
                        seq: sent as u32,
                        msg: "x".repeat(size as usize),
                    })))
                });
                Ok(Response::new(flood))
            }
        })
        // Reads slowly: yields to the runtime between messages, as a handler
        // that writes each message somewhere would.
        .client_streaming("SlowSum", move |req: Request<Streaming<Part>>| {
            let _guard = e5.started("SlowSum");
            async move {
                let mut parts = req.into_inner();
                let mut sum = Sum::default();
                while let Some(part) = parts.message().await? {
                    sum.sum += part.add;
                    sum.num += 1;
                    tokio::time::sleep(Duration::from_micros(50)).await;
                }
                Ok(Response::new(sum))
            }
        })
}

struct Fixture {
    server: TestServer,
    events: mpsc::UnboundedReceiver<String>,
    flood_done: Arc<Notify>,
}

fn fixture(builder: Server) -> Fixture {
    let (events, rx) = Events::new();
    let flood_done = Arc::new(Notify::new());
    let server = TestServer::spawn(
        builder
            .add_service(service())
            .add_service(probe(events, flood_done.clone())),
    );
    Fixture {
        server,
        events: rx,
        flood_done,
    }
}

fn with_metadata<T>(message: T, timeout: Duration) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut().insert("foo", "bar");
    req.metadata_mut().append("foo", "baz");
    req.set_timeout(timeout);
    req
}

fn assert_observed(seen: &Observed, read: u32) {
    assert_eq!(seen.entries, ["foo=bar", "foo=baz"], "{seen:?}");
    assert!(
        seen.deadline_left_ms > 0 && seen.deadline_left_ms <= 30_000,
        "the handler sees the caller's deadline: {seen:?}"
    );
    assert_eq!(seen.read, read, "{seen:?}");
}

async fn sole_message<T: Message + Default>(mut s: Streaming<T>) -> T {
    let m = within("a message", s.message())
        .await
        .expect("no error")
        .expect("one message");
    assert!(
        within("the end", s.message())
            .await
            .expect("no error")
            .is_none()
    );
    m
}

// ===== metadata and deadlines =====

#[tokio::test]
async fn metadata_and_deadline_reach_every_kind_of_streaming_handler() {
    let f = fixture(Server::builder());
    let mut client = f.server.client().await;
    let timeout = Duration::from_secs(30);

    let seen = client
        .server_streaming::<_, Observed>(with_metadata((), timeout), PROBE, "ObserveServer")
        .await
        .expect("opens");
    assert_observed(&sole_message(seen.into_inner()).await, 0);

    let seen: Response<Observed> = within(
        "ObserveClient",
        client.client_streaming(
            with_metadata(stream::iter([(), ()]), timeout),
            PROBE,
            "ObserveClient",
        ),
    )
    .await
    .expect("ObserveClient succeeds");
    assert_observed(seen.get_ref(), 2);

    let seen = client
        .streaming::<_, _, Observed>(
            with_metadata(stream::iter([(), (), ()]), timeout),
            PROBE,
            "ObserveBidi",
        )
        .await
        .expect("opens");
    assert_observed(&sole_message(seen.into_inner()).await, 3);

    // Without a deadline, the handler sees none.
    let seen = client
        .server_streaming::<_, Observed>(Request::new(()), PROBE, "ObserveServer")
        .await
        .expect("opens");
    let seen = sole_message(seen.into_inner()).await;
    assert_eq!((seen.entries.len(), seen.deadline_left_ms), (0, -1));
}

#[tokio::test]
async fn a_deadline_ends_a_server_stream_with_deadline_exceeded() {
    let f = fixture(Server::builder());
    let mut client = f.server.client().await;
    let mut req = Request::new(());
    req.set_timeout(Duration::from_millis(200));
    let mut ticks: Streaming<Part> = client
        .server_streaming(req, PROBE, "Ticks")
        .await
        .expect("opens")
        .into_inner();
    let err = within("the deadline", async {
        loop {
            match ticks.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("an endless stream ended cleanly"),
                Err(status) => return status,
            }
        }
    })
    .await;
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert_eq!(ticks.message().await.unwrap(), None);
}

#[tokio::test]
async fn the_server_itself_enforces_a_stream_deadline() {
    let mut f = fixture(Server::builder());
    let mut raw = f.server.raw().await;
    // A handler that never yields: only the server can end it.
    raw.send(request_to(
        1,
        Flags::REMOTE_CLOSED,
        PROBE,
        "Hang",
        Vec::new(),
        100_000_000,
    ))
    .await;
    let status = raw.recv_status(1).await;
    assert_eq!(status.code, Code::DeadlineExceeded as i32, "{status:?}");
    expect_event(&mut f.events, "dropped Hang").await;

    // A stream that was sending when its deadline passed ends the same way,
    // with nothing after the Response.
    raw.send(request_to(
        3,
        Flags::REMOTE_CLOSED,
        PROBE,
        "Ticks",
        Vec::new(),
        100_000_000,
    ))
    .await;
    let status = loop {
        let frame = raw.recv().await;
        assert_eq!(frame.stream_id, 3);
        match frame.kind {
            MessageType::DATA => assert_eq!(frame.flags, Flags::EMPTY, "{frame:?}"),
            MessageType::RESPONSE => {
                break wren_rpc::codec::proto::Response::decode(frame.payload)
                    .unwrap()
                    .status
                    .expect("a status");
            }
            other => panic!("unexpected frame type {other:?}"),
        }
    };
    assert_eq!(status.code, Code::DeadlineExceeded as i32, "{status:?}");
    raw.send(request(
        5,
        Flags::EMPTY,
        "Echo",
        EchoPayload::default().encode_to_vec(),
    ))
    .await;
    let reply = raw.recv_response(5).await;
    assert_eq!(reply.status, None);
}

// ===== tower layers =====

/// One call as a layer saw it.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    method: String,
    kind: MethodKind,
    request_is_stream: bool,
}

/// A layer that records each call, rejects calls carrying `deny` metadata
/// with PERMISSION_DENIED, and counts the messages of streamed responses.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    streamed_replies: Arc<Mutex<usize>>,
}

impl<S> tower::Layer<S> for Recorder {
    type Service = Recorded<S>;

    fn layer(&self, inner: S) -> Recorded<S> {
        Recorded {
            inner,
            recorder: self.clone(),
        }
    }
}

#[derive(Clone)]
struct Recorded<S> {
    inner: S,
    recorder: Recorder,
}

impl<S> Service<Request<Body>> for Recorded<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Send,
    S::Error: Into<wren_rpc::transport::BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = wren_rpc::transport::BoxError;
    type Future = BoxFuture<'static, Result<Response<Body>, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.recorder.seen.lock().unwrap().push(Seen {
            method: req.method().to_owned(),
            kind: req.method_kind(),
            request_is_stream: req.get_ref().is_stream(),
        });
        if req.metadata().contains_key("deny") {
            let status = Status::permission_denied(format!("{} denied", req.method()));
            return std::future::ready(Err(status.into())).boxed();
        }
        let counter = self.recorder.streamed_replies.clone();
        let call = self.inner.call(req);
        async move {
            let resp = call.await.map_err(Into::into)?;
            Ok(resp.map(|body| {
                if !body.is_stream() {
                    return body;
                }
                Body::from_stream(body.into_stream().inspect(move |item| {
                    if item.is_ok() {
                        *counter.lock().unwrap() += 1;
                    }
                }))
            }))
        }
        .boxed()
    }
}

fn denied<T>(message: T) -> Request<T> {
    let mut req = Request::new(message);
    req.metadata_mut().insert("deny", "yes");
    req
}

/// Every streaming kind through `client`, checking results; then each kind
/// again with `deny`, which must fail with PERMISSION_DENIED.
async fn every_kind<S>(client: &mut Client<S>)
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Error: Into<wren_rpc::transport::BoxError>,
{
    let echoes = (1..=3).map(|seq| EchoPayload {
        seq,
        msg: "m".into(),
    });
    let replies = client
        .streaming::<_, _, EchoPayload>(Request::new(stream::iter(echoes)), SERVICE, "EchoStream")
        .await
        .expect("EchoStream opens")
        .into_inner();
    let replies: Vec<_> = within("the echoes", replies.collect::<Vec<_>>()).await;
    let seqs: Vec<u32> = replies.into_iter().map(|r| r.unwrap().seq).collect();
    assert_eq!(seqs, [2, 3, 4]);

    let parts = client
        .server_streaming::<_, Part>(
            Request::new(Sum { sum: 10, num: 4 }),
            SERVICE,
            "DivideStream",
        )
        .await
        .expect("DivideStream opens")
        .into_inner();
    assert_eq!(
        within("the parts", parts.collect::<Vec<_>>()).await.len(),
        4
    );

    let sum: Response<Sum> = client
        .client_streaming(
            Request::new(stream::iter([Part { add: 2 }])),
            SERVICE,
            "SumStream",
        )
        .await
        .expect("SumStream succeeds");
    assert_eq!(sum.into_inner(), Sum { sum: 2, num: 1 });

    let err = match client
        .streaming::<_, _, EchoPayload>(
            denied(stream::iter(vec![EchoPayload::default()])),
            SERVICE,
            "EchoStream",
        )
        .await
    {
        Err(status) => status,
        Ok(resp) => within("the denial", resp.into_inner().message())
            .await
            .expect_err("a denied bidi stream fails"),
    };
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    let err = match client
        .server_streaming::<_, Part>(denied(Sum { sum: 10, num: 4 }), SERVICE, "DivideStream")
        .await
    {
        Err(status) => status,
        Ok(resp) => within("the denial", resp.into_inner().message())
            .await
            .expect_err("a denied server stream fails"),
    };
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    let err = client
        .client_streaming::<_, _, Sum>(
            denied(stream::iter([Part { add: 2 }])),
            SERVICE,
            "SumStream",
        )
        .await
        .expect_err("a denied client stream fails");
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
}

fn expected_seen() -> Vec<Seen> {
    let seen = |method: &str, kind, request_is_stream| Seen {
        method: method.into(),
        kind,
        request_is_stream,
    };
    vec![
        seen("EchoStream", MethodKind::Bidi, true),
        seen("DivideStream", MethodKind::ServerStreaming, false),
        seen("SumStream", MethodKind::ClientStreaming, true),
        seen("EchoStream", MethodKind::Bidi, true),
        seen("DivideStream", MethodKind::ServerStreaming, false),
        seen("SumStream", MethodKind::ClientStreaming, true),
    ]
}

#[tokio::test]
async fn a_server_layer_sees_and_can_reject_streaming_calls() {
    let recorder = Recorder::default();
    let server = TestServer::spawn(
        Server::builder()
            .layer(recorder.clone())
            .add_service(service()),
    );
    let mut client = server.client().await;
    every_kind(&mut client).await;
    assert_eq!(*recorder.seen.lock().unwrap(), expected_seen());
    // 3 echoes and 4 parts went through the layer's response streams.
    assert_eq!(*recorder.streamed_replies.lock().unwrap(), 7);
}

#[tokio::test]
async fn a_client_layer_sees_and_can_reject_streaming_calls() {
    let server = TestServer::spawn(Server::builder().add_service(service()));
    let recorder = Recorder::default();
    let channel = ServiceBuilder::new()
        .layer(recorder.clone())
        .service(server.channel().await);
    let mut client = Client::new(channel);
    every_kind(&mut client).await;
    assert_eq!(*recorder.seen.lock().unwrap(), expected_seen());
    assert_eq!(*recorder.streamed_replies.lock().unwrap(), 7);
}

// ===== bounded buffers, no head-of-line blocking =====

/// Unary calls and another stream on the same connection still work.
async fn connection_still_works(client: &mut Client) {
    let reply: Response<EchoPayload> = within(
        "a unary call beside the stuck stream",
        client.unary(
            Request::new(EchoPayload {
                seq: 7,
                msg: "u".into(),
            }),
            SERVICE,
            "Echo",
        ),
    )
    .await
    .expect("Echo succeeds");
    assert_eq!(reply.get_ref().seq, 8);

    let (tx, requests) = channel_stream(1);
    let mut replies: Streaming<EchoPayload> = within(
        "another stream to open",
        client.streaming(Request::new(requests), SERVICE, "EchoStream"),
    )
    .await
    .expect("EchoStream opens")
    .into_inner();
    for seq in 0..5 {
        tx.send(EchoPayload {
            seq,
            msg: String::new(),
        })
        .await
        .unwrap();
        let reply = within("an echo beside the stuck stream", replies.message())
            .await
            .expect("no error")
            .expect("a reply");
        assert_eq!(reply.seq, seq + 1);
    }
    drop(tx);
    assert_eq!(within("the end", replies.message()).await.unwrap(), None);
}

#[tokio::test]
async fn a_handler_that_never_reads_a_flood_fails_only_its_own_stream() {
    let mut f = fixture(Server::builder());
    let mut client = f.server.client().await;
    // An endless flood of requests into a handler that never reads them.
    let flood = stream::iter(0..).map(|n| Part { add: n });
    let mut replies: Streaming<Part> = client
        .streaming(Request::new(flood), PROBE, "NeverRead")
        .await
        .expect("opens")
        .into_inner();
    expect_event(&mut f.events, "started NeverRead").await;

    connection_still_works(&mut client).await;

    let err = within("the flooded stream to fail", replies.message())
        .await
        .expect_err("the flooded stream fails");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    // The failed stream's handler is dropped, and the connection goes on.
    expect_event(&mut f.events, "dropped NeverRead").await;
    connection_still_works(&mut client).await;
}

#[tokio::test]
async fn a_handler_that_never_returns_is_cancelled_when_its_stream_is_failed() {
    let mut f = fixture(Server::builder());
    let mut client = f.server.client().await;
    let flood = stream::iter(0..).map(|n| Part { add: n });
    let call = tokio::spawn({
        let mut client = client.clone();
        async move {
            client
                .client_streaming::<_, _, Sum>(Request::new(flood), PROBE, "NeverReturn")
                .await
        }
    });
    expect_event(&mut f.events, "started NeverReturn").await;
    connection_still_works(&mut client).await;
    let err = within("the flooded call", call)
        .await
        .unwrap()
        .expect_err("the flooded call fails");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    // Nothing will ever read or answer that stream again: its handler
    // must not live on until the connection closes.
    expect_event(&mut f.events, "dropped NeverReturn").await;
}

#[tokio::test]
async fn a_caller_that_never_reads_a_server_flood_does_not_block_the_connection() {
    let f = fixture(Server::builder());
    let mut client = f.server.client().await;
    let flood_done = f.flood_done.notified();
    let mut flood: Streaming<EchoPayload> = client
        .server_streaming(
            // 40,000 messages of over 100 bytes: more than the default
            // 4 MiB stream buffer holds.
            Request::new(Sum {
                sum: 100,
                num: 40_000,
            }),
            PROBE,
            "Flood",
        )
        .await
        .expect("opens")
        .into_inner();
    // Alone on its connection, the flood is paced: the client stops reading
    // once its caller is a megabyte behind, and the server's writes wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Another call starts: the client reads on, through the flood's Data
    // ahead of its reply, and the flood's caller is too far behind to keep.
    connection_still_works(&mut client).await;

    let mut read = 0;
    let err = within("the flooded stream to fail", async {
        loop {
            match flood.message().await {
                Ok(Some(_)) => read += 1,
                Ok(None) => panic!("all {read} messages were buffered for a caller that read none"),
                Err(status) => return status,
            }
        }
    })
    .await;
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    let most =
        wren_rpc::transport::DEFAULT_STREAM_BUFFER / (100 + wren_rpc::transport::MESSAGE_OVERHEAD);
    assert!(
        read <= most,
        "at most a buffer's worth (4 MiB by default, {most} messages) was kept: {read}"
    );
    connection_still_works(&mut client).await;
    // The server's stream was not held up for good: it produced everything.
    within("the flood to be produced", flood_done).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_server_stream_read_slowly_by_the_only_caller_is_paced_not_failed() {
    // 40,000 messages of over 100 bytes (more than the 4 MiB stream buffer
    // holds), produced as fast as the server can and read with a pause
    // every thousand: the only call on its connection, so the client stops
    // reading while its caller is behind instead of failing the stream.
    let f = fixture(Server::builder());
    let mut client = f.server.client().await;
    let mut flood: Streaming<EchoPayload> = client
        .server_streaming(
            Request::new(Sum {
                sum: 100,
                num: 40_000,
            }),
            PROBE,
            "Flood",
        )
        .await
        .expect("opens")
        .into_inner();
    let mut read = 0u32;
    while let Some(m) = within("a message", flood.message())
        .await
        .expect("a paced stream is not failed")
    {
        read += 1;
        assert_eq!(m.seq, read);
        if read % 1000 == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(read, 40_000);
}

#[tokio::test]
async fn a_slow_but_reading_handler_gets_every_message_that_fits_its_buffer() {
    // 2,000 small messages fit the default 4 MiB stream buffer many times
    // over: the connection buffers what the handler has not read yet.
    let f = fixture(Server::builder());
    let mut client = f.server.client().await;
    let parts = (0..2000).map(|_| Part { add: 1 });
    let sum: Response<Sum> = within(
        "SlowSum",
        client.client_streaming(Request::new(stream::iter(parts)), PROBE, "SlowSum"),
    )
    .await
    .expect("a handler that keeps reading is not failed");
    assert_eq!(
        sum.into_inner(),
        Sum {
            sum: 2000,
            num: 2000
        }
    );
}

#[tokio::test]
async fn a_slow_but_reading_caller_gets_every_message() {
    let f = fixture(Server::builder());
    let mut client = f.server.client().await;
    let mut flood: Streaming<EchoPayload> = client
        .server_streaming(Request::new(Sum { sum: 10, num: 2000 }), PROBE, "Flood")
        .await
        .expect("opens")
        .into_inner();
    let mut read = 0;
    while let Some(m) = within("a message", flood.message())
        .await
        .expect("a caller that keeps reading is not failed")
    {
        read += 1;
        assert_eq!(m.seq, read);
        tokio::time::sleep(Duration::from_micros(50)).await;
    }
    assert_eq!(read, 2000);
}

#[tokio::test]
async fn messages_larger_than_the_buffer_byte_limit_still_pass() {
    // 2 MiB messages, within the 4 MiB message limit, over the default 1 MiB
    // per-stream buffer: one message at a time must still get through.
    let f = fixture(Server::builder());
    let mut client = f.server.client().await;
    let big = "y".repeat(2 << 20);
    let echoes = (0..3).map(move |seq| EchoPayload {
        seq,
        msg: big.clone(),
    });
    let _: Response<()> = within(
        "EchoNull with big messages",
        client.client_streaming(Request::new(stream::iter(echoes)), SERVICE, "EchoNull"),
    )
    .await
    .expect("big messages reach a client-streaming handler");

    let mut flood: Streaming<EchoPayload> = client
        .server_streaming(
            Request::new(Sum {
                sum: 2 << 20,
                num: 3,
            }),
            PROBE,
            "Flood",
        )
        .await
        .expect("opens")
        .into_inner();
    let mut read = 0;
    while let Some(m) = within("a big message", flood.message())
        .await
        .expect("big messages reach a streaming caller")
    {
        assert_eq!(m.msg.len(), 2 << 20);
        read += 1;
    }
    assert_eq!(read, 3);
}

// ===== cancellation =====

#[tokio::test]
async fn handlers_are_cancelled_when_their_connection_goes_away() {
    let mut f = fixture(Server::builder());
    let mut raw = f.server.raw().await;
    raw.send(request_to(
        1,
        Flags::REMOTE_CLOSED,
        PROBE,
        "Hang",
        Vec::new(),
        0,
    ))
    .await;
    raw.send(request_to(
        3,
        Flags::REMOTE_OPEN,
        PROBE,
        "NeverRead",
        Vec::new(),
        0,
    ))
    .await;
    raw.send(request_to(
        5,
        Flags::REMOTE_OPEN,
        PROBE,
        "NeverReturn",
        Vec::new(),
        0,
    ))
    .await;
    for name in ["Hang", "NeverRead", "NeverReturn"] {
        expect_event(&mut f.events, &format!("started {name}")).await;
    }
    drop(raw);
    let mut dropped = Vec::new();
    within("the handlers to be dropped", async {
        while dropped.len() < 3 {
            let event = f.events.recv().await.unwrap();
            if let Some(name) = event.strip_prefix("dropped ") {
                dropped.push(name.to_owned());
            }
        }
    })
    .await;
    dropped.sort();
    assert_eq!(dropped, ["Hang", "NeverRead", "NeverReturn"]);
}

#[tokio::test]
async fn dropping_a_wren_client_cancels_its_streams_on_the_server() {
    let mut f = fixture(Server::builder());
    let mut client = f.server.client().await;
    let (tx, requests) = channel_stream::<Part>(1);
    let replies: Streaming<Part> = client
        .streaming(Request::new(requests), PROBE, "NeverRead")
        .await
        .expect("opens")
        .into_inner();
    expect_event(&mut f.events, "started NeverRead").await;
    drop((client, replies, tx));
    expect_event(&mut f.events, "dropped NeverRead").await;
}

// ===== many streams =====

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_streams_on_one_connection() {
    let server = TestServer::spawn(Server::builder().add_service(service()));
    let client = server.client().await;
    let mut tasks = Vec::new();
    for i in 0..1000u32 {
        let mut client = client.clone();
        tasks.push(tokio::spawn(async move {
            match i % 4 {
                0 => {
                    let echoes = (0..3).map(move |seq| EchoPayload {
                        seq: seq + i,
                        msg: i.to_string(),
                    });
                    let replies = client
                        .streaming::<_, _, EchoPayload>(
                            Request::new(stream::iter(echoes)),
                            SERVICE,
                            "EchoStream",
                        )
                        .await
                        .expect("EchoStream opens")
                        .into_inner();
                    let replies: Vec<EchoPayload> =
                        replies.map(|r| r.expect("an echo")).collect().await;
                    let want: Vec<EchoPayload> = (0..3)
                        .map(|seq| EchoPayload {
                            seq: seq + i + 1,
                            msg: i.to_string(),
                        })
                        .collect();
                    assert_eq!(replies, want);
                }
                1 => {
                    let sum: Response<Sum> = client
                        .client_streaming(
                            Request::new(stream::iter([Part { add: i as i32 }, Part::default()])),
                            SERVICE,
                            "SumStream",
                        )
                        .await
                        .expect("SumStream succeeds");
                    assert_eq!(
                        sum.into_inner(),
                        Sum {
                            sum: i as i32,
                            num: 2
                        }
                    );
                }
                2 => {
                    let parts = client
                        .server_streaming::<_, Part>(
                            Request::new(Sum {
                                sum: i as i32,
                                num: 5,
                            }),
                            SERVICE,
                            "DivideStream",
                        )
                        .await
                        .expect("DivideStream opens")
                        .into_inner();
                    let parts: Vec<Part> = parts.map(|r| r.expect("a part")).collect().await;
                    assert_eq!(parts.len(), 5);
                    assert_eq!(parts.iter().map(|p| p.add).sum::<i32>(), i as i32);
                }
                _ => {
                    let replies = client
                        .server_streaming::<_, EchoPayload>(
                            Request::new(()),
                            SERVICE,
                            "EmptyPayloadStream",
                        )
                        .await
                        .expect("EmptyPayloadStream opens")
                        .into_inner();
                    let replies: Vec<EchoPayload> =
                        replies.map(|r| r.expect("a reply")).collect().await;
                    assert_eq!(replies, empty_payload_replies());
                }
            }
        }));
    }
    within("a thousand streams", async {
        for task in tasks {
            task.await.expect("the stream's task succeeds");
        }
    })
    .await;
}

#[tokio::test]
async fn a_bidi_stream_flooded_both_ways_does_not_deadlock() {
    // The client sends as fast as it can while the server echoes every
    // message: both sides write faster than the other reads, and neither
    // may stop reading for it.
    let server = TestServer::spawn(Server::builder().add_service(service()));
    let mut client = server.client().await;
    let payload = "z".repeat(1024);
    let requests = stream::iter(0..20_000u32).map(move |seq| EchoPayload {
        seq,
        msg: payload.clone(),
    });
    let mut replies: Streaming<EchoPayload> = client
        .streaming(Request::new(requests), SERVICE, "EchoStream")
        .await
        .expect("opens")
        .into_inner();
    let mut read = 0;
    while let Some(reply) = within("an echo", replies.message())
        .await
        .expect("no error")
    {
        read += 1;
        assert_eq!(reply.seq, read);
    }
    assert_eq!(read, 20_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_unary_calls_both_ways_do_not_deadlock() {
    // Many big requests and big replies at once: both sides' write buffers
    // pass their high-water marks together, and neither may stop reading.
    let server = TestServer::spawn(Server::builder().add_service(service()));
    let client = server.client().await;
    let payload = "u".repeat(512 * 1024);
    let calls: Vec<_> = (0..64u32)
        .map(|seq| {
            let mut client = client.clone();
            let msg = payload.clone();
            tokio::spawn(async move {
                client
                    .unary::<_, EchoPayload>(
                        Request::new(EchoPayload { seq, msg }),
                        SERVICE,
                        "Echo",
                    )
                    .await
            })
        })
        .collect();
    within("64 big calls", async {
        for (seq, call) in calls.into_iter().enumerate() {
            let reply = call.await.unwrap().expect("the call succeeds").into_inner();
            assert_eq!((reply.seq, reply.msg.len()), (seq as u32 + 1, 512 * 1024));
        }
    })
    .await;
}
