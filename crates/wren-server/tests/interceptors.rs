//! Interceptors on both sides, over a real unix socket: for all four call
//! kinds, a rejection reaches the caller as the interceptor's status and the
//! handler never runs; the server's interceptor reads the peer's
//! credentials; a per-service interceptor keeps the service's streaming
//! kinds; a client interceptor's metadata reaches the handler and its
//! rejection never reaches the wire; tower's `filter` and `map_request`
//! layers do the same jobs.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::stream;
use wren_client::{Client, InterceptorLayer as ClientInterceptorLayer};
use wren_server::{
    InterceptedService, InterceptorLayer, Methods, NamedService, Peer, PeerCredentials, Server,
};
use wren_transport::codec::{Code, Status};
use wren_transport::{Body, BoxError, MethodKind, Request, Response, Streaming};

use support::{Echo, SERVICE, TestServer, within};

const TOKEN: &str = "s3cret";

/// Echo in all four kinds; every handler counts its runs in `runs` and
/// echoes the `who` metadata it saw in `msg`.
fn four_kinds(runs: Arc<AtomicUsize>) -> Methods {
    let who = |req_metadata: &wren_transport::codec::Metadata| {
        req_metadata.get("who").unwrap_or("nobody").to_owned()
    };
    let (r1, r2, r3, r4) = (runs.clone(), runs.clone(), runs.clone(), runs);
    Methods::new(SERVICE)
        .unary("Echo", move |req: Request<Echo>| {
            r1.fetch_add(1, Ordering::SeqCst);
            let who = who(req.metadata());
            async move {
                let n = req.into_inner().n;
                Ok(Response::new(Echo { msg: who, n }))
            }
        })
        .server_streaming("Repeat", move |req: Request<Echo>| {
            r2.fetch_add(1, Ordering::SeqCst);
            let who = who(req.metadata());
            async move {
                let n = req.into_inner().n;
                let replies = (0..n).map(move |i| {
                    Ok(Echo {
                        msg: who.clone(),
                        n: i,
                    })
                });
                Ok(Response::new(stream::iter(replies)))
            }
        })
        .client_streaming("Count", move |req: Request<Streaming<Echo>>| {
            r3.fetch_add(1, Ordering::SeqCst);
            let who = who(req.metadata());
            async move {
                let mut messages = req.into_inner();
                let mut n = 0;
                while messages.message().await?.is_some() {
                    n += 1;
                }
                Ok(Response::new(Echo { msg: who, n }))
            }
        })
        .bidi("EchoAll", move |req: Request<Streaming<Echo>>| {
            r4.fetch_add(1, Ordering::SeqCst);
            let who = who(req.metadata());
            async move {
                let replies = req.into_inner();
                Ok(Response::new(futures_util::StreamExt::map(
                    replies,
                    move |m| {
                        m.map(|m| Echo {
                            msg: who.clone(),
                            n: m.n,
                        })
                    },
                )))
            }
        })
}

/// A request for `message`, with the token as `authorization` metadata if
/// there is one.
fn with_token<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut req = Request::new(message);
    if let Some(token) = token {
        req.metadata_mut().insert("authorization", token);
    }
    req
}

/// Calls every kind once; returns each call's outcome: its (last) reply,
/// or the status that ended it.
async fn call_all<S>(client: &mut Client<S>, token: Option<&str>) -> Vec<Result<Echo, Status>>
where
    S: tower_service::Service<Request<Body>, Response = Response<Body>>,
    S::Error: Into<BoxError>,
{
    let echo = |n| Echo {
        msg: String::new(),
        n,
    };
    let parts = || stream::iter((0..4).map(echo));
    let mut outcomes = Vec::new();
    let unary = client.unary::<Echo, Echo>(with_token(echo(7), token), SERVICE, "Echo");
    outcomes.push(within("Echo", unary).await.map(Response::into_inner));
    let repeat =
        client.server_streaming::<Echo, Echo>(with_token(echo(3), token), SERVICE, "Repeat");
    outcomes.push(match within("Repeat", repeat).await {
        Ok(replies) => last(replies.into_inner()).await,
        Err(status) => Err(status),
    });
    let count =
        client.client_streaming::<Echo, _, Echo>(with_token(parts(), token), SERVICE, "Count");
    outcomes.push(within("Count", count).await.map(Response::into_inner));
    let echo_all =
        client.streaming::<Echo, _, Echo>(with_token(parts(), token), SERVICE, "EchoAll");
    outcomes.push(match within("EchoAll", echo_all).await {
        Ok(replies) => last(replies.into_inner()).await,
        Err(status) => Err(status),
    });
    outcomes
}

