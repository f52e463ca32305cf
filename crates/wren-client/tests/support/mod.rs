//! Shared helpers for the client's integration tests: hand-written messages
//! and a raw frame-level server that records what the client sends.
#![allow(dead_code)]

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use prost::Message;
use tempfile::TempDir;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::codec::Framed;
use wren_client::{Channel, Client};
use wren_transport::codec::{Decoded, Frame, FrameCodec, MessageType, Status, proto};

/// Bound on any single wait in a test; only there to turn a hang into a failure.
pub(crate) const HANG: Duration = Duration::from_secs(20);

pub(crate) const SERVICE: &str = "wren.test.Echo";

/// A test message: a string and a number.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Echo {
    #[prost(string, tag = "1")]
    pub(crate) msg: String,
    #[prost(uint64, tag = "2")]
    pub(crate) n: u64,
}

/// The empty message.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Empty {}

pub(crate) async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(HANG, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A listening socket that a channel can connect to.
pub(crate) struct RawServer {
    pub(crate) path: PathBuf,
    listener: UnixListener,
    _dir: TempDir,
}

impl RawServer {
    pub(crate) fn bind() -> RawServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("raw.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        RawServer {
            path,
            listener,
            _dir: dir,
        }
    }

    /// Accepts the next connection, which a channel has made.
    pub(crate) async fn accept_with(&self, codec: FrameCodec) -> RawConn {
        let (io, _) = within("accept", self.listener.accept())
            .await
            .expect("accept");
        RawConn {
            framed: Framed::new(io, codec),
        }
    }

    /// Connects a channel and accepts its connection.
    pub(crate) async fn connect(&self) -> (Channel, RawConn) {
        self.connect_with(FrameCodec::new()).await
    }

    /// Like [`RawServer::connect`], with the raw side using `codec`.
    pub(crate) async fn connect_with(&self, codec: FrameCodec) -> (Channel, RawConn) {
        let channel = within("connect", Channel::connect_unix(&self.path))
            .await
            .expect("channel connects");
        (channel, self.accept_with(codec).await)
    }
}

/// The server's end of one connection.
pub(crate) struct RawConn {
    pub(crate) framed: Framed<UnixStream, FrameCodec>,
}

/// A request as the raw server received it.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) frame: Frame,
    pub(crate) request: proto::Request,
}

impl Received {
    pub(crate) fn id(&self) -> u32 {
        self.frame.stream_id
    }

    pub(crate) fn echo(&self) -> Echo {
        Echo::decode(self.request.payload.clone()).expect("payload is an Echo")
    }
}

impl RawConn {
    /// The next decoded item, or `None` at end of stream.
    pub(crate) async fn next(&mut self) -> Option<io::Result<Decoded>> {
        within("a frame from the client", self.framed.next()).await
    }

    /// The next frame, which must be a unary Request; decoded.
    pub(crate) async fn recv_request(&mut self) -> Received {
        let frame = match self.next().await {
            Some(Ok(Decoded::Frame(frame))) => frame,
            other => panic!("expected a request frame, got {other:?}"),
        };
        assert_eq!(frame.kind, MessageType::REQUEST, "{frame:?}");
        assert!(
            frame.flags.is_empty(),
            "unary request with flags: {frame:?}"
        );
        let request = proto::Request::decode(frame.payload.clone()).expect("a valid ttrpc.Request");
        Received { frame, request }
    }

    pub(crate) async fn send(&mut self, frame: Frame) {
        within("send to the client", self.framed.send(frame))
            .await
            .expect("send to the client");
    }

    /// Replies on `id` with `payload` and no status.
    pub(crate) async fn reply_ok(&mut self, id: u32, payload: impl Into<Bytes>) {
        let resp = proto::Response {
            status: None,
            payload: payload.into(),
        };
        self.send(Frame::response(id, resp.encode_to_vec())).await;
    }

    /// Replies on `id` with an error status.
    pub(crate) async fn reply_err(&mut self, id: u32, status: &Status) {
        let resp = proto::Response {
            status: Some(status.to_proto()),
            payload: Bytes::new(),
        };
        self.send(Frame::response(id, resp.encode_to_vec())).await;
    }

    /// Answers the next request by echoing its payload.
    pub(crate) async fn echo_next(&mut self) -> Received {
        let req = self.recv_request().await;
        self.reply_ok(req.id(), req.request.payload.clone()).await;
        req
    }
}

/// Calls Echo with `msg` through a typed client.
pub(crate) async fn echo(client: &mut Client, msg: Echo) -> Result<Echo, Status> {
    client
        .unary::<Echo, Echo>(wren_transport::Request::new(msg), SERVICE, "Echo")
        .await
        .map(wren_transport::Response::into_inner)
}
