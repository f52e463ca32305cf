//! A server and a client on a temporary unix socket.
//!
//! Run with `cargo run --example quickstart`.

use std::time::Duration;

use wren::{Channel, Client, Code, Request, Response, Server, Status, server::Methods};

/// The request message (prost derives the protobuf encoding).
#[derive(Clone, PartialEq, prost::Message)]
struct HelloRequest {
    #[prost(string, tag = "1")]
    name: String,
}

/// The reply message.
#[derive(Clone, PartialEq, prost::Message)]
struct HelloReply {
    #[prost(string, tag = "1")]
    message: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("greeter.sock");

    // The server: one service, one method, wrapped in a stock tower timeout.
    let greeter =
        Methods::new("hello.v1.Greeter").unary("Hello", |req: Request<HelloRequest>| async move {
            let tenant = req.metadata().get("tenant").unwrap_or("nobody").to_owned();
            let name = req.into_inner().name;
            if name.is_empty() {
                return Err(Status::invalid_argument("name must not be empty"));
            }
            Ok(Response::new(HelloReply {
                message: format!("hello, {name} (tenant {tenant})"),
            }))
        });
    let router = Server::builder()
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
        .add_service(greeter);
    let shutdown = router.shutdown_handle();
    let listener = tokio::net::UnixListener::bind(&path)?;
    let server = tokio::spawn(router.serve(listener));
    println!("server: listening on {}", path.display());

    // The client: one connection, calls multiplexed over it.
    let mut client = Client::new(Channel::connect_unix(&path).await?);
    let mut req = Request::new(HelloRequest {
        name: "wren".into(),
    });
    req.metadata_mut().insert("tenant", "blue");
    req.set_timeout(Duration::from_secs(1));
    let reply: Response<HelloReply> = client.unary(req, "hello.v1.Greeter", "Hello").await?;
    println!("client: Hello -> {:?}", reply.get_ref().message);

    let err = client
        .unary::<_, HelloReply>(
            Request::new(HelloRequest::default()),
            "hello.v1.Greeter",
            "Hello",
        )
        .await
        .unwrap_err();
    println!(
        "client: Hello with no name -> {} ({})",
        err.code(),
        err.message()
    );
    assert_eq!(err.code(), Code::InvalidArgument);

    let err = client
        .unary::<_, HelloReply>(
            Request::new(HelloRequest::default()),
            "hello.v1.Greeter",
            "Goodbye",
        )
        .await
        .unwrap_err();
    println!("client: Goodbye -> {} ({})", err.code(), err.message());

    shutdown.shutdown().await;
    server.await??;
    println!("server: shut down cleanly");
    Ok(())
}
