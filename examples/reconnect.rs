//! A lazy client that connects on its first call and reconnects after the
//! server restarts: what a long-lived publisher (a shim sending events to
//! containerd) needs.
//!
//! Run with `cargo run --example reconnect`.
//!
//! - `Channel::connect_lazy_unix(path)` (or `Channel::builder().lazy(f)` with
//!   any connect function) returns at once; the first call connects.
//! - When the connection drops, the next call connects again, retrying with
//!   capped exponential backoff (`Builder::backoff`).
//! - While it cannot connect, calls fail at once with `UNAVAILABLE` by
//!   default; with `Builder::wait_for_connection(true)` they wait for a
//!   connection until their deadline instead.
//! - A call in flight when the connection drops fails with `UNAVAILABLE`
//!   (and `wren_rpc::client::is_closed` says so). It is **not** retried: the
//!   protocol cannot tell whether the server ran it. Retry it yourself when
//!   running it twice is harmless, as `call_retrying` does below.

use std::path::Path;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use wren_examples::hello::greeter_client::GreeterClient;
use wren_examples::hello::greeter_server::{Greeter, GreeterServer};
use wren_examples::hello::{HelloReply, HelloRequest};
use wren_rpc::client::{Backoff, is_closed};
use wren_rpc::server::ShutdownHandle;
use wren_rpc::{Channel, Code, Request, Response, Server, Status};

/// Told when a "slowpoke" call reaches a server.
static SLOWPOKE_ARRIVED: Notify = Notify::const_new();

/// Says which server instance answered; "slowpoke" takes a minute.
struct MyGreeter {
    instance: u32,
}

impl Greeter for MyGreeter {
    async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let name = req.into_inner().name;
        if name == "slowpoke" {
            SLOWPOKE_ARRIVED.notify_one();
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Ok(Response::new(HelloReply {
            message: format!("hello, {name}, from server #{}", self.instance),
        }))
    }
}

/// Starts server number `instance` on `path`, replacing a stale socket file.
fn start_server(
    path: &Path,
    instance: u32,
) -> std::io::Result<(ShutdownHandle, JoinHandle<std::io::Result<()>>)> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let router = Server::builder().add_service(GreeterServer::new(MyGreeter { instance }));
    let handle = router.shutdown_handle();
    let listener = tokio::net::UnixListener::bind(path)?;
    println!("server #{instance}: up");
    Ok((handle, tokio::spawn(router.serve(listener))))
}

/// A call with a deadline.
fn hello(name: &str) -> Request<HelloRequest> {
    let mut req = Request::new(HelloRequest { name: name.into() });
    req.set_timeout(Duration::from_secs(10));
    req
}

/// Calls `SayHello`, again if the connection was lost under the call. Only
/// for calls that are safe to run twice.
async fn call_retrying(
    client: &mut GreeterClient,
    name: &str,
) -> Result<Response<HelloReply>, Status> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match client.say_hello(hello(name)).await {
            Err(status) if is_closed(&status) && attempts < 3 => {
                println!("client: connection lost under the call ({status}), calling again");
            }
            result => return result,
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("greeter.sock");

    // 1. Nothing listens yet, and making the channel does not connect.
    let mut fail_fast = GreeterClient::new(Channel::connect_lazy_unix(&path));
    let err = fail_fast.say_hello(hello("early")).await.unwrap_err();
    println!("client: no server yet: {} ({})", err.code(), err.message());
    assert_eq!(err.code(), Code::Unavailable);

    // 2. A channel that waits for the server instead, retrying quickly.
    let channel = Channel::builder()
        .wait_for_connection(true)
        .backoff(Backoff {
            initial: Duration::from_millis(20),
            max: Duration::from_millis(500),
        })
        .lazy_unix(&path);
    let mut client = GreeterClient::new(channel);
    let waiting = tokio::spawn({
        let mut client = client.clone();
        async move { client.say_hello(hello("patient")).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (handle, server) = start_server(&path, 1)?;
    let reply = waiting.await??.into_inner();
    println!("client: {}", reply.message);
    assert_eq!(reply.message, "hello, patient, from server #1");

    // 3. The server restarts; the next call connects to the new one.
    handle.shutdown().await;
    server.await??;
    println!("server #1: shut down");
    let (handle, server) = start_server(&path, 2)?;
    let reply = call_retrying(&mut client, "again").await?.into_inner();
    println!("client: {}", reply.message);
    assert_eq!(reply.message, "hello, again, from server #2");

    // 4. A call in flight when the connection drops fails, and is not
    // retried by the channel.
    let slow = tokio::spawn({
        let mut client = client.clone();
        async move { client.say_hello(hello("slowpoke")).await }
    });
    SLOWPOKE_ARRIVED.notified().await;
    handle.close().await; // At once, cancelling calls in flight.
    server.await??;
    println!("server #2: closed with a call in flight");
    let err = slow.await?.unwrap_err();
    println!(
        "client: the call in flight: {} ({}); connection closed: {}",
        err.code(),
        err.message(),
        is_closed(&err)
    );
    assert_eq!(err.code(), Code::Unavailable);
    assert!(is_closed(&err));

    // The channel goes on: the next call reconnects.
    let (handle, server) = start_server(&path, 3)?;
    let reply = call_retrying(&mut client, "finally").await?.into_inner();
    println!("client: {}", reply.message);
    assert_eq!(reply.message, "hello, finally, from server #3");

    handle.shutdown().await;
    server.await??;
    Ok(())
}
