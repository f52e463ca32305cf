//! `wren` against the Go ttrpc 1.1.1 peer (`interop/go`): calls with the
//! peer's `.proto`, statuses with details, `list`, `describe` and `health`
//! where Go serves neither reflection nor health, and `decode` of bytes Go
//! wrote, captured on the wire between a Go client and a Go server.

mod support;

use std::path::PathBuf;

use support::{Tap, echo_proto, hex_lines, peers, wren};

struct GoServer {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    endpoint: String,
    _process: peers::PeerProcess,
}

fn go_server() -> Option<GoServer> {
    let peer = peers::go_peer()?;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("go.sock");
    let process = peers::start_server(&peer, &socket);
    Some(GoServer {
        endpoint: format!("unix://{}", socket.display()),
        socket,
        _dir: dir,
        _process: process,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn call_unary_methods_of_a_go_server() {
    let Some(go) = go_server() else { return };
    let proto = echo_proto();
    let run = wren(
        &[
            "call",
            &go.endpoint,
            "wren.interop.v1.Echo/Echo",
            "--proto",
            &proto,
            "-d",
            r#"{"seq": 41, "msg": "hello", "payload": "AAEC"}"#,
        ],
        None,
    )
    .await;
    let reply: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    // proto3 JSON: int64 as a string, bytes as base64.
    assert_eq!(
        reply,
        serde_json::json!({"seq": "42", "msg": "hello", "payload": "AAEC"})
    );

    // The request from a file, several values for one metadata key, and
    // the metadata as Go received it.
    let file = go._dir.path().join("request.json");
    std::fs::write(&file, r#"{"msg": "from a file"}"#).unwrap();
    let data = format!("@{}", file.display());
    let run = wren(
        &[
            "call",
            &go.endpoint,
            "wren.interop.v1.Echo/Metadata",
            "--proto",
            &proto,
            "-d",
            &data,
            "-H",
            "multi=a",
            "-H",
            "multi=b",
            "-H",
            "Single=x",
        ],
        None,
    )
    .await;
    let reply: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(
        reply,
        serde_json::json!({"pairs": [
            {"key": "multi", "value": "a"},
            {"key": "multi", "value": "b"},
            {"key": "single", "value": "x"},
        ]})
    );

    // --timeout reaches Go as the handler's deadline; stdin as the request.
    let run = wren(
        &[
            "call",
            &go.endpoint,
            "wren.interop.v1.Echo/Deadline",
            "--proto",
            &proto,
            "--timeout",
            "5s",
            "-d",
            "@-",
        ],
        Some("{}"),
    )
    .await;
    let reply: serde_json::Value = serde_json::from_str(run.ok()).unwrap();
    assert_eq!(reply["hasDeadline"], true, "{reply}");
    let left: i64 = reply["remainingMs"].as_str().unwrap().parse().unwrap();
    assert!((3000..=5000).contains(&left), "{left}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_go_status_prints_its_code_message_and_decoded_details() {
    let Some(go) = go_server() else { return };
    let proto = echo_proto();
    let run = wren(
        &[
            "call",
            &go.endpoint,
            "wren.interop.v1.Echo/Fail",
            "--proto",
            &proto,
            "-d",
            r#"{"code": 9, "message": "precondition not met", "detail": "the detail"}"#,
        ],
        None,
    )
    .await;
    // 10 + FAILED_PRECONDITION (9).
    run.failed(19);
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr
            .contains("wren.interop.v1.Echo/Fail failed: FAILED_PRECONDITION (code 9)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("message: precondition not met"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            r#"detail 1: type.googleapis.com/wren.interop.v1.FailDetail {"detail":"the detail"}"#
        ),
        "{}",
        run.stderr
    );

    // Go's own UNIMPLEMENTED for a method the proto has but Go does not:
    // asked by name through a proto that declares it.
    let dir = tempfile::tempdir().unwrap();
    let extra = dir.path().join("extra.proto");
    std::fs::write(
        &extra,
        "syntax = \"proto3\";\npackage wren.interop.v1;\nmessage E {}\nservice Nope { rpc Echo(E) returns (E); }\n",
    )
    .unwrap();
    let run = wren(
        &[
            "call",
            &go.endpoint,
            "wren.interop.v1.Nope/Echo",
            "--proto",
            &extra.display().to_string(),
        ],
        None,
    )
    .await;
    run.failed(22);
    assert!(
        run.stderr.contains("UNIMPLEMENTED (code 12)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("service wren.interop.v1.Nope"),
        "{}",
        run.stderr
    );

    // A method the proto does not declare never leaves wren.
    let run = wren(
        &[
            "call",
            &go.endpoint,
            "wren.interop.v1.Echo/Nope",
            "--proto",
            &proto,
        ],
        None,
    )
    .await;
    run.failed(2);
    assert!(
        run.stderr
            .contains("has no method Nope (it has: Echo, Sleep, Metadata, Deadline, Fail)"),
        "{}",
        run.stderr
    );
    // Nor does JSON that is not the request type.
    let run = wren(
        &[
            "call",
            &go.endpoint,
            "wren.interop.v1.Echo/Echo",
            "--proto",
            &proto,
            "-d",
            r#"{"nope": 1}"#,
        ],
        None,
    )
    .await;
    run.failed(2);
    assert!(
        run.stderr
            .contains("not a wren.interop.v1.EchoRequest in JSON"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_describe_and_health_against_a_go_server() {
    let Some(go) = go_server() else { return };
    let proto = echo_proto();
    assert_eq!(
        wren(&["list", "--proto", &proto], None).await.ok(),
        "wren.interop.v1.Echo\n"
    );
    let methods = wren(
        &[
            "list",
            &go.endpoint,
            "wren.interop.v1.Echo",
            "--proto",
            &proto,
        ],
        None,
    )
    .await;
    assert!(
        methods.ok().contains(
            "wren.interop.v1.Echo.Fail(wren.interop.v1.FailRequest) returns (wren.interop.v1.EchoResponse);\n"
        ),
        "{methods:?}"
    );
    let described = wren(
        &["describe", "--proto", &proto, "wren.interop.v1.Pair"],
        None,
    )
    .await;
    assert_eq!(
        described.ok(),
        "wren.interop.v1.Pair is a message:\nmessage Pair {\n  string key = 1;\n  string value = 2;\n}\n"
    );

    // Go ttrpc serves no reflection: wren says so and how to go on.
    let run = wren(&["list", &go.endpoint], None).await;
    run.failed(22);
    assert!(
        run.stderr.contains("does not serve gRPC reflection"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--proto"), "{}", run.stderr);

    // Nor the health service.
    let run = wren(&["health", &go.endpoint], None).await;
    run.failed(22);
    assert!(
        run.stderr.contains("does not serve grpc.health.v1.Health"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn decode_what_go_wrote_on_the_wire() {
    let Some(peer) = peers::go_peer() else { return };
    let Some(go) = go_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tap = Tap::start(&go.socket, dir.path().join("tap.sock"));

    // A Go client and a Go server, wren in between only to record.
    let output = tokio::process::Command::new(&peer)
        .arg("client")
        .arg(&tap.path)
        .args(["echo", "error"])
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    let proto = echo_proto();
    let requests = dir.path().join("requests.bin");
    std::fs::write(&requests, tap.sent_by_clients()).unwrap();
    let run = wren(
        &["decode", &requests.display().to_string(), "--proto", &proto],
        None,
    )
    .await;
    let text = run.ok();
    assert!(
        text.contains("frame 1 (byte 0): stream 1, Request (type 0x01), flags 0x00,"),
        "{text}"
    );
    assert!(
        text.contains("  service:  wren.interop.v1.Echo\n  method:   Echo\n"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"  payload:  wren.interop.v1.EchoRequest {"seq":"41","msg":"hello","payload":""#
        ),
        "{text}"
    );
    assert!(text.contains("  method:   Fail\n"), "{text}");
    assert!(
        text.contains(r#"payload:  wren.interop.v1.FailRequest {"code":9,"message":"precondition not met","detail":"the detail"}"#),
        "{text}"
    );

    // The server's side, as hex on stdin: Responses, named by --method.
    let replies = hex_lines(&tap.sent_by_server());
    let run = wren(
        &[
            "decode",
            "--proto",
            &proto,
            "--method",
            "wren.interop.v1.Echo/Echo",
        ],
        Some(&replies),
    )
    .await;
    let text = run.ok();
    assert!(text.contains("stream 1, Response (type 0x02)"), "{text}");
    assert!(text.contains("  status:   OK\n"), "{text}");
    assert!(
        text.contains(
            r#"  payload:  wren.interop.v1.EchoResponse {"seq":"42","msg":"hello","payload":""#
        ),
        "{text}"
    );
    assert!(
        text.contains("  status:   FAILED_PRECONDITION (code 9): precondition not met\n"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"  detail 1: type.googleapis.com/wren.interop.v1.FailDetail {"detail":"the detail"}"#
        ),
        "{text}"
    );

    // A capture cut in the middle of a frame: the frames before it are
    // printed, the cut is reported, and the exit status says bad input.
    let cut = tap.sent_by_server();
    let cut = &cut[..cut.len() - 2];
    let path = dir.path().join("cut.bin");
    std::fs::write(&path, cut).unwrap();
    let run = wren(&["decode", &path.display().to_string()], None).await;
    run.failed(2);
    assert!(run.stdout.contains("frame 1 (byte 0)"), "{run:?}");
    assert!(run.stderr.contains("an incomplete frame"), "{run:?}");
}
