//! A server started by systemd socket activation: systemd binds the socket,
//! starts the server when the first client connects, and hands it the
//! listening socket as file descriptor 3 (`LISTEN_FDS`, `LISTEN_PID`).
//!
//! Run with `cargo run --example socket_activation`. Run that way, with no
//! socket passed, the program plays systemd itself: it binds a socket,
//! starts itself again with the socket as descriptor 3 and the variables
//! set, calls the server, then stops it with SIGTERM, as `systemctl stop`
//! does. `serve_activated` is the part a real server keeps.
//!
//! Under systemd, a socket unit and a service unit of the same name:
//!
//! ```ini
//! # greeter.socket
//! [Socket]
//! ListenStream=/run/greeter.sock
//! FileDescriptorName=ttrpc
//!
//! [Install]
//! WantedBy=sockets.target
//!
//! # greeter.service
//! [Service]
//! ExecStart=/usr/local/bin/greeter
//! ```
//!
//! Or, to try it by hand: `systemd-socket-activate -l /tmp/greeter.sock
//! target/debug/examples/socket_activation` (then connect to
//! `/tmp/greeter.sock`, and stop it with SIGTERM).

use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use wren_examples::hello::greeter_client::GreeterClient;
use wren_examples::hello::greeter_server::{Greeter, GreeterServer};
use wren_examples::hello::{HelloReply, HelloRequest};
use wren_rpc::transport::take_listen_fds;
use wren_rpc::{Channel, Request, Response, Server, Status};

struct MyGreeter;

impl Greeter for MyGreeter {
    async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        Ok(Response::new(HelloReply {
            message: format!(
                "hello, {} (from socket-activated pid {})",
                req.into_inner().name,
                std::process::id()
            ),
        }))
    }
}

/// The server: serves on the socket systemd passed until SIGTERM, then
/// shuts down gracefully (calls in flight finish and are answered).
async fn serve_activated() -> Result<(), Box<dyn std::error::Error>> {
    // Listen for SIGTERM before serving, so that a stop can never arrive
    // before the handler is in place.
    let mut sigterm = signal(SignalKind::terminate())?;
    // Descriptors 3, 4, ... as `LISTEN_FDS` says, when `LISTEN_PID` is us.
    let fd = take_listen_fds()?
        .pop()
        .ok_or("no socket passed: LISTEN_FDS is not set for this process")?;
    println!(
        "server: pid {} serving on inherited descriptor {} (name {:?})",
        std::process::id(),
        fd.fd,
        fd.name.as_deref().unwrap_or("none")
    );
    Server::builder()
        .add_service(GreeterServer::new(MyGreeter))
        .serve_with_shutdown(fd.listener, async move {
            sigterm.recv().await;
            println!("server: SIGTERM, shutting down");
        })
        .await?;
    println!("server: stopped");
    Ok(())
}

/// What systemd does: bind, start the server with the socket as
/// descriptor 3, and later stop it.
async fn play_systemd() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("greeter.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path)?;
    println!("systemd: listening on {}", path.display());

    // `sh` moves the socket from its stdin to descriptor 3 and sets
    // `LISTEN_PID` to its own pid, which `exec` hands on to the server.
    let mut server = Command::new("sh")
        .arg("-c")
        .arg(r#"exec 3<&0 0</dev/null; LISTEN_PID=$$ exec "$@""#)
        .arg("sh")
        .arg(std::env::current_exe()?)
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", "ttrpc")
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(listener)))
        .spawn()?;
    println!("systemd: started the server, pid {}", server.id());

    // Clients connect to the path; until the server accepts, connections
    // wait in the socket's backlog.
    let mut client = GreeterClient::new(Channel::connect_unix(&path).await?);
    let mut req = Request::new(HelloRequest {
        name: "systemd".into(),
    });
    req.set_timeout(Duration::from_secs(10));
    let reply = client.say_hello(req).await?.into_inner();
    println!("client: {}", reply.message);
    assert!(reply.message.contains(&format!("pid {}", server.id())));

    // `systemctl stop`: SIGTERM, then wait.
    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()?;
    assert!(status.success(), "kill failed: {status}");
    let exited = tokio::task::spawn_blocking(move || server.wait()).await??;
    println!("systemd: the server exited: {exited}");
    assert!(exited.success());
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("LISTEN_FDS").is_some() {
        serve_activated().await
    } else {
        play_systemd().await
    }
}
