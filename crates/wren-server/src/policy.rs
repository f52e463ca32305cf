//! [`PeerPolicy`]: who may connect, by unix peer credentials.

use std::fmt;
use std::sync::OnceLock;

use wren_transport::{ConnectInfo, PeerCredentials};

/// Which peers a server accepts, judged on the credentials their unix
/// socket carries (`SO_PEERCRED`): Go ttrpc's `UnixSocketRequireUidGid`,
/// `UnixSocketRequireRoot` and `UnixSocketRequireSameUser`.
///
/// The check runs when a connection is accepted, before anything is read
/// from it; a peer that fails it is closed and the server goes on
/// accepting. A connection without credentials (TCP, vsock, a custom
/// listener) fails every policy.
///
/// ```no_run
/// # use wren_server::{Methods, PeerPolicy, Server};
/// # async fn run() -> std::io::Result<()> {
/// Server::builder()
///     .peer_policy(PeerPolicy::require_same_user())
///     .add_service(Methods::new("demo.v1.Demo"))
///     .serve("unix://@demo")
///     .await
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerPolicy {
    rule: Rule,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    UidGid { uid: Option<u32>, gid: Option<u32> },
    SameUser,
}

impl PeerPolicy {
    /// Peers with this effective uid and gid; `None` accepts any (Go's −1).
    pub fn require_uid_gid(uid: Option<u32>, gid: Option<u32>) -> PeerPolicy {
        PeerPolicy {
            rule: Rule::UidGid { uid, gid },
        }
    }

    /// Peers running as root: uid 0 and gid 0, as in Go.
    pub fn require_root() -> PeerPolicy {
        PeerPolicy::require_uid_gid(Some(0), Some(0))
    }

    /// Peers with the server's own effective uid and gid. Meant for abstract
    /// sockets, which have no file permissions to guard them.
    pub fn require_same_user() -> PeerPolicy {
        PeerPolicy {
            rule: Rule::SameUser,
        }
    }

    /// Whether the peer described by `info` passes.
    pub fn check(&self, info: &ConnectInfo) -> Result<(), PolicyError> {
        let Some(found) = info.credentials().copied() else {
            return Err(PolicyError {
                policy: *self,
                found: None,
            });
        };
        let (uid, gid) = match self.rule {
            Rule::UidGid { uid, gid } => (uid, gid),
            Rule::SameUser => match own_credentials() {
                Some(own) => (Some(own.uid), Some(own.gid)),
                None => {
                    return Err(PolicyError {
                        policy: *self,
                        found: Some(found),
                    });
                }
            },
        };
        if uid.is_some_and(|u| u != found.uid) || gid.is_some_and(|g| g != found.gid) {
            return Err(PolicyError {
                policy: *self,
                found: Some(found),
            });
        }
        Ok(())
    }
}

impl fmt::Display for PeerPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let any = |v: Option<u32>| v.map_or_else(|| "any".to_owned(), |v| v.to_string());
        match self.rule {
            Rule::UidGid { uid, gid } => write!(f, "uid {} and gid {}", any(uid), any(gid)),
            Rule::SameUser => f.write_str("the server's own uid and gid"),
        }
    }
}

/// The server's effective credentials, read once: the kernel records the
/// creator's effective ids on both ends of a socketpair. Needs a tokio
/// runtime (to look at the socket through tokio); `None` outside one.
fn own_credentials() -> Option<PeerCredentials> {
    static OWN: OnceLock<PeerCredentials> = OnceLock::new();
    if let Some(own) = OWN.get() {
        return Some(*own);
    }
    tokio::runtime::Handle::try_current().ok()?;
    let (a, _b) = std::os::unix::net::UnixStream::pair().ok()?;
    a.set_nonblocking(true).ok()?;
    let a = tokio::net::UnixStream::from_std(a).ok()?;
    let own = PeerCredentials::of(&a).ok()?;
    Some(*OWN.get_or_init(|| own))
}

/// A peer that a [`PeerPolicy`] turned away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    policy: PeerPolicy,
    found: Option<PeerCredentials>,
}

impl PolicyError {
    /// The peer's credentials; `None` if the connection had none.
    pub fn found(&self) -> Option<&PeerCredentials> {
        self.found.as_ref()
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.found {
            Some(found) => write!(
                f,
                "peer {found} rejected: the server requires {}",
                self.policy
            ),
            None => write!(
                f,
                "peer rejected: no unix credentials, and the server requires {}",
                self.policy
            ),
        }
    }
}

impl std::error::Error for PolicyError {}
