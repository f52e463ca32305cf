//! `hvsock://` endpoints: the hybrid vsock client handshake (Firecracker,
//! Cloud Hypervisor).
//!
//! The VMM exposes the guest's vsock ports on one host unix socket. A client
//! connects to it, writes `CONNECT <port>\n`, and the VMM answers with a line
//! starting with `OK` (Firecracker: `OK <host-side port>\n`) once the guest
//! has accepted; from then on the stream is the guest connection.

use std::fmt;
use std::io;
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

use super::stream::EndpointStream;
use super::uri::check_path_len;

/// The longest answer line read before the proxy is judged broken.
const MAX_LINE: usize = 256;

/// Why a hybrid vsock handshake failed: the source of the `io::Error` that
/// [`Endpoint::connect`](crate::Endpoint::connect) returns.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HybridVsockError {
    /// The proxy answered something other than `OK…` (the guest port has no
    /// listener, say). Error kind `ConnectionRefused`.
    Refused {
        /// The line it answered, without the newline.
        answer: String,
    },
    /// The proxy closed the connection before answering a whole line. Error
    /// kind `ConnectionRefused`.
    Closed {
        /// What it sent before closing.
        partial: String,
    },
    /// The proxy did not answer within the handshake timeout. Error kind `TimedOut`.
    Timeout(Duration),
    /// The proxy's answer line is longer than any real proxy sends. Error
    /// kind `InvalidData`.
    AnswerTooLong,
}

impl fmt::Display for HybridVsockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HybridVsockError::Refused { answer } => {
                write!(f, "hybrid vsock proxy refused the connection: {answer:?}")
            }
            HybridVsockError::Closed { partial } => write!(
                f,
                "hybrid vsock proxy closed the connection before answering (got {partial:?})"
            ),
            HybridVsockError::Timeout(t) => {
                write!(f, "hybrid vsock proxy did not answer within {t:?}")
            }
            HybridVsockError::AnswerTooLong => write!(
                f,
                "hybrid vsock proxy answered a line over {MAX_LINE} bytes without a newline"
            ),
        }
    }
}

impl std::error::Error for HybridVsockError {}

impl From<HybridVsockError> for io::Error {
    fn from(e: HybridVsockError) -> io::Error {
        let kind = match e {
            HybridVsockError::Refused { .. } | HybridVsockError::Closed { .. } => {
                io::ErrorKind::ConnectionRefused
            }
            HybridVsockError::Timeout(_) => io::ErrorKind::TimedOut,
            HybridVsockError::AnswerTooLong => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}

/// Connects to the VMM's socket at `path` and asks for guest port `port`.
pub(super) async fn connect(
    path: &Path,
    port: u32,
    timeout: Duration,
) -> io::Result<EndpointStream> {
    check_path_len(path.as_os_str().len())?;
    let mut stream = UnixStream::connect(path).await?;
    match tokio::time::timeout(timeout, handshake(&mut stream, port)).await {
        Ok(Ok(())) => Ok(EndpointStream::Unix(stream)),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(HybridVsockError::Timeout(timeout).into()),
    }
}

/// Performs the handshake on a connected stream.
///
/// The answer is read a byte at a time, so that nothing after its newline
/// (the first bytes of the guest's stream) is consumed.
pub async fn hybrid_vsock_handshake<S>(stream: &mut S, port: u32) -> io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    handshake(stream, port).await
}

async fn handshake<S>(stream: &mut S, port: u32) -> io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    stream
        .write_all(format!("CONNECT {port}\n").as_bytes())
        .await?;
    stream.flush().await?;
    let mut line = Vec::with_capacity(32);
    loop {
        let mut byte = [0u8; 1];
        let n = match stream.read(&mut byte).await {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Err(HybridVsockError::Closed {
                partial: String::from_utf8_lossy(&line).into_owned(),
            }
            .into());
        }
        if byte[0] == b'\n' {
            break;
        }
        if line.len() == MAX_LINE {
            return Err(HybridVsockError::AnswerTooLong.into());
        }
        line.push(byte[0]);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.starts_with(b"OK") {
        tracing::trace!(port, answer = %String::from_utf8_lossy(&line), "hybrid vsock connected");
        Ok(())
    } else {
        Err(HybridVsockError::Refused {
            answer: String::from_utf8_lossy(&line).into_owned(),
        }
        .into())
    }
}
