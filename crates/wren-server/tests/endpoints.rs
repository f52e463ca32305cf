//! Serving and connecting through endpoints: URIs, abstract sockets, TCP,
//! std listeners, bind failures, and ttrpc over hybrid vsock through an
//! in-test proxy (accepting, refusing, silent).
#![allow(missing_docs)]

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;
use wren_client::{Channel, Client};
use wren_server::{Methods, Router, Server, ShutdownHandle};
use wren_test_support::within;
use wren_transport::{ConnectOptions, Endpoint, IntoListener, Peer, PeerAddr, Request, Response};

const SERVICE: &str = "wren.test.Endpoints";

#[derive(Clone, PartialEq, prost::Message)]
struct Echo {
    #[prost(string, tag = "1")]
    msg: String,
}

/// What the handler saw of its peer.
#[derive(Clone, PartialEq, prost::Message)]
struct Who {
    #[prost(string, tag = "1")]
    addr: String,
    #[prost(bool, tag = "2")]
    has_credentials: bool,
    #[prost(uint32, tag = "3")]
    uid: u32,
}

fn router() -> Router {
    let service = Methods::new(SERVICE)
        .unary("Echo", |req: Request<Echo>| async move {
            Ok(Response::new(req.into_inner()))
        })
        .unary("Who", |req: Request<Echo>| async move {
            let peer = req
                .extensions()
                .get::<Peer>()
                .expect("every request has its peer");
            Ok(Response::new(Who {
                addr: peer.peer_addr().map(|a| a.to_string()).unwrap_or_default(),
                has_credentials: peer.credentials().is_some(),
                uid: peer.credentials().map_or(0, |c| c.uid),
            }))
        });
    Server::builder().add_service(service)
}

struct Running {
    handle: ShutdownHandle,
    task: JoinHandle<io::Result<()>>,
}

impl Running {
    async fn stop(self) {
        within("shutdown", self.handle.shutdown()).await;
        within("serve returns", self.task).await.unwrap().unwrap();
    }
}

fn spawn<Li>(router: Router, listener: Li) -> Running
where
    Li: IntoListener + Send + 'static,
{
    let handle = router.shutdown_handle();
    let task = tokio::spawn(router.serve(listener));
    Running { handle, task }
}

/// Connects, retrying while the server is still binding.
async fn connect(endpoint: &str) -> Channel {
    within("connect", async {
        loop {
            match Channel::connect(endpoint).await {
                Ok(channel) => return channel,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                    ) =>
                {
                    tokio::time::sleep(Duration::from_millis(10)).await
                }
                Err(e) => panic!("connecting to {endpoint}: {e}"),
            }
        }
    })
    .await
}

async fn echo(channel: &Channel, msg: &str) -> Result<String, wren_transport::codec::Status> {
    let mut client = Client::new(channel.clone());
    let reply: Response<Echo> = within(
        "echo",
        client.unary(Request::new(Echo { msg: msg.into() }), SERVICE, "Echo"),
    )
    .await?;
    Ok(reply.into_inner().msg)
}

async fn who(channel: &Channel) -> Who {
    let mut client = Client::new(channel.clone());
    let reply: Response<Who> = within(
        "who",
        client.unary(Request::new(Echo::default()), SERVICE, "Who"),
    )
    .await
    .unwrap();
    reply.into_inner()
}

