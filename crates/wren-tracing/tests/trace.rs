//! TraceLayer on a real server and client over a unix socket: the span of
//! every call on both sides, for each way a call ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use wren_client::{Channel, Client};
use wren_server::{Methods, Server, ShutdownHandle};
use wren_tracing::TraceLayer;
use wren_transport::codec::{Code, Status};
use wren_transport::{Request, Response, Streaming};

const LIMIT: Duration = Duration::from_secs(20);
const SERVICE: &str = "wren.test.v1.Traced";

/// Every `ttrpc` span seen: its fields as text, and whether it closed.
#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<HashMap<u64, SpanRecord>>>,
}

#[derive(Clone, Debug, Default)]
struct SpanRecord {
    fields: HashMap<String, String>,
    closed: bool,
}

impl SpanRecord {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attrs.metadata().name() != "ttrpc" {
            return;
        }
        let mut record = SpanRecord::default();
        attrs.record(&mut Fields(&mut record.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), record);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(record) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut record.fields));
        }
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(record) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            record.closed = true;
        }
    }
}

impl Recorder {
    /// The closed span of `method` on `side`, waiting for it a while.
    async fn closed(&self, side: &str, method: &str) -> SpanRecord {
        for _ in 0..400 {
            let found = self
                .spans
                .lock()
                .unwrap()
                .values()
                .find(|s| {
                    s.closed
                        && s.get("otel.kind") == Some(side)
                        && s.get("rpc.method") == Some(method)
                })
                .cloned();
            if let Some(span) = found {
                return span;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "no closed {side} span for {method}: {:#?}",
            self.spans.lock().unwrap().values().collect::<Vec<_>>()
        );
    }
}

/// A unary request and reply: a prost `u64` wrapper is enough.
type Number = u64;

fn service() -> Methods {
    Methods::new(SERVICE)
        .unary("Echo", |req: Request<Number>| async move {
            Ok(Response::new(req.into_inner() + 1))
        })
        .unary("Missing", |_: Request<Number>| async move {
            Err::<Response<Number>, _>(Status::not_found("no such thing"))
        })
        .unary("Panic", |req: Request<Number>| async move {
            if *req.get_ref() < 1000 {
                panic!("boom");
            }
            Ok(Response::new(0u64))
        })
        .unary("Hang", |_: Request<Number>| async move {
            std::future::pending::<()>().await;
            Ok(Response::new(0u64))
        })
        .server_streaming("Count", |req: Request<Number>| async move {
            let n = req.into_inner();
            let items = (0..n).map(Ok::<Number, Status>);
            Ok(Response::new(futures_util::stream::iter(items)))
        })
        .server_streaming("CountThenFail", |req: Request<Number>| async move {
            let n = req.into_inner();
            let items = (0..n)
                .map(Ok::<Number, Status>)
                .chain([Err(Status::aborted("gave up"))]);
            Ok(Response::new(futures_util::stream::iter(items)))
        })
        .server_streaming("CountThenPanic", |req: Request<Number>| async move {
            let n = req.into_inner();
            let items = futures_util::stream::iter(0..n + 1).map(move |i| {
                if i == n {
                    panic!("stream boom");
                }
                Ok::<Number, Status>(i)
            });
            Ok(Response::new(items))
        })
        .client_streaming("Sum", |req: Request<Streaming<Number>>| async move {
            let mut sum = 0;
            let mut stream = req.into_inner();
            while let Some(n) = stream.message().await? {
                sum += n;
            }
            Ok(Response::new(sum))
        })
}

struct Fixture {
    _dir: tempfile::TempDir,
    client: Client<wren_tracing::Trace<Channel>>,
    shutdown: ShutdownHandle,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traced.sock");
    let router = Server::builder()
        .layer(TraceLayer::server())
        .add_service(service());
    let shutdown = router.shutdown_handle();
    let server = tokio::spawn(router.serve(tokio::net::UnixListener::bind(&path).unwrap()));
    let channel = Channel::connect_unix(&path).await.unwrap();
    let traced =
        tower_layer::Layer::layer(&TraceLayer::client().peer("unix://traced.sock"), channel);
    Fixture {
        _dir: dir,
        client: Client::new(traced),
        shutdown,
        server,
    }
}

impl Fixture {
    async fn stop(self) {
        drop(self.client);
        self.shutdown.shutdown().await;
        self.server.await.unwrap().unwrap();
    }
}

/// Runs `test` on one thread with the recorder as the subscriber, so that
/// the server's tasks report to it too.
fn traced<F, Fut>(test: F)
where
    F: FnOnce(Recorder) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        tokio::time::timeout(LIMIT, test(recorder))
            .await
            .expect("the test hung");
    });
}