/// The last message of a stream, or the status that ended it.
async fn last(mut replies: Streaming<Echo>) -> Result<Echo, Status> {
    let mut last = None;
    while let Some(reply) = within("a reply", replies.message()).await? {
        last = Some(reply);
    }
    last.ok_or_else(|| Status::internal("the stream ended without a message"))
}

/// The server's interceptor: records the peer's credentials, requires the
/// token, and tags the call with the peer's pid in the `who` metadata.
fn require_token(
    seen: Arc<Mutex<Vec<PeerCredentials>>>,
) -> impl Fn(Request<()>) -> Result<Request<()>, Status> + Clone {
    move |mut req: Request<()>| {
        let cred = *req
            .extensions()
            .get::<Peer>()
            .ok_or_else(|| Status::internal("no peer in the extensions"))?
            .credentials()
            .ok_or_else(|| Status::unauthenticated("no peer credentials"))?;
        seen.lock().unwrap().push(cred);
        if req.metadata().get("authorization") != Some(TOKEN) {
            return Err(Status::permission_denied(format!(
                "{} needs a token",
                req.method()
            )));
        }
        let who = format!("pid {}", cred.pid.unwrap_or(-1));
        req.metadata_mut().insert("who", who);
        Ok(req)
    }
}

#[tokio::test]
async fn a_server_interceptor_guards_all_four_kinds_and_reads_peer_credentials() {
    let runs = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = TestServer::spawn(
        Server::builder()
            .layer(InterceptorLayer::new(require_token(seen.clone())))
            .add_service(four_kinds(runs.clone())),
    );
    let mut client = server.client().await;

    // Without the token: every kind fails with the interceptor's status,
    // and no handler runs.
    let outcomes = call_all(&mut client, None).await;
    for (method, outcome) in ["Echo", "Repeat", "Count", "EchoAll"].iter().zip(outcomes) {
        let err = outcome.expect_err("rejected");
        assert_eq!(err.code(), Code::PermissionDenied, "{method}: {err:?}");
        assert_eq!(err.message(), format!("{method} needs a token"));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 0);

    // With it: every kind runs and sees what the interceptor added.
    let me = format!("pid {}", std::process::id());
    let outcomes = call_all(&mut client, Some(TOKEN)).await;
    let replies: Vec<Echo> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        replies,
        [(7, "Echo"), (2, "Repeat"), (4, "Count"), (3, "EchoAll")]
            .map(|(n, _)| Echo { msg: me.clone(), n })
    );
    assert_eq!(runs.load(Ordering::SeqCst), 4);

    // The interceptor saw this process on the other end, eight times.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 8);
    let own_uid = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    for cred in seen.iter() {
        assert_eq!(cred.pid, Some(std::process::id() as i32));
        if let Ok(uid) = own_uid {
            assert_eq!(cred.uid, uid);
        }
    }
}

