//! `wren` against a wren server that serves reflection and health: every
//! command without a `.proto` file, all four streaming kinds, the health
//! statuses, and the exit status of each kind of failure.

mod support;

use std::path::PathBuf;

use support::{Tap, proto_dir, wren};
use wren_health::{HealthReporter, ServingStatus};
use wren_server::{Server, ShutdownHandle};

struct WrenServer {
    dir: tempfile::TempDir,
    socket: PathBuf,
    endpoint: String,
    health: HealthReporter,
    shutdown: ShutdownHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl WrenServer {
    async fn start() -> WrenServer {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("wren.sock");
        let descriptors = protox::compile(
            ["interop/echo.proto", "interop/streaming.proto"],
            [proto_dir()],
        )
        .unwrap();
        let reflection = || {
            wren_reflection::Builder::new()
                .register_file_descriptor_set(descriptors.clone())
                .register_encoded_file_descriptor_set(wren_health::FILE_DESCRIPTOR_SET)
        };
        let (health, health_service) = wren_health::health_reporter();
        health.set_service_status(support::echo::SERVICE, ServingStatus::Serving);
        let router = Server::builder()
            .add_service(support::echo::service())
            .add_service(support::streaming::service())
            .add_service(health_service)
            .add_service(reflection().build_v1().unwrap())
            .add_service(reflection().build_v1alpha().unwrap());
        let shutdown = router.shutdown_handle();
        let listener = tokio::net::UnixListener::bind(&socket).unwrap();
        let task = tokio::spawn(router.serve(listener));
        WrenServer {
            endpoint: format!("unix://{}", socket.display()),
            socket,
            dir,
            health,
            shutdown,
            task,
        }
    }

    async fn stop(self) {
        self.shutdown.shutdown().await;
        self.task.await.unwrap().unwrap();
    }
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn list_describe_and_call_through_reflection() {
    let server = WrenServer::start().await;
    let ep = server.endpoint.as_str();
    assert_eq!(
        wren(&["list", ep], None).await.ok(),
        "grpc.health.v1.Health\ngrpc.reflection.v1.ServerReflection\nwren.interop.streaming.v1.Streaming\nwren.interop.v1.Echo\n"
    );
    let methods = wren(&["list", ep, "wren.interop.streaming.v1.Streaming"], None).await;
    let methods = methods.ok();
    assert!(
        methods.contains("wren.interop.streaming.v1.Streaming.SumStream(stream wren.interop.streaming.v1.Part) returns (wren.interop.streaming.v1.Sum);\n"),
        "{methods}"
    );
    assert!(
        methods.contains("wren.interop.streaming.v1.Streaming.EmptyPayloadStream(google.protobuf.Empty) returns (stream wren.interop.streaming.v1.EchoPayload);\n"),
        "{methods}"
    );
    assert_eq!(
        wren(&["describe", ep, "wren.interop.streaming.v1.Sum"], None)
            .await
            .ok(),
        "wren.interop.streaming.v1.Sum is a message:\nmessage Sum {\n  int32 sum = 1;\n  int32 num = 2;\n}\n"
    );
    assert_eq!(
        wren(&["describe", ep, "grpc.health.v1.Health.Watch"], None)
            .await
            .ok(),
        "grpc.health.v1.Health.Watch is a method:\nrpc Watch(grpc.health.v1.HealthCheckRequest) returns (stream grpc.health.v1.HealthCheckResponse);\n"
    );
    let run = wren(&["describe", ep, "wren.interop.v1.Nope"], None).await;
    run.failed(15);
    assert!(
        run.stderr.contains("wren.interop.v1.Nope"),
        "{}",
        run.stderr
    );

    let run = wren(
        &[
            "call",
            ep,
            "wren.interop.v1.Echo/Echo",
            "-d",
            r#"{"seq": 1, "msg": "no proto"}"#,
            "-v",
        ],
        None,
    )
    .await;
    let reply: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(reply, serde_json::json!({"seq": "2", "msg": "no proto"}));
    // --verbose tells what happened, on stderr.
    assert!(
        run.stderr.contains("wren: connected to unix://"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("(reflection)"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("calling wren.interop.v1.Echo/Echo (unary)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("OK: 1 reply in"), "{}", run.stderr);

    // --emit-defaults prints zero values.
    let run = wren(
        &["call", ep, "wren.interop.v1.Echo/Echo", "--emit-defaults"],
        None,
    )
    .await;
    let reply: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(
        reply,
        serde_json::json!({"seq": "1", "msg": "", "payload": ""})
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_streaming_kind() {
    let server = WrenServer::start().await;
    let ep = server.endpoint.as_str();

    // Server streaming: one request, one JSON line per reply.
    let run = wren(
        &[
            "call",
            ep,
            "wren.interop.streaming.v1.Streaming/DivideStream",
            "-d",
            r#"{"sum": 10, "num": 5}"#,
        ],
        None,
    )
    .await;
    let parts = json_lines(run.ok());
    assert_eq!(
        parts,
        [
            serde_json::json!({}),
            serde_json::json!({"add": 4}),
            serde_json::json!({"add": 3}),
            serde_json::json!({"add": 3}),
            serde_json::json!({}),
        ]
    );

    // Client streaming: one message per stdin line (blank lines skipped).
    let run = wren(
        &["call", ep, "wren.interop.streaming.v1.Streaming/SumStream"],
        Some("{\"add\": 1}\n\n{\"add\": 2}\n{}\n"),
    )
    .await;
    let sum: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(sum, serde_json::json!({"sum": 3, "num": 3}));

    // Bidirectional, from a file.
    let file = server.dir.path().join("messages.ndjson");
    std::fs::write(
        &file,
        "{\"seq\": 1, \"msg\": \"a\"}\n{\"seq\": 2, \"msg\": \"b\"}\n",
    )
    .unwrap();
    let data = format!("@{}", file.display());
    let run = wren(
        &[
            "call",
            ep,
            "wren.interop.streaming.v1.Streaming/EchoStream",
            "-d",
            &data,
        ],
        None,
    )
    .await;
    assert_eq!(
        json_lines(run.ok()),
        [
            serde_json::json!({"seq": 2, "msg": "a"}),
            serde_json::json!({"seq": 3, "msg": "b"}),
        ]
    );

    // A stream's final status: DivideStream refuses fewer than 3 parts.
    let run = wren(
        &[
            "call",
            ep,
            "wren.interop.streaming.v1.Streaming/DivideStream",
            "-d",
            r#"{"sum": 1, "num": 2}"#,
        ],
        None,
    )
    .await;
    run.failed(13);
    assert!(
        run.stderr.contains("INVALID_ARGUMENT (code 3)"),
        "{}",
        run.stderr
    );

    // A request line that is not JSON of the type: the line is named, and
    // nothing more is sent.
    let run = wren(
        &["call", ep, "wren.interop.streaming.v1.Streaming/SumStream"],
        Some("{\"add\": 1}\n{\"add\": \"x\"}\n"),
    )
    .await;
    run.failed(2);
    assert!(
        run.stderr
            .contains("request line 2 is not a wren.interop.streaming.v1.Part"),
        "{}",
        run.stderr
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn health_statuses_and_exit_codes() {
    let server = WrenServer::start().await;
    let ep = server.endpoint.as_str();
    assert_eq!(wren(&["health", ep], None).await.ok(), "SERVING\n");
    assert_eq!(
        wren(&["health", ep, "wren.interop.v1.Echo"], None)
            .await
            .ok(),
        "SERVING\n"
    );
    server
        .health
        .set_service_status("wren.interop.v1.Echo", ServingStatus::NotServing);
    let run = wren(&["health", ep, "wren.interop.v1.Echo"], None).await;
    run.failed(4);
    assert_eq!(run.stdout, "NOT_SERVING\n");
    let run = wren(&["health", ep, "wren.interop.v1.Nope"], None).await;
    run.failed(15);
    assert!(
        run.stderr
            .contains("does not know the service wren.interop.v1.Nope"),
        "{}",
        run.stderr
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_failure_has_its_exit_status() {
    let server = WrenServer::start().await;
    let ep = server.endpoint.as_str();

    // The deadline passes: DEADLINE_EXCEEDED, 10 + 4.
    let run = wren(
        &[
            "call",
            ep,
            "wren.interop.v1.Echo/Sleep",
            "-d",
            r#"{"seq": 5000}"#,
            "--timeout",
            "200ms",
        ],
        None,
    )
    .await;
    run.failed(14);
    assert!(
        run.stderr.contains("DEADLINE_EXCEEDED (code 4)"),
        "{}",
        run.stderr
    );

    // Nothing listens: 3.
    let missing = format!(
        "unix://{}",
        server.dir.path().join("missing.sock").display()
    );
    let run = wren(&["health", &missing], None).await;
    run.failed(3);
    assert!(
        run.stderr.contains("cannot connect to unix://"),
        "{}",
        run.stderr
    );

    // Not an endpoint: 2.
    let run = wren(&["health", "carrier-pigeon://home"], None).await;
    run.failed(2);
    assert!(run.stderr.contains("invalid endpoint"), "{}", run.stderr);

    // Bad usage, as clap reports it: 2.
    wren(&["call", ep], None).await.failed(2);
    let run = wren(&["call", ep, "NoSuchMethod"], None).await;
    run.failed(2);
    assert!(
        run.stderr.contains("is not SERVICE/METHOD"),
        "{}",
        run.stderr
    );
    let run = wren(&["call", ep, "x.Y/Z", "-H", "novalue"], None).await;
    run.failed(2);
    assert!(run.stderr.contains("expected KEY=VALUE"), "{}", run.stderr);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn decode_a_bidirectional_conversation() {
    let server = WrenServer::start().await;
    let tap = Tap::start(&server.socket, server.dir.path().join("tap.sock"));
    let through = format!("unix://{}", tap.path.display());
    let proto = proto_dir()
        .join("interop/streaming.proto")
        .display()
        .to_string();
    let run = wren(
        &[
            "call",
            &through,
            "wren.interop.streaming.v1.Streaming/EchoStream",
            "--proto",
            &proto,
            "-H",
            "k=v",
        ],
        Some("{\"seq\": 7, \"msg\": \"hi\"}\n"),
    )
    .await;
    assert_eq!(
        json_lines(run.ok()),
        [serde_json::json!({"seq": 8, "msg": "hi"})]
    );

    let sent = server.dir.path().join("sent.bin");
    std::fs::write(&sent, tap.sent_by_clients()).unwrap();
    let text = wren(
        &["decode", &sent.display().to_string(), "--proto", &proto],
        None,
    )
    .await;
    let text = text.ok();
    // The Request opens the stream (wren sends no message in it); the
    // message goes in a Data frame; the client closes its side.
    assert!(
        text.contains("stream 1, Request (type 0x01), flags REMOTE_OPEN | NO_DATA,"),
        "{text}"
    );
    assert!(
        text.contains("  metadata: k=v\n  payload:  none (NO_DATA)\n"),
        "{text}"
    );
    assert!(text.contains("  metadata: k=v\n"), "{text}");
    assert!(
        text.contains("stream 1, Data (type 0x03), flags 0x00,")
            || text.contains("stream 1, Data (type 0x03), flags REMOTE_CLOSED,"),
        "{text}"
    );
    assert!(
        text.contains(r#"  payload:  wren.interop.streaming.v1.EchoPayload {"seq":7,"msg":"hi"}"#),
        "{text}"
    );
    assert!(
        text.contains("flags REMOTE_CLOSED | NO_DATA, 0 payload bytes"),
        "{text}"
    );

    let replies = server.dir.path().join("replies.bin");
    std::fs::write(&replies, tap.sent_by_server()).unwrap();
    let text = wren(
        &[
            "decode",
            &replies.display().to_string(),
            "--format",
            "binary",
            "--proto",
            &proto,
            "--method",
            "wren.interop.streaming.v1.Streaming/EchoStream",
        ],
        None,
    )
    .await;
    let text = text.ok();
    assert!(
        text.contains(r#"  payload:  wren.interop.streaming.v1.EchoPayload {"seq":8,"msg":"hi"}"#),
        "{text}"
    );
    assert!(
        text.contains("  call:     wren.interop.streaming.v1.Streaming/EchoStream\n"),
        "{text}"
    );
    drop(tap);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn types_from_a_descriptor_set_file() {
    let server = WrenServer::start().await;
    let set = protox::compile(["interop/echo.proto"], [proto_dir()]).unwrap();
    let path = server.dir.path().join("echo.binpb");
    std::fs::write(&path, prost::Message::encode_to_vec(&set)).unwrap();
    let path = path.display().to_string();
    assert_eq!(
        wren(&["list", "--descriptor-set", &path], None).await.ok(),
        "wren.interop.v1.Echo\n"
    );
    let run = wren(
        &[
            "call",
            &server.endpoint,
            "wren.interop.v1.Echo/Echo",
            "--descriptor-set",
            &path,
            "-d",
            r#"{"seq": 9}"#,
        ],
        None,
    )
    .await;
    let reply: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(reply, serde_json::json!({"seq": "10"}));
    // A file that is not a descriptor set: bad input.
    let bad = server.dir.path().join("bad.binpb");
    std::fs::write(&bad, b"\xff\xff\xff").unwrap();
    let run = wren(
        &["list", "--descriptor-set", &bad.display().to_string()],
        None,
    )
    .await;
    run.failed(2);
    assert!(
        run.stderr.contains("is not a usable FileDescriptorSet"),
        "{}",
        run.stderr
    );
    server.stop().await;
}