#[test]
fn unary_ok_on_both_sides() {
    traced(|rec| async move {
        let mut f = start().await;
        let mut req = Request::new(41u64);
        req.set_timeout(Duration::from_secs(10));
        let reply: Response<Number> = f.client.unary(req, SERVICE, "Echo").await.unwrap();
        assert_eq!(reply.into_inner(), 42);

        for side in ["server", "client"] {
            let span = rec.closed(side, "Echo").await;
            assert_eq!(span.get("rpc.system"), Some("ttrpc"));
            assert_eq!(span.get("rpc.service"), Some(SERVICE));
            assert_eq!(span.get("otel.name"), Some("wren.test.v1.Traced/Echo"));
            assert_eq!(span.get("rpc.ttrpc.kind"), Some("unary"));
            assert_eq!(span.get("status"), Some("OK"), "{side}: {span:?}");
            assert_eq!(span.get("rpc.ttrpc.status_code"), Some("0"));
            assert_eq!(span.get("messages_in"), Some("1"));
            assert_eq!(span.get("messages_out"), Some("1"));
            assert_eq!(span.get("error"), None);
            assert_eq!(span.get("otel.status_code"), None);
            let deadline: f64 = span.get("deadline_ms").unwrap().parse().unwrap();
            assert!(deadline > 5_000.0 && deadline <= 10_000.0, "{deadline}");
            let duration: f64 = span.get("duration_ms").unwrap().parse().unwrap();
            assert!((0.0..10_000.0).contains(&duration), "{duration}");
        }
        let server = rec.closed("server", "Echo").await;
        // The first call of the connection: stream 1.
        assert_eq!(server.get("stream_id"), Some("1"));
        // The server knows its peer from the socket: a unix client with
        // this process's credentials.
        let peer = server.get("peer").unwrap();
        assert!(peer.starts_with("unix"), "{peer}");
        assert!(
            peer.contains(&format!("pid={}", std::process::id())),
            "{peer}"
        );
        let client = rec.closed("client", "Echo").await;
        assert_eq!(client.get("peer"), Some("unix://traced.sock"));
        // The client learns the id when its connection writes the call.
        assert_eq!(client.get("stream_id"), Some("1"));
        f.stop().await;
    });
}

#[test]
fn an_error_status_is_recorded() {
    traced(|rec| async move {
        let mut f = start().await;
        let err = f
            .client
            .unary::<_, Number>(Request::new(1u64), SERVICE, "Missing")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
        for side in ["server", "client"] {
            let span = rec.closed(side, "Missing").await;
            assert_eq!(span.get("status"), Some("NOT_FOUND"), "{side}");
            assert_eq!(span.get("rpc.ttrpc.status_code"), Some("5"));
            assert_eq!(span.get("error"), Some("no such thing"));
            // A failed call still names its stream, on both sides.
            assert_eq!(span.get("stream_id"), Some("1"), "{side}");
            assert_eq!(
                span.get("messages_out"),
                Some(if side == "server" { "0" } else { "1" })
            );
        }
        // As otelttrpc: NOT_FOUND is not a server fault, but a client error.
        assert_eq!(
            rec.closed("server", "Missing")
                .await
                .get("otel.status_code"),
            None
        );
        assert_eq!(
            rec.closed("client", "Missing")
                .await
                .get("otel.status_code"),
            Some("ERROR")
        );
        f.stop().await;
    });
}

