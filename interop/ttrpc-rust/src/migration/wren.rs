//! AFTER: the greeter of `ttrpc_rust.rs`, migrated to wren (prost messages
//! and service code from wren-build). Same proto, same behaviour on the
//! wire; `docs/migrating-from-ttrpc-rust.md` walks through the differences.

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::{self, BoxStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use wren_rpc::server::ShutdownHandle;
use wren_rpc::{Channel, Request, Response, Server, Status, Streaming};

use crate::greeter_pb::greeter_client::GreeterClient;
use crate::greeter_pb::greeter_server::{self, GreeterServer};
use crate::greeter_pb::{HelloReply, HelloRequest};

struct Greeter;

fn reply(message: String) -> HelloReply {
    HelloReply { message }
}

fn request(name: &str) -> HelloRequest {
    HelloRequest { name: name.into() }
}

// Every method is required (a missing one does not compile). The request
// carries the message, its metadata, deadline and extensions.
impl greeter_server::Greeter for Greeter {
    async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        // Metadata: the first value of a key (`get_all` for every value).
        let tenant = req.metadata().get("tenant").unwrap_or("nobody").to_owned();
        // The deadline: an `Instant`, counted from the request's arrival.
        let deadline = if req.deadline().is_some() {
            "set"
        } else {
            "none"
        };
        let name = req.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name must not be empty"));
        }
        Ok(Response::new(reply(format!(
            "hello, {name} (tenant {tenant}, deadline {deadline})"
        ))))
    }

    // A server stream is any `Stream` of replies, returned by the handler.
    type SayHelloThriceStream = BoxStream<'static, Result<HelloReply, Status>>;

    async fn say_hello_thrice(
        &self,
        req: Request<HelloRequest>,
    ) -> Result<Response<Self::SayHelloThriceStream>, Status> {
        let name = req.into_inner().name;
        let replies = (1..=3).map(move |i| Ok(reply(format!("hello, {name} #{i}"))));
        Ok(Response::new(stream::iter(replies).boxed()))
    }

    async fn say_hello_to_all(
        &self,
        req: Request<Streaming<HelloRequest>>,
    ) -> Result<Response<HelloReply>, Status> {
        let mut requests = req.into_inner();
        let mut names = Vec::new();
        while let Some(req) = requests.message().await? {
            names.push(req.name);
        }
        Ok(Response::new(reply(format!("hello, {}", names.join(", ")))))
    }

    type ChatStream = BoxStream<'static, Result<HelloReply, Status>>;

    async fn chat(
        &self,
        req: Request<Streaming<HelloRequest>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        let replies = req
            .into_inner()
            .map(|req| req.map(|req| reply(format!("hello, {}", req.name))));
        Ok(Response::new(replies.boxed()))
    }
}

/// A running wren server.
#[derive(Debug)]
pub struct Running {
    handle: ShutdownHandle,
    task: JoinHandle<std::io::Result<()>>,
}

/// Binds `path` and starts serving the greeter.
pub async fn serve(path: &Path) -> std::io::Result<Running> {
    let listener = tokio::net::UnixListener::bind(path)?;
    let router = Server::builder().add_service(GreeterServer::new(Greeter));
    let handle = router.shutdown_handle();
    let task = tokio::spawn(router.serve(listener));
    Ok(Running { handle, task })
}

impl Running {
    /// Stops the server gracefully.
    pub async fn stop(self) -> std::io::Result<()> {
        self.handle.shutdown().await;
        self.task.await?
    }
}

/// A request with the deadline every call of the example has.
fn with_deadline<T>(message: T) -> Request<T> {
    let mut req = Request::new(message);
    req.set_timeout(Duration::from_secs(5));
    req
}

/// Every call the guide shows, against the server on `path`; one line per
/// outcome. `client_streaming` is off against a ttrpc-rust server, whose
/// per-frame tasks can reorder a client stream (see the guide).
pub async fn calls(path: &Path, client_streaming: bool) -> Result<Vec<String>, Status> {
    let channel = Channel::connect(format!("unix://{}", path.display()).as_str())
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
    let mut greeter = GreeterClient::new(channel);
    let mut lines = Vec::new();

    // The request carries the deadline and metadata.
    let mut req = with_deadline(request("wren"));
    req.metadata_mut().insert("tenant", "blue");
    let hello = greeter.say_hello(req).await?.into_inner();
    lines.push(format!("SayHello: {}", hello.message));

    // Every error is a `Status`.
    match greeter.say_hello(with_deadline(request(""))).await {
        Err(status) => lines.push(format!(
            "SayHello(\"\"): {}: {}",
            status.code(),
            status.message()
        )),
        Ok(reply) => lines.push(format!("SayHello(\"\"): unexpected {reply:?}")),
    }

    // Server streaming: a `Streaming<T>`; `message()` is Ok(None) at the end.
    let mut replies = greeter
        .say_hello_thrice(with_deadline(request("wren")))
        .await?
        .into_inner();
    let mut thrice = Vec::new();
    while let Some(reply) = replies.message().await? {
        thrice.push(reply.message);
    }
    lines.push(format!("SayHelloThrice: {}", thrice.join(" | ")));

    // Client streaming: pass any `Stream` of requests; its end is the
    // close-send, and the call returns the reply.
    if client_streaming {
        let names = stream::iter(["ann", "bob"].map(request));
        let all = greeter
            .say_hello_to_all(with_deadline(names))
            .await?
            .into_inner();
        lines.push(format!("SayHelloToAll: {}", all.message));
    }

    // Bidi: requests from a channel, replies as a `Streaming<T>`. Dropping
    // the sender is the close-send; the clean end is Ok(None).
    let (tx, rx) = mpsc::channel(1);
    let mut chat = greeter
        .chat(with_deadline(ReceiverStream::new(rx)))
        .await?
        .into_inner();
    let mut said = Vec::new();
    for name in ["x", "y"] {
        tx.send(request(name))
            .await
            .map_err(|_| Status::internal("the request stream closed"))?;
        let reply = chat
            .message()
            .await?
            .ok_or_else(|| Status::internal("the chat ended early"))?;
        said.push(reply.message);
    }
    drop(tx);
    match chat.message().await {
        Ok(None) => said.push("(end)".to_owned()),
        other => said.push(format!("(unexpected {other:?})")),
    }
    lines.push(format!("Chat: {}", said.join(" | ")));
    Ok(lines)
}
