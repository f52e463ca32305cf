//! Lazy channels: connect on first use, reconnect after the peer restarts.

use std::path::Path;
use std::time::Duration;

use wren_rpc::client::{Backoff, Channel, Client};
use wren_rpc::server::{Methods, ShutdownHandle};
use wren_rpc::{Code, Request, Response, Server};
use wren_test_support::HANG;

fn start_server(path: &Path) -> (ShutdownHandle, tokio::task::JoinHandle<std::io::Result<()>>) {
    let _ = std::fs::remove_file(path);
    let listener = tokio::net::UnixListener::bind(path).unwrap();
    let echo = Methods::new("wren.test.Echo").unary("Echo", |req: Request<String>| async move {
        Ok(Response::new(req.into_inner()))
    });
    let router = Server::builder().add_service(echo);
    let handle = router.shutdown_handle();
    (handle, tokio::spawn(router.serve(listener)))
}

async fn echo(client: &mut Client, text: &str) -> Result<String, wren_rpc::Status> {
    client
        .unary::<String, String>(Request::new(text.to_owned()), "wren.test.Echo", "Echo")
        .await
        .map(Response::into_inner)
}

/// Calls until one succeeds (the channel's backoff decides when it retries).
async fn until_ok(client: &mut Client, text: &str) -> String {
    tokio::time::timeout(HANG, async {
        loop {
            match echo(client, text).await {
                Ok(reply) => return reply,
                Err(status) => {
                    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    })
    .await
    .expect("the lazy channel never reconnected")
}

#[tokio::test]
async fn fails_fast_while_down_and_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("restart.sock");
    let backoff = Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(50),
    };
    let channel = Channel::builder().backoff(backoff).lazy_unix(&path);
    let mut client = Client::new(channel);

    // Nothing listens yet: the first call fails at once, as a closed connection.
    let status = echo(&mut client, "early").await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(wren_rpc::client::is_closed(&status), "{status:?}");

    let (handle, server) = start_server(&path);
    assert_eq!(until_ok(&mut client, "one").await, "one");

    // The server goes away: calls fail, then succeed against its successor.
    handle.close().await;
    server.await.unwrap().unwrap();
    let status = echo(&mut client, "down").await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);

    let (handle, server) = start_server(&path);
    assert_eq!(until_ok(&mut client, "two").await, "two");
    handle.shutdown().await;
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn waits_for_the_connection_when_asked_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wait.sock");
    let channel = Channel::builder()
        .backoff(Backoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(20),
        })
        .wait_for_connection(true)
        .lazy_unix(&path);
    let mut client = Client::new(channel);

    let call = tokio::spawn(async move {
        let mut req = Request::new("patient".to_owned());
        req.set_timeout(HANG);
        client
            .unary::<String, String>(req, "wren.test.Echo", "Echo")
            .await
            .map(Response::into_inner)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!call.is_finished(), "the call should wait for a connection");
    let (handle, server) = start_server(&path);
    let reply = tokio::time::timeout(HANG, call).await.unwrap().unwrap();
    assert_eq!(reply.unwrap(), "patient");
    handle.shutdown().await;
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_lazy_channel_does_not_connect_before_its_first_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("idle.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let _channel = Channel::connect_lazy_unix(&path);
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "a lazy channel connected without a call");
}
