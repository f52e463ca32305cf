//! `unix://` endpoints: binding a path (stale-socket takeover, file mode,
//! removal on drop), abstract names, connecting.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use socket2::{Domain, SockAddr, Socket, Type};

use super::error::EndpointErrorKind;
use super::listener::EndpointListener;
use super::options::BindOptions;
use super::socket_file::SocketFile;
use super::stream::EndpointStream;
use super::uri::check_path_len;

/// How long the stale-socket probe waits for a connection to be accepted or
/// refused. A live server with a full backlog may not answer at once; it is
/// still live.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Binds a unix socket at `path`, taking over a stale socket file.
pub(super) async fn bind_path(path: &Path, options: &BindOptions) -> io::Result<EndpointListener> {
    let len = path.as_os_str().len();
    if len == 0 {
        return Err(EndpointErrorKind::MissingPath.into_io());
    }
    check_path_len(len)?;
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
            file.disarm();
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
pub(super) fn bind_abstract(name: &[u8], options: &BindOptions) -> io::Result<EndpointListener> {
    if options.mode.is_some() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an abstract unix socket has no file mode; guard it with a peer policy",
        ));
    }
    let path = abstract_path(name)?;
    let listener = tokio::net::UnixListener::bind(path)?;
    Ok(EndpointListener::unix(listener, None))
}

/// Connects to a unix socket at a filesystem path.
pub(super) async fn connect_path(path: &Path) -> io::Result<EndpointStream> {
    check_path_len(path.as_os_str().len())?;
    Ok(EndpointStream::Unix(
        tokio::net::UnixStream::connect(path).await?,
    ))
}

/// Connects to a unix socket in Linux's abstract namespace.
pub(super) async fn connect_abstract(name: &[u8]) -> io::Result<EndpointStream> {
    let path = abstract_path(name)?;
    Ok(EndpointStream::Unix(
        tokio::net::UnixStream::connect(path).await?,
    ))
}

/// tokio (1.39.3 on) reads a path starting with NUL as an abstract name.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_path(name: &[u8]) -> io::Result<PathBuf> {
    use std::os::unix::ffi::OsStringExt;

    check_path_len(name.len())?;
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
