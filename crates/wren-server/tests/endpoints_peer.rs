//! Peer identity and accept limits: credentials in every request, peer
//! policies (Go's UnixSocketRequire*), the accept hook and the data it
//! attaches, the handshake timeout, silent peers, and the connection limit.
#![allow(missing_docs)]

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::task::JoinHandle;
use tower_layer::Layer;
use tower_service::Service;
use wren_client::{Channel, Client};
use wren_server::{Methods, PeerPolicy, Router, Routes, Server, ShutdownHandle};
use wren_test_support::within;
use wren_transport::codec::{Code, Status, proto};
use wren_transport::{
    Body, BoxError, ConnectInfo, Endpoint, Peer, PeerCredentials, Request, Response,
};

const SERVICE: &str = "wren.test.Peers";

fn own() -> PeerCredentials {
    let (a, _b) = UnixStream::pair().unwrap();
    PeerCredentials::of(&a).unwrap()
}

#[derive(Clone, PartialEq, prost::Message)]
struct Who {
    #[prost(uint32, tag = "1")]
    uid: u32,
    #[prost(uint32, tag = "2")]
    gid: u32,
    #[prost(int32, tag = "3")]
    pid: i32,
    #[prost(string, tag = "4")]
    identity: String,
    #[prost(string, tag = "5")]
    seen_by_layer: String,
    #[prost(uint32, tag = "6")]
    sleep_ms: u32,
}

/// What an accept hook attaches to a connection.
#[derive(Debug)]
struct Identity(String);

/// What a tower layer read from the connection's peer.
#[derive(Debug)]
struct SeenByLayer(String);

fn service() -> Methods {
    Methods::new(SERVICE).unary("Who", |req: Request<Who>| async move {
        if req.get_ref().sleep_ms > 0 {
            tokio::time::sleep(Duration::from_millis(req.get_ref().sleep_ms.into())).await;
        }
        let peer = req.extensions().get::<Peer>().expect("peer in extensions");
        let creds = peer.credentials().copied();
        Ok(Response::new(Who {
            uid: creds.map_or(u32::MAX, |c| c.uid),
            gid: creds.map_or(u32::MAX, |c| c.gid),
            pid: creds.and_then(|c| c.pid).unwrap_or(-1),
            identity: peer
                .get::<Identity>()
                .map(|i| i.0.clone())
                .unwrap_or_default(),
            seen_by_layer: req
                .extensions()
                .get::<SeenByLayer>()
                .map(|s| s.0.clone())
                .unwrap_or_default(),
            sleep_ms: 0,
        }))
    })
}

struct Running {
    uri: String,
    handle: ShutdownHandle,
    task: JoinHandle<io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Running {
    fn path(&self) -> &str {
        self.uri.strip_prefix("unix://").unwrap()
    }

    async fn channel(&self) -> Channel {
        within("connect", Channel::connect(&self.uri))
            .await
            .unwrap()
    }

    async fn stop(self) {
        within("shutdown", self.handle.shutdown()).await;
        within("serve returns", self.task).await.unwrap().unwrap();
    }
}

/// Binds a unix socket first (so clients can connect at once), then serves.
async fn spawn<L>(router: Router<L>) -> Running
where
    L: Layer<Routes> + Send + 'static,
    L::Service: Service<Request<Body>, Response = Response<Body>> + Clone + Send + Unpin + 'static,
    <L::Service as Service<Request<Body>>>::Error: Into<BoxError> + Send,
    <L::Service as Service<Request<Body>>>::Future: Send + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("unix://{}", dir.path().join("peer.sock").display());
    let listener = Endpoint::parse(&uri).unwrap().bind().await.unwrap();
    let handle = router.shutdown_handle();
    let task = tokio::spawn(router.serve(listener));
    Running {
        uri,
        handle,
        task,
        _dir: dir,
    }
}

async fn who(channel: &Channel) -> Result<Who, Status> {
    who_sleeping(channel, 0).await
}

async fn who_sleeping(channel: &Channel, sleep_ms: u32) -> Result<Who, Status> {
    let mut client = Client::new(channel.clone());
    let req = Request::new(Who {
        sleep_ms,
        ..Who::default()
    });
    let reply: Response<Who> = within("call", client.unary(req, SERVICE, "Who")).await?;
    Ok(reply.into_inner())
}

/// A Request frame for `Who`, by hand.
fn request_frame() -> Vec<u8> {
    let envelope = proto::Request {
        service: SERVICE.into(),
        method: "Who".into(),
        payload: Who::default().encode_to_vec().into(),
        timeout_nano: 0,
        metadata: Vec::new(),
    }
    .encode_to_vec();
    let mut frame = Vec::new();
    frame.extend_from_slice(&(envelope.len() as u32).to_be_bytes());
    frame.extend_from_slice(&1u32.to_be_bytes()); // stream 1
    frame.push(1); // Request
    frame.push(0); // no flags
    frame.extend_from_slice(&envelope);
    frame
}