#[tokio::test]
async fn a_per_service_interceptor_keeps_the_service_name_and_streaming_kinds() {
    let runs = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let guarded = InterceptedService::new(four_kinds(runs.clone()), require_token(seen.clone()));
    assert_eq!(guarded.service_name(), SERVICE);
    assert_eq!(guarded.method_kind("Repeat"), MethodKind::ServerStreaming);
    assert_eq!(guarded.method_kind("Count"), MethodKind::ClientStreaming);
    assert_eq!(guarded.method_kind("EchoAll"), MethodKind::Bidi);
    let open = Methods::new("wren.test.Open").unary("Ping", |_: Request<Echo>| async {
        Ok(Response::new(Echo::default()))
    });
    let server = TestServer::spawn(Server::builder().add_service(guarded).add_service(open));
    let mut client = server.client().await;

    let outcomes = call_all(&mut client, Some(TOKEN)).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    let outcomes = call_all(&mut client, None).await;
    assert!(
        outcomes.iter().all(|o| o
            .as_ref()
            .is_err_and(|e| e.code() == Code::PermissionDenied)),
        "{outcomes:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 4);

    // The other service is not guarded.
    let reply = within(
        "Ping",
        client.unary::<Echo, Echo>(Request::new(Echo::default()), "wren.test.Open", "Ping"),
    )
    .await;
    assert!(reply.is_ok(), "{reply:?}");
    assert_eq!(seen.lock().unwrap().len(), 8);
}

#[tokio::test]
async fn a_client_interceptor_adds_metadata_or_refuses_before_the_wire() {
    let runs = Arc::new(AtomicUsize::new(0));
    let arrived = Arc::new(AtomicUsize::new(0));
    // Counts every call that reaches the server, handled or not.
    let count_arrivals = InterceptorLayer::new({
        let arrived = arrived.clone();
        move |req: Request<()>| {
            arrived.fetch_add(1, Ordering::SeqCst);
            Ok(req)
        }
    });
    let server = TestServer::spawn(
        Server::builder()
            .layer(count_arrivals)
            .add_service(four_kinds(runs.clone())),
    );

    let mut client = Client::with_interceptor(server.channel().await, |mut req: Request<()>| {
        req.metadata_mut().insert("who", "client interceptor");
        Ok(req)
    });
    let outcomes = call_all(&mut client, None).await;
    let replies: Vec<Echo> = outcomes.into_iter().map(Result::unwrap).collect();
    assert!(
        replies.iter().all(|r| r.msg == "client interceptor"),
        "{replies:?}"
    );
    assert_eq!(arrived.load(Ordering::SeqCst), 4);

    // A refusing interceptor: the caller gets its status, the server nothing.
    let mut refusing = Client::with_interceptor(server.channel().await, |req: Request<()>| {
        Err(Status::failed_precondition(format!(
            "not calling {}/{}",
            req.service(),
            req.method()
        )))
    });
    let outcomes = call_all(&mut refusing, Some(TOKEN)).await;
    for (method, outcome) in ["Echo", "Repeat", "Count", "EchoAll"].iter().zip(outcomes) {
        let err = outcome.expect_err("refused");
        assert_eq!(err.code(), Code::FailedPrecondition);
        assert_eq!(err.message(), format!("not calling {SERVICE}/{method}"));
    }
    assert_eq!(arrived.load(Ordering::SeqCst), 4);
    assert_eq!(runs.load(Ordering::SeqCst), 4);

    // The same as a layer around the channel.
    let layered = tower_layer::Layer::layer(
        &ClientInterceptorLayer::new(|mut req: Request<()>| {
            req.metadata_mut().insert("who", "layer");
            Ok(req)
        }),
        server.channel().await,
    );
    let reply = within(
        "Echo",
        Client::new(layered).unary::<Echo, Echo>(Request::new(Echo::default()), SERVICE, "Echo"),
    )
    .await
    .unwrap();
    assert_eq!(reply.into_inner().msg, "layer");
}

#[tokio::test]
async fn tower_filter_and_map_request_do_the_same_jobs() {
    let runs = Arc::new(AtomicUsize::new(0));
    // tower's filter: a predicate over the whole request that may fail.
    let filter = tower::filter::FilterLayer::new(|req: Request<Body>| {
        if req.metadata().get("authorization") == Some(TOKEN) {
            Ok(req)
        } else {
            Err(Status::unauthenticated("no token"))
        }
    });
    let server = TestServer::spawn(
        Server::builder()
            .layer(filter)
            .add_service(four_kinds(runs.clone())),
    );

    let outcomes = call_all(&mut server.client().await, None).await;
    assert!(
        outcomes.iter().all(|o| o
            .as_ref()
            .is_err_and(|e| e.code() == Code::Unauthenticated && e.message() == "no token")),
        "{outcomes:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);

    // tower's map_request on the client: adds the token to every call.
    let channel = tower::ServiceBuilder::new()
        .map_request(|mut req: Request<Body>| {
            req.metadata_mut().insert("authorization", TOKEN);
            req
        })
        .service(server.channel().await);
    let outcomes = call_all(&mut Client::new(channel), None).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(runs.load(Ordering::SeqCst), 4);
}
