//! Per-connection limits: concurrent streams and the idle timeout.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::{Echo, SERVICE, TestServer, within};
use tokio::sync::Semaphore;
use wren_server::{Methods, Server};
use wren_transport::codec::Code;
use wren_transport::{Request, Response};

fn gated(gate: Arc<Semaphore>, entered: Arc<AtomicUsize>) -> Methods {
    Methods::new(SERVICE)
        .unary("Echo", |req: Request<Echo>| async move {
            Ok(Response::new(req.into_inner()))
        })
        .unary("Wait", move |req: Request<Echo>| {
            let gate = gate.clone();
            let entered = entered.clone();
            async move {
                entered.fetch_add(1, Ordering::SeqCst);
                let _permit = gate.acquire().await.expect("gate open");
                Ok(Response::new(req.into_inner()))
            }
        })
}

fn echo(msg: &str) -> Echo {
    Echo {
        msg: msg.into(),
        n: 1,
    }
}

#[tokio::test]
async fn calls_over_max_concurrent_streams_get_resource_exhausted_and_the_connection_stays() {
    let gate = Arc::new(Semaphore::new(0));
    let entered = Arc::new(AtomicUsize::new(0));
    let server = TestServer::spawn(
        Server::builder()
            .max_concurrent_streams(2)
            .add_service(gated(gate.clone(), entered.clone())),
    );
    let client = server.client().await;
    let blocked: Vec<_> = (0..2)
        .map(|i| {
            let mut client = client.clone();
            tokio::spawn(async move {
                client
                    .unary::<_, Echo>(Request::new(echo(&format!("w{i}"))), SERVICE, "Wait")
                    .await
            })
        })
        .collect();
    // Both calls now hold the connection's two slots.
    within("both blocked calls to start", async {
        while entered.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let mut client3 = client.clone();
    let status = client3
        .unary::<_, Echo>(Request::new(echo("third")), SERVICE, "Echo")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("too many concurrent streams"),
        "{status:?}"
    );
    gate.add_permits(2);
    for call in blocked {
        within("a blocked call", call)
            .await
            .unwrap()
            .expect("succeeds once released");
    }
    // The same connection serves again.
    let reply = client3
        .unary::<_, Echo>(Request::new(echo("after")), SERVICE, "Echo")
        .await
        .expect("the connection was kept");
    assert_eq!(reply.get_ref().msg, "after");
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout_but_a_busy_one_is_not() {
    let gate = Arc::new(Semaphore::new(0));
    let server = TestServer::spawn(
        Server::builder()
            .idle_timeout(Duration::from_millis(100))
            .add_service(gated(gate.clone(), Arc::default())),
    );
    let channel = server.channel().await;
    let mut client = wren_client::Client::new(channel.clone());

    // A call that lasts longer than the idle timeout keeps the connection.
    let waiting = tokio::spawn({
        let mut client = client.clone();
        async move {
            client
                .unary::<_, Echo>(Request::new(echo("long")), SERVICE, "Wait")
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!channel.is_closed(), "a busy connection was closed as idle");
    gate.add_permits(1);
    within("the long call", waiting)
        .await
        .unwrap()
        .expect("the long call succeeds");

    // Then, with nothing in flight, the server closes it.
    within("the idle close", async {
        while !channel.is_closed() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let status = client
        .unary::<_, Echo>(Request::new(echo("late")), SERVICE, "Echo")
        .await
        .unwrap_err();
    assert!(wren_transport::is_closed(&status), "{status:?}");
}
