//! W3C trace context across the wire, both ways, with a Go ttrpc 1.1.1 peer
//! that reads and writes it as containerd's otelttrpc interceptors do
//! (`interop/go/peer/otel.go`): a wren client starts a trace that the Go
//! server continues, and a Go client starts one that a wren server
//! continues. Spans reach OpenTelemetry through tracing-opentelemetry and
//! are checked in an in-memory exporter.
//!
//! Run with `--features opentelemetry` (scripts/test.sh does).
#![cfg(feature = "opentelemetry")]

#[path = "../../wren-rpc/tests/support/peers.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod peers;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing_subscriber::layer::SubscriberExt;
use wren_client::{Channel, Client};
use wren_server::{Methods, Server};
use wren_tracing::TraceLayer;
use wren_transport::{Request, Response};

const LIMIT: Duration = Duration::from_secs(30);
const ECHO: &str = "wren.interop.v1.Echo";

#[derive(Clone, PartialEq, prost::Message)]
struct EchoRequest {
    #[prost(int64, tag = "1")]
    seq: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Pair {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct MetadataResponse {
    #[prost(message, repeated, tag = "1")]
    pairs: Vec<Pair>,
}

/// Runs `test` with a subscriber exporting spans to memory.
fn with_exporter<F, Fut>(test: F) -> Vec<SpanData>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("wren-test")));
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::time::timeout(LIMIT, test())
                .await
                .expect("the test hung");
        });
    }
    provider.force_flush().unwrap();
    exporter.get_finished_spans().unwrap()
}

/// Starts `peer otel-server <socket>` and waits for its `ready` line.
fn start_go_server(peer: &Path, socket: &Path) -> peers::PeerProcess {
    let mut child = Command::new(peer)
        .arg("otel-server")
        .arg(socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the Go peer");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    peers::PeerProcess(child)
}

#[test]
fn a_wren_client_starts_a_trace_a_go_server_continues() {
    let Some(peer) = peers::go_peer() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("go-otel.sock");
    let _server = start_go_server(&peer, &socket);

    let mut pairs = BTreeMap::new();
    let spans = with_exporter(|| async {
        let channel = Channel::connect_unix(&socket).await.unwrap();
        let layer = TraceLayer::client().propagator(TraceContextPropagator::new());
        let mut client = Client::new(tower_layer::Layer::layer(&layer, channel));
        let mut req = Request::new(EchoRequest { seq: 1 });
        // Metadata of the caller's own survives next to the trace context.
        req.metadata_mut().insert("caller", "rust");
        let reply: Response<MetadataResponse> = client.unary(req, ECHO, "Metadata").await.unwrap();
        for pair in reply.into_inner().pairs {
            pairs.insert(pair.key, pair.value);
        }
    });

    let client = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .unwrap_or_else(|| panic!("no client span exported: {spans:#?}"));
    assert_eq!(client.name, "wren.interop.v1.Echo/Metadata");
    let trace_id = client.span_context.trace_id().to_string();
    let span_id = client.span_context.span_id().to_string();
    assert_eq!(
        pairs.get("traceparent").map(String::as_str),
        Some(format!("00-{trace_id}-{span_id}-01").as_str()),
        "{pairs:#?}"
    );
    assert_eq!(pairs.get("caller").map(String::as_str), Some("rust"));
    // The Go server's span: same trace, the wren client's span as its
    // remote parent.
    assert_eq!(pairs.get("x-otel-trace-id"), Some(&trace_id), "{pairs:#?}");
    assert_eq!(pairs.get("x-otel-parent-span-id"), Some(&span_id));
    assert_eq!(
        pairs.get("x-otel-parent-remote").map(String::as_str),
        Some("true")
    );
    assert_ne!(pairs.get("x-otel-span-id"), Some(&span_id));
}

#[test]
fn a_go_client_starts_a_trace_a_wren_server_continues() {
    let Some(peer) = peers::go_peer() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("wren-otel.sock");
    let mut go_output = String::new();

    let spans = with_exporter(|| async {
        let metadata =
            Methods::new(ECHO).unary("Metadata", |req: Request<EchoRequest>| async move {
                let pairs = req
                    .metadata()
                    .iter()
                    .map(|(k, v)| Pair {
                        key: k.to_owned(),
                        value: v.to_owned(),
                    })
                    .collect();
                Ok(Response::new(MetadataResponse { pairs }))
            });
        let router = Server::builder()
            .layer(TraceLayer::server().propagator(TraceContextPropagator::new()))
            .add_service(metadata);
        let shutdown = router.shutdown_handle();
        let server = tokio::spawn(router.serve(tokio::net::UnixListener::bind(&socket).unwrap()));

        let output = tokio::process::Command::new(&peer)
            .arg("otel-client")
            .arg(&socket)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "Go client failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        go_output = String::from_utf8(output.stdout).unwrap();
        shutdown.shutdown().await;
        server.await.unwrap().unwrap();
    });

    let value = |key: &str| {
        go_output
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {key} in {go_output}"))
            .to_owned()
    };
    let (trace_id, span_id) = (value("client-trace-id"), value("client-span-id"));
    assert_eq!(
        value("pair traceparent"),
        format!("00-{trace_id}-{span_id}-01"),
        "the Go client sent its span as W3C trace context"
    );
    assert_eq!(value("pair caller"), "go");

    let server = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Server)
        .unwrap_or_else(|| panic!("no server span exported: {spans:#?}"));
    assert_eq!(server.name, "wren.interop.v1.Echo/Metadata");
    assert_eq!(server.span_context.trace_id().to_string(), trace_id);
    assert_eq!(server.parent_span_id.to_string(), span_id);
    assert!(server.parent_span_is_remote);
}
