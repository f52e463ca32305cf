//! Building and starting the peers from other implementations.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

pub use wren_test_support::peers::{peer_missing, repo_root};

/// The Go ttrpc 1.1.1 peer (`interop/go`), built once per test process.
pub fn go_peer() -> Option<PathBuf> {
    static PEER: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = PEER.get_or_init(|| {
        let root = repo_root();
        let out = root.join("target/interop/wren-go-peer");
        let output = Command::new("bash")
            .arg(root.join("interop/go/build.sh"))
            .arg(&out)
            .output()
            .map_err(|e| format!("cannot run bash: {e}"))?;
        if output.status.success() {
            Ok(out)
        } else {
            Err(format!(
                "interop/go/build.sh failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    });
    match built {
        Ok(path) => Some(path.clone()),
        Err(why) => {
            peer_missing("the Go ttrpc peer", why);
            None
        }
    }
}

/// A peer process, killed when dropped.
pub struct PeerProcess(pub Child);

impl Drop for PeerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary server <socket>` and waits for its `ready` line.
pub fn start_server(binary: &Path, socket: &Path) -> PeerProcess {
    let mut child = Command::new(binary)
        .arg("server")
        .arg(socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start peer server");
    let stdout = child.stdout.take().expect("peer stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read peer's ready line");
    assert_eq!(line.trim(), "ready", "peer server did not start");
    PeerProcess(child)
}
