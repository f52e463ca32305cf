//! The `Streaming` service on ttrpc-rust (generated trait, hand-written
//! bodies), a ttrpc-rust server on a temporary unix socket, and ttrpc-rust
//! client helpers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use protobuf::well_known_types::empty::Empty;
use tempfile::TempDir;
use ttrpc::r#async::transport::{Listener, Socket};
use ttrpc::r#async::{
    Client, ServerStream, ServerStreamReceiver, ServerStreamSender, TtrpcContext,
};

use crate::ttrpc_pb::streaming::{EchoPayload, Part, Sum};
use crate::ttrpc_pb::streaming_ttrpc::{self, StreamingClient};

/// ttrpc-rust's implementation of the fixture.
#[derive(Clone, Copy, Debug, Default)]
pub struct TtrpcStreaming;

fn invalid_argument(message: String) -> ttrpc::Error {
    ttrpc::Error::RpcStatus(ttrpc::get_status(ttrpc::Code::INVALID_ARGUMENT, message))
}

fn echo_payload(seq: u32, msg: String) -> EchoPayload {
    let mut m = EchoPayload::new();
    m.seq = seq;
    m.msg = msg;
    m
}

#[async_trait]
impl streaming_ttrpc::Streaming for TtrpcStreaming {
    async fn echo(&self, _ctx: &TtrpcContext, req: EchoPayload) -> ttrpc::Result<EchoPayload> {
        Ok(echo_payload(req.seq + 1, req.msg))
    }

    async fn echo_stream(
        &self,
        _ctx: &TtrpcContext,
        mut s: ServerStream<EchoPayload, EchoPayload>,
    ) -> ttrpc::Result<()> {
        while let Some(m) = s.recv().await? {
            s.send(&echo_payload(m.seq + 1, m.msg)).await?;
        }
        Ok(())
    }

    async fn sum_stream(
        &self,
        _ctx: &TtrpcContext,
        mut s: ServerStreamReceiver<Part>,
    ) -> ttrpc::Result<Sum> {
        let mut sum = Sum::new();
        while let Some(part) = s.recv().await? {
            sum.sum += part.add;
            sum.num += 1;
        }
        Ok(sum)
    }

    async fn divide_stream(
        &self,
        _ctx: &TtrpcContext,
        sum: Sum,
        s: ServerStreamSender<Part>,
    ) -> ttrpc::Result<()> {
        let parts = crate::divide(sum.sum, sum.num).ok_or_else(|| {
            invalid_argument(format!(
                "cannot divide into {} parts with empty first and last",
                sum.num
            ))
        })?;
        for add in parts {
            let mut part = Part::new();
            part.add = add;
            s.send(&part).await?;
        }
        Ok(())
    }

    async fn echo_null(
        &self,
        _ctx: &TtrpcContext,
        mut s: ServerStreamReceiver<EchoPayload>,
    ) -> ttrpc::Result<Empty> {
        // Every message must arrive, in order: seq counts from 0.
        let mut expected = 0;
        while let Some(m) = s.recv().await? {
            if m.seq != expected {
                return Err(invalid_argument(format!(
                    "message {expected} arrived with seq {}",
                    m.seq
                )));
            }
            expected += 1;
        }
        Ok(Empty::new())
    }

    async fn echo_null_stream(
        &self,
        _ctx: &TtrpcContext,
        s: ServerStream<Empty, EchoPayload>,
    ) -> ttrpc::Result<()> {
        // Each request is answered (10 times) as soon as it is read, while
        // more requests come in.
        let (tx, mut rx) = s.split();
        while let Some(_m) = rx.recv().await? {
            for _ in 0..10 {
                tx.send(&Empty::new()).await?;
            }
        }
        Ok(())
    }

    async fn empty_payload_stream(
        &self,
        _ctx: &TtrpcContext,
        _req: Empty,
        s: ServerStreamSender<EchoPayload>,
    ) -> ttrpc::Result<()> {
        for (seq, msg) in crate::EMPTY_PAYLOAD_REPLIES {
            s.send(&echo_payload(seq, msg.into())).await?;
        }
        Ok(())
    }
}

/// A ttrpc-rust async server serving [`TtrpcStreaming`] on a temporary unix
/// socket.
pub struct TtrpcServer {
    path: PathBuf,
    server: ttrpc::r#async::Server,
    _dir: TempDir,
}

impl std::fmt::Debug for TtrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtrpcServer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TtrpcServer {
    /// Binds the socket and starts the server. Needs a tokio runtime.
    pub async fn start() -> TtrpcServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ttrpc-rust.sock");
        let listener =
            tokio::net::UnixListener::bind(&path).expect("bind the ttrpc-rust server's socket");
        let services: HashMap<String, ttrpc::r#async::Service> =
            streaming_ttrpc::create_streaming(Arc::new(TtrpcStreaming));
        let mut server = ttrpc::r#async::Server::new()
            .add_listener(Listener::from(listener))
            .register_service(services);
        server.start().await.expect("ttrpc-rust server starts");
        TtrpcServer {
            path,
            server,
            _dir: dir,
        }
    }

    /// The socket the server listens on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Shuts the server down and waits for it.
    pub async fn stop(mut self) {
        crate::within("the ttrpc-rust server to stop", self.server.shutdown())
            .await
            .expect("ttrpc-rust server shuts down");
    }
}

/// A raw ttrpc-rust client on a new connection to `path`.
pub async fn raw_client(path: &Path) -> Client {
    let stream = tokio::net::UnixStream::connect(path)
        .await
        .expect("ttrpc-rust connects");
    Client::new(Socket::from(stream))
}

/// A generated ttrpc-rust client on a new connection to `path`.
pub async fn client(path: &Path) -> StreamingClient {
    StreamingClient::new(raw_client(path).await)
}

/// A context without deadline or metadata.
pub fn ctx() -> ttrpc::context::Context {
    ttrpc::context::Context::default()
}

/// An [`EchoPayload`] of ttrpc-rust's.
pub fn payload(seq: u32, msg: impl Into<String>) -> EchoPayload {
    echo_payload(seq, msg.into())
}

/// A [`Sum`] of ttrpc-rust's.
pub fn sum(sum: i32, num: i32) -> Sum {
    let mut s = Sum::new();
    s.sum = sum;
    s.num = num;
    s
}

/// A [`Part`] of ttrpc-rust's.
pub fn part(add: i32) -> Part {
    let mut p = Part::new();
    p.add = add;
    p
}

/// The status of an error ttrpc-rust returned, or a panic describing it.
pub fn rpc_status(e: &ttrpc::Error) -> &ttrpc::proto::Status {
    match e {
        ttrpc::Error::RpcStatus(status) => status,
        other => panic!("expected an RPC status from ttrpc-rust, got {other:?}"),
    }
}
