//! Endpoints: URI parsing (good and bad), binding and connecting every
//! kind, stale unix sockets, file modes, abstract names, TCP_NODELAY, peer
//! credentials, std listeners and descriptors, and the hybrid vsock
//! handshake against an in-test proxy.
#![allow(missing_docs)]

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use wren_test_support::{unique_name, within};
use wren_transport::{
    BindOptions, ConnectOptions, Endpoint, EndpointErrorKind, EndpointListener, EndpointStream,
    HybridVsockError, IntoListener, Listener, MAX_UNIX_PATH_LEN, PeerAddr, PeerCredentials,
    VMADDR_CID_ANY,
};

/// This process's effective credentials, as the kernel reports them.
fn own_credentials() -> PeerCredentials {
    let (a, _b) = UnixStream::pair().unwrap();
    PeerCredentials::of(&a).unwrap()
}

/// Writes `msg` on one end and reads it on the other.
async fn exchange(a: &mut EndpointStream, b: &mut EndpointStream, msg: &[u8]) {
    a.write_all(msg).await.unwrap();
    let mut buf = vec![0u8; msg.len()];
    within("echo", b.read_exact(&mut buf)).await.unwrap();
    assert_eq!(buf, msg);
}

/// Connects to `endpoint` and accepts the connection on `listener`.
async fn pair(
    listener: &mut EndpointListener,
    endpoint: &Endpoint,
) -> (EndpointStream, EndpointStream) {
    let (client, server) = tokio::join!(endpoint.connect(), listener.accept());
    (client.unwrap(), server.unwrap())
}

// ===== parsing =====

#[test]
fn parses_the_uris_users_write() {
    let cases: &[(&str, Endpoint, &str)] = &[
        (
            "unix:///run/containerd/containerd.sock.ttrpc",
            Endpoint::Unix("/run/containerd/containerd.sock.ttrpc".into()),
            "unix:///run/containerd/containerd.sock.ttrpc",
        ),
        (
            "/run/x.sock",
            Endpoint::Unix("/run/x.sock".into()),
            "unix:///run/x.sock",
        ),
        (
            "unix://relative.sock",
            Endpoint::Unix("relative.sock".into()),
            "unix://relative.sock",
        ),
        (
            "UNIX:///run/x.sock",
            Endpoint::Unix("/run/x.sock".into()),
            "unix:///run/x.sock",
        ),
        (
            "unix://@/containerd-shim/abc.sock",
            Endpoint::UnixAbstract(b"/containerd-shim/abc.sock".to_vec()),
            "unix://@/containerd-shim/abc.sock",
        ),
        (
            "tcp://127.0.0.1:1234",
            Endpoint::tcp("127.0.0.1", 1234),
            "tcp://127.0.0.1:1234",
        ),
        (
            "tcp://localhost:0",
            Endpoint::tcp("localhost", 0),
            "tcp://localhost:0",
        ),
        (
            "tcp://[::1]:65535",
            Endpoint::tcp("::1", 65535),
            "tcp://[::1]:65535",
        ),
        (
            "vsock://-1:1024",
            Endpoint::vsock(VMADDR_CID_ANY, 1024),
            "vsock://-1:1024",
        ),
        (
            "vsock://any:1024",
            Endpoint::vsock(VMADDR_CID_ANY, 1024),
            "vsock://-1:1024",
        ),
        (
            "vsock://3:4294967295",
            Endpoint::vsock(3, u32::MAX),
            "vsock://3:4294967295",
        ),
        (
            "hvsock:///run/vc/firecracker/abc/root/kata.hvsock:1024",
            Endpoint::HybridVsock {
                path: "/run/vc/firecracker/abc/root/kata.hvsock".into(),
                port: 1024,
            },
            "hvsock:///run/vc/firecracker/abc/root/kata.hvsock:1024",
        ),
    ];
    for (input, expected, canonical) in cases {
        let parsed: Endpoint = input
            .parse()
            .unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
        assert_eq!(&parsed, expected, "{input}");
        assert_eq!(parsed.to_string(), *canonical, "{input}");
        // The canonical form parses back to the same endpoint.
        assert_eq!(
            &Endpoint::parse(canonical).unwrap(),
            expected,
            "{canonical}"
        );
    }
}

