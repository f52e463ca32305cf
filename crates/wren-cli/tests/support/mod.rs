//! What the `wren` command's end-to-end tests share: running the binary, a
//! tap that records the bytes of a connection, and the interop peers and
//! services of wren-rpc's tests.
#![allow(dead_code, unreachable_pub, missing_docs)]

#[path = "../../../wren-rpc/tests/support/echo.rs"]
pub mod echo;
#[path = "../../../wren-rpc/tests/support/peers.rs"]
pub mod peers;
#[path = "../../../wren-rpc/tests/support/streaming.rs"]
pub mod streaming;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// Bounds one run of `wren`: only there to turn a hang into a failure.
pub const HANG: Duration = Duration::from_secs(30);

/// The repository's `proto/` directory.
pub fn proto_dir() -> PathBuf {
    peers::repo_root().join("proto")
}

/// `proto/interop/echo.proto`, as a path string for `--proto`.
pub fn echo_proto() -> String {
    proto_dir().join("interop/echo.proto").display().to_string()
}

/// What one run of `wren` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "wren failed: {self:#?}");
        &self.stdout
    }

    /// Asserts the exit status `code`.
    pub fn failed(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit status: {self:#?}");
        self
    }
}

/// Runs `wren args...`, with `stdin` as its input (none: /dev/null).
pub async fn wren(args: &[&str], stdin: Option<&str>) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_wren"));
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("run wren");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).await.unwrap();
        drop(pipe);
    }
    let output = tokio::time::timeout(HANG, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("wren {args:?} hung"))
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A unix socket that forwards every connection to `upstream` and records
/// the bytes each way.
pub struct Tap {
    pub path: PathBuf,
    to_server: Arc<Mutex<Vec<u8>>>,
    to_client: Arc<Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Tap {
    pub fn start(upstream: &Path, path: PathBuf) -> Tap {
        let listener = UnixListener::bind(&path).unwrap();
        let to_server = Arc::new(Mutex::new(Vec::new()));
        let to_client = Arc::new(Mutex::new(Vec::new()));
        let (up, ts, tc) = (upstream.to_path_buf(), to_server.clone(), to_client.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = UnixStream::connect(&up).await.unwrap();
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, ts.clone()));
                tokio::spawn(pump(sr, cw, tc.clone()));
            }
        });
        Tap {
            path,
            to_server,
            to_client,
            task,
        }
    }

    /// What clients sent so far.
    pub fn sent_by_clients(&self) -> Vec<u8> {
        self.to_server.lock().unwrap().clone()
    }

    /// What the server sent so far.
    pub fn sent_by_server(&self) -> Vec<u8> {
        self.to_client.lock().unwrap().clone()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::unix::OwnedReadHalf,
    mut to: tokio::net::unix::OwnedWriteHalf,
    record: Arc<Mutex<Vec<u8>>>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        record.lock().unwrap().extend_from_slice(&buf[..n]);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Writes `bytes` as `xxd -p` would: hex, 30 bytes a line.
pub fn hex_lines(bytes: &[u8]) -> String {
    bytes
        .chunks(30)
        .map(|c| c.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
        .collect()
}
