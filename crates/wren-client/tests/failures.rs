//! Deadlines, dropped connections, and the channel as a tower service.
#![allow(missing_docs)]

mod support;

use std::time::{Duration, Instant};

use prost::Message;
use tokio::task::JoinSet;
use tower::timeout::Timeout;
use tower::{Service, ServiceExt};
use wren_client::{Body, Client};
use wren_transport::codec::Code;
use wren_transport::{Request, is_closed, status_from_error};

use support::{Echo, RawServer, SERVICE, echo, within};

fn msg(text: &str, n: u64) -> Echo {
    Echo {
        msg: text.to_owned(),
        n,
    }
}

// ===== 3. deadlines are enforced locally =====

#[tokio::test]
async fn deadline_fails_the_call_when_the_server_never_replies() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let mut client = Client::new(channel);

    let timeout = Duration::from_millis(200);
    let call = tokio::spawn({
        let mut client = client.clone();
        async move {
            let mut req = Request::new(msg("slow", 1));
            req.set_timeout(timeout);
            let start = Instant::now();
            let r = client.unary::<Echo, Echo>(req, SERVICE, "Echo").await;
            (start.elapsed(), r)
        }
    });
    let req = raw.recv_request().await;
    assert_eq!(req.id(), 1);
    assert!(req.request.timeout_nano > 0);
    // No reply.
    let (elapsed, r) = within("the deadline", call).await.unwrap();
    let err = r.expect_err("no reply, so the deadline fires");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(!is_closed(&err));
    assert!(
        elapsed >= timeout,
        "failed before the deadline: {elapsed:?}"
    );

    // A reply that arrives too late is dropped; the connection keeps working.
    raw.reply_ok(1, req.request.payload.clone()).await;
    let call = tokio::spawn(async move { echo(&mut client, msg("next", 2)).await });
    assert_eq!(raw.echo_next().await.id(), 3);
    assert_eq!(within("call", call).await.unwrap().unwrap(), msg("next", 2));
}

#[tokio::test]
async fn passed_deadline_fails_without_sending() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let mut client = Client::new(channel);

    let mut req = Request::new(msg("late", 1));
    req.set_deadline(Some(Instant::now() - Duration::from_secs(1)));
    let err = within(
        "expired call",
        client.unary::<Echo, Echo>(req, SERVICE, "Echo"),
    )
    .await
    .expect_err("deadline already passed");
    assert_eq!(err.code(), Code::DeadlineExceeded);

    let mut req = Request::new(msg("zero", 2));
    req.set_timeout(Duration::ZERO);
    let err = within(
        "expired call",
        client.unary::<Echo, Echo>(req, SERVICE, "Echo"),
    )
    .await
    .expect_err("zero timeout");
    assert_eq!(err.code(), Code::DeadlineExceeded);

    // Nothing went out for them: the first request the server sees is the
    // next call, on stream 1.
    let call = tokio::spawn(async move { echo(&mut client, msg("sent", 3)).await });
    let got = raw.echo_next().await;
    assert_eq!(got.id(), 1);
    assert_eq!(got.echo(), msg("sent", 3));
    within("call", call).await.unwrap().unwrap();
}

// ===== 4. the connection drops =====

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connection_drop_fails_every_pending_call_with_a_closed_error() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let client = Client::new(channel.clone());

    let mut set = JoinSet::new();
    for i in 0..3u64 {
        let mut client = client.clone();
        set.spawn(async move { (i, echo(&mut client, msg("pending", i)).await) });
    }
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(raw.recv_request().await.id());
    }
    ids.sort_unstable();
    assert_eq!(ids, [1, 3, 5]);
    assert!(!channel.is_closed());

    drop(raw);
    while let Some(res) = within("pending calls to fail", set.join_next()).await {
        let (i, r) = res.unwrap();
        let err = r.expect_err("the connection dropped");
        assert_eq!(err.code(), Code::Unavailable, "call {i}: {err:?}");
        assert!(
            is_closed(&err),
            "call {i}: not a closed-connection error: {err:?}"
        );
    }

    within("Channel::is_closed", async {
        while !channel.is_closed() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(channel.clone().is_closed(), "a clone reports the same");

    // Later calls fail the same way, through the typed client and through
    // the tower service directly.
    let mut client = client;
    let err = within(
        "call on a closed channel",
        echo(&mut client, msg("after", 9)),
    )
    .await
    .expect_err("closed");
    assert_eq!(err.code(), Code::Unavailable);
    assert!(is_closed(&err), "{err:?}");

    let err = within("ready on a closed channel", channel.clone().ready())
        .await
        .expect_err("closed channel is not ready");
    assert!(is_closed(&err), "{err:?}");
}

#[tokio::test]
async fn dropping_every_channel_closes_the_connection() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let mut client = Client::new(channel.clone());
    let call = tokio::spawn(async move { echo(&mut client, msg("x", 1)).await });
    raw.echo_next().await;
    within("call", call).await.unwrap().unwrap();
    drop(channel);
    // No handle left and nothing pending: the client closes its side.
    assert!(raw.next().await.is_none(), "connection left open");
}