#[test]
fn rejects_bad_uris_with_typed_errors() {
    let long = format!("unix:///{}", "a".repeat(MAX_UNIX_PATH_LEN));
    let long_abstract = format!("unix://@{}", "a".repeat(MAX_UNIX_PATH_LEN + 1));
    let long_hvsock = format!("hvsock:///{}:1024", "a".repeat(MAX_UNIX_PATH_LEN));
    let cases: Vec<(&str, EndpointErrorKind)> = vec![
        ("", EndpointErrorKind::Empty),
        ("run/x.sock", EndpointErrorKind::MissingScheme),
        ("localhost:1234", EndpointErrorKind::MissingScheme),
        (
            "http://localhost:80",
            EndpointErrorKind::UnknownScheme("http".into()),
        ),
        (
            "npipe://./pipe/x",
            EndpointErrorKind::UnknownScheme("npipe".into()),
        ),
        ("unix://", EndpointErrorKind::MissingPath),
        ("unix://@", EndpointErrorKind::MissingPath),
        ("unix:///a\0b", EndpointErrorKind::NulInPath),
        (
            &long,
            EndpointErrorKind::PathTooLong {
                len: MAX_UNIX_PATH_LEN + 1,
                max: MAX_UNIX_PATH_LEN,
            },
        ),
        (
            &long_abstract,
            EndpointErrorKind::PathTooLong {
                len: MAX_UNIX_PATH_LEN + 1,
                max: MAX_UNIX_PATH_LEN,
            },
        ),
        (
            &long_hvsock,
            EndpointErrorKind::PathTooLong {
                len: MAX_UNIX_PATH_LEN + 1,
                max: MAX_UNIX_PATH_LEN,
            },
        ),
        ("tcp://localhost", EndpointErrorKind::MissingPort),
        ("tcp://localhost:", EndpointErrorKind::MissingPort),
        ("tcp://:1234", EndpointErrorKind::MissingHost),
        ("tcp://[::1]", EndpointErrorKind::MissingPort),
        ("tcp://[::1", EndpointErrorKind::InvalidHost("[::1".into())),
        ("tcp://::1:80", EndpointErrorKind::InvalidHost("::1".into())),
        (
            "tcp://localhost:http",
            EndpointErrorKind::InvalidPort("http".into()),
        ),
        (
            "tcp://localhost:80/path",
            EndpointErrorKind::InvalidPort("80/path".into()),
        ),
        (
            "tcp://localhost:65536",
            EndpointErrorKind::PortOutOfRange {
                value: "65536".into(),
                max: 65535,
            },
        ),
        (
            "tcp://localhost:-1",
            EndpointErrorKind::PortOutOfRange {
                value: "-1".into(),
                max: 65535,
            },
        ),
        (
            "tcp://localhost:99999999999",
            EndpointErrorKind::PortOutOfRange {
                value: "99999999999".into(),
                max: 65535,
            },
        ),
        ("vsock://3", EndpointErrorKind::MissingPort),
        (
            "vsock://host:1024",
            EndpointErrorKind::InvalidCid("host".into()),
        ),
        (
            "vsock://-2:1024",
            EndpointErrorKind::InvalidCid("-2".into()),
        ),
        (
            "vsock://4294967296:1024",
            EndpointErrorKind::InvalidCid("4294967296".into()),
        ),
        (
            "vsock://3:4294967296",
            EndpointErrorKind::PortOutOfRange {
                value: "4294967296".into(),
                max: u32::MAX,
            },
        ),
        ("vsock://3:x", EndpointErrorKind::InvalidPort("x".into())),
        ("hvsock:///run/kata.hvsock", EndpointErrorKind::MissingPort),
        ("hvsock://:1024", EndpointErrorKind::MissingPath),
    ];
    for (input, expected) in cases {
        let err = Endpoint::parse(input).expect_err(input);
        assert_eq!(err.kind(), &expected, "{input:?}: {err}");
        assert_eq!(err.input(), input);
        // Messages name the input.
        assert!(err.to_string().contains(&format!("{input:?}")), "{err}");
    }
    // As an io::Error (what connect and serve return), InvalidInput with the
    // typed error as the source.
    let io_err: io::Error = Endpoint::parse("tcp://x:99999").unwrap_err().into();
    assert_eq!(io_err.kind(), io::ErrorKind::InvalidInput);
    let inner = io_err
        .get_ref()
        .and_then(|e| e.downcast_ref::<wren_transport::EndpointError>())
        .expect("EndpointError source");
    assert!(matches!(
        inner.kind(),
        EndpointErrorKind::PortOutOfRange { .. }
    ));
}

