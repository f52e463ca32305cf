//! systemd socket activation (`LISTEN_FDS`), in a child process: this test
//! binary runs itself again under `sh`, which moves the sockets to
//! descriptors 3 and 4 and sets `LISTEN_PID` to the child's pid, as systemd
//! does. The child serves ttrpc on what it inherited.
#![allow(missing_docs)]

use std::io;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use wren_client::{Channel, Client};
use wren_server::{Methods, Server};
use wren_transport::{Request, Response, take_listen_fds};

const SERVICE: &str = "wren.test.Activation";
/// Set in the child: which scenario to run.
const CHILD: &str = "WREN_LISTEN_FDS_CHILD";

#[derive(Clone, PartialEq, prost::Message)]
struct Echo {
    #[prost(string, tag = "1")]
    msg: String,
}

/// Runs this binary's `listen_fds_child` test under `sh`, with `fd3` (and
/// `fd4`) moved to descriptors 3 (and 4) and `env` set. `LISTEN_PID` is the
/// child's own pid unless `env` sets it.
fn run_child(scenario: &str, fd3: OwnedFd, fd4: Option<OwnedFd>, env: &[(&str, &str)]) -> Command {
    let exe = std::env::current_exe().unwrap();
    // stdin is the socket for fd 3, stderr the one for fd 4; both are moved
    // up and the originals put back (stderr goes to stdout, which the parent
    // captures).
    let script = if fd4.is_some() {
        r#"exec 3<&0 4<&2 0</dev/null 2>&1; LISTEN_PID="${LISTEN_PID:-$$}" exec "$@""#
    } else {
        r#"exec 3<&0 0</dev/null; LISTEN_PID="${LISTEN_PID:-$$}" exec "$@""#
    };
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .arg("sh")
        .arg(exe)
        .args([
            "--exact",
            "listen_fds_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, scenario)
        .env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_FDNAMES")
        .stdin(Stdio::from(fd3))
        .stdout(Stdio::piped());
    match fd4 {
        Some(fd) => cmd.stderr(Stdio::from(fd)),
        None => cmd.stderr(Stdio::inherit()),
    };
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn finish(child: std::process::Child) {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {}\n{stdout}",
        out.status
    );
    assert!(
        stdout.contains("test listen_fds_child ... ok"),
        "the child did not run its scenario:\n{stdout}"
    );
}

async fn echo(uri: &str, msg: &str) -> String {
    let channel = tokio::time::timeout(Duration::from_secs(20), Channel::connect(uri))
        .await
        .expect("connect timed out")
        .unwrap();
    let mut client = Client::new(channel);
    let reply: Response<Echo> = tokio::time::timeout(
        Duration::from_secs(20),
        client.unary(Request::new(Echo { msg: msg.into() }), SERVICE, "Echo"),
    )
    .await
    .expect("call timed out")
    .unwrap();
    reply.into_inner().msg
}

#[tokio::test]
async fn serves_on_sockets_passed_by_socket_activation() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("activated.sock");
    let unix = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let child = run_child(
        "serve",
        unix.into(),
        Some(tcp.into()),
        &[("LISTEN_FDS", "2"), ("LISTEN_FDNAMES", "ttrpc:ttrpc-tcp")],
    )
    .spawn()
    .unwrap();

    // The sockets are listening already: connections wait in the backlog
    // until the child accepts them.
    let unix_uri = format!("unix://{}", path.display());
    let tcp_uri = format!("tcp://127.0.0.1:{port}");
    assert_eq!(echo(&unix_uri, "activated").await, "activated");
    assert_eq!(echo(&tcp_uri, "activated tcp").await, "activated tcp");
    // "Quit" ends the child's servers.
    assert_eq!(echo(&unix_uri, "quit").await, "quit");
    tokio::task::spawn_blocking(move || finish(child))
        .await
        .unwrap();
}

#[tokio::test]
async fn socket_activation_for_another_process_or_a_connected_socket() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // LISTEN_PID names another process: nothing is taken.
    let unix = std::os::unix::net::UnixListener::bind(dir.path().join("other.sock")).unwrap();
    let child = run_child(
        "other-pid",
        unix.into(),
        None,
        &[("LISTEN_FDS", "1"), ("LISTEN_PID", "1")],
    )
    .spawn()
    .unwrap();
    tokio::task::spawn_blocking(move || finish(child))
        .await
        .unwrap();

    // A connected socket (systemd's Accept=yes) is refused.
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    let child = run_child("connected", a.into(), None, &[("LISTEN_FDS", "1")])
        .spawn()
        .unwrap();
    tokio::task::spawn_blocking(move || finish(child))
        .await
        .unwrap();
}

/// The child's side; does nothing in an ordinary test run.
#[tokio::test]
async fn listen_fds_child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    match scenario.as_str() {
        "serve" => {
            let fds = take_listen_fds().expect("LISTEN_FDS sockets");
            assert_eq!(fds.len(), 2);
            assert_eq!((fds[0].fd, fds[1].fd), (3, 4));
            assert_eq!(fds[0].name.as_deref(), Some("ttrpc"));
            assert_eq!(fds[1].name.as_deref(), Some("ttrpc-tcp"));
            // Taken once per process.
            let again = take_listen_fds().unwrap_err();
            assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);

            let quit = Arc::new(Notify::new());
            let mut servers = Vec::new();
            for fd in fds {
                let q = quit.clone();
                let service = Methods::new(SERVICE).unary("Echo", move |req: Request<Echo>| {
                    let q = q.clone();
                    async move {
                        if req.get_ref().msg == "quit" {
                            q.notify_waiters();
                        }
                        Ok(Response::new(req.into_inner()))
                    }
                });
                let router = Server::builder().add_service(service);
                let q = quit.clone();
                let notified = async move { q.notified().await };
                servers.push(tokio::spawn(
                    router.serve_with_shutdown(fd.listener, notified),
                ));
            }
            for server in servers {
                tokio::time::timeout(Duration::from_secs(30), server)
                    .await
                    .expect("the parent never said quit")
                    .unwrap()
                    .unwrap();
            }
        }
        "other-pid" => {
            assert!(take_listen_fds().unwrap().is_empty());
        }
        "connected" => {
            let err = take_listen_fds().unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
            assert!(err.to_string().contains("descriptor 3"), "{err}");
        }
        other => panic!("unknown scenario {other}"),
    }
}
