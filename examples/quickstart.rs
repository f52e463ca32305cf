//! A ttrpc server and client from generated code, on a unix socket.

/// The code wren-build generated from `proto/hello/v1/hello.proto`.
pub mod hello {
    wren_rpc::include_proto!("hello.v1");
}

use std::time::Duration;

use hello::greeter_client::GreeterClient;
use hello::greeter_server::{Greeter, GreeterServer};
use hello::{HelloReply, HelloRequest};
use wren_rpc::{Channel, Endpoint, Request, Response, Server, Status};

struct MyGreeter;

impl Greeter for MyGreeter {
    async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let name = req.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name must not be empty"));
        }
        Ok(Response::new(HelloReply {
            message: format!("hello, {name}"),
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A socket of this process's own: wren replaces a stale socket file and
    // removes it again when the listener is dropped.
    let socket = std::env::temp_dir().join(format!("greeter-{}.sock", std::process::id()));
    let endpoint = Endpoint::unix(socket);

    // The server: the generated service, behind a stock tower timeout.
    let router = Server::builder()
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_secs(5)))
        .add_service(GreeterServer::new(MyGreeter));
    let shutdown = router.shutdown_handle();
    let listener = endpoint.bind().await?;
    let server = tokio::spawn(router.serve(listener));
    println!("server: listening on {endpoint}");

    // The client: one connection, any number of concurrent calls.
    let mut client = GreeterClient::new(Channel::connect(&endpoint).await?);
    let reply = client
        .say_hello(HelloRequest {
            name: "wren".into(),
        })
        .await?;
    println!("client: {}", reply.into_inner().message);

    let err = client.say_hello(HelloRequest::default()).await.unwrap_err();
    println!("client: {} ({})", err.code(), err.message());

    shutdown.shutdown().await;
    server.await??;
    Ok(())
}