#[test]
fn a_handler_panic_is_recorded() {
    traced(|rec| async move {
        let mut f = start().await;
        let err = f
            .client
            .unary::<_, Number>(Request::new(1u64), SERVICE, "Panic")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{err:?}");
        // The server turns the panic into INTERNAL inside its layers (the
        // panic's text stays in the server's log).
        let span = rec.closed("server", "Panic").await;
        assert_eq!(span.get("status"), Some("INTERNAL"));
        assert_eq!(span.get("error"), Some("handler panicked"), "{span:?}");
        assert_eq!(span.get("otel.status_code"), Some("ERROR"));
        // The connection and server live on.
        let reply: Response<Number> = f
            .client
            .unary(Request::new(1u64), SERVICE, "Echo")
            .await
            .unwrap();
        assert_eq!(reply.into_inner(), 2);
        f.stop().await;
    });
}

/// A layer inside the trace layer that panics on calls to `LayerPanic`.
#[derive(Clone)]
struct PanicOn<S>(S);

impl<S> tower_service::Service<Request<wren_transport::Body>> for PanicOn<S>
where
    S: tower_service::Service<Request<wren_transport::Body>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<wren_transport::Body>) -> S::Future {
        assert_ne!(req.method(), "LayerPanic", "layer boom");
        self.0.call(req)
    }
}

#[test]
fn a_panic_in_an_inner_layer_unwinds_through_and_is_recorded() {
    traced(|rec| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layered.sock");
        let router = Server::builder()
            .layer(TraceLayer::server())
            .layer(tower::layer::layer_fn(PanicOn))
            .add_service(
                service().unary("LayerPanic", |_: Request<Number>| async move {
                    Ok(Response::new(0u64))
                }),
            );
        let shutdown = router.shutdown_handle();
        let server = tokio::spawn(router.serve(tokio::net::UnixListener::bind(&path).unwrap()));
        let mut client = Client::new(Channel::connect_unix(&path).await.unwrap());
        let err = client
            .unary::<_, Number>(Request::new(1u64), SERVICE, "LayerPanic")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{err:?}");
        let span = rec.closed("server", "LayerPanic").await;
        assert_eq!(span.get("status"), Some("INTERNAL"));
        let error = span.get("error").unwrap();
        assert!(
            error.starts_with("panicked:") && error.contains("layer boom"),
            "{span:?}"
        );
        drop(client);
        shutdown.shutdown().await;
        server.await.unwrap().unwrap();
    });
}

#[test]
fn a_passed_deadline_is_recorded_on_both_sides() {
    traced(|rec| async move {
        let mut f = start().await;
        let mut req = Request::new(1u64);
        req.set_timeout(Duration::from_millis(200));
        let err = f
            .client
            .unary::<_, Number>(req, SERVICE, "Hang")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
        for side in ["server", "client"] {
            let span = rec.closed(side, "Hang").await;
            assert_eq!(
                span.get("status"),
                Some("DEADLINE_EXCEEDED"),
                "{side}: {span:?}"
            );
            assert_eq!(span.get("rpc.ttrpc.status_code"), Some("4"));
            let duration: f64 = span.get("duration_ms").unwrap().parse().unwrap();
            assert!(duration >= 150.0, "{side}: {duration}");
        }
        // Each side records the status its own side decided: the server
        // ends the call inside the layers, the client stops waiting.
        let server = rec.closed("server", "Hang").await;
        assert_eq!(
            server.get("error"),
            Some("deadline exceeded (server ended the call)")
        );
        let client = rec.closed("client", "Hang").await;
        assert_eq!(
            client.get("error"),
            Some("deadline exceeded (client gave up waiting)")
        );
        f.stop().await;
    });
}