fn unique(what: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "wren-server-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[tokio::test]
async fn serve_and_connect_with_unix_uris() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("unix://{}", dir.path().join("uri.sock").display());
    let server = spawn(router(), uri.clone());
    let channel = connect(&uri).await;
    assert_eq!(echo(&channel, "over a uri").await.unwrap(), "over a uri");
    let seen = who(&channel).await;
    assert!(seen.has_credentials);
    assert!(seen.addr.starts_with("unix"), "{}", seen.addr);

    // A bare absolute path is a unix socket too.
    let bare = dir.path().join("uri.sock").display().to_string();
    let channel = connect(&bare).await;
    assert_eq!(echo(&channel, "bare").await.unwrap(), "bare");
    server.stop().await;
    // The socket file goes with the server.
    assert!(!dir.path().join("uri.sock").exists());
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn serve_and_connect_on_an_abstract_socket() {
    let endpoint = Endpoint::parse(&format!("unix://@{}", unique("abstract"))).unwrap();
    let server = spawn(router(), endpoint.clone());
    let channel = within("connect", async {
        loop {
            match Channel::connect(&endpoint).await {
                Ok(channel) => return channel,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await;
    assert_eq!(echo(&channel, "abstract").await.unwrap(), "abstract");
    assert!(who(&channel).await.has_credentials);
    server.stop().await;
}

#[tokio::test]
async fn serve_and_connect_over_tcp() {
    let listener = Endpoint::tcp("127.0.0.1", 0).bind().await.unwrap();
    let endpoint = listener.local_endpoint().unwrap().unwrap();
    let server = spawn(router(), listener);
    let channel = connect(&endpoint.to_string()).await;
    assert_eq!(echo(&channel, "tcp").await.unwrap(), "tcp");
    let seen = who(&channel).await;
    assert!(!seen.has_credentials, "TCP peers have no credentials");
    assert!(seen.addr.starts_with("tcp://127.0.0.1:"), "{}", seen.addr);
    server.stop().await;
}

#[tokio::test]
async fn serve_on_already_bound_std_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("std.sock");
    let std_unix = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = spawn(router(), std_unix);
    let channel = connect(&format!("unix://{}", path.display())).await;
    assert_eq!(echo(&channel, "std unix").await.unwrap(), "std unix");
    server.stop().await;

    let std_tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = std_tcp.local_addr().unwrap().port();
    let server = spawn(router(), std_tcp);
    let channel = connect(&format!("tcp://127.0.0.1:{port}")).await;
    assert_eq!(echo(&channel, "std tcp").await.unwrap(), "std tcp");
    server.stop().await;
}

#[tokio::test]
async fn serve_fails_at_once_on_a_bad_endpoint() {
    let bad = router();
    let handle = bad.shutdown_handle();
    let err = within("serve", bad.serve("tcp://127.0.0.1:65536"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    // The handle does not wait for a server that never started.
    within("handle", handle.wait()).await;

    // A path where a live server accepts is not taken over.
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("unix://{}", dir.path().join("live.sock").display());
    let first = spawn(router(), uri.clone());
    let channel = connect(&uri).await;
    let err = within("second serve", router().serve(uri.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    assert_eq!(echo(&channel, "first").await.unwrap(), "first");
    first.stop().await;
}

#[tokio::test]
async fn connecting_to_a_bad_uri_fails_with_invalid_input() {
    for uri in ["", "http://x:1", "tcp://x", "vsock://cid:1", "unix://"] {
        let err = Channel::connect(uri).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{uri:?}: {err}");
    }
}

// ===== hybrid vsock =====

#[derive(Clone, Copy, Debug)]
enum Proxy {
    /// Answers `OK` and splices the connection to the ttrpc server.
    Forward,
    /// Answers that nothing listens on the guest port.
    Refuse,
    /// Never answers.
    Silent,
}

/// A VMM's hybrid vsock socket at `path`: reads `CONNECT <port>\n`, and
/// for guest port `port` forwards to the ttrpc server at `target`.
fn spawn_proxy(path: &Path, port: u32, target: &Path, behaviour: Proxy) -> JoinHandle<()> {
    let listener = UnixListener::bind(path).unwrap();
    let target = target.to_path_buf();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let target = target.clone();
            tokio::spawn(async move {
                let mut line = Vec::new();
                let mut b = [0u8];
                while stream.read(&mut b).await.unwrap_or(0) == 1 && b[0] != b'\n' {
                    line.push(b[0]);
                }
                let wanted = format!("CONNECT {port}");
                match behaviour {
                    Proxy::Forward if line == wanted.as_bytes() => {
                        let mut guest = UnixStream::connect(&target).await.unwrap();
                        stream.write_all(b"OK 1073741824\n").await.unwrap();
                        let _ = tokio::io::copy_bidirectional(&mut stream, &mut guest).await;
                    }
                    Proxy::Forward | Proxy::Refuse => {
                        let _ = stream.write_all(b"FAILURE\n").await;
                    }
                    Proxy::Silent => {
                        let mut rest = Vec::new();
                        let _ = stream.read_to_end(&mut rest).await;
                    }
                }
            });
        }
    })
}

#[tokio::test]
async fn ttrpc_over_hybrid_vsock() {
    let dir = tempfile::tempdir().unwrap();
    let guest = dir.path().join("guest.sock");
    let vmm = dir.path().join("kata.hvsock");
    let server = spawn(router(), format!("unix://{}", guest.display()));
    let _proxy = spawn_proxy(&vmm, 1024, &guest, Proxy::Forward);
    // Wait for the guest server, then go through the proxy.
    drop(connect(&format!("unix://{}", guest.display())).await);

    let channel = within(
        "hvsock connect",
        Channel::connect(format!("hvsock://{}:1024", vmm.display())),
    )
    .await
    .unwrap();
    for i in 0..3 {
        let msg = format!("through the vmm {i}");
        assert_eq!(echo(&channel, &msg).await.unwrap(), msg);
    }

    // A port nothing listens on in the guest: refused, with the proxy's answer.
    let err = within(
        "refused",
        Channel::connect(format!("hvsock://{}:2048", vmm.display())),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    assert!(err.to_string().contains("FAILURE"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn hybrid_vsock_refused_and_silent_proxies() {
    let dir = tempfile::tempdir().unwrap();
    let refusing = dir.path().join("refusing.hvsock");
    let silent = dir.path().join("silent.hvsock");
    let nowhere = dir.path().join("nowhere.sock");
    let _a = spawn_proxy(&refusing, 1024, &nowhere, Proxy::Refuse);
    let _b = spawn_proxy(&silent, 1024, &nowhere, Proxy::Silent);

    let err = within(
        "refused",
        Channel::connect(format!("hvsock://{}:1024", refusing.display())),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");

    let options = ConnectOptions::new().handshake_timeout(Duration::from_millis(200));
    let started = std::time::Instant::now();
    let err = within(
        "silent",
        Channel::builder().connect_with_options(
            Endpoint::HybridVsock {
                path: silent.clone(),
                port: 1024,
            },
            &options,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn peer_addresses_render_as_uris() {
    // PeerAddr renders as the URI scheme of its transport.
    let tcp = PeerAddr::Tcp("127.0.0.1:80".parse().unwrap());
    assert_eq!(tcp.to_string(), "tcp://127.0.0.1:80");
    let vsock = PeerAddr::Vsock { cid: 3, port: 1024 };
    assert_eq!(vsock.to_string(), "vsock://3:1024");
}

#[tokio::test]
async fn serve_connection_serves_one_pre_connected_socket_until_the_peer_closes() {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let info = wren_transport::ConnectInfo::from_unix(&ours);
    let server = tokio::spawn(router().serve_connection(ours, info));
    let channel = Channel::new(theirs);
    assert_eq!(
        echo(&channel, "pre-connected").await.unwrap(),
        "pre-connected"
    );
    let me = who(&channel).await;
    assert!(me.has_credentials, "a socketpair peer has credentials");
    assert_eq!(me.uid, unsafe_free_uid());
    drop(channel);
    // The client's connection task closes the socket once every handle is
    // gone; the server sees the end of the stream and returns cleanly.
    within("serve_connection returns", server)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn serve_connection_ends_on_shutdown_and_applies_the_peer_policy() {
    // Graceful shutdown through the router's handle ends the connection.
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let router = router();
    let handle = router.shutdown_handle();
    let server = tokio::spawn(router.serve_connection(ours, wren_transport::ConnectInfo::new()));
    let channel = Channel::new(theirs);
    assert_eq!(echo(&channel, "duplex").await.unwrap(), "duplex");
    within("shutdown", handle.shutdown()).await;
    within("serve_connection returns", server)
        .await
        .unwrap()
        .unwrap();

    // A peer the policy rejects is dropped unread: its calls fail.
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let router = Server::builder()
        .peer_policy(wren_server::PeerPolicy::require_root())
        .add_service(Methods::new(SERVICE));
    let server = tokio::spawn(router.serve_connection(ours, wren_transport::ConnectInfo::new()));
    within("rejected serve_connection returns", server)
        .await
        .unwrap()
        .unwrap();
    let err = echo(&Channel::new(theirs), "x").await.unwrap_err();
    assert!(wren_transport::is_closed(&err), "{err:?}");
}

/// This process's uid, read from /proc (no libc call, no unsafe).
fn unsafe_free_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}
