//! [`RawPeer`]: a frame-level peer that sends exactly the bytes a test
//! chooses and reads back what wren answers, undecoded beyond the frame.

use std::io;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use prost::Message;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::Framed;
use wren_transport::codec::{
    Code, Decoded, Flags, Frame, FrameCodec, HEADER_LEN, Header, MessageType, proto,
};

use crate::fixture::{Msg, SERVICE};

pub use wren_test_support::{HANG, within};

/// One end of a connection, spoken to frame by frame.
#[derive(Debug)]
pub struct RawPeer<T> {
    framed: Framed<T, FrameCodec>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> RawPeer<T> {
    /// A peer over `io` whose decoder accepts frames up to the default 4 MiB.
    pub fn new(io: T) -> RawPeer<T> {
        RawPeer::with_codec(io, FrameCodec::new())
    }

    /// A peer over `io` with its own codec (to send oversize frames).
    pub fn with_codec(io: T, codec: FrameCodec) -> RawPeer<T> {
        RawPeer {
            framed: Framed::new(io, codec),
        }
    }

    /// The underlying stream, for writing bytes that are not frames.
    pub fn get_mut(&mut self) -> &mut T {
        self.framed.get_mut()
    }

    /// Sends one frame.
    pub async fn send(&mut self, frame: Frame) {
        within("sending a frame", self.framed.send(frame))
            .await
            .expect("send a frame");
    }

    /// Writes `bytes` as they are: headers, half frames, garbage.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let io = self.framed.get_mut();
        within("writing raw bytes", async {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await
        .expect("write raw bytes");
    }

    /// Writes just a header announcing `length` bytes, and no payload.
    pub async fn send_header(
        &mut self,
        length: u32,
        stream_id: u32,
        kind: MessageType,
        flags: Flags,
    ) {
        self.send_raw(&header_bytes(length, stream_id, kind, flags))
            .await;
    }

    /// Closes the write side: the other end reads end of stream.
    pub async fn shutdown(&mut self) {
        let _ = self.framed.get_mut().shutdown().await;
    }

    /// The next decoded item, or `None` at end of stream.
    pub async fn next(&mut self) -> Option<io::Result<Decoded>> {
        within("a frame from wren", self.framed.next()).await
    }

    /// The next frame; fails the test on end of stream, an error or an
    /// oversize frame.
    pub async fn recv(&mut self) -> Frame {
        match self.next().await {
            Some(Ok(Decoded::Frame(frame))) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// Whether wren closed the connection: end of stream (or a reset) comes
    /// next, with no frame before it.
    pub async fn closed(&mut self) -> bool {
        match self.next().await {
            None | Some(Err(_)) => true,
            Some(Ok(item)) => panic!("expected the connection to close, got {item:?}"),
        }
    }

    /// The next frame, which must be a Response on `id`, decoded.
    pub async fn recv_response(&mut self, id: u32) -> proto::Response {
        let frame = self.recv().await;
        assert_eq!(frame.stream_id, id, "reply on the wrong stream: {frame:?}");
        decode_response(&frame)
    }

    /// Expects a Response on `id` carrying exactly `code` and `message`.
    pub async fn expect_status(&mut self, id: u32, code: Code, message: &str) {
        let resp = self.recv_response(id).await;
        assert_eq!(
            status_of(&resp),
            Some((code, message)),
            "reply on stream {id}"
        );
    }

    /// Sends a unary Echo on `id` and checks that it comes back unchanged:
    /// the connection still works.
    pub async fn echo_ok(&mut self, id: u32) {
        let msg = Msg::new(u64::from(id), &b"still here"[..]);
        self.send(Frame::request(
            id,
            request(crate::fixture::ECHO, &msg).encode_to_vec(),
        ))
        .await;
        let resp = self.recv_response(id).await;
        assert_eq!(status_of(&resp), None, "echo on stream {id} failed");
        assert_eq!(Msg::decode(resp.payload).expect("an echo reply"), msg);
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> RawPeer<T> {
    /// The next frame, which must be a Request; with its envelope decoded.
    pub async fn recv_request(&mut self) -> (Frame, proto::Request) {
        let frame = self.recv().await;
        assert_eq!(frame.kind, MessageType::REQUEST, "not a Request: {frame:?}");
        let request = proto::Request::decode(frame.payload.clone()).expect("a valid ttrpc.Request");
        (frame, request)
    }

    /// Answers stream `id` with a successful Response carrying `msg`.
    pub async fn reply(&mut self, id: u32, msg: &Msg) {
        let resp = proto::Response {
            status: None,
            payload: msg.encode_to_vec().into(),
        };
        self.send(Frame::response(id, resp.encode_to_vec())).await;
    }

    /// Answers the next unary request by echoing its payload; returns its id.
    pub async fn echo_next(&mut self) -> u32 {
        let (frame, request) = self.recv_request().await;
        let msg = Msg::decode(request.payload).expect("the request carries a Msg");
        self.reply(frame.stream_id, &msg).await;
        frame.stream_id
    }
}

/// The 10 bytes of a header.
pub fn header_bytes(
    length: u32,
    stream_id: u32,
    kind: MessageType,
    flags: Flags,
) -> [u8; HEADER_LEN] {
    let mut out = Vec::with_capacity(HEADER_LEN);
    Header {
        length,
        stream_id,
        kind,
        flags,
    }
    .encode(&mut out);
    out.try_into().expect("a header is 10 bytes")
}

/// A `ttrpc.Request` envelope for the probe service's `method`.
pub fn request(method: &str, msg: &Msg) -> proto::Request {
    proto::Request {
        service: SERVICE.to_owned(),
        method: method.to_owned(),
        payload: Bytes::from(msg.encode_to_vec()),
        timeout_nano: 0,
        metadata: Vec::new(),
    }
}

/// A Request frame on `id` for `method` with `flags`.
pub fn request_frame(id: u32, method: &str, flags: Flags, msg: &Msg) -> Frame {
    Frame::new(
        id,
        MessageType::REQUEST,
        flags,
        request(method, msg).encode_to_vec(),
    )
}

/// Decodes a Response frame, checking its type and that it has no flags.
pub fn decode_response(frame: &Frame) -> proto::Response {
    assert_eq!(
        frame.kind,
        MessageType::RESPONSE,
        "not a Response: {frame:?}"
    );
    assert!(frame.flags.is_empty(), "a Response with flags: {frame:?}");
    proto::Response::decode(frame.payload.clone()).expect("a valid ttrpc.Response")
}

/// The status of a reply as (code, message); `None` for success.
pub fn status_of(resp: &proto::Response) -> Option<(Code, &str)> {
    resp.status
        .as_ref()
        .filter(|s| s.code != 0)
        .map(|s| (Code::from_i32(s.code), s.message.as_str()))
}
