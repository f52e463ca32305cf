//! Interceptors on both sides, and authorization from the peer's unix
//! credentials.
//!
//! Run with `cargo run --example interceptors`.
//!
//! An interceptor is a closure `FnMut(Request<()>) -> Result<Request<()>,
//! Status>` over a call's head: its metadata, deadline, extensions, service
//! and method names (not the message). It may change them, or reject the
//! call with a status. It runs once per call, for unary and streaming calls
//! alike:
//!
//! - on a server, for every service with
//!   `Server::builder().layer(InterceptorLayer::new(f))`, or for one with
//!   `GreeterServer::with_interceptor(imp, f)`. The request's extensions
//!   hold the connection's `Peer`: its address and, on a unix socket, the
//!   uid, gid and pid the kernel recorded for the process that connected.
//! - on a client, with `GreeterClient::with_interceptor(channel, f)`, before
//!   anything is sent.
//!
//! The same jobs can be done with stock tower layers, shown at the end:
//! `tower::filter::FilterLayer` (a predicate that may fail, over the whole
//! `Request<Body>`), `ServiceBuilder::map_request` (a change that cannot
//! fail) and `tower::filter::AsyncFilterLayer` (a predicate that awaits,
//! say a policy lookup).

use std::os::unix::fs::MetadataExt;
use std::time::Duration;

use wren_examples::hello::greeter_client::GreeterClient;
use wren_examples::hello::greeter_server::{Greeter, GreeterServer};
use wren_examples::hello::{HelloReply, HelloRequest};
use wren_rpc::server::{InterceptorLayer, Peer};
use wren_rpc::{Body, Channel, Code, Request, Response, Server, Status};

/// Who called, as the server's interceptor found out; handlers read it from
/// the request's extensions.
#[derive(Clone, Copy, Debug)]
struct Caller {
    uid: u32,
    pid: Option<i32>,
}

struct MyGreeter;

impl Greeter for MyGreeter {
    async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        // Put there by `peer_auth`, which runs before every handler.
        let caller = *req
            .extensions()
            .get::<Caller>()
            .ok_or_else(|| Status::internal("no caller: the interceptor did not run"))?;
        let name = req.into_inner().name;
        Ok(Response::new(HelloReply {
            message: format!("hello, {name} (uid {}, pid {:?})", caller.uid, caller.pid),
        }))
    }
}

/// The server-wide interceptor: lets in only processes running as one of
/// `allowed_uids`, by the credentials the kernel recorded when they
/// connected (`SO_PEERCRED`), and records who called. (To refuse such a
/// peer's connection outright, before any call, there is
/// `Server::builder().peer_policy(PeerPolicy::require_same_user())`; an
/// interceptor can decide per method and pass on what it learned.)
fn peer_auth(
    allowed_uids: Vec<u32>,
) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone + Send + Sync + 'static {
    move |mut req: Request<()>| {
        let cred = req
            .extensions()
            .get::<Peer>()
            .and_then(|peer| peer.credentials().copied())
            // Only unix sockets have credentials: refuse TCP and vsock here.
            .ok_or_else(|| Status::unauthenticated("no peer credentials"))?;
        if !allowed_uids.contains(&cred.uid) {
            return Err(Status::permission_denied(format!(
                "uid {} may not call {}/{}",
                cred.uid,
                req.service(),
                req.method()
            )));
        }
        req.extensions_mut().insert(Caller {
            uid: cred.uid,
            pid: cred.pid,
        });
        Ok(req)
    }
}

/// The Greeter's own interceptor: it wants a token in the metadata.
fn require_token(req: Request<()>) -> Result<Request<()>, Status> {
    match req.metadata().get("authorization") {
        Some("Bearer s3cret") => Ok(req),
        Some(_) => Err(Status::unauthenticated("wrong token")),
        None => Err(Status::unauthenticated("no token")),
    }
}

/// The client's interceptor: adds the token, and a deadline to calls that
/// have none.
fn add_token(mut req: Request<()>) -> Result<Request<()>, Status> {
    req.metadata_mut().insert("authorization", "Bearer s3cret");
    if req.deadline().is_none() {
        req.set_timeout(Duration::from_secs(5));
    }
    Ok(req)
}

