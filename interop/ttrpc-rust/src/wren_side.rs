//! The `Streaming` service on wren (generated trait, hand-written bodies),
//! a wren server on a temporary unix socket, and wren client helpers.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt};
use tempfile::TempDir;
use tokio::net::UnixListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wren_rpc::server::ShutdownHandle;
use wren_rpc::{Request, Response, Server, Status, Streaming};

use crate::pb::streaming_client::StreamingClient;
use crate::pb::streaming_server::{self, StreamingServer};
use crate::pb::{EchoPayload, Part, Sum};

/// wren's implementation of the fixture.
#[derive(Clone, Copy, Debug, Default)]
pub struct WrenStreaming;

type Replies<T> = BoxStream<'static, Result<T, Status>>;

impl streaming_server::Streaming for WrenStreaming {
    async fn echo(&self, request: Request<EchoPayload>) -> Result<Response<EchoPayload>, Status> {
        let m = request.into_inner();
        Ok(Response::new(EchoPayload {
            seq: m.seq + 1,
            msg: m.msg,
        }))
    }

    type EchoStreamStream = Replies<EchoPayload>;

    async fn echo_stream(
        &self,
        request: Request<Streaming<EchoPayload>>,
    ) -> Result<Response<Self::EchoStreamStream>, Status> {
        let replies = request.into_inner().map(|m| {
            m.map(|m| EchoPayload {
                seq: m.seq + 1,
                msg: m.msg,
            })
        });
        Ok(Response::new(replies.boxed()))
    }

    async fn sum_stream(&self, request: Request<Streaming<Part>>) -> Result<Response<Sum>, Status> {
        let mut parts = request.into_inner();
        let mut sum = Sum::default();
        while let Some(part) = parts.message().await? {
            sum.sum += part.add;
            sum.num += 1;
        }
        Ok(Response::new(sum))
    }

    type DivideStreamStream = Replies<Part>;

    async fn divide_stream(
        &self,
        request: Request<Sum>,
    ) -> Result<Response<Self::DivideStreamStream>, Status> {
        let Sum { sum, num } = request.into_inner();
        let parts = crate::divide(sum, num).ok_or_else(|| {
            Status::invalid_argument(format!(
                "cannot divide into {num} parts with empty first and last"
            ))
        })?;
        let parts = parts.into_iter().map(|add| Ok(Part { add }));
        Ok(Response::new(stream::iter(parts).boxed()))
    }

    async fn echo_null(
        &self,
        request: Request<Streaming<EchoPayload>>,
    ) -> Result<Response<()>, Status> {
        // Every message must arrive, in order: seq counts from 0.
        let mut messages = request.into_inner();
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
    }

    type EchoNullStreamStream = Replies<()>;

    async fn echo_null_stream(
        &self,
        request: Request<Streaming<EchoPayload>>,
    ) -> Result<Response<Self::EchoNullStreamStream>, Status> {
        // Each request is answered (10 times) as soon as it is read, while
        // more requests come in.
        let replies = request.into_inner().flat_map(|m| {
            stream::iter(match m {
                Ok(_) => vec![Ok(()); 10],
                Err(status) => vec![Err(status)],
            })
        });
        Ok(Response::new(replies.boxed()))
    }

    type EmptyPayloadStreamStream = Replies<EchoPayload>;

    async fn empty_payload_stream(
        &self,
        _request: Request<()>,
    ) -> Result<Response<Self::EmptyPayloadStreamStream>, Status> {
        let replies = crate::EMPTY_PAYLOAD_REPLIES.map(|(seq, msg)| {
            Ok(EchoPayload {
                seq,
                msg: msg.into(),
            })
        });
        Ok(Response::new(stream::iter(replies).boxed()))
    }
}

/// A wren server serving [`WrenStreaming`] on a temporary unix socket.
#[derive(Debug)]
pub struct WrenServer {
    path: PathBuf,
    handle: ShutdownHandle,
    task: JoinHandle<io::Result<()>>,
    _dir: TempDir,
}

impl WrenServer {
    /// Binds the socket and spawns the server with default settings. Needs
    /// a tokio runtime.
    pub fn start() -> WrenServer {
        WrenServer::start_with(Server::builder())
    }

    /// As [`WrenServer::start`], with `server`'s settings.
    pub fn start_with(server: Server) -> WrenServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wren.sock");
        let listener = UnixListener::bind(&path).expect("bind the wren server's socket");
        let router = server.add_service(StreamingServer::new(WrenStreaming));
        let handle = router.shutdown_handle();
        let task = tokio::spawn(router.serve(listener));
        WrenServer {
            path,
            handle,
            task,
            _dir: dir,
        }
    }

    /// The socket the server listens on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Shuts the server down gracefully and waits for it.
    pub async fn stop(self) {
        self.handle.shutdown().await;
        let task = self.task;
        crate::within("the wren server to stop", task)
            .await
            .expect("the server task did not panic")
            .expect("the server stopped cleanly");
    }
}

/// A generated wren client on a new connection to `path`.
pub async fn client(path: &Path) -> StreamingClient {
    let channel = wren_rpc::Channel::connect_unix(path)
        .await
        .expect("wren connects");
    StreamingClient::new(channel)
}

/// A request stream fed from a channel: messages go out as they are sent,
/// and dropping the sender ends the stream (the close-send).
pub fn channel_stream<T: Send + 'static>(
    buffer: usize,
) -> (mpsc::Sender<T>, impl Stream<Item = T> + Send + 'static) {
    let (tx, mut rx) = mpsc::channel(buffer);
    (tx, stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// The gap [`paced`] leaves before each message and before the end.
pub const PACE: Duration = Duration::from_millis(2);

/// A request stream of `items` that waits [`PACE`] before each one and
/// before it ends (the close-send).
///
/// For client streams to a ttrpc-rust server, which handles every inbound
/// frame in a task of its own: frames that arrive together (wren coalesces
/// its writes) can reach the handler out of order, and the close-send can
/// overtake the last messages (see the README).
pub fn paced<T: Send + 'static>(
    items: impl IntoIterator<Item = T, IntoIter: Send + 'static>,
) -> impl Stream<Item = T> + Send + 'static {
    stream::iter(items.into_iter().map(Some).chain([None]))
        .then(|item| async move {
            tokio::time::sleep(PACE).await;
            item
        })
        .filter_map(std::future::ready)
}
