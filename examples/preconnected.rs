//! Serving one connection that is already open, with no listener: one end
//! of a `socketpair`, or a socket another process handed over (inetd style,
//! or a parent that connected on its child's behalf).
//!
//! Run with `cargo run --example preconnected`.
//!
//! - Server side: `Router::serve_connection(io, info)` serves any
//!   `AsyncRead + AsyncWrite` until the peer closes it (or the server is
//!   shut down through its handle). `info` says who the peer is:
//!   `ConnectInfo::from_unix` reads a unix socket's peer credentials, so
//!   interceptors and handlers see a `Peer` as with an accepted connection.
//! - Client side: `Channel::new(io)` (or `Channel::builder().connect_with(io)`)
//!   runs a client over any such stream.
//!
//! The example does it twice: within one process over a socketpair, then
//! with a child process that serves a socket it got as its standard input.

use std::os::fd::AsFd;
use std::process::{Command, Stdio};

use wren_examples::hello::greeter_client::GreeterClient;
use wren_examples::hello::greeter_server::{Greeter, GreeterServer};
use wren_examples::hello::{HelloReply, HelloRequest};
use wren_rpc::server::{ConnectInfo, Peer};
use wren_rpc::{Channel, Request, Response, Server, Status};

/// Set in the child: serve the socket on standard input.
const SERVE_STDIN: &str = "WREN_EXAMPLE_SERVE_STDIN";

struct MyGreeter;

impl Greeter for MyGreeter {
    async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let peer_pid = req
            .extensions()
            .get::<Peer>()
            .and_then(|p| p.credentials())
            .and_then(|c| c.pid);
        Ok(Response::new(HelloReply {
            message: format!(
                "hello, {} (served by pid {}, peer pid {peer_pid:?})",
                req.into_inner().name,
                std::process::id()
            ),
        }))
    }
}

fn hello(name: &str) -> HelloRequest {
    HelloRequest { name: name.into() }
}

/// The child: serves the socket it was given as standard input, until the
/// parent closes its end.
async fn serve_stdin() -> Result<(), Box<dyn std::error::Error>> {
    // A duplicate of descriptor 0, owned: no `unsafe` needed.
    let fd = std::io::stdin().as_fd().try_clone_to_owned()?;
    let socket = std::os::unix::net::UnixStream::from(fd);
    socket.set_nonblocking(true)?;
    let socket = tokio::net::UnixStream::from_std(socket)?;
    let info = ConnectInfo::from_unix(&socket);
    eprintln!(
        "child: pid {} serving the socket on stdin, peer {}",
        std::process::id(),
        info.credentials()
            .map_or("unknown".to_owned(), ToString::to_string)
    );
    Server::builder()
        .add_service(GreeterServer::new(MyGreeter))
        .serve_connection(socket, info)
        .await?;
    eprintln!("child: the peer closed the connection");
    Ok(())
}

async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    // 1. In one process: a socketpair, a server on one end, a client on the other.
    let (server_end, client_end) = tokio::net::UnixStream::pair()?;
    let info = ConnectInfo::from_unix(&server_end);
    let router = Server::builder().add_service(GreeterServer::new(MyGreeter));
    let shutdown = router.shutdown_handle();
    let server = tokio::spawn(router.serve_connection(server_end, info));
    let mut client = GreeterClient::new(Channel::new(client_end));
    let reply = client.say_hello(hello("pair")).await?.into_inner();
    println!("socketpair:   {}", reply.message);
    let me = std::process::id();
    assert!(reply.message.contains(&format!("peer pid Some({me})")));
    // The handle ends the connection gracefully, as it would a listener's.
    shutdown.shutdown().await;
    server.await??;

    // 2. Across processes: the child gets its end as standard input.
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    let mut child = Command::new(std::env::current_exe()?)
        .env(SERVE_STDIN, "1")
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .spawn()?;
    ours.set_nonblocking(true)?;
    let mut client = GreeterClient::new(Channel::new(tokio::net::UnixStream::from_std(ours)?));
    let reply = client.say_hello(hello("child")).await?.into_inner();
    println!("child socket: {}", reply.message);
    assert!(
        reply
            .message
            .contains(&format!("served by pid {}", child.id()))
    );
    assert!(reply.message.contains(&format!("peer pid Some({me})")));
    // Closing our end ends the child's connection, and the child.
    drop(client);
    let status = tokio::task::spawn_blocking(move || child.wait()).await??;
    println!("child exited: {status}");
    assert!(status.success());
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os(SERVE_STDIN).is_some() {
        serve_stdin().await
    } else {
        demo().await
    }
}
