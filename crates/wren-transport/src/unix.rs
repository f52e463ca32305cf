//! Unix socket binding: stale-socket takeover, file mode, abstract names.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

use crate::endpoint::{BindOptions, EndpointErrorKind, MAX_UNIX_PATH_LEN};
use crate::listener::EndpointListener;
use crate::socket::EndpointStream;

/// How long the stale-socket probe waits for a connection to be accepted or
/// refused. A live server with a full backlog may not answer at once; it is
/// still live.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Binds a unix socket at `path`, taking over a stale socket file.
pub(crate) async fn bind_path(path: &Path, options: &BindOptions) -> io::Result<EndpointListener> {
    let len = path.as_os_str().len();
    if len == 0 || len > MAX_UNIX_PATH_LEN {
        let kind = if len == 0 {
            EndpointErrorKind::MissingPath
        } else {
            EndpointErrorKind::PathTooLong {
                len,
                max: MAX_UNIX_PATH_LEN,
            }
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            kind.to_string(),
        ));
    }
    let addr = SockAddr::unix(path)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    match socket.bind(&addr) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AddrInUse && options.remove_stale => {
            take_over_stale(path, e).await?;
            socket.bind(&addr)?;
        }
        Err(e) => return Err(e),
    }
    // From here on the file is ours: remove it again if anything below fails.
    let file = SocketFile::new(path);
    if let Some(mode) = options.mode {
        // Before listen(): until then a connection attempt is refused, so no
        // peer gets in under the umask's permissions.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    socket.listen(i32::try_from(options.backlog).unwrap_or(i32::MAX))?;
    socket.set_nonblocking(true)?;
    let listener = tokio::net::UnixListener::from_std(socket.into())?;
    let file = file.and_then(|mut file| {
        if options.unlink_on_drop {
            Some(file)
        } else {
            file.armed = false;
            None
        }
    });
    Ok(EndpointListener::unix(listener, file))
}

/// An existing file at `path` made `bind` fail: remove it if it is a socket
/// nothing accepts on, else fail with `AddrInUse`.
async fn take_over_stale(path: &Path, bind_error: io::Error) -> io::Result<()> {
    let in_use = |why: String| io::Error::new(io::ErrorKind::AddrInUse, why);
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        // Gone in the meantime: bind again.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(_) => return Err(bind_error),
    };
    if !meta.file_type().is_socket() {
        return Err(in_use(format!(
            "{} exists and is not a socket; not removing it",
            path.display()
        )));
    }
    match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::UnixStream::connect(path)).await {
        Ok(Ok(_)) | Err(_) => Err(in_use(format!(
            "a server is accepting connections on {}",
            path.display()
        ))),
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::debug!(path = %path.display(), "removing stale unix socket");
            match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        }
        Ok(Err(_)) => Err(bind_error),
    }
}

/// Binds a unix socket in Linux's abstract namespace.
pub(crate) fn bind_abstract(name: &[u8]) -> io::Result<EndpointListener> {
    let path = abstract_path(name)?;
    let listener = tokio::net::UnixListener::bind(path)?;
    Ok(EndpointListener::unix(listener, None))
}

/// Connects to a unix socket in Linux's abstract namespace.
pub(crate) async fn connect_abstract(name: &[u8]) -> io::Result<EndpointStream> {
    let path = abstract_path(name)?;
    Ok(EndpointStream::Unix(
        tokio::net::UnixStream::connect(path).await?,
    ))
}

/// tokio (1.39.3 on) reads a path starting with NUL as an abstract name.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_path(name: &[u8]) -> io::Result<PathBuf> {
    use std::os::unix::ffi::OsStringExt;

    if name.len() > MAX_UNIX_PATH_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            EndpointErrorKind::PathTooLong {
                len: name.len(),
                max: MAX_UNIX_PATH_LEN,
            }
            .to_string(),
        ));
    }
    let mut bytes = Vec::with_capacity(name.len() + 1);
    bytes.push(0);
    bytes.extend_from_slice(name);
    Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_path(_name: &[u8]) -> io::Result<PathBuf> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract unix sockets exist on Linux only",
    ))
}

/// The socket file a listener bound, removed when the listener is dropped
/// if it is still the same file (a server started after us may have
/// replaced it).
#[derive(Debug)]
pub(crate) struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
    armed: bool,
}

impl SocketFile {
    fn new(path: &Path) -> Option<SocketFile> {
        let meta = std::fs::symlink_metadata(path).ok()?;
        Some(SocketFile {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
            armed: true,
        })
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