/// Sends a request frame on a raw connection and asserts the server closes
/// it without answering a byte.
async fn assert_closed_unanswered(path: &str) {
    let mut raw = within("raw connect", UnixStream::connect(path))
        .await
        .unwrap();
    // The write may fail if the server already closed the socket.
    let _ = raw.write_all(&request_frame()).await;
    let mut buf = [0u8; 64];
    match within("close", raw.read(&mut buf)).await {
        Ok(0) => {}
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Ok(n) => panic!("a rejected peer got {n} bytes: {:?}", &buf[..n]),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

fn assert_unavailable(result: Result<Who, Status>) {
    let status = result.expect_err("the connection should have been closed");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
}

// ===== credentials in every request =====

#[tokio::test]
async fn handlers_see_the_peer_credentials() {
    let server = spawn(Server::builder().add_service(service())).await;
    let channel = server.channel().await;
    let me = own();
    for _ in 0..3 {
        let seen = who(&channel).await.unwrap();
        assert_eq!((seen.uid, seen.gid), (me.uid, me.gid));
        assert_eq!(seen.pid, std::process::id() as i32);
    }
    server.stop().await;
}

// ===== policies =====

#[tokio::test]
async fn a_policy_rejecting_this_uid_closes_the_connection_unread() {
    let me = own();
    let policy = PeerPolicy::require_uid_gid(Some(me.uid.wrapping_add(1)), None);
    // The policy itself says why.
    let info = ConnectInfo::new().with_credentials(me);
    let err = policy.check(&info).unwrap_err();
    assert_eq!(err.found(), Some(&me));
    assert!(err.to_string().contains("rejected"), "{err}");

    let server = spawn(Server::builder().peer_policy(policy).add_service(service())).await;
    // Raw: the request frame is never answered; the server closes.
    assert_closed_unanswered(server.path()).await;
    // A ttrpc client sees UNAVAILABLE; and the server keeps accepting (and
    // rejecting) connections.
    for _ in 0..3 {
        let channel = server.channel().await;
        assert_unavailable(who(&channel).await);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_policy_on_gid_rejects_too() {
    let me = own();
    let policy = PeerPolicy::require_uid_gid(None, Some(me.gid.wrapping_add(1)));
    let server = spawn(Server::builder().peer_policy(policy).add_service(service())).await;
    assert_closed_unanswered(server.path()).await;
    server.stop().await;
}

#[tokio::test]
async fn policies_that_match_this_process_accept_it() {
    let me = own();
    let mut policies = vec![
        PeerPolicy::require_same_user(),
        PeerPolicy::require_uid_gid(Some(me.uid), Some(me.gid)),
        PeerPolicy::require_uid_gid(Some(me.uid), None),
        PeerPolicy::require_uid_gid(None, None),
    ];
    let root = me.uid == 0 && me.gid == 0;
    if root {
        policies.push(PeerPolicy::require_root());
    }
    for policy in policies {
        let server = spawn(Server::builder().peer_policy(policy).add_service(service())).await;
        let channel = server.channel().await;
        let seen = who(&channel)
            .await
            .unwrap_or_else(|e| panic!("{policy}: {e:?}"));
        assert_eq!(seen.uid, me.uid);
        server.stop().await;
    }
    if !root {
        let server = spawn(
            Server::builder()
                .peer_policy(PeerPolicy::require_root())
                .add_service(service()),
        )
        .await;
        assert_closed_unanswered(server.path()).await;
        server.stop().await;
    }
}

#[tokio::test]
async fn peers_without_credentials_fail_every_policy() {
    let listener = Endpoint::tcp("127.0.0.1", 0).bind().await.unwrap();
    let uri = listener.local_endpoint().unwrap().unwrap().to_string();
    let router = Server::builder()
        .peer_policy(PeerPolicy::require_uid_gid(None, None))
        .add_service(service());
    let handle = router.shutdown_handle();
    let task = tokio::spawn(router.serve(listener));
    let channel = within("connect", Channel::connect(&uri)).await.unwrap();
    assert_unavailable(who(&channel).await);
    within("shutdown", handle.shutdown()).await;
    task.await.unwrap().unwrap();
}

// ===== the accept hook =====

#[tokio::test]
async fn the_accept_hook_attaches_an_identity_for_handlers_and_layers() {
    let router = Server::builder()
        .layer(tower::util::MapRequestLayer::new(
            |mut req: Request<Body>| {
                let name = req
                    .extensions()
                    .get::<Peer>()
                    .and_then(|p| p.get::<Identity>())
                    .map(|i| format!("layer saw {}", i.0))
                    .unwrap_or_default();
                req.extensions_mut().insert(SeenByLayer(name));
                req
            },
        ))
        .accept_hook(|info: ConnectInfo| async move {
            let uid = info.credentials().ok_or("no credentials")?.uid;
            Ok(info.with(Identity(format!("user-{uid}"))))
        })
        .add_service(service());
    let server = spawn(router).await;
    let channel = server.channel().await;
    let me = own();
    let seen = who(&channel).await.unwrap();
    assert_eq!(seen.identity, format!("user-{}", me.uid));
    assert_eq!(seen.seen_by_layer, format!("layer saw user-{}", me.uid));
    assert_eq!(
        seen.uid, me.uid,
        "credentials stay available next to hook data"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_accept_hook_can_reject_and_the_server_keeps_accepting() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let router = Server::builder()
        .accept_hook(move |info: ConnectInfo| {
            let n = seen.fetch_add(1, Ordering::SeqCst);
            async move {
                if n % 2 == 0 {
                    return Err(BoxError::from(format!("connection {n} is not welcome")));
                }
                Ok(info)
            }
        })
        .add_service(service());
    let server = spawn(router).await;
    for round in 0..2 {
        // Even connections are rejected before anything is read...
        assert_closed_unanswered(server.path()).await;
        // ...odd ones are served.
        let channel = server.channel().await;
        let seen = who(&channel).await;
        assert!(seen.is_ok(), "round {round}: {seen:?}");
    }
    assert_eq!(count.load(Ordering::SeqCst), 4);
    server.stop().await;
}

#[tokio::test]
async fn a_hook_that_never_finishes_is_cut_off_by_the_handshake_timeout() {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let timeout = Duration::from_secs(1);
    let router = Server::builder()
        .handshake_timeout(timeout)
        .accept_hook(move |info: ConnectInfo| {
            let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    std::future::pending::<()>().await;
                }
                Ok(info)
            }
        })
        .add_service(service());
    let server = spawn(router).await;

    let started = Instant::now();
    let mut stuck = within("raw connect", UnixStream::connect(server.path()))
        .await
        .unwrap();
    // While the first connection's hook hangs, others are accepted and served:
    // the first one is still open (its hook still pending) when they are done.
    let channel = server.channel().await;
    who(&channel).await.unwrap();
    let mut buf = [0u8; 8];
    assert!(
        matches!(stuck.try_read(&mut buf), Err(e) if e.kind() == io::ErrorKind::WouldBlock),
        "the second connection waited for the first one's hook ({:?})",
        started.elapsed()
    );
    // The stuck one is closed once the timeout passes.
    let n = within("timeout close", stuck.read(&mut buf))
        .await
        .unwrap_or(0);
    assert_eq!(n, 0);
    let waited = started.elapsed();
    assert!(
        waited >= timeout && waited < timeout + Duration::from_secs(5),
        "{waited:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_peer_that_sends_nothing_holds_up_nobody() {
    let hooked = Server::builder()
        .accept_hook(|info: ConnectInfo| async move { Ok::<_, BoxError>(info) })
        .add_service(service());
    for router in [Server::builder().add_service(service()), hooked] {
        let server = spawn(router).await;
        let mut silent = Vec::new();
        for _ in 0..5 {
            silent.push(UnixStream::connect(server.path()).await.unwrap());
        }
        let channel = server.channel().await;
        for _ in 0..3 {
            who(&channel).await.unwrap();
        }
        // The silent peers are still connected and still unanswered.
        for s in &silent {
            let mut buf = [0u8; 1];
            assert!(matches!(
                s.try_read(&mut buf),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock
            ));
        }
        drop(silent);
        server.stop().await;
    }
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_hanging_hook() {
    let router = Server::builder()
        .handshake_timeout(Duration::from_secs(3600))
        .accept_hook(|_info: ConnectInfo| async move {
            std::future::pending::<Result<ConnectInfo, BoxError>>().await
        })
        .add_service(service());
    let server = spawn(router).await;
    let mut stuck = UnixStream::connect(server.path()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    server.stop().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let mut buf = [0u8; 1];
    assert_eq!(within("closed", stuck.read(&mut buf)).await.unwrap_or(0), 0);
}

// ===== the connection limit =====

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() {
    let server = spawn(Server::builder().max_connections(2).add_service(service())).await;
    let a = server.channel().await;
    let b = server.channel().await;
    who(&a).await.unwrap();
    who(&b).await.unwrap();

    // The third is accepted and closed: its call fails at once.
    let c = server.channel().await;
    let started = Instant::now();
    assert_unavailable(who(&c).await);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_closed_unanswered(server.path()).await;

    // A call in flight on a served connection is unaffected.
    let slow = tokio::spawn({
        let a = a.clone();
        async move { who_sleeping(&a, 100).await }
    });
    assert_unavailable(who(&server.channel().await).await);
    slow.await.unwrap().unwrap();

    // Once a connection closes, its place is free again.
    drop(b);
    within("a free place", async {
        loop {
            let d = server.channel().await;
            if who(&d).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    who(&a).await.unwrap();
    server.stop().await;
}
