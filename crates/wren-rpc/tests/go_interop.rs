//! Interop with the real Go ttrpc (Debian's 1.1.1), both directions.
//!
//! The Go peer (`interop/go`) is built from Debian's packages; where it cannot
//! be built these tests fail in CI and are skipped elsewhere.

mod support;

use std::process::Command;
use std::time::Duration;

use prost::Message;
use support::echo::{self, *};
use wren_rpc::{Channel, Client, Code, Request, Response, Server};

async fn call<M: Message, R: Message + Default>(
    client: &mut Client,
    method: &'static str,
    req: Request<M>,
) -> Result<R, wren_rpc::Status> {
    client
        .unary::<M, R>(req, echo::SERVICE, method)
        .await
        .map(Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wren_client_against_go_server() {
    let Some(peer) = support::peers::go_peer() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("go-server.sock");
    let _server = support::peers::start_server(&peer, &socket);
    let channel = Channel::connect_unix(&socket).await.unwrap();
    let mut client = Client::new(channel.clone());

    tokio::time::timeout(Duration::from_secs(60), async {
        // Unary echo, with a payload and with an all-default request.
        let reply: EchoResponse = call(
            &mut client,
            "Echo",
            Request::new(EchoRequest {
                seq: 41,
                msg: "hello".into(),
                payload: vec![7; 1000],
            }),
        )
        .await
        .unwrap();
        assert_eq!(
            (reply.seq, reply.msg.as_str(), reply.payload.len()),
            (42, "hello", 1000)
        );
        let reply: EchoResponse = call(&mut client, "Echo", Request::new(EchoRequest::default()))
            .await
            .unwrap();
        assert_eq!(
            reply,
            EchoResponse {
                seq: 1,
                ..Default::default()
            }
        );

        // Metadata: several values for one key keep their order.
        let mut req = Request::new(EchoRequest::default());
        req.metadata_mut().append("multi", "a");
        req.metadata_mut().append("multi", "b");
        req.metadata_mut().append("multi", "c");
        req.metadata_mut().insert("single", "x");
        let reply: MetadataResponse = call(&mut client, "Metadata", req).await.unwrap();
        let pairs: Vec<(String, String)> =
            reply.pairs.into_iter().map(|p| (p.key, p.value)).collect();
        let expected = [
            ("multi", "a"),
            ("multi", "b"),
            ("multi", "c"),
            ("single", "x"),
        ];
        assert_eq!(
            pairs,
            expected.map(|(k, v)| (k.to_owned(), v.to_owned())),
            "the Go server saw other metadata"
        );

        // The deadline reaches the Go handler; no deadline reaches it as none.
        let mut req = Request::new(EchoRequest::default());
        req.set_timeout(Duration::from_secs(5));
        let reply: DeadlineResponse = call(&mut client, "Deadline", req).await.unwrap();
        assert!(reply.has_deadline);
        assert!(
            (3000..=5000).contains(&reply.remaining_ms),
            "remaining {} ms",
            reply.remaining_ms
        );
        let reply: DeadlineResponse = call(
            &mut client,
            "Deadline",
            Request::new(EchoRequest::default()),
        )
        .await
        .unwrap();
        assert!(!reply.has_deadline);

        // An error status with code, message and one Any detail.
        let status = call::<_, EchoResponse>(
            &mut client,
            "Fail",
            Request::new(FailRequest {
                code: 9,
                message: "precondition not met".into(),
                detail: "the detail".into(),
            }),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.message(), "precondition not met");
        assert_eq!(status.details().len(), 1);
        assert_eq!(status.details()[0].type_url, FAIL_DETAIL_URL);
        let detail = FailDetail::decode(&status.details()[0].value[..]).unwrap();
        assert_eq!(detail.detail, "the detail");

        // Unknown service and method.
        let status = client
            .unary::<_, EchoResponse>(
                Request::new(EchoRequest::default()),
                "wren.interop.v1.Nope",
                "Echo",
            )
            .await
            .unwrap_err();
        assert_eq!(
            (status.code(), status.message()),
            (Code::Unimplemented, "service wren.interop.v1.Nope")
        );
        let status = client
            .unary::<_, EchoResponse>(Request::new(EchoRequest::default()), echo::SERVICE, "Nope")
            .await
            .unwrap_err();
        assert_eq!(
            (status.code(), status.message()),
            (Code::Unimplemented, "method Nope")
        );

        // An oversize request: a wren channel with a raised limit sends it, the
        // Go server discards it and answers RESOURCE_EXHAUSTED, and the next call
        // on the same connection succeeds.
        let big = Channel::builder()
            .max_message_size(8 << 20)
            .connect_unix(&socket)
            .await
            .unwrap();
        let mut big = Client::new(big);
        let status = call::<_, EchoResponse>(
            &mut big,
            "Echo",
            Request::new(EchoRequest {
                payload: vec![1; (4 << 20) + 1],
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        let reply: EchoResponse = call(
            &mut big,
            "Echo",
            Request::new(EchoRequest {
                seq: 1,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
        assert_eq!(reply.seq, 2);
        // With the default limit the same request fails before it is sent.
        let status = call::<_, EchoResponse>(
            &mut client,
            "Echo",
            Request::new(EchoRequest {
                payload: vec![1; (4 << 20) + 1],
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);

        // 100 concurrent calls multiplexed on one connection, replies out of order.
        let calls = (0..100i64).map(|i| {
            let mut client = Client::new(channel.clone());
            tokio::spawn(async move {
                let req = Request::new(EchoRequest {
                    seq: i % 10,
                    msg: i.to_string(),
                    payload: Vec::new(),
                });
                let reply: EchoResponse = call(&mut client, "Sleep", req).await.unwrap();
                assert_eq!((reply.seq, reply.msg), (i % 10 + 1, i.to_string()));
            })
        });
        for task in calls.collect::<Vec<_>>() {
            task.await.unwrap();
        }
    })
    .await
    .expect("interop with the Go server timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_client_against_wren_server() {
    let Some(peer) = support::peers::go_peer() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("wren-server.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let router = Server::builder().add_service(echo::service());
    let shutdown = router.shutdown_handle();
    let server = tokio::spawn(router.serve(listener));

    let output = tokio::task::spawn_blocking(move || {
        Command::new(peer)
            .arg("client")
            .arg(&socket)
            .arg("all")
            .output()
            .expect("run the Go client")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "the Go client failed against wren:\n{stdout}{stderr}"
    );
    for case in [
        "echo",
        "metadata",
        "deadline",
        "error",
        "unknown",
        "oversize",
        "concurrent",
    ] {
        assert!(
            stdout.lines().any(|l| l == format!("ok {case}")),
            "the Go client did not pass {case}:\n{stdout}"
        );
    }

    shutdown.shutdown().await;
    server.await.unwrap().unwrap();
}
