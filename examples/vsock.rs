//! ttrpc over vsock, the socket family between a virtual machine and its
//! host: a server on `vsock://-1:PORT` and a client connecting to it.
//!
//! Run with `cargo run --example vsock --features vsock` (the facade's
//! `vsock` feature, Linux only).
//!
//! A vsock address is a context id (CID) and a port. A guest agent (Kata's,
//! say) binds `vsock://-1:1024`: port 1024 on any CID (`VMADDR_CID_ANY`).
//! The host connects to `vsock://<guest cid>:1024`, or, for Firecracker and
//! Cloud Hypervisor, whose vsock is a unix socket on the host, to
//! `hvsock:///path/to/vmm.sock:1024` (hybrid vsock). This example runs both
//! ends on one machine: the client connects to CID 1 (`VMADDR_CID_LOCAL`),
//! which the kernel's `vsock_loopback` transport routes back to this
//! machine.
//!
//! Where there is no vsock, or no loopback transport (`modprobe
//! vsock_loopback`, as root, where the kernel has the module), the example
//! says so and exits with status 2.

use std::io;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use wren_examples::hello::greeter_client::GreeterClient;
use wren_examples::hello::greeter_server::{Greeter, GreeterServer};
use wren_examples::hello::{HelloReply, HelloRequest};
use wren_rpc::server::{Peer, PeerAddr};
use wren_rpc::transport::{Endpoint, EndpointListener, VMADDR_CID_ANY, VMADDR_CID_LOCAL};
use wren_rpc::{Channel, Request, Response, Server, Status};

struct MyGreeter;

impl Greeter for MyGreeter {
    async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        // On vsock the peer is a CID and a port (no credentials: those are
        // for unix sockets).
        let from = match req.extensions().get::<Peer>().and_then(|p| p.peer_addr()) {
            Some(PeerAddr::Vsock { cid, port }) => format!("cid {cid}, port {port}"),
            other => format!("{other:?}"),
        };
        let name = req.into_inner().name;
        Ok(Response::new(HelloReply {
            message: format!("hello, {name} (from {from})"),
        }))
    }
}

/// Exit status for "this machine cannot run the example".
const UNSUPPORTED: u8 = 2;

/// Binds some free port on every CID.
async fn bind_any() -> Result<(EndpointListener, u32), String> {
    if !Path::new("/dev/vsock").exists() {
        return Err("no /dev/vsock: this kernel has no vsock support".into());
    }
    // Ports from 1024 up need no privilege; pick from a range unlikely to be taken.
    let base = 40_000 + std::process::id() % 10_000;
    for port in base..base + 50 {
        match Endpoint::vsock(VMADDR_CID_ANY, port).bind().await {
            Ok(listener) => return Ok((listener, port)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(format!("binding vsock://-1:{port} failed: {e}")),
        }
    }
    Err("no free vsock port".into())
}

#[tokio::main]
async fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let (listener, port) = match bind_any().await {
        Ok(bound) => bound,
        Err(why) => {
            eprintln!("vsock example cannot run here: {why}");
            return Ok(ExitCode::from(UNSUPPORTED));
        }
    };
    let router = Server::builder().add_service(GreeterServer::new(MyGreeter));
    let shutdown = router.shutdown_handle();
    let server = tokio::spawn(router.serve(listener));
    println!("server: listening on vsock://-1:{port}");

    // The client: the same `Channel`, with a vsock URI.
    let uri = format!("vsock://{VMADDR_CID_LOCAL}:{port}");
    let connected =
        tokio::time::timeout(Duration::from_secs(5), Channel::connect(uri.as_str())).await;
    let channel = match connected {
        Ok(Ok(channel)) => channel,
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".to_owned(),
            };
            shutdown.shutdown().await;
            server.await??;
            if Path::new("/sys/module/vsock_loopback").exists() {
                // The loopback transport is there: this is a real failure.
                return Err(format!("connecting to {uri} failed: {why}").into());
            }
            eprintln!(
                "vsock example cannot run here: connecting to {uri} failed ({why}) and the \
                 vsock_loopback kernel module is not loaded (modprobe vsock_loopback, as root, \
                 where the kernel has it)"
            );
            return Ok(ExitCode::from(UNSUPPORTED));
        }
    };
    println!("client: connected to {uri}");

    let mut client = GreeterClient::new(channel);
    let reply = client
        .say_hello(HelloRequest {
            name: "vsock".into(),
        })
        .await?;
    println!("client: {}", reply.get_ref().message);
    assert!(
        reply
            .get_ref()
            .message
            .starts_with("hello, vsock (from cid ")
    );

    shutdown.shutdown().await;
    server.await??;
    println!("server: shut down");
    Ok(ExitCode::SUCCESS)
}
