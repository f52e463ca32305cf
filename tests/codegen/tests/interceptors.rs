//! The generated `with_interceptor` constructors: a server's guards every
//! kind of its own methods (and keeps their streaming kinds), a client's
//! adds metadata to every call; over a unix socket and in memory.

mod support;

use std::time::Duration;

use codegen_tests::collide::{self, services};
use codegen_tests::hello::v1::{self as hello, HelloRequest};
use services::result_client::ResultClient;
use services::result_server::ResultServer;
use wren_rpc::{Channel, Code, Request, Server, Status};

/// Lets calls in only with `key: open-sesame` metadata.
fn require_key(req: Request<()>) -> Result<Request<()>, Status> {
    match req.metadata().get("key") {
        Some("open-sesame") => Ok(req),
        _ => Err(Status::permission_denied(format!(
            "{} wants a key",
            req.method()
        ))),
    }
}

/// Adds the key.
fn add_key(mut req: Request<()>) -> Result<Request<()>, Status> {
    req.metadata_mut().insert("key", "open-sesame");
    Ok(req)
}

fn parts() -> futures_util::stream::Iter<std::array::IntoIter<collide::Request, 2>> {
    futures_util::stream::iter(["a", "b"].map(|m| collide::Request { r#match: m.into() }))
}

/// Watch, Upload and Chat; each call's result, or its status.
async fn streaming_calls<S>(client: &mut ResultClient<S>) -> [Result<String, Status>; 3]
where
    S: wren_rpc::codegen::Service<
            Request<wren_rpc::Body>,
            Response = wren_rpc::Response<wren_rpc::Body>,
        >,
    S::Error: Into<wren_rpc::codegen::BoxError>,
{
    async fn collect(
        replies: Result<wren_rpc::Response<wren_rpc::Streaming<collide::Response>>, Status>,
    ) -> Result<String, Status> {
        let mut replies = replies?.into_inner();
        let mut seen = Vec::new();
        while let Some(reply) = replies.message().await? {
            seen.push(reply.r#async);
        }
        Ok(seen.join(","))
    }
    let watch = client
        .watch(collide::Request {
            r#match: "w".into(),
        })
        .await;
    let watch = collect(watch).await;
    let upload = client.upload(parts()).await.map(|r| r.into_inner().r#async);
    let chat = collect(client.chat(parts()).await).await;
    [watch, upload, chat]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_with_interceptor_on_both_sides_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("intercepted.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let router = Server::builder()
        .add_service(ResultServer::with_interceptor(
            support::Collide,
            require_key,
        ))
        .add_service(hello::greeter_server::GreeterServer::new(support::Greeter));
    let shutdown = router.shutdown_handle();
    let server = tokio::spawn(router.serve(listener));

    let run = async {
        let channel = Channel::connect_unix(&path).await.unwrap();

        // Without the key, every kind is refused by the server.
        let mut plain = ResultClient::new(channel.clone());
        for (method, outcome) in ["Watch", "Upload", "Chat"]
            .iter()
            .zip(streaming_calls(&mut plain).await)
        {
            let err = outcome.expect_err("no key");
            assert_eq!(err.code(), Code::PermissionDenied, "{method}");
            assert_eq!(err.message(), format!("{method} wants a key"));
        }
        let err = plain
            .r#match(collide::Request::default())
            .await
            .unwrap_err();
        assert_eq!(err.message(), "Match wants a key");

        // The generated client's interceptor adds it.
        let mut keyed = ResultClient::with_interceptor(channel.clone(), add_key);
        let outcomes = streaming_calls(&mut keyed).await.map(Result::unwrap);
        assert_eq!(outcomes, ["w-0,w-1,w-2", "a,b", "A,B"]);

        // The other service has no interceptor.
        let mut greeter = hello::greeter_client::GreeterClient::new(channel);
        let reply = greeter
            .say_hello(HelloRequest {
                name: "x".into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(reply.into_inner().message, "hello, x");
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("calls finish");
    shutdown.shutdown().await;
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn generated_with_interceptor_in_memory() {
    let server = ResultServer::with_interceptor(support::Collide, require_key);
    let mut client = ResultClient::with_interceptor(server.clone(), add_key);
    let reply = client
        .r#match(collide::Request {
            r#match: "m".into(),
        })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().r#async, "m");

    let err = ResultClient::new(server)
        .r#match(collide::Request::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}