#[tokio::test]
async fn a_bad_uri_fails_serving_and_connecting_with_invalid_input() {
    let err = "tcp://localhost:65536".into_listener().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = "bogus://x".to_owned().into_listener().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

// ===== unix sockets =====

#[tokio::test]
async fn unix_round_trip_with_peer_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wren.sock");
    let endpoint = Endpoint::unix(&path);
    let mut listener = endpoint.bind().await.unwrap();
    assert_eq!(listener.local_endpoint().unwrap(), Some(endpoint.clone()));
    let (mut client, mut server) = pair(&mut listener, &endpoint).await;
    exchange(&mut client, &mut server, b"ping").await;
    exchange(&mut server, &mut client, b"pong").await;

    let info = listener.connect_info(&server);
    let creds = info.credentials().expect("unix peers have credentials");
    let own = own_credentials();
    assert_eq!((creds.uid, creds.gid), (own.uid, own.gid));
    assert_eq!(creds.pid, Some(std::process::id() as i32));
    assert!(matches!(info.peer_addr(), Some(PeerAddr::Unix(_))));
}

#[tokio::test]
async fn a_stale_socket_file_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stale.sock");
    // A server that died without cleaning up: the file stays, nothing accepts.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    assert_eq!(
        UnixStream::connect(&path).await.unwrap_err().kind(),
        io::ErrorKind::ConnectionRefused
    );

    let endpoint = Endpoint::unix(&path);
    let mut listener = endpoint.bind().await.expect("stale socket taken over");
    let (mut client, mut server) = pair(&mut listener, &endpoint).await;
    exchange(&mut client, &mut server, b"fresh").await;
}

#[tokio::test]
async fn a_stale_socket_is_kept_when_told_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let err = Endpoint::unix(&path)
        .bind_with(&BindOptions::new().remove_stale(false))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(path.exists());
}

#[tokio::test]
async fn a_live_socket_is_never_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.sock");
    let endpoint = Endpoint::unix(&path);
    let mut first = endpoint.bind().await.unwrap();

    let err = endpoint.bind().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
    assert!(err.to_string().contains("accepting"), "{err}");

    // The first server still owns the path. (The probe's connection sits in
    // its backlog; accept it first.)
    let _probe = within("probe connection", first.accept()).await.unwrap();
    let (mut client, mut server) = pair(&mut first, &endpoint).await;
    exchange(&mut client, &mut server, b"still mine").await;
}

#[tokio::test]
async fn a_file_that_is_not_a_socket_is_never_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("precious.txt");
    std::fs::write(&path, b"data").unwrap();
    let err = Endpoint::unix(&path).bind().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"data");
}

#[tokio::test]
async fn the_socket_file_gets_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o600, 0o660, 0o666] {
        let path = dir.path().join(format!("mode-{mode:o}.sock"));
        let _listener = Endpoint::unix(&path)
            .bind_with(&BindOptions::new().mode(mode))
            .await
            .unwrap();
        let actual = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(actual, mode, "{mode:o}");
    }
}

