//! Generated servers behind a real `wren_rpc::Server`, called by generated
//! clients over a unix socket through a `wren_rpc::Channel`.

mod support;

use std::time::Duration;

use codegen_tests::collide::{self, services};
use codegen_tests::containerd::task::v2 as task;
use codegen_tests::hello::v1::{self as hello, HelloRequest};
use support::{RecordLayer, pairs, take};
use wren_rpc::{Channel, Client, Code, Request, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_services_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codegen.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();

    // The layer sees each request as the server decoded it off the wire.
    let record = RecordLayer::default();
    let router = Server::builder()
        .layer(record.clone())
        .add_service(hello::greeter_server::GreeterServer::new(support::Greeter))
        .add_service(hello::clock_server::ClockServer::new(support::Clock))
        .add_service(services::result_server::ResultServer::new(support::Collide))
        .add_service(task::task_server::TaskServer::new(support::Task));
    let shutdown = router.shutdown_handle();
    let server = tokio::spawn(router.serve(listener));

    let run = async {
        let channel = Channel::connect_unix(&path).await.unwrap();
        let mut greeter = hello::greeter_client::GreeterClient::new(channel.clone());
        let mut clock = hello::clock_client::ClockClient::new(channel.clone());
        let mut result = services::result_client::ResultClient::new(channel.clone());
        let mut shim = task::task_client::TaskClient::new(channel.clone());

        let mut req = Request::new(HelloRequest {
            name: "socket".into(),
            ..Default::default()
        });
        req.metadata_mut().insert("tenant", "green");
        req.set_timeout(Duration::from_secs(5));
        let reply = greeter.say_hello(req).await.unwrap().into_inner();
        assert_eq!(reply.message, "hello, socket of green");
        greeter.ping(()).await.unwrap();
        let now = clock.now(()).await.unwrap().into_inner();
        assert_eq!(now.now.map(|t| t.seconds), Some(42));
        let reply = result
            .r#type(collide::Self_ { r#type: "t".into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.value, "t");
        let deleted = shim
            .delete(task::DeleteRequest { id: "c".into() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(deleted.exit_status, 137);

        // Concurrent calls on one connection.
        let calls = (0..16).map(|i| {
            let mut greeter = greeter.clone();
            async move {
                greeter
                    .say_hello(HelloRequest {
                        name: format!("n{i}"),
                        ..Default::default()
                    })
                    .await
                    .map(|r| r.into_inner().message)
            }
        });
        let replies = futures_util::future::join_all(calls).await;
        for (i, reply) in replies.into_iter().enumerate() {
            assert_eq!(reply.unwrap(), format!("hello, n{i}"));
        }

        // An unknown method of a known service: the generated server answers.
        let mut raw = Client::new(channel.clone());
        let err = raw
            .unary::<(), ()>(Request::new(()), "hello.v1.Greeter", "SayGoodbye")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unimplemented);
        assert_eq!(err.message(), "method SayGoodbye");
        // Streaming methods through the generated client, over the socket.
        let mut result =
            codegen_tests::collide::services::result_client::ResultClient::new(channel.clone());
        let mut watch = result
            .watch(collide::Request {
                r#match: "w".into(),
            })
            .await
            .unwrap()
            .into_inner();
        let mut seen = Vec::new();
        while let Some(reply) = watch.message().await.unwrap() {
            seen.push(reply.r#async);
        }
        assert_eq!(seen, ["w-0", "w-1", "w-2"]);
        let parts = ["a", "b", ""].map(|m| collide::Request { r#match: m.into() });
        let reply = result
            .upload(futures_util::stream::iter(parts))
            .await
            .unwrap();
        assert_eq!(reply.get_ref().r#async, "a,b,");
        let parts = ["x", "y"].map(|m| collide::Request { r#match: m.into() });
        let mut chat = result
            .chat(futures_util::stream::iter(parts))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(chat.message().await.unwrap().unwrap().r#async, "X");
        assert_eq!(chat.message().await.unwrap().unwrap().r#async, "Y");
        assert!(chat.message().await.unwrap().is_none());
        // An unknown service: the router answers.
        let err = raw
            .unary::<(), ()>(Request::new(()), "hello.v1.Nobody", "SayHello")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unimplemented);
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("calls finish");

    let seen = take(&record.seen);
    let seen = pairs(&seen);
    assert_eq!(
        seen[..5],
        [
            ("hello.v1.Greeter", "SayHello"),
            ("hello.v1.Greeter", "Ping"),
            ("hello.v1.Clock", "Now"),
            ("collide.services.Result", "type"),
            ("containerd.task.v2.Task", "Delete"),
        ]
    );
    assert_eq!(
        seen[seen.len() - 5..],
        [
            ("hello.v1.Greeter", "SayGoodbye"),
            ("collide.services.Result", "Watch"),
            ("collide.services.Result", "Upload"),
            ("collide.services.Result", "Chat"),
            ("hello.v1.Nobody", "SayHello"),
        ]
    );

    shutdown.shutdown().await;
    server.await.unwrap().unwrap();
}
