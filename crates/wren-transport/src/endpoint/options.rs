//! [`BindOptions`] and [`ConnectOptions`]: how an endpoint is bound or
//! connected.

use std::time::Duration;

/// The default time a hybrid vsock handshake (`CONNECT <port>` → `OK`) may
/// take: 10 s.
pub const DEFAULT_HYBRID_VSOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// How [`Endpoint::bind_with`](super::Endpoint::bind_with) binds.
#[derive(Clone, Debug)]
pub struct BindOptions {
    pub(crate) mode: Option<u32>,
    pub(crate) remove_stale: bool,
    pub(crate) unlink_on_drop: bool,
    pub(crate) backlog: u32,
    pub(crate) tcp_nodelay: bool,
}

impl Default for BindOptions {
    fn default() -> Self {
        BindOptions {
            mode: None,
            remove_stale: true,
            unlink_on_drop: true,
            backlog: 1024,
            tcp_nodelay: true,
        }
    }
}

impl BindOptions {
    /// The defaults: no mode change, stale unix sockets replaced and the
    /// socket file removed on drop, a backlog of 1024, `TCP_NODELAY` on.
    pub fn new() -> BindOptions {
        BindOptions::default()
    }

    /// The permission bits of a unix socket file (`0o600`: its owner only),
    /// set after binding and before listening, so no connection is accepted
    /// under the umask's permissions. Default: left to the umask.
    #[must_use]
    pub fn mode(mut self, mode: u32) -> BindOptions {
        self.mode = Some(mode);
        self
    }

    /// Whether an existing unix socket file that nothing accepts on is
    /// removed and bound again. Default: on (as containerd's shims do).
    #[must_use]
    pub fn remove_stale(mut self, on: bool) -> BindOptions {
        self.remove_stale = on;
        self
    }

    /// Whether the listener removes its unix socket file when dropped (only
    /// if the file is still the one it bound). Default: on.
    #[must_use]
    pub fn unlink_on_drop(mut self, on: bool) -> BindOptions {
        self.unlink_on_drop = on;
        self
    }

    /// The listen backlog of a unix socket. Default: 1024.
    #[must_use]
    pub fn backlog(mut self, connections: u32) -> BindOptions {
        self.backlog = connections;
        self
    }

    /// Whether accepted TCP connections get `TCP_NODELAY`. Default: on;
    /// without it each small ttrpc frame can wait 40 ms or more on Nagle's
    /// algorithm and delayed ACKs.
    #[must_use]
    pub fn tcp_nodelay(mut self, on: bool) -> BindOptions {
        self.tcp_nodelay = on;
        self
    }
}

/// How [`Endpoint::connect_with`](super::Endpoint::connect_with) connects.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    pub(crate) handshake_timeout: Duration,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) tcp_nodelay: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            handshake_timeout: DEFAULT_HYBRID_VSOCK_TIMEOUT,
            connect_timeout: None,
            tcp_nodelay: true,
        }
    }
}

impl ConnectOptions {
    /// The defaults: a 10 s hybrid vsock handshake, no overall connect
    /// timeout, `TCP_NODELAY` on.
    pub fn new() -> ConnectOptions {
        ConnectOptions::default()
    }

    /// How long a hybrid vsock proxy may take to answer `CONNECT <port>`.
    /// A proxy that says nothing fails the connect with `TimedOut`.
    /// Default: 10 s ([`DEFAULT_HYBRID_VSOCK_TIMEOUT`]).
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> ConnectOptions {
        self.handshake_timeout = timeout;
        self
    }

    /// A bound on the whole connect, handshake included. Default: none.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> ConnectOptions {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Whether a TCP connection gets `TCP_NODELAY`. Default: on.
    #[must_use]
    pub fn tcp_nodelay(mut self, on: bool) -> ConnectOptions {
        self.tcp_nodelay = on;
        self
    }
}