#[tokio::test]
async fn the_socket_file_is_removed_with_its_listener() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone.sock");
    let listener = Endpoint::unix(&path).bind().await.unwrap();
    assert!(path.exists());
    drop(listener);
    assert!(!path.exists());

    let listener = Endpoint::unix(&path)
        .bind_with(&BindOptions::new().unlink_on_drop(false))
        .await
        .unwrap();
    drop(listener);
    assert!(path.exists());

    // A listener does not remove a file that another server has put there since.
    let first = Endpoint::unix(&path).bind().await.unwrap();
    std::fs::remove_file(&path).unwrap();
    let _second = Endpoint::unix(&path).bind().await.unwrap();
    drop(first);
    assert!(path.exists(), "the second server's socket must survive");
}

/// A path of exactly `len` bytes under a fresh temporary directory.
fn path_of_len(dir: &Path, len: usize) -> PathBuf {
    let base = dir.as_os_str().len() + 1;
    assert!(
        base < len,
        "temporary directory path too long for this test"
    );
    dir.join("s".repeat(len - base))
}

#[tokio::test]
async fn sun_path_limit() {
    let dir = tempfile::tempdir_in("/tmp").unwrap();
    // The longest path that fits works...
    let longest = path_of_len(dir.path(), MAX_UNIX_PATH_LEN);
    let endpoint = Endpoint::unix(&longest);
    let mut listener = endpoint.bind().await.expect("a path of the maximum length");
    let (mut client, mut server) = pair(&mut listener, &endpoint).await;
    exchange(&mut client, &mut server, b"fits").await;

    // ...one byte more is refused by the parser, by bind and by connect.
    let too_long = path_of_len(dir.path(), MAX_UNIX_PATH_LEN + 1);
    let uri = format!("unix://{}", too_long.display());
    assert!(matches!(
        Endpoint::parse(&uri).unwrap_err().kind(),
        EndpointErrorKind::PathTooLong { .. }
    ));
    let endpoint = Endpoint::unix(&too_long);
    let err = endpoint.bind().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let err = endpoint.connect().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

#[tokio::test]
async fn connecting_to_nothing_fails() {
    let dir = tempfile::tempdir().unwrap();
    let err = Endpoint::unix(dir.path().join("absent.sock"))
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn abstract_socket_round_trip() {
    let name = unique_name("abstract");
    let endpoint = Endpoint::parse(&format!("unix://@{name}")).unwrap();
    let mut listener = endpoint.bind().await.unwrap();
    assert_eq!(listener.local_endpoint().unwrap(), Some(endpoint.clone()));
    let (mut client, mut server) = pair(&mut listener, &endpoint).await;
    exchange(&mut client, &mut server, b"abstract").await;
    let info = listener.connect_info(&server);
    assert_eq!(info.credentials().unwrap().uid, own_credentials().uid);

    // No file anywhere, and the name is taken while the listener lives.
    assert!(!Path::new(&name).exists());
    let err = endpoint.bind().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    // Abstract sockets have no mode to set.
    let err = Endpoint::UnixAbstract(unique_name("mode").into_bytes())
        .bind_with(&BindOptions::new().mode(0o600))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);

    drop(listener);
    let err = endpoint.connect().await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}

// ===== TCP =====

fn nodelay(stream: &EndpointStream) -> bool {
    match stream {
        EndpointStream::Tcp(s) => s.nodelay().unwrap(),
        other => panic!("not TCP: {other:?}"),
    }
}

#[tokio::test]
async fn tcp_round_trip_with_nodelay_on_both_sides() {
    let mut listener = Endpoint::parse("tcp://127.0.0.1:0")
        .unwrap()
        .bind()
        .await
        .unwrap();
    let endpoint = listener.local_endpoint().unwrap().unwrap();
    let Endpoint::Tcp { port, .. } = &endpoint else {
        panic!("{endpoint:?}")
    };
    assert_ne!(*port, 0);
    let (mut client, mut server) = pair(&mut listener, &endpoint).await;
    exchange(&mut client, &mut server, b"tcp").await;
    assert!(nodelay(&client), "client side TCP_NODELAY");
    assert!(nodelay(&server), "server side TCP_NODELAY");

    let info = listener.connect_info(&server);
    assert!(info.credentials().is_none());
    let Some(PeerAddr::Tcp(addr)) = info.peer_addr() else {
        panic!("{info:?}")
    };
    let EndpointStream::Tcp(c) = &client else {
        unreachable!()
    };
    assert_eq!(*addr, c.local_addr().unwrap());
}

#[tokio::test]
async fn tcp_nodelay_can_be_turned_off() {
    let mut listener = Endpoint::tcp("127.0.0.1", 0)
        .bind_with(&BindOptions::new().tcp_nodelay(false))
        .await
        .unwrap();
    let endpoint = listener.local_endpoint().unwrap().unwrap();
    let options = ConnectOptions::new().tcp_nodelay(false);
    let (client, server) = tokio::join!(endpoint.connect_with(&options), listener.accept());
    assert!(!nodelay(&client.unwrap()));
    assert!(!nodelay(&server.unwrap()));
}

#[tokio::test]
async fn tokio_tcp_listener_sets_nodelay() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut listener = listener.into_listener().await.unwrap();
    let (client, server) = tokio::join!(
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
        std::future::poll_fn(|cx| Listener::poll_accept(&mut listener, cx))
    );
    let _client = client.unwrap();
    assert!(server.unwrap().nodelay().unwrap());
}