fn hello(name: &str) -> HelloRequest {
    HelloRequest { name: name.into() }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("greeter.sock");
    let listener = tokio::net::UnixListener::bind(&path)?;
    // Let in the user the socket file belongs to (this process's user, as
    // Go ttrpc's `UnixSocketRequireSameUser` does) and root.
    let owner = std::fs::metadata(&path)?.uid();
    let router = Server::builder()
        .layer(InterceptorLayer::new(peer_auth(vec![owner, 0])))
        .add_service(GreeterServer::with_interceptor(MyGreeter, require_token));
    let shutdown = router.shutdown_handle();
    let server = tokio::spawn(router.serve(listener));

    let channel = Channel::connect_unix(&path).await?;

    // The client's interceptor adds the token to every call.
    let mut client = GreeterClient::with_interceptor(channel.clone(), add_token);
    let reply = client.say_hello(hello("wren")).await?.into_inner();
    println!("with the token:    {}", reply.message);
    assert!(reply.message.contains(&format!("uid {owner}")));
    assert!(reply.message.contains(&std::process::id().to_string()));

    // Without it, the Greeter's interceptor refuses the call.
    let mut plain = GreeterClient::new(channel.clone());
    let err = plain.say_hello(hello("wren")).await.unwrap_err();
    println!("without the token: {} ({})", err.code(), err.message());
    assert_eq!(err.code(), Code::Unauthenticated);

    // A client interceptor can refuse too: nothing is sent.
    let mut refusing = GreeterClient::with_interceptor(channel, |req: Request<()>| {
        Err(Status::failed_precondition(format!(
            "not calling {} while offline",
            req.method()
        )))
    });
    let err = refusing.say_hello(hello("wren")).await.unwrap_err();
    println!("refused locally:   {} ({})", err.code(), err.message());
    assert_eq!(err.code(), Code::FailedPrecondition);

    // A server that lets in only some other user refuses us by our uid.
    let strict_path = dir.path().join("strict.sock");
    let strict = Server::builder()
        .layer(InterceptorLayer::new(peer_auth(vec![owner + 1])))
        .add_service(GreeterServer::new(MyGreeter));
    let strict_shutdown = strict.shutdown_handle();
    let strict_server = tokio::spawn(strict.serve(tokio::net::UnixListener::bind(&strict_path)?));
    let mut client =
        GreeterClient::with_interceptor(Channel::connect_unix(&strict_path).await?, add_token);
    let err = client.say_hello(hello("wren")).await.unwrap_err();
    println!("wrong user:        {} ({})", err.code(), err.message());
    assert_eq!(err.code(), Code::PermissionDenied);
    strict_shutdown.shutdown().await;
    strict_server.await??;

    // The stock tower equivalents. On the server, `FilterLayer` takes a
    // predicate over the whole request; its error becomes the call's status.
    let tower_path = dir.path().join("tower.sock");
    let filtered = Server::builder()
        .layer(tower::filter::FilterLayer::new(
            |req: Request<Body>| match req.metadata().get("authorization") {
                Some("Bearer s3cret") => Ok(req),
                _ => Err(Status::unauthenticated("no token (tower filter)")),
            },
        ))
        .layer(InterceptorLayer::new(peer_auth(vec![owner, 0])))
        .add_service(GreeterServer::new(MyGreeter));
    let tower_shutdown = filtered.shutdown_handle();
    let tower_server = tokio::spawn(filtered.serve(tokio::net::UnixListener::bind(&tower_path)?));
    // On the client, `map_request` adds the token to every call.
    let channel = Channel::connect_unix(&tower_path).await?;
    let with_token = tower::ServiceBuilder::new()
        .map_request(|mut req: Request<Body>| {
            req.metadata_mut().insert("authorization", "Bearer s3cret");
            req
        })
        .service(channel.clone());
    let reply = GreeterClient::new(with_token)
        .say_hello(hello("tower"))
        .await?
        .into_inner();
    println!("tower, token:      {}", reply.message);
    let err = GreeterClient::new(channel)
        .say_hello(hello("tower"))
        .await
        .unwrap_err();
    println!("tower, no token:   {} ({})", err.code(), err.message());
    assert_eq!(err.code(), Code::Unauthenticated);
    tower_shutdown.shutdown().await;
    tower_server.await??;

    shutdown.shutdown().await;
    server.await??;
    Ok(())
}
