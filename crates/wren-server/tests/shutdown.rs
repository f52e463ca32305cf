//! Graceful shutdown, immediate close, and the shutdown timeout.
#![allow(missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prost::Message;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use wren_server::{Methods, Server};
use wren_transport::codec::{Code, Decoded, Frame, Status};
use wren_transport::{Request, Response, is_closed};

use support::{Echo, SERVICE, TestServer, echo_service, envelope, status, within};

/// Counts handlers that have started and that have been dropped (finished or
/// cancelled), and holds them until the gate opens.
#[derive(Clone)]
struct Blocker {
    gate: Arc<Semaphore>,
    started: Arc<AtomicUsize>,
    ended: Arc<AtomicUsize>,
    changed: Arc<Notify>,
}

struct EndGuard(Blocker);

impl Drop for EndGuard {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::SeqCst);
        self.0.changed.notify_waiters();
    }
}

impl Default for Blocker {
    fn default() -> Self {
        Blocker {
            gate: Arc::new(Semaphore::new(0)),
            started: Arc::default(),
            ended: Arc::default(),
            changed: Arc::default(),
        }
    }
}

impl Blocker {
    fn service(&self) -> Methods {
        let this = self.clone();
        echo_service().unary("Block", move |req: Request<Echo>| {
            let this = this.clone();
            async move {
                let _guard = EndGuard(this.clone());
                this.started.fetch_add(1, Ordering::SeqCst);
                this.changed.notify_waiters();
                this.gate.acquire().await.expect("gate").forget();
                Ok(Response::new(req.into_inner()))
            }
        })
    }

    async fn wait_started(&self, n: usize) {
        within("handlers to start", async {
            loop {
                let changed = self.changed.notified();
                if self.started.load(Ordering::SeqCst) >= n {
                    return;
                }
                changed.await;
            }
        })
        .await;
    }
}