// ===== std listeners and descriptors =====

#[tokio::test]
async fn serves_on_already_bound_std_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("std.sock");
    let std_listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let mut listener = std_listener.into_listener().await.unwrap();
    let (mut client, mut server) = pair(&mut listener, &Endpoint::unix(&path)).await;
    exchange(&mut client, &mut server, b"std unix").await;
    // Not bound by wren, so not removed by wren.
    drop(listener);
    assert!(path.exists());

    let std_tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = std_tcp.local_addr().unwrap().port();
    let mut listener = std_tcp.into_listener().await.unwrap();
    let (mut client, mut server) = pair(&mut listener, &Endpoint::tcp("127.0.0.1", port)).await;
    exchange(&mut client, &mut server, b"std tcp").await;
    assert!(nodelay(&server));
}

#[tokio::test]
async fn serves_on_an_inherited_descriptor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fd.sock");
    let fd = OwnedFd::from(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let mut listener = EndpointListener::try_from(fd).unwrap();
    let (mut client, mut server) = pair(&mut listener, &Endpoint::unix(&path)).await;
    exchange(&mut client, &mut server, b"fd").await;

    let fd = OwnedFd::from(std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    let mut listener = fd.into_listener().await.unwrap();
    let endpoint = listener.local_endpoint().unwrap().unwrap();
    let (mut client, mut server) = pair(&mut listener, &endpoint).await;
    exchange(&mut client, &mut server, b"tcp fd").await;
    assert!(nodelay(&server));
}

#[tokio::test]
async fn a_descriptor_that_is_not_a_listening_socket_is_refused() {
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let err = EndpointListener::try_from(OwnedFd::from(a)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not a listening socket"), "{err}");

    let file = tempfile::tempfile().unwrap();
    let err = EndpointListener::try_from(OwnedFd::from(file)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("not a socket"), "{err}");

    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let err = EndpointListener::try_from(OwnedFd::from(udp)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

// ===== hybrid vsock =====

/// How the in-test hybrid vsock proxy answers `CONNECT`.
#[derive(Clone, Copy)]
enum Proxy {
    /// `OK 1073741824`, then echoes the guest stream.
    Ok,
    /// `OK …` and the first guest bytes in the same write.
    OkWithData,
    /// Firecracker's answer when nothing listens on the guest port.
    Refuse,
    /// Closes without answering.
    Close,
    /// Reads the request and says nothing.
    Silent,
}

/// A hybrid vsock proxy on a unix socket; returns the `CONNECT` line it read.
fn spawn_proxy(path: &Path, behaviour: Proxy) -> tokio::task::JoinHandle<String> {
    let listener = UnixListener::bind(path).unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut line = Vec::new();
        loop {
            let mut b = [0u8];
            if stream.read(&mut b).await.unwrap() == 0 {
                break;
            }
            line.push(b[0]);
            if b[0] == b'\n' {
                break;
            }
        }
        let line = String::from_utf8(line).unwrap();
        match behaviour {
            Proxy::Ok => {
                stream.write_all(b"OK 1073741824\n").await.unwrap();
                let mut buf = [0u8; 64];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => stream.write_all(&buf[..n]).await.unwrap(),
                    }
                }
            }
            Proxy::OkWithData => {
                stream
                    .write_all(b"OK 1073741825\nguest-first")
                    .await
                    .unwrap();
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
            }
            Proxy::Refuse => {
                stream.write_all(b"FAILURE\n").await.unwrap();
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
            }
            Proxy::Close => drop(stream),
            Proxy::Silent => {
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest).await;
            }
        }
        line
    })
}

