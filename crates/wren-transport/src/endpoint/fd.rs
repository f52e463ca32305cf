//! Inherited listening sockets: systemd socket activation (`LISTEN_FDS`)
//! and descriptors a parent hands over.
//!
//! This module holds the crate's only `unsafe`: taking ownership of the
//! descriptors systemd passes, which exist only as numbers.

use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use socket2::{Socket, Type};

use super::listener::EndpointListener;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
pub const LISTEN_FDS_START: RawFd = 3;

/// More descriptors than this in `LISTEN_FDS` is taken for garbage.
const MAX_LISTEN_FDS: usize = 4096;

/// Whether this process's `LISTEN_FDS` descriptors have been taken.
static TAKEN: AtomicBool = AtomicBool::new(false);

/// One socket passed by systemd socket activation.
#[derive(Debug)]
#[non_exhaustive]
pub struct ListenFd {
    /// Its descriptor number (3, 4, …).
    pub fd: RawFd,
    /// Its name from `LISTEN_FDNAMES` (a socket unit's `FileDescriptorName=`), if given.
    pub name: Option<String>,
    /// The listener, ready to serve.
    pub listener: EndpointListener,
}

/// Takes the listening sockets systemd passed this process (socket
/// activation): descriptors 3 to 3 + `LISTEN_FDS` − 1, when `LISTEN_PID` is
/// this process's id.
///
/// Returns an empty list when the variables are absent or name another
/// process (a child that inherited them). The descriptors are taken once
/// per process: a second call fails with `AlreadyExists` rather than
/// handing out the same sockets twice. The environment is left as it is
/// (changing it is unsound in a threaded program), so do not let another
/// library take the same descriptors.
///
/// Each descriptor is checked to be an open listening stream socket (unix,
/// TCP, or vsock with the `vsock` feature) and marked close-on-exec; a
/// connected socket (systemd's `Accept=yes`) fails with `InvalidInput`.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let mut fds = wren_transport::take_listen_fds()?;
/// let listener = fds.pop().expect("started by a systemd socket unit").listener;
/// // wren_server::Server::builder().add_service(…).serve(listener).await
/// # Ok(()) }
/// ```
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn take_listen_fds() -> io::Result<Vec<ListenFd>> {
    let Some(count) = listen_fds_for_us()? else {
        return Ok(Vec::new());
    };
    if TAKEN.swap(true, Ordering::SeqCst) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the LISTEN_FDS sockets of this process were already taken",
        ));
    }
    let names = std::env::var("LISTEN_FDNAMES").ok();
    let mut names = names.as_deref().map(|n| n.split(':'));
    // Own every descriptor first, so that none is left behind on an error.
    let mut owned = Vec::with_capacity(count);
    for i in 0..count {
        let fd = LISTEN_FDS_START + i as RawFd;
        let name = names
            .as_mut()
            .and_then(Iterator::next)
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        owned.push((fd, name, adopt(fd)?));
    }
    owned
        .into_iter()
        .map(|(fd, name, owned)| {
            let listener = listener_from_fd(owned).map_err(|e| {
                io::Error::new(e.kind(), format!("LISTEN_FDS descriptor {fd}: {e}"))
            })?;
            Ok(ListenFd { fd, name, listener })
        })
        .collect()
}

/// The number of descriptors passed to this process, or `None` when the
/// variables are absent or meant for another process.
fn listen_fds_for_us() -> io::Result<Option<usize>> {
    let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    let (Ok(pid), Ok(fds)) = (std::env::var("LISTEN_PID"), std::env::var("LISTEN_FDS")) else {
        return Ok(None);
    };
    let pid: u32 = pid
        .trim()
        .parse()
        .map_err(|_| invalid(format!("LISTEN_PID={pid:?} is not a process id")))?;
    if pid != std::process::id() {
        return Ok(None);
    }
    let count: usize = fds
        .trim()
        .parse()
        .map_err(|_| invalid(format!("LISTEN_FDS={fds:?} is not a number")))?;
    if count > MAX_LISTEN_FDS {
        return Err(invalid(format!("LISTEN_FDS={count} is implausibly large")));
    }
    Ok(Some(count))
}

/// Takes ownership of descriptor `fd`, which must be open.
fn adopt(fd: RawFd) -> io::Result<OwnedFd> {
    let dir = if cfg!(any(target_os = "linux", target_os = "android")) {
        "/proc/self/fd"
    } else {
        "/dev/fd"
    };
    if std::fs::symlink_metadata(format!("{dir}/{fd}")).is_err() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("LISTEN_FDS names descriptor {fd}, which is not open"),
        ));
    }
    Ok(own_inherited(fd))
}

#[allow(unsafe_code)]
fn own_inherited(fd: RawFd) -> OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: `fd` is open (checked just above) and owned by nothing else in
    // this process: systemd passed it for this process (LISTEN_PID matched),
    // wren takes the LISTEN_FDS descriptors at most once per process (the
    // TAKEN flag), and the standard library never opens descriptors it does
    // not own. The one way to break this is for other code in the process to
    // claim the same inherited numbers, which the docs of `take_listen_fds`
    // rule out.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

impl TryFrom<OwnedFd> for EndpointListener {
    type Error = io::Error;

    /// Takes over a listening socket by its descriptor: one inherited from
    /// the parent process (as containerd hands a shim its socket), whatever
    /// its kind (unix, TCP, or vsock with the `vsock` feature). Fails with
    /// `InvalidInput` on a descriptor that is not a listening stream socket.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    fn try_from(fd: OwnedFd) -> io::Result<EndpointListener> {
        listener_from_fd(fd)
    }
}

/// A listener from a listening socket's descriptor.
fn listener_from_fd(fd: OwnedFd) -> io::Result<EndpointListener> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, what.to_owned());
    let socket = Socket::from(fd);
    let addr = socket
        .local_addr()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("not a socket: {e}")))?;
    if socket.r#type()? != Type::STREAM {
        return Err(invalid("not a stream socket"));
    }
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    if !socket.is_listener()? {
        return Err(invalid(
            "not a listening socket (a connected socket, as systemd's Accept=yes passes, is not served)",
        ));
    }
    socket.set_cloexec(true)?;
    socket.set_nonblocking(true)?;
    if addr.is_unix() {
        let listener = std::os::unix::net::UnixListener::from(socket);
        return Ok(tokio::net::UnixListener::from_std(listener)?.into());
    }
    if addr.is_ipv4() || addr.is_ipv6() {
        let listener = std::net::TcpListener::from(socket);
        return Ok(tokio::net::TcpListener::from_std(listener)?.into());
    }
    #[cfg(all(feature = "vsock", any(target_os = "linux", target_os = "android")))]
    if i32::from(addr.family()) == i32::from(socket2::Domain::VSOCK) {
        let listener = tokio_vsock::VsockListener::from(OwnedFd::from(socket));
        return Ok(EndpointListener::vsock(listener));
    }
    Err(invalid(
        "a socket of an unsupported address family (not unix or TCP, or vsock without the `vsock` feature)",
    ))
}
