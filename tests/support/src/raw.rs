//! Frame-level peers for tests that send what a real peer would not: a raw
//! client of a server ([`Raw`]) and a raw server for a channel ([`RawServer`]).

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use prost::Message;
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::codec::Framed;
use wren_client::Channel;
use wren_transport::codec::{Decoded, Flags, Frame, FrameCodec, MessageType, Status, proto};

use crate::frames::{decode_response, envelope};
use crate::messages::{Echo, SERVICE};
use crate::{SocketDir, within};

// ===== a raw client =====

/// A client that sends hand-made frames to a server and reads raw frames back.
#[derive(Debug)]
pub struct Raw {
    /// The connection, framed with the codec it was opened with.
    pub framed: Framed<UnixStream, FrameCodec>,
}

impl Raw {
    /// Connects to the server at `path`.
    pub async fn connect(path: &Path) -> Raw {
        Raw::connect_with(path, FrameCodec::new()).await
    }

    /// A raw client whose codec has its own limit (to send oversize frames).
    pub async fn connect_with(path: &Path, codec: FrameCodec) -> Raw {
        let io = UnixStream::connect(path).await.expect("raw connect");
        Raw {
            framed: Framed::new(io, codec),
        }
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: Frame) {
        within("raw send", self.framed.send(frame))
            .await
            .expect("raw send");
    }

    /// Writes raw bytes: frames given by hand, whole or in part.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        within("a raw write", self.framed.get_mut().write_all(bytes))
            .await
            .expect("raw write");
    }

    /// The next decoded item, or `None` at end of stream.
    pub async fn next(&mut self) -> Option<io::Result<Decoded>> {
        within("a frame from the server", self.framed.next()).await
    }

    /// The next frame; fails the test on end of stream or an oversize frame.
    pub async fn recv(&mut self) -> Frame {
        match self.next().await {
            Some(Ok(Decoded::Frame(frame))) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, which must be a Response on `id`, decoded.
    pub async fn recv_response(&mut self, id: u32) -> proto::Response {
        let frame = self.recv().await;
        assert_eq!(frame.stream_id, id, "reply on the wrong stream: {frame:?}");
        decode_response(&frame)
    }

    /// The next frame, which must be a Response on `id` carrying an error.
    pub async fn recv_status(&mut self, id: u32) -> proto::Status {
        let response = self.recv_response(id).await;
        response.status.expect("the Response carries a status")
    }

    /// The next frame, which must be Data on `id`: its flags and payload.
    pub async fn recv_data(&mut self, id: u32) -> (Flags, Bytes) {
        let frame = self.recv().await;
        assert_eq!(
            (frame.kind, frame.stream_id),
            (MessageType::DATA, id),
            "expected Data on stream {id}, got {frame:?}"
        );
        (frame.flags, frame.payload)
    }

    /// Sends a unary request for `method` of [`SERVICE`] on `id` and reads its reply.
    pub async fn call(&mut self, id: u32, method: &str, msg: &impl Message) -> proto::Response {
        self.send(Frame::request(
            id,
            envelope(SERVICE, method, msg).encode_to_vec(),
        ))
        .await;
        self.recv_response(id).await
    }

    /// An Echo call on `id` that must succeed with the same message back.
    pub async fn echo_ok(&mut self, id: u32, text: &str) {
        let msg = Echo {
            msg: text.to_owned(),
            n: u64::from(id),
        };
        let resp = self.call(id, "Echo", &msg).await;
        assert_eq!(resp.status, None, "echo on {id} failed");
        assert_eq!(Echo::decode(resp.payload).expect("echo reply"), msg);
    }
}

// ===== a raw server =====

/// A listening socket that a channel can connect to.
#[derive(Debug)]
pub struct RawServer {
    /// The socket's path.
    pub path: PathBuf,
    listener: UnixListener,
    _socket: SocketDir,
}

impl RawServer {
    /// Binds a socket in a new temporary directory.
    pub fn bind() -> RawServer {
        let socket = SocketDir::new("raw.sock");
        let listener = UnixListener::bind(socket.path()).expect("bind");
        RawServer {
            path: socket.path().to_path_buf(),
            listener,
            _socket: socket,
        }
    }

    /// Accepts the next connection, which a channel has made.
    pub async fn accept_with(&self, codec: FrameCodec) -> RawConn {
        let (io, _) = within("accept", self.listener.accept())
            .await
            .expect("accept");
        RawConn {
            framed: Framed::new(io, codec),
        }
    }

    /// Connects a channel and accepts its connection.
    pub async fn connect(&self) -> (Channel, RawConn) {
        self.connect_with(FrameCodec::new()).await
    }

    /// Like [`RawServer::connect`], with the raw side using `codec`.
    pub async fn connect_with(&self, codec: FrameCodec) -> (Channel, RawConn) {
        let channel = within("connect", Channel::connect_unix(&self.path))
            .await
            .expect("channel connects");
        (channel, self.accept_with(codec).await)
    }
}

/// The server's end of one connection.
#[derive(Debug)]
pub struct RawConn {
    /// The connection, framed with the codec it was accepted with.
    pub framed: Framed<UnixStream, FrameCodec>,
}

/// A request as the raw server received it.
#[derive(Debug)]
pub struct Received {
    /// The frame.
    pub frame: Frame,
    /// Its decoded envelope.
    pub request: proto::Request,
}

impl Received {
    /// Its stream id.
    pub fn id(&self) -> u32 {
        self.frame.stream_id
    }

    /// Its payload, decoded as an [`Echo`].
    pub fn echo(&self) -> Echo {
        Echo::decode(self.request.payload.clone()).expect("payload is an Echo")
    }
}

impl RawConn {
    /// The next decoded item, or `None` at end of stream.
    pub async fn next(&mut self) -> Option<io::Result<Decoded>> {
        within("a frame from the client", self.framed.next()).await
    }

    /// The next frame, which must be a unary Request; decoded.
    pub async fn recv_request(&mut self) -> Received {
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

    /// Sends one frame.
    pub async fn send(&mut self, frame: Frame) {
        within("send to the client", self.framed.send(frame))
            .await
            .expect("send to the client");
    }

    /// Replies on `id` with `payload` and no status.
    pub async fn reply_ok(&mut self, id: u32, payload: impl Into<Bytes>) {
        let resp = proto::Response {
            status: None,
            payload: payload.into(),
        };
        self.send(Frame::response(id, resp.encode_to_vec())).await;
    }

    /// Replies on `id` with an error status.
    pub async fn reply_err(&mut self, id: u32, status: &Status) {
        let resp = proto::Response {
            status: Some(status.to_proto()),
            payload: Bytes::new(),
        };
        self.send(Frame::response(id, resp.encode_to_vec())).await;
    }

    /// Answers the next request by echoing its payload.
    pub async fn echo_next(&mut self) -> Received {
        let req = self.recv_request().await;
        self.reply_ok(req.id(), req.request.payload.clone()).await;
        req
    }
}
