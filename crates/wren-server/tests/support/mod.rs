//! Shared helpers for the server's integration tests: hand-written messages,
//! a raw frame-level client, and a way to run a server on a temporary unix
//! socket.
#![allow(dead_code)]

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use prost::Message;
use tempfile::TempDir;
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;
use tokio_util::codec::Framed;
use tower_layer::Layer;
use tower_service::Service;
use wren_server::{Router, Routes, ShutdownHandle};
use wren_transport::codec::{Decoded, Frame, FrameCodec, MessageType, proto};
use wren_transport::{Body, BoxError, Request, Response};

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

/// What a handler observed about its request.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Observed {
    /// Metadata entries as `key=value`, in order.
    #[prost(string, repeated, tag = "1")]
    pub(crate) entries: Vec<String>,
    /// Every value of the key `foo`, in order.
    #[prost(string, repeated, tag = "2")]
    pub(crate) foo: Vec<String>,
    /// Nanoseconds from the handler's "now" to its deadline; -1 for none.
    #[prost(int64, tag = "3")]
    pub(crate) deadline_left_nanos: i64,
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

// ===== a server on a temporary socket =====

/// A running server.
pub(crate) struct TestServer {
    pub(crate) path: PathBuf,
    pub(crate) handle: ShutdownHandle,
    pub(crate) task: JoinHandle<io::Result<()>>,
    _dir: TempDir,
}

impl TestServer {
    /// Binds a socket, then spawns `router.serve` on it.
    pub(crate) fn spawn<L>(router: Router<L>) -> TestServer
    where
        L: Layer<Routes> + Send + 'static,
        L::Service:
            Service<Request<Body>, Response = Response<Body>> + Clone + Send + Unpin + 'static,
        <L::Service as Service<Request<Body>>>::Error: Into<BoxError> + Send,
        <L::Service as Service<Request<Body>>>::Future: Send + 'static,
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wren.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        let handle = router.shutdown_handle();
        let task = tokio::spawn(router.serve(listener));
        TestServer {
            path,
            handle,
            task,
            _dir: dir,
        }
    }

    pub(crate) async fn raw(&self) -> Raw {
        Raw::connect(&self.path).await
    }

    pub(crate) async fn channel(&self) -> wren_client::Channel {
        wren_client::Channel::connect_unix(&self.path)
            .await
            .expect("channel connects")
    }

    pub(crate) async fn client(&self) -> wren_client::Client {
        wren_client::Client::new(self.channel().await)
    }
}

// ===== a raw frame-level client =====

/// A client that sends hand-made frames and reads raw frames back.
pub(crate) struct Raw {
    pub(crate) framed: Framed<UnixStream, FrameCodec>,
}

impl Raw {
    pub(crate) async fn connect(path: &Path) -> Raw {
        Raw::connect_with(path, FrameCodec::new()).await
    }

    /// A raw client whose codec has its own limit (to send oversize frames).
    pub(crate) async fn connect_with(path: &Path, codec: FrameCodec) -> Raw {
        let io = UnixStream::connect(path).await.expect("raw connect");
        Raw {
            framed: Framed::new(io, codec),
        }
    }

    pub(crate) async fn send(&mut self, frame: Frame) {
        within("raw send", self.framed.send(frame))
            .await
            .expect("raw send");
    }

    /// The next decoded item, or `None` at end of stream.
    pub(crate) async fn next(&mut self) -> Option<io::Result<Decoded>> {
        within("a frame from the server", self.framed.next()).await
    }

    /// The next frame; fails the test on end of stream or an oversize frame.
    pub(crate) async fn recv(&mut self) -> Frame {
        match self.next().await {
            Some(Ok(Decoded::Frame(frame))) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, which must be a Response on `id`, decoded.
    pub(crate) async fn recv_response(&mut self, id: u32) -> proto::Response {
        let frame = self.recv().await;
        assert_eq!(frame.stream_id, id, "reply on the wrong stream: {frame:?}");
        decode_response(&frame)
    }

    /// Sends a unary request for `method` on `id` and reads its reply.
    pub(crate) async fn call(
        &mut self,
        id: u32,
        method: &str,
        msg: &impl Message,
    ) -> proto::Response {
        self.send(Frame::request(
            id,
            envelope(SERVICE, method, msg).encode_to_vec(),
        ))
        .await;
        self.recv_response(id).await
    }

    /// An Echo call on `id` that must succeed with the same message back.
    pub(crate) async fn echo_ok(&mut self, id: u32, text: &str) {
        let msg = Echo {
            msg: text.to_owned(),
            n: u64::from(id),
        };
        let resp = self.call(id, "Echo", &msg).await;
        assert_eq!(resp.status, None, "echo on {id} failed");
        assert_eq!(Echo::decode(resp.payload).expect("echo reply"), msg);
    }
}

/// A `ttrpc.Request` for `service`/`method` carrying `msg`.
pub(crate) fn envelope(service: &str, method: &str, msg: &impl Message) -> proto::Request {
    proto::Request {
        service: service.to_owned(),
        method: method.to_owned(),
        payload: Bytes::from(msg.encode_to_vec()),
        timeout_nano: 0,
        metadata: Vec::new(),
    }
}

/// Decodes a Response frame, checking its type and flags.
pub(crate) fn decode_response(frame: &Frame) -> proto::Response {
    assert_eq!(
        frame.kind,
        MessageType::RESPONSE,
        "not a response: {frame:?}"
    );
    assert!(frame.flags.is_empty(), "response with flags: {frame:?}");
    proto::Response::decode(frame.payload.clone()).expect("a valid ttrpc.Response")
}

/// The (code, message) of a reply that must carry a status.
pub(crate) fn status(resp: &proto::Response) -> (i32, &str) {
    let status = resp.status.as_ref().expect("reply carries a status");
    (status.code, status.message.as_str())
}

/// The echo service used by most tests.
pub(crate) fn echo_service() -> wren_server::Methods {
    wren_server::Methods::new(SERVICE).unary("Echo", |req: Request<Echo>| async move {
        Ok(Response::new(req.into_inner()))
    })
}
