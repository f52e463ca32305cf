//! Helpers shared by wren's integration tests (a dev-dependency, never
//! published).
//!
//! - [`within`] and [`HANG`]: the bound that turns a hang into a failure;
//! - [`SocketDir`] and [`unique_name`]: unix socket paths and abstract
//!   names no other test uses;
//! - [`messages`]: hand-written prost messages for the `wren.test.Echo` service;
//! - [`frames`]: reading, writing and decoding raw frames;
//! - [`raw`]: frame-level peers, a client ([`raw::Raw`]) and a server
//!   ([`raw::RawServer`]), for tests that send what a real peer would not;
//! - [`server`]: a server on a temporary socket ([`server::TestServer`]);
//! - [`peers`]: where the repository is, and how a test reports a missing
//!   interop peer (fail under `CI=true`, skip elsewhere).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tempfile::TempDir;

pub mod frames;
pub mod messages;
pub mod peers;
pub mod raw;
pub mod server;

/// Bound on any single wait in a test: only there to turn a hang into a
/// failure, never a timing target.
pub const HANG: Duration = Duration::from_secs(20);

/// Awaits `fut`, failing the test with "timed out waiting for `what`"
/// after [`HANG`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(HANG, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A name no other test in any process uses: `wren-test-<what>-<pid>-<n>`,
/// for abstract sockets and other process-wide namespaces.
pub fn unique_name(what: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "wren-test-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A temporary directory holding one socket path; both go when it is dropped.
#[derive(Debug)]
pub struct SocketDir {
    path: PathBuf,
    dir: TempDir,
}

impl SocketDir {
    /// A new directory, with the socket path `<dir>/<name>` (not created).
    pub fn new(name: &str) -> SocketDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        SocketDir {
            path: dir.path().join(name),
            dir,
        }
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