#[test]
fn server_streams_count_messages_and_end_with_the_stream() {
    traced(|rec| async move {
        let mut f = start().await;
        let replies: Vec<_> = f
            .client
            .server_streaming::<_, Number>(Request::new(3u64), SERVICE, "Count")
            .await
            .unwrap()
            .into_inner()
            .collect()
            .await;
        assert_eq!(replies.len(), 3);
        let server = rec.closed("server", "Count").await;
        assert_eq!(server.get("rpc.ttrpc.kind"), Some("server_streaming"));
        assert_eq!(server.get("status"), Some("OK"));
        assert_eq!(server.get("messages_in"), Some("1"));
        assert_eq!(server.get("messages_out"), Some("3"));
        let client = rec.closed("client", "Count").await;
        assert_eq!(client.get("status"), Some("OK"));
        assert_eq!(client.get("stream_id"), server.get("stream_id"));
        assert_eq!(client.get("messages_in"), Some("3"));
        assert_eq!(client.get("messages_out"), Some("1"));

        // A stream's last `Err` item is the call's status.
        let replies: Vec<_> = f
            .client
            .server_streaming::<_, Number>(Request::new(2u64), SERVICE, "CountThenFail")
            .await
            .unwrap()
            .into_inner()
            .collect()
            .await;
        assert_eq!(replies.len(), 3);
        assert_eq!(replies[2].as_ref().unwrap_err().code(), Code::Aborted);
        for side in ["server", "client"] {
            let span = rec.closed(side, "CountThenFail").await;
            assert_eq!(span.get("status"), Some("ABORTED"), "{side}");
            assert_eq!(span.get("error"), Some("gave up"));
        }
        let server = rec.closed("server", "CountThenFail").await;
        assert_eq!(server.get("messages_out"), Some("2"));
        f.stop().await;
    });
}

#[test]
fn a_panic_in_a_reply_stream_is_recorded() {
    traced(|rec| async move {
        let mut f = start().await;
        let replies: Vec<_> = f
            .client
            .server_streaming::<_, Number>(Request::new(2u64), SERVICE, "CountThenPanic")
            .await
            .unwrap()
            .into_inner()
            .collect()
            .await;
        assert_eq!(replies.len(), 3, "{replies:?}");
        let last = replies.last().unwrap().as_ref().unwrap_err();
        assert_eq!(last.code(), Code::Internal, "{replies:?}");
        let server = rec.closed("server", "CountThenPanic").await;
        assert_eq!(server.get("status"), Some("INTERNAL"));
        assert_eq!(
            server.get("error"),
            Some("reply stream panicked"),
            "{server:?}"
        );
        assert_eq!(server.get("messages_out"), Some("2"));
        let client = rec.closed("client", "CountThenPanic").await;
        assert_eq!(client.get("status"), Some("INTERNAL"));
        assert_eq!(client.get("messages_in"), Some("2"));
        f.stop().await;
    });
}

#[test]
fn client_streams_count_request_messages() {
    traced(|rec| async move {
        let mut f = start().await;
        let numbers = futures_util::stream::iter([1u64, 2, 3, 4]);
        let reply: Response<Number> = f
            .client
            .client_streaming(Request::new(numbers), SERVICE, "Sum")
            .await
            .unwrap();
        assert_eq!(reply.into_inner(), 10);
        let server = rec.closed("server", "Sum").await;
        assert_eq!(server.get("rpc.ttrpc.kind"), Some("client_streaming"));
        assert_eq!(server.get("status"), Some("OK"));
        assert_eq!(server.get("messages_in"), Some("4"));
        assert_eq!(server.get("messages_out"), Some("1"));
        let client = rec.closed("client", "Sum").await;
        assert_eq!(client.get("messages_out"), Some("4"));
        assert_eq!(client.get("messages_in"), Some("1"));
        f.stop().await;
    });
}

#[test]
fn a_dropped_call_is_cancelled() {
    traced(|rec| async move {
        let mut f = start().await;
        // The client gives up on the call without a deadline.
        let call = f
            .client
            .unary::<_, Number>(Request::new(1u64), SERVICE, "Hang");
        assert!(
            tokio::time::timeout(Duration::from_millis(100), call)
                .await
                .is_err()
        );
        let span = rec.closed("client", "Hang").await;
        assert_eq!(span.get("status"), Some("CANCELLED"), "{span:?}");
        f.stop().await;
    });
}