fn hvsock(path: &Path, port: u32) -> Endpoint {
    Endpoint::parse(&format!("hvsock://{}:{port}", path.display())).unwrap()
}

fn hybrid_error(err: &io::Error) -> &HybridVsockError {
    err.get_ref()
        .and_then(|e| e.downcast_ref::<HybridVsockError>())
        .unwrap_or_else(|| panic!("not a hybrid vsock error: {err:?}"))
}

#[tokio::test]
async fn hybrid_vsock_connects_through_the_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kata.hvsock");
    let proxy = spawn_proxy(&path, Proxy::Ok);
    let mut stream = within("hybrid connect", hvsock(&path, 1024).connect())
        .await
        .unwrap();
    stream.write_all(b"ttrpc bytes").await.unwrap();
    let mut buf = [0u8; 11];
    within("echo", stream.read_exact(&mut buf)).await.unwrap();
    assert_eq!(&buf, b"ttrpc bytes");
    drop(stream);
    assert_eq!(proxy.await.unwrap(), "CONNECT 1024\n");
}

#[tokio::test]
async fn hybrid_vsock_leaves_the_guest_bytes_after_ok_in_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kata.hvsock");
    let _proxy = spawn_proxy(&path, Proxy::OkWithData);
    let mut stream = hvsock(&path, 7).connect().await.unwrap();
    let mut buf = [0u8; 11];
    within("guest bytes", stream.read_exact(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf, b"guest-first");
}

#[tokio::test]
async fn hybrid_vsock_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kata.hvsock");
    let _proxy = spawn_proxy(&path, Proxy::Refuse);
    let err = within("refusal", hvsock(&path, 1024).connect())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(
        hybrid_error(&err),
        &HybridVsockError::Refused {
            answer: "FAILURE".into()
        }
    );
}

#[tokio::test]
async fn hybrid_vsock_proxy_closing_without_an_answer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kata.hvsock");
    let _proxy = spawn_proxy(&path, Proxy::Close);
    let err = within("close", hvsock(&path, 1024).connect())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    assert!(matches!(
        hybrid_error(&err),
        HybridVsockError::Closed { .. }
    ));
}

#[tokio::test]
async fn hybrid_vsock_silent_proxy_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kata.hvsock");
    let _proxy = spawn_proxy(&path, Proxy::Silent);
    let timeout = Duration::from_millis(200);
    let options = ConnectOptions::new().handshake_timeout(timeout);
    let start = Instant::now();
    let err = within("timeout", hvsock(&path, 1024).connect_with(&options))
        .await
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert_eq!(hybrid_error(&err), &HybridVsockError::Timeout(timeout));
    assert!(took >= timeout && took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn hybrid_vsock_without_a_proxy_and_as_a_listener() {
    let dir = tempfile::tempdir().unwrap();
    let err = hvsock(&dir.path().join("absent"), 1024)
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let err = hvsock(&dir.path().join("x"), 1024)
        .bind()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
}

#[tokio::test]
async fn connect_timeout_bounds_the_whole_connect() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kata.hvsock");
    let _proxy = spawn_proxy(&path, Proxy::Silent);
    let options = ConnectOptions::new().connect_timeout(Duration::from_millis(100));
    let err = within("timeout", hvsock(&path, 1024).connect_with(&options))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
}
