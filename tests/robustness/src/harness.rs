//! [`TestServer`]: the probe service served on a temporary unix socket,
//! and [`RawServer`]: a socket a wren channel connects to, answered by hand.

use std::io;
use std::path::PathBuf;

use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;
use wren_client::{Channel, Client};
use wren_server::{Server, ShutdownHandle};
use wren_transport::codec::FrameCodec;

use crate::fixture::{self, Live};
use crate::peer::{RawPeer, within};

/// The probe service served by a wren server on a temporary unix socket.
#[derive(Debug)]
pub struct TestServer {
    /// The socket's path.
    pub path: PathBuf,
    /// Shuts the server down.
    pub handle: ShutdownHandle,
    /// The probe handlers alive now.
    pub live: Live,
    /// The serving task; resolves when the server has shut down.
    pub task: JoinHandle<io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Serves the probe service with `server`'s settings.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or if the socket cannot be bound.
    pub fn start(server: Server) -> TestServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("wren.sock");
        let listener = UnixListener::bind(&path).expect("bind the test socket");
        let live = Live::new();
        let router = server.add_service(fixture::probe(&live));
        let handle = router.shutdown_handle();
        let task = tokio::spawn(router.serve(listener));
        TestServer {
            path,
            handle,
            live,
            task,
            _dir: dir,
        }
    }

    /// A raw frame-level connection.
    pub async fn raw(&self) -> RawPeer<UnixStream> {
        self.raw_with(FrameCodec::new()).await
    }

    /// A raw connection whose codec has its own limit (to send oversize frames).
    pub async fn raw_with(&self, codec: FrameCodec) -> RawPeer<UnixStream> {
        let io = within("connect", UnixStream::connect(&self.path))
            .await
            .expect("connect to the test server");
        RawPeer::with_codec(io, codec)
    }

    /// A wren client on a connection of its own.
    pub async fn client(&self) -> Client {
        let channel = within("connect", Channel::connect_unix(&self.path))
            .await
            .expect("a channel connects");
        Client::new(channel)
    }

    /// Waits until no probe handler is alive (they were all cancelled or
    /// finished); fails the test if one is still running after
    /// [`HANG`](crate::peer::HANG).
    pub async fn all_handlers_gone(&self) {
        within("every handler to be dropped", async {
            while self.live.count() > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
        .await;
    }
}

/// A listening socket that wren channels connect to; the test answers them
/// frame by frame.
#[derive(Debug)]
pub struct RawServer {
    /// The socket's path.
    pub path: PathBuf,
    listener: UnixListener,
    _dir: tempfile::TempDir,
}

impl RawServer {
    /// Binds a temporary socket.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or if the socket cannot be bound.
    pub fn bind() -> RawServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("raw.sock");
        let listener = UnixListener::bind(&path).expect("bind the raw socket");
        RawServer {
            path,
            listener,
            _dir: dir,
        }
    }

    /// Connects a channel with default settings and accepts its connection.
    pub async fn connect(&self) -> (Client, RawPeer<UnixStream>) {
        self.connect_with(FrameCodec::new()).await
    }

    /// Like [`RawServer::connect`], with the raw side using `codec`.
    pub async fn connect_with(&self, codec: FrameCodec) -> (Client, RawPeer<UnixStream>) {
        let channel = within("connect", Channel::connect_unix(&self.path))
            .await
            .expect("a channel connects");
        let (io, _) = within("accept", self.listener.accept())
            .await
            .expect("accept");
        (Client::new(channel), RawPeer::with_codec(io, codec))
    }
}

/// A wren server in a child process (`wren-robust-server`), so its memory
/// can be read on its own. Killed when dropped.
#[derive(Debug)]
pub struct ChildServer {
    /// The socket it serves.
    pub path: PathBuf,
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl ChildServer {
    /// Starts `exe` (the `wren-robust-server` binary) on a temporary socket
    /// and waits until it listens.
    ///
    /// # Panics
    ///
    /// If it cannot be started or does not say `ready`.
    pub fn start(exe: &std::path::Path) -> ChildServer {
        use std::io::BufRead;
        use std::process::{Command, Stdio};

        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("child.sock");
        let mut child = Command::new(exe)
            .arg(&path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server process");
        let stdout = child.stdout.take().expect("its stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read from the server process");
        assert_eq!(line.trim(), "ready", "the server process did not start");
        ChildServer {
            path,
            child,
            _dir: dir,
        }
    }

    /// The process's memory now.
    pub fn memory(&self) -> crate::sys::Memory {
        crate::sys::Memory::of(self.child.id()).expect("/proc/PID/status of the server")
    }

    /// A raw connection to it.
    pub async fn raw(&self) -> RawPeer<UnixStream> {
        let io = within("connect", UnixStream::connect(&self.path))
            .await
            .expect("connect to the server process");
        RawPeer::new(io)
    }

    /// A wren client on a connection of its own.
    pub async fn client(&self) -> Client {
        let channel = within("connect", Channel::connect_unix(&self.path))
            .await
            .expect("a channel connects");
        Client::new(channel)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
