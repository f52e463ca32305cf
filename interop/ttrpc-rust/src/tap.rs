//! A frame-level proxy between a client and a server on unix sockets: it
//! records every frame each side sends (type, stream id, flags, length) and
//! can make one client request oversize on its way to the server.
//!
//! It reads the 10-byte ttrpc header itself (length u32, stream id u32,
//! type u8, flags u8, big-endian) so that what it reports does not depend on
//! either implementation's codec.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

/// Message type Request.
pub const REQUEST: u8 = 1;
/// Message type Response.
pub const RESPONSE: u8 = 2;
/// Message type Data.
pub const DATA: u8 = 3;
/// Flag remote-closed.
pub const REMOTE_CLOSED: u8 = 0x01;
/// Flag remote-open.
pub const REMOTE_OPEN: u8 = 0x02;
/// Flag no-data.
pub const NO_DATA: u8 = 0x04;

/// Which way a frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// One frame as it crossed the proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// Which way it went.
    pub dir: Dir,
    /// Message type.
    pub kind: u8,
    /// Stream id.
    pub stream_id: u32,
    /// Flags.
    pub flags: u8,
    /// Data length as sent on (after any inflation).
    pub length: u32,
    /// The payload as received (before any inflation).
    pub payload: Vec<u8>,
}

impl Seen {
    /// `(type, flags, length)`, the part of a frame the assertions compare.
    pub fn shape(&self) -> (u8, u8, u32) {
        (self.kind, self.flags, self.length)
    }
}

/// What the proxy changes on the way from client to server.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rewrite {
    /// A client Request frame whose payload contains these bytes is sent on
    /// padded to [`MAX_MESSAGE`](crate::MAX_MESSAGE) + 1024 bytes (the
    /// padding is a valid unknown field, so the envelope still decodes).
    pub inflate: Option<&'static [u8]>,
}

/// The proxy. Dropping it stops accepting; connections already proxied run
/// until either side closes.
#[derive(Debug)]
pub struct Tap {
    path: PathBuf,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
    _dir: TempDir,
}

impl Tap {
    /// A proxy in front of the server at `upstream` that changes nothing.
    pub fn start(upstream: &Path) -> Tap {
        Tap::rewriting(upstream, Rewrite::default())
    }

    /// A proxy in front of the server at `upstream` that changes client
    /// frames as `rewrite` says.
    pub fn rewriting(upstream: &Path, rewrite: Rewrite) -> Tap {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tap.sock");
        let listener = UnixListener::bind(&path).expect("bind the tap's socket");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let upstream = upstream.to_path_buf();
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let server = UnixStream::connect(&upstream)
                        .await
                        .expect("the tap connects upstream");
                    let (client_r, client_w) = client.into_split();
                    let (server_r, server_w) = server.into_split();
                    tokio::spawn(pump(
                        client_r,
                        server_w,
                        Dir::ToServer,
                        seen.clone(),
                        rewrite,
                    ));
                    let none = Rewrite::default();
                    tokio::spawn(pump(server_r, client_w, Dir::ToClient, seen.clone(), none));
                }
            }
        });
        Tap {
            path,
            seen,
            task,
            _dir: dir,
        }
    }

    /// The socket clients connect to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every frame seen so far, in the order each direction saw them.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The frames seen on `stream_id`.
    pub fn stream(&self, stream_id: u32) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.stream_id == stream_id)
            .collect()
    }

    /// A readable log of every frame, for failure messages and the report.
    pub fn log(&self) -> String {
        self.seen()
            .iter()
            .map(|s| {
                let dir = match s.dir {
                    Dir::ToServer => "c->s",
                    Dir::ToClient => "s->c",
                };
                let kind = match s.kind {
                    REQUEST => "Request ",
                    RESPONSE => "Response",
                    DATA => "Data    ",
                    _ => "?       ",
                };
                format!(
                    "{dir} {kind} id={:<3} flags=0x{:02x} len={}\n",
                    s.stream_id, s.flags, s.length
                )
            })
            .collect()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    dir: Dir,
    seen: Arc<Mutex<Vec<Seen>>>,
    rewrite: Rewrite,
) -> io::Result<()> {
    loop {
        let mut header = [0u8; 10];
        match from.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                let _ = to.shutdown().await;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let length = u32::from_be_bytes(header[0..4].try_into().unwrap());
        let stream_id = u32::from_be_bytes(header[4..8].try_into().unwrap());
        let kind = header[8];
        let flags = header[9];
        let mut payload = vec![0u8; length as usize];
        from.read_exact(&mut payload).await?;

        let marked = rewrite.inflate.is_some_and(|marker| {
            kind == REQUEST && payload.windows(marker.len()).any(|w| w == marker)
        });
        let mut out = payload.clone();
        if marked {
            pad(&mut out, crate::MAX_MESSAGE + 1024);
        }
        seen.lock().unwrap().push(Seen {
            dir,
            kind,
            stream_id,
            flags,
            length: out.len() as u32,
            payload,
        });
        let mut frame = Vec::with_capacity(10 + out.len());
        frame.extend_from_slice(&(out.len() as u32).to_be_bytes());
        frame.extend_from_slice(&header[4..10]);
        frame.extend_from_slice(&out);
        to.write_all(&frame).await?;
    }
}

/// Appends an unknown length-delimited field (number 15) to a protobuf
/// message so that it is at least `target` bytes long.
fn pad(message: &mut Vec<u8>, target: usize) {
    let n = target.saturating_sub(message.len() + 1 + 5);
    message.push((15 << 3) | 2);
    // The length as a 5-byte varint, so the total is exact.
    let mut v = n as u64;
    for i in 0..5 {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        message.push(if i < 4 { byte | 0x80 } else { byte });
    }
    message.resize(message.len() + n, 0);
}

#[cfg(test)]
mod tests {
    #[test]
    fn pad_reaches_the_target_exactly() {
        let mut m = vec![8, 1];
        super::pad(&mut m, 1000);
        assert_eq!(m.len(), 1000);
    }
}