#[tokio::test]
async fn abandoned_calls_do_not_keep_a_dropped_channel_open() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;
    let mut client = Client::new(channel.clone());

    // A call whose caller gives up (deadline) and whose reply never comes.
    let call = tokio::spawn({
        let mut client = client.clone();
        async move {
            let mut req = Request::new(msg("abandoned", 1));
            req.set_timeout(Duration::from_millis(50));
            client.unary::<Echo, Echo>(req, SERVICE, "Echo").await
        }
    });
    assert_eq!(raw.recv_request().await.id(), 1);
    let err = within("deadline", call)
        .await
        .unwrap()
        .expect_err("deadline");
    assert_eq!(err.code(), Code::DeadlineExceeded);

    // A call that is still waiting when the last handle goes.
    let waiting = tokio::spawn(async move { echo(&mut client, msg("waiting", 2)).await });
    let req = raw.recv_request().await;
    assert_eq!(req.id(), 3);
    drop(channel);

    // The waiting call still gets its reply...
    raw.reply_ok(3, req.request.payload.clone()).await;
    assert_eq!(
        within("call", waiting).await.unwrap().unwrap(),
        msg("waiting", 2)
    );
    // ...and then, with no handle and nobody waiting, the connection closes
    // even though stream 1 was never answered.
    assert!(
        raw.next().await.is_none(),
        "connection kept open for an abandoned call"
    );
}

// ===== 8. tower =====

#[tokio::test]
async fn channel_is_a_tower_service() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;

    let call = tokio::spawn({
        let channel = channel.clone();
        async move {
            let mut req = Request::new(Body::encode(&msg("tower", 1)));
            req.set_path(SERVICE, "Echo");
            let mut svc = channel;
            let resp = svc.ready().await?.call(req).await?;
            resp.into_inner().decode::<Echo>()
        }
    });
    let got = raw.echo_next().await;
    assert_eq!(
        (got.request.service.as_str(), got.request.method.as_str()),
        (SERVICE, "Echo")
    );
    assert_eq!(
        within("call", call).await.unwrap().unwrap(),
        msg("tower", 1)
    );

    // oneshot, with the reply's bytes left as they are.
    let call = tokio::spawn({
        let channel = channel.clone();
        async move {
            let mut req = Request::new(Body::new(msg("raw", 2).encode_to_vec().into()));
            req.set_path(SERVICE, "Echo");
            channel.oneshot(req).await
        }
    });
    let got = raw.echo_next().await;
    assert_eq!(got.id(), 3);
    let resp = within("call", call).await.unwrap().unwrap();
    assert_eq!(
        resp.get_ref().message().unwrap()[..],
        msg("raw", 2).encode_to_vec()[..]
    );
}

#[tokio::test]
async fn timeout_middleware_elapsed_maps_to_deadline_exceeded() {
    let server = RawServer::bind();
    let (channel, mut raw) = server.connect().await;

    let svc = Timeout::new(channel.clone(), Duration::from_millis(100));
    let call = tokio::spawn({
        let svc = svc.clone();
        async move {
            let mut req = Request::new(Body::encode(&msg("slow", 1)));
            req.set_path(SERVICE, "Echo");
            svc.oneshot(req).await
        }
    });
    let req = raw.recv_request().await;
    // The middleware's timeout is not a request deadline: nothing is sent for it.
    assert_eq!(req.request.timeout_nano, 0);
    let err = within("the timeout", call)
        .await
        .unwrap()
        .expect_err("timed out");
    let status = status_from_error(err);
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");

    // The typed client over the same middleware maps it the same way.
    let mut client = Client::new(svc);
    let call = tokio::spawn(async move {
        client
            .unary::<Echo, Echo>(Request::new(msg("slow", 2)), SERVICE, "Echo")
            .await
    });
    let req2 = raw.recv_request().await;
    assert_eq!(req2.id(), 3);
    let err = within("the timeout", call)
        .await
        .unwrap()
        .expect_err("timed out");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");

    // The late replies are dropped and the channel still works.
    raw.reply_ok(1, req.request.payload.clone()).await;
    raw.reply_ok(3, req2.request.payload.clone()).await;
    let mut plain = Client::new(channel);
    let call = tokio::spawn(async move { echo(&mut plain, msg("ok", 3)).await });
    assert_eq!(raw.echo_next().await.id(), 5);
    assert_eq!(within("call", call).await.unwrap().unwrap(), msg("ok", 3));
}