fn spawn_calls(client: &wren_client::Client, n: u64) -> JoinSet<(u64, Result<Echo, Status>)> {
    let mut set = JoinSet::new();
    for i in 0..n {
        let mut client = client.clone();
        set.spawn(async move {
            let msg = Echo {
                msg: format!("blocked-{i}"),
                n: i,
            };
            let r = client
                .unary::<Echo, Echo>(Request::new(msg), SERVICE, "Block")
                .await
                .map(Response::into_inner);
            (i, r)
        });
    }
    set
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graceful_shutdown_delivers_every_reply_in_flight() {
    let blocker = Blocker::default();
    let server = TestServer::spawn(Server::builder().add_service(blocker.service()));
    let client = server.client().await;
    let mut calls = spawn_calls(&client, 5);

    // A raw connection with a sixth blocked call, to probe the draining connection.
    let mut raw = server.raw().await;
    let block = Echo {
        msg: "raw".into(),
        n: 99,
    };
    raw.send(Frame::request(
        1,
        envelope(SERVICE, "Block", &block).encode_to_vec(),
    ))
    .await;
    blocker.wait_started(6).await;

    let handle = server.handle.clone();
    let shutdown = tokio::spawn(async move { handle.shutdown().await });

    // While draining, a connection with work in flight stays open and answers
    // new requests with UNAVAILABLE. Until the drain reaches the connection,
    // requests are still served normally.
    let mut id = 3;
    loop {
        let resp = raw.call(id, "Echo", &Echo::default()).await;
        match resp.status {
            None => {}
            Some(ref s) => {
                assert_eq!(
                    status(&resp),
                    (Code::Unavailable.as_i32(), "server is shutting down"),
                    "{s:?}"
                );
                break;
            }
        }
        id += 2;
        assert!(id < 20_000, "the connection never started draining");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Once draining, it stays that way.
    let resp = raw.call(id + 2, "Echo", &Echo::default()).await;
    assert_eq!(status(&resp).0, Code::Unavailable.as_i32());

    // The listener is gone: new connections are refused.
    assert!(
        tokio::net::UnixStream::connect(&server.path).await.is_err(),
        "connected during shutdown"
    );
    assert!(
        !shutdown.is_finished(),
        "shutdown returned with calls in flight"
    );
    assert_eq!(
        blocker.ended.load(Ordering::SeqCst),
        0,
        "a blocked call was cancelled"
    );

    // Release the handlers: every reply is delivered.
    blocker.gate.add_permits(6);
    let mut done = 0;
    while let Some(res) = within("blocked calls", calls.join_next()).await {
        let (i, r) = res.expect("call task");
        let reply = r.unwrap_or_else(|s| panic!("call {i} failed during graceful shutdown: {s:?}"));
        assert_eq!(reply.msg, format!("blocked-{i}"));
        done += 1;
    }
    assert_eq!(done, 5);
    let resp = raw.recv_response(1).await;
    assert_eq!(resp.status, None);
    assert_eq!(Echo::decode(resp.payload).unwrap(), block);
    // Then the server closes the idle connection.
    assert!(
        raw.next().await.is_none(),
        "connection left open after draining"
    );

    within("shutdown()", shutdown).await.expect("shutdown task");
    within("serve()", server.task)
        .await
        .expect("serve task")
        .expect("serve() returns Ok");
    assert!(tokio::net::UnixStream::connect(&server.path).await.is_err());

    // The channel notices the server went away.
    let mut client = client;
    let err = client
        .unary::<Echo, Echo>(Request::new(Echo::default()), SERVICE, "Echo")
        .await
        .expect_err("server is gone");
    assert_eq!(err.code(), Code::Unavailable);
    assert!(is_closed(&err), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_of_an_idle_server_is_prompt() {
    let server = TestServer::spawn(Server::builder().add_service(echo_service()));
    let mut raw = server.raw().await;
    raw.echo_ok(1, "before").await;
    within("shutdown()", server.handle.shutdown()).await;
    // Idle connections are closed.
    assert!(raw.next().await.is_none());
    within("serve()", server.task).await.unwrap().unwrap();
    // Shutting down again, or waiting, returns at once.
    within("second shutdown()", server.handle.shutdown()).await;
    within("wait()", server.handle.wait()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn close_fails_calls_in_flight_with_a_closed_error() {
    let blocker = Blocker::default();
    let server = TestServer::spawn(Server::builder().add_service(blocker.service()));
    let client = server.client().await;
    let mut calls = spawn_calls(&client, 3);
    let mut raw = server.raw().await;
    raw.send(Frame::request(
        1,
        envelope(SERVICE, "Block", &Echo::default()).encode_to_vec(),
    ))
    .await;
    blocker.wait_started(4).await;

    within("close()", server.handle.close()).await;
    // The handlers were cancelled (dropped), not left running.
    assert_eq!(blocker.ended.load(Ordering::SeqCst), 4);

    while let Some(res) = within("closed calls", calls.join_next()).await {
        let (i, r) = res.expect("call task");
        let err = r.expect_err("call survived close()");
        assert_eq!(err.code(), Code::Unavailable, "call {i}: {err:?}");
        assert!(
            is_closed(&err),
            "call {i}: not a closed-connection error: {err:?}"
        );
    }
    // The raw connection is closed without a reply.
    match raw.next().await {
        None | Some(Err(_)) => {}
        Some(Ok(Decoded::Frame(f))) => panic!("got a reply after close(): {f:?}"),
        Some(Ok(other)) => panic!("unexpected item after close(): {other:?}"),
    }
    within("serve()", server.task).await.unwrap().unwrap();
    assert!(tokio::net::UnixStream::connect(&server.path).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_timeout_closes_calls_that_never_finish() {
    let blocker = Blocker::default();
    let server = TestServer::spawn(
        Server::builder()
            .shutdown_timeout(Duration::from_millis(200))
            .add_service(blocker.service()),
    );
    let client = server.client().await;
    let mut calls = spawn_calls(&client, 2);
    blocker.wait_started(2).await;

    // The gate never opens: shutdown() gives up after the timeout.
    within("shutdown() after its timeout", server.handle.shutdown()).await;
    assert_eq!(
        blocker.ended.load(Ordering::SeqCst),
        2,
        "handlers still running"
    );
    while let Some(res) = within("timed-out calls", calls.join_next()).await {
        let (i, r) = res.expect("call task");
        let err = r.expect_err("call survived the shutdown timeout");
        assert_eq!(err.code(), Code::Unavailable, "call {i}: {err:?}");
        assert!(is_closed(&err), "call {i}: {err:?}");
    }
    within("serve()", server.task).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_shutdown_signal_drains() {
    let blocker = Blocker::default();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sig.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = Server::builder().add_service(blocker.service());
    let handle = router.shutdown_handle();
    let task = tokio::spawn(router.serve_with_shutdown(listener, async {
        let _ = rx.await;
    }));
    let client = wren_client::Client::new(wren_client::Channel::connect_unix(&path).await.unwrap());
    let mut calls = spawn_calls(&client, 2);
    blocker.wait_started(2).await;
    tx.send(()).unwrap();
    // Release the handlers only once the server has stopped accepting.
    within("the listener to close", async {
        while tokio::net::UnixStream::connect(&path).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(blocker.ended.load(Ordering::SeqCst), 0);
    blocker.gate.add_permits(2);
    while let Some(res) = within("calls", calls.join_next()).await {
        let (i, r) = res.unwrap();
        assert_eq!(r.expect("drained call succeeds").n, i);
    }
    within("serve()", task).await.unwrap().unwrap();
    within("wait()", handle.wait()).await;
}
