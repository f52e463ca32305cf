//! A server on a temporary unix socket.

use std::io;
use std::path::PathBuf;

use tempfile::TempDir;
use tokio::net::UnixListener;
use tokio::task::JoinHandle;
use tower_layer::Layer;
use tower_service::Service;
use wren_server::{Router, Routes, ShutdownHandle};
use wren_transport::{Body, BoxError, Request, Response};

use crate::raw::Raw;

/// A running server.
#[derive(Debug)]
pub struct TestServer {
    /// Its socket.
    pub path: PathBuf,
    /// Shuts it down.
    pub handle: ShutdownHandle,
    /// `serve`, spawned.
    pub task: JoinHandle<io::Result<()>>,
    _dir: TempDir,
}

impl TestServer {
    /// Binds a socket, then spawns `router.serve` on it.
    pub fn spawn<L>(router: Router<L>) -> TestServer
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

    /// A raw frame-level client of it.
    pub async fn raw(&self) -> Raw {
        Raw::connect(&self.path).await
    }

    /// A channel connected to it.
    pub async fn channel(&self) -> wren_client::Channel {
        wren_client::Channel::connect_unix(&self.path)
            .await
            .expect("channel connects")
    }

    /// A typed client over a new channel.
    pub async fn client(&self) -> wren_client::Client {
        wren_client::Client::new(self.channel().await)
    }
}
