//! [`SocketFile`]: the file of a bound unix socket, removed again with its
//! listener.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The socket file a listener bound, removed when the listener is dropped
/// if it is still the same file (a server started after us may have
/// replaced it).
#[derive(Debug)]
pub(super) struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
    armed: bool,
}

impl SocketFile {
    /// The file now at `path`; `None` if it cannot be read.
    pub(super) fn new(path: &Path) -> Option<SocketFile> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        Some(SocketFile {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
            armed: true,
        })
    }

    /// Keeps the file when the listener is dropped.
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(meta) = std::fs::symlink_metadata(&self.path) {
            if meta.dev() == self.dev && meta.ino() == self.ino {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}
