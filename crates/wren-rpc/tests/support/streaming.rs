//! The messages of `proto/interop/streaming.proto`, a wren implementation of
//! its `Streaming` service, and what the streaming tests share: a server on a
//! temporary unix socket and raw frame-level peers.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Stream, StreamExt, stream};
use prost::Message;
use prost::bytes::Bytes;
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tower_service::Service;
use wren_rpc::codec::{Flags, Frame, HEADER_LEN, Header, MessageType, proto};
use wren_rpc::server::{Methods, Router, Routes, ShutdownHandle};
use wren_rpc::transport::BoxError;
use wren_rpc::{Body, Request, Response, Status, Streaming};

pub const SERVICE: &str = "wren.interop.streaming.v1.Streaming";

/// Bound on any single wait: only there to turn a hang into a failure.
pub const HANG: Duration = Duration::from_secs(20);

#[derive(Clone, PartialEq, Message)]
pub struct EchoPayload {
    #[prost(uint32, tag = "1")]
    pub seq: u32,
    #[prost(string, tag = "2")]
    pub msg: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Part {
    #[prost(int32, tag = "1")]
    pub add: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sum {
    #[prost(int32, tag = "1")]
    pub sum: i32,
    #[prost(int32, tag = "2")]
    pub num: i32,
}

/// Splits `sum.sum` into `sum.num` parts whose first and last are empty (the
/// default `Part`), the others sharing the sum as evenly as they can.
pub fn divide(sum: &Sum) -> Result<Vec<Part>, Status> {
    if sum.num < 3 {
        return Err(Status::invalid_argument(format!(
            "cannot divide into {} parts with empty first and last",
            sum.num
        )));
    }
    let middle = sum.num - 2;
    let (base, extra) = (sum.sum / middle, sum.sum % middle);
    let mut parts = vec![Part::default()];
    parts.extend((0..middle).map(|i| Part {
        add: base + i32::from(i < extra),
    }));
    parts.push(Part::default());
    Ok(parts)
}

/// The two messages `EmptyPayloadStream` sends.
pub fn empty_payload_replies() -> [EchoPayload; 2] {
    [
        EchoPayload {
            seq: 1,
            msg: "first".into(),
        },
        EchoPayload {
            seq: 2,
            msg: "second".into(),
        },
    ]
}

/// The `Streaming` service with the semantics its proto comments give.
pub fn service() -> Methods {
    Methods::new(SERVICE)
        .unary("Echo", |req: Request<EchoPayload>| async move {
            let m = req.into_inner();
            Ok(Response::new(EchoPayload {
                seq: m.seq + 1,
                msg: m.msg,
            }))
        })
        .bidi(
            "EchoStream",
            |req: Request<Streaming<EchoPayload>>| async move {
                let replies = req.into_inner().map(|m| {
                    m.map(|m| EchoPayload {
                        seq: m.seq + 1,
                        msg: m.msg,
                    })
                });
                Ok(Response::new(replies))
            },
        )
        .client_streaming("SumStream", |req: Request<Streaming<Part>>| async move {
            let mut parts = req.into_inner();
            let mut sum = Sum::default();
            while let Some(part) = parts.message().await? {
                sum.sum += part.add;
                sum.num += 1;
            }
            Ok(Response::new(sum))
        })
        .server_streaming("DivideStream", |req: Request<Sum>| async move {
            let parts = divide(req.get_ref())?;
            Ok(Response::new(stream::iter(parts.into_iter().map(Ok))))
        })
        .client_streaming(
            "EchoNull",
            |req: Request<Streaming<EchoPayload>>| async move {
                // Every message must arrive, in order: seq counts from 0.
                let mut messages = req.into_inner();
                let mut expected = 0;
                while let Some(m) = messages.message().await? {
                    if m.seq != expected {
                        return Err(Status::invalid_argument(format!(
                            "message {expected} arrived with seq {}",
                            m.seq
                        )));
                    }
                    expected += 1;
                }
                Ok(Response::new(()))
            },
        )
        .bidi(
            "EchoNullStream",
            |req: Request<Streaming<EchoPayload>>| async move {
                // The replies go out while more requests come in: each
                // request is answered as soon as it is read.
                let replies = req.into_inner().flat_map(|m| {
                    stream::iter(match m {
                        Ok(_) => vec![Ok(()); 10],
                        Err(status) => vec![Err(status)],
                    })
                });
                Ok(Response::new(replies))
            },
        )
        .server_streaming("EmptyPayloadStream", |_req: Request<()>| async move {
            Ok(Response::new(stream::iter(
                empty_payload_replies().into_iter().map(Ok),
            )))
        })
}

pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(HANG, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A request stream fed from a channel: messages go out as they are sent,
/// and dropping the sender ends the stream.
pub fn channel_stream<T: Send + 'static>(
    buffer: usize,
) -> (mpsc::Sender<T>, impl Stream<Item = T> + Send + 'static) {
    let (tx, mut rx) = mpsc::channel(buffer);
    (tx, stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// A stream that never yields, holding `T` until it is dropped.
pub struct Stall<T, Item> {
    pub hold: T,
    _item: std::marker::PhantomData<fn() -> Item>,
}

impl<T, Item> Stall<T, Item> {
    pub fn new(hold: T) -> Self {
        Stall {
            hold,
            _item: std::marker::PhantomData,
        }
    }
}

impl<T: Unpin, Item> Stream for Stall<T, Item> {
    type Item = Item;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Item>> {
        Poll::Pending
    }
}

/// Sends `()` on its channel when dropped: proves a handler (or the stream
/// it returned) was dropped.
pub struct DropGuard(pub Option<tokio::sync::oneshot::Sender<()>>);

impl DropGuard {
    pub fn new() -> (DropGuard, tokio::sync::oneshot::Receiver<()>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (DropGuard(Some(tx)), rx)
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

// ===== a server on a temporary socket =====

pub struct TestServer {
    pub path: PathBuf,
    pub handle: ShutdownHandle,
    pub task: JoinHandle<io::Result<()>>,
    _dir: TempDir,
}

impl TestServer {
    /// Binds a socket, then spawns `router.serve` on it.
    pub fn spawn<L>(router: Router<L>) -> TestServer
    where
        L: tower::Layer<Routes> + Send + 'static,
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

    pub async fn channel(&self) -> wren_rpc::Channel {
        wren_rpc::Channel::connect_unix(&self.path)
            .await
            .expect("channel connects")
    }

    pub async fn client(&self) -> wren_rpc::Client {
        wren_rpc::Client::new(self.channel().await)
    }

    pub async fn raw(&self) -> Raw {
        Raw::connect(&self.path).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ===== raw frames =====

/// Reads one frame; `None` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Option<Frame>> {
    let mut header = [0u8; HEADER_LEN];
    match r.read_exact(&mut header).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let header = Header::parse(&header);
    let mut payload = vec![0u8; header.length as usize];
    r.read_exact(&mut payload).await?;
    Ok(Some(Frame::new(
        header.stream_id,
        header.kind,
        header.flags,
        payload,
    )))
}

pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &Frame) -> io::Result<()> {
    let mut buf = Vec::with_capacity(HEADER_LEN + frame.payload.len());
    frame.header().encode(&mut buf);
    buf.extend_from_slice(&frame.payload);
    w.write_all(&buf).await
}

/// A Request frame for `method` of the streaming service.
pub fn request(id: u32, flags: Flags, method: &str, payload: impl Into<Bytes>) -> Frame {
    request_to(id, flags, SERVICE, method, payload, 0)
}

pub fn request_to(
    id: u32,
    flags: Flags,
    service: &str,
    method: &str,
    payload: impl Into<Bytes>,
    timeout_nano: i64,
) -> Frame {
    let envelope = proto::Request {
        service: service.into(),
        method: method.into(),
        payload: payload.into(),
        timeout_nano,
        metadata: Vec::new(),
    };
    Frame::new(id, MessageType::REQUEST, flags, envelope.encode_to_vec())
}

pub const CLOSE: Flags = Flags::from_bits(0x05);

pub fn data(id: u32, message: &impl Message) -> Frame {
    Frame::data(id, Flags::EMPTY, message.encode_to_vec())
}

pub fn close(id: u32) -> Frame {
    Frame::data(id, CLOSE, Bytes::new())
}

/// A frame-level client.
pub struct Raw {
    pub io: UnixStream,
}

impl Raw {
    pub async fn connect(path: &Path) -> Raw {
        Raw {
            io: UnixStream::connect(path).await.expect("raw connect"),
        }
    }

    pub async fn send(&mut self, frame: Frame) {
        within("a raw write", write_frame(&mut self.io, &frame))
            .await
            .expect("raw write");
    }

    /// Writes raw bytes: frames given by hand, whole or in part.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        within("a raw write", self.io.write_all(bytes))
            .await
            .expect("raw write");
    }

    /// The next frame; `None` once the server closed the connection.
    pub async fn next(&mut self) -> Option<Frame> {
        within("a frame from the server", read_frame(&mut self.io))
            .await
            .expect("raw read")
    }

    pub async fn recv(&mut self) -> Frame {
        self.next()
            .await
            .expect("a frame, not the end of the connection")
    }

    /// The next frame, which must be a Response on `id`.
    pub async fn recv_response(&mut self, id: u32) -> proto::Response {
        let frame = self.recv().await;
        assert_eq!(
            (frame.kind, frame.stream_id),
            (MessageType::RESPONSE, id),
            "expected a Response on stream {id}, got {frame:?}"
        );
        proto::Response::decode(frame.payload).expect("a ttrpc.Response")
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
}
