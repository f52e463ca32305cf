//! BEFORE: the greeter on ttrpc-rust 0.10 (async API, rust-protobuf
//! messages, service code from ttrpc-codegen). Compare with `wren.rs`,
//! the same program after the migration; `docs/migrating-from-ttrpc-rust.md`
//! walks through the differences.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ttrpc::r#async::{ServerStream, ServerStreamReceiver, ServerStreamSender, TtrpcContext};

use crate::ttrpc_pb::greeter::{HelloReply, HelloRequest};
use crate::ttrpc_pb::greeter_ttrpc::{self, GreeterClient};

struct Greeter;

fn reply(message: String) -> HelloReply {
    let mut reply = HelloReply::new();
    reply.message = message;
    reply
}

fn request(name: &str) -> HelloRequest {
    let mut req = HelloRequest::new();
    req.name = name.to_owned();
    req
}

// Every method has a default body (NOT_FOUND at run time); the context
// comes by reference, the message by value.
#[async_trait]
impl greeter_ttrpc::Greeter for Greeter {
    async fn say_hello(&self, ctx: &TtrpcContext, req: HelloRequest) -> ttrpc::Result<HelloReply> {
        if req.name.is_empty() {
            return Err(ttrpc::Error::RpcStatus(ttrpc::get_status(
                ttrpc::Code::INVALID_ARGUMENT,
                "name must not be empty",
            )));
        }
        // Metadata: a map of key to every value.
        let tenant = ctx
            .metadata
            .get("tenant")
            .and_then(|values| values.first())
            .map_or("nobody", String::as_str);
        // The deadline: nanoseconds from the client, 0 for none.
        let deadline = if ctx.timeout_nano > 0 { "set" } else { "none" };
        Ok(reply(format!(
            "hello, {} (tenant {tenant}, deadline {deadline})",
            req.name
        )))
    }

    async fn say_hello_thrice(
        &self,
        _ctx: &TtrpcContext,
        req: HelloRequest,
        replies: ServerStreamSender<HelloReply>,
    ) -> ttrpc::Result<()> {
        for i in 1..=3 {
            replies
                .send(&reply(format!("hello, {} #{i}", req.name)))
                .await?;
        }
        Ok(())
    }

    async fn say_hello_to_all(
        &self,
        _ctx: &TtrpcContext,
        mut requests: ServerStreamReceiver<HelloRequest>,
    ) -> ttrpc::Result<HelloReply> {
        let mut names = Vec::new();
        while let Some(req) = requests.recv().await? {
            names.push(req.name);
        }
        Ok(reply(format!("hello, {}", names.join(", "))))
    }

    async fn chat(
        &self,
        _ctx: &TtrpcContext,
        mut stream: ServerStream<HelloReply, HelloRequest>,
    ) -> ttrpc::Result<()> {
        while let Some(req) = stream.recv().await? {
            stream.send(&reply(format!("hello, {}", req.name))).await?;
        }
        Ok(())
    }
}

/// A running ttrpc-rust server.
pub struct Running(ttrpc::r#async::Server);

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Running(ttrpc-rust)")
    }
}

/// Binds `path` and starts serving the greeter.
pub async fn serve(path: &Path) -> ttrpc::Result<Running> {
    let services = greeter_ttrpc::create_greeter(Arc::new(Greeter));
    let mut server = ttrpc::r#async::Server::new()
        .bind(&format!("unix://{}", path.display()))?
        .register_service(services);
    server.start().await?;
    Ok(Running(server))
}

impl Running {
    /// Stops the server.
    pub async fn stop(mut self) -> ttrpc::Result<()> {
        self.0.shutdown().await
    }
}

/// Every call the guide shows, against the server on `path`; one line per
/// outcome. `client_streaming` is off against a ttrpc-rust server, whose
/// per-frame tasks can reorder a client stream (see the guide).
pub async fn calls(path: &Path, client_streaming: bool) -> ttrpc::Result<Vec<String>> {
    let client = ttrpc::r#async::Client::connect(&format!("unix://{}", path.display())).await?;
    let greeter = GreeterClient::new(client);
    let mut lines = Vec::new();

    // A context per call: a timeout and metadata.
    let mut ctx = ttrpc::context::with_duration(Duration::from_secs(5));
    ctx.add("tenant".to_owned(), "blue".to_owned());
    let hello = greeter.say_hello(ctx, &request("wren")).await?;
    lines.push(format!("SayHello: {}", hello.message));

    // An error status is one variant of ttrpc::Error among several.
    let ctx = ttrpc::context::with_duration(Duration::from_secs(5));
    match greeter.say_hello(ctx, &request("")).await {
        Err(ttrpc::Error::RpcStatus(status)) => lines.push(format!(
            "SayHello(\"\"): {:?}: {}",
            status.code(),
            status.message
        )),
        other => lines.push(format!("SayHello(\"\"): unexpected {other:?}")),
    }

    // Server streaming: a receiver; `recv` is Ok(None) at the end.
    let ctx = ttrpc::context::with_duration(Duration::from_secs(5));
    let mut replies = greeter.say_hello_thrice(ctx, &request("wren")).await?;
    let mut thrice = Vec::new();
    while let Some(reply) = replies.recv().await? {
        thrice.push(reply.message);
    }
    lines.push(format!("SayHelloThrice: {}", thrice.join(" | ")));

    // Client streaming: a sender, then `close_and_recv` for the reply.
    if client_streaming {
        let ctx = ttrpc::context::with_duration(Duration::from_secs(5));
        let mut sender = greeter.say_hello_to_all(ctx).await?;
        for name in ["ann", "bob"] {
            sender.send(&request(name)).await?;
        }
        let all = sender.close_and_recv().await?;
        lines.push(format!("SayHelloToAll: {}", all.message));
    }

    // Bidi: one handle that sends and receives; the clean end is Err(Eof).
    let ctx = ttrpc::context::with_duration(Duration::from_secs(5));
    let mut chat = greeter.chat(ctx).await?;
    let mut said = Vec::new();
    for name in ["x", "y"] {
        chat.send(&request(name)).await?;
        said.push(chat.recv().await?.message);
    }
    chat.close_send().await?;
    match chat.recv().await {
        Err(ttrpc::Error::Eof) => said.push("(end)".to_owned()),
        other => said.push(format!("(unexpected {other:?})")),
    }
    lines.push(format!("Chat: {}", said.join(" | ")));
    Ok(lines)
}
