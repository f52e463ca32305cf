//! Tower middleware applied with `Server::builder().layer(...)`.
#![allow(missing_docs)]

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::task::JoinSet;
use tower::limit::ConcurrencyLimitLayer;
use tower::timeout::TimeoutLayer;
use tower_layer::Layer;
use tower_service::Service;
use wren_server::{Methods, Server};
use wren_transport::codec::{Code, Status};
use wren_transport::{Body, BoxError, Request, Response};

use support::{Echo, SERVICE, TestServer, echo_service, within};

fn slow_service() -> Methods {
    echo_service().unary("Sleep", |req: Request<Echo>| async move {
        tokio::time::sleep(Duration::from_millis(req.get_ref().n)).await;
        Ok(Response::new(req.into_inner()))
    })
}

async fn call(
    client: &mut wren_client::Client,
    method: &'static str,
    msg: Echo,
) -> Result<Echo, Status> {
    client
        .unary::<Echo, Echo>(Request::new(msg), SERVICE, method)
        .await
        .map(Response::into_inner)
}

// ===== timeout =====

#[tokio::test]
async fn timeout_layer_turns_a_slow_handler_into_deadline_exceeded() {
    let server = TestServer::spawn(
        Server::builder()
            .layer(TimeoutLayer::new(Duration::from_millis(100)))
            .add_service(slow_service()),
    );
    let mut client = server.client().await;

    let err = call(
        &mut client,
        "Sleep",
        Echo {
            msg: "slow".into(),
            n: 60_000,
        },
    )
    .await
    .expect_err("the layer's timeout fires");
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");

    // A quick call passes through the same layer.
    let ok = call(
        &mut client,
        "Sleep",
        Echo {
            msg: "quick".into(),
            n: 0,
        },
    )
    .await
    .expect("quick call");
    assert_eq!(ok.msg, "quick");
}

// ===== concurrency limit =====

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_limit_layer_serializes_calls_across_connections() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let calls = Arc::new(AtomicUsize::new(0));
    let (i, m, c) = (in_flight.clone(), max_seen.clone(), calls.clone());
    let svc = Methods::new(SERVICE).unary("Count", move |req: Request<Echo>| {
        let (in_flight, max_seen, calls) = (i.clone(), m.clone(), c.clone());
        async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            max_seen.fetch_max(now, Ordering::SeqCst);
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(Response::new(req.into_inner()))
        }
    });
    let server = TestServer::spawn(
        Server::builder()
            .layer(ConcurrencyLimitLayer::new(1))
            .add_service(svc),
    );

    // Ten calls at once: eight on one channel, two on another connection.
    let first = server.client().await;
    let second = server.client().await;
    let mut set = JoinSet::new();
    for n in 0..10u64 {
        let mut client = if n < 8 { first.clone() } else { second.clone() };
        set.spawn(async move {
            let msg = Echo {
                msg: format!("{n}"),
                n,
            };
            let reply = call(&mut client, "Count", msg.clone()).await;
            assert_eq!(reply.expect("limited call succeeds"), msg);
        });
    }
    while let Some(res) = within("limited calls", set.join_next()).await {
        res.expect("call task");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 10);
    assert_eq!(max_seen.load(Ordering::SeqCst), 1, "calls overlapped");
}

// ===== a hand-written layer =====

/// The caller's identity, as the auth layer found it.
#[derive(Clone, Debug, PartialEq)]
struct Caller(String);

#[derive(Clone)]
struct RequireToken;

impl<S> Layer<S> for RequireToken {
    type Service = RequireTokenService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RequireTokenService { inner }
    }
}

#[derive(Clone)]
struct RequireTokenService<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for RequireTokenService<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<Body>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        match req.metadata().get("authorization") {
            Some(token) if token.starts_with("token-") => {
                let who = token["token-".len()..].to_owned();
                req.extensions_mut().insert(Caller(who));
                let fut = self.inner.call(req);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            _ => {
                let status = Status::permission_denied(format!("no token for {}", req.method()));
                Box::pin(std::future::ready(Err(status.into())))
            }
        }
    }
}

#[tokio::test]
async fn custom_layer_rejects_with_permission_denied() {
    let handled = Arc::new(AtomicUsize::new(0));
    let h = handled.clone();
    let svc = Methods::new(SERVICE).unary("WhoAmI", move |req: Request<Echo>| {
        let handled = h.clone();
        async move {
            handled.fetch_add(1, Ordering::SeqCst);
            let caller = req.extensions().get::<Caller>().cloned();
            let who = caller.map(|c| c.0).unwrap_or_default();
            Ok(Response::new(Echo { msg: who, n: 0 }))
        }
    });
    let server = TestServer::spawn(Server::builder().layer(RequireToken).add_service(svc));
    let mut client = server.client().await;

    let err = client
        .unary::<Echo, Echo>(Request::new(Echo::default()), SERVICE, "WhoAmI")
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(err.message(), "no token for WhoAmI");
    assert_eq!(
        handled.load(Ordering::SeqCst),
        0,
        "handler ran without a token"
    );

    // Also rejected before routing: an unknown service gets the layer's answer.
    let err = client
        .unary::<Echo, Echo>(Request::new(Echo::default()), "no.Such", "Thing")
        .await
        .expect_err("no token");
    assert_eq!(err.code(), Code::PermissionDenied);

    let mut req = Request::new(Echo::default());
    req.metadata_mut().insert("Authorization", "token-alice");
    let reply: Response<Echo> = client
        .unary(req, SERVICE, "WhoAmI")
        .await
        .expect("with token");
    assert_eq!(
        reply.get_ref().msg,
        "alice",
        "extension set by the layer reaches the handler"
    );
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

// ===== layer order =====

#[derive(Clone)]
struct Record {
    name: &'static str,
    log: Arc<Mutex<Vec<&'static str>>>,
}

impl<S> Layer<S> for Record {
    type Service = RecordService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RecordService {
            inner,
            name: self.name,
            log: self.log.clone(),
        }
    }
}

#[derive(Clone)]
struct RecordService<S> {
    inner: S,
    name: &'static str,
    log: Arc<Mutex<Vec<&'static str>>>,
}

impl<S: Service<Request<Body>>> Service<Request<Body>> for RecordService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> S::Future {
        self.log.lock().unwrap().push(self.name);
        self.inner.call(req)
    }
}

#[tokio::test]
async fn first_layer_added_sees_the_request_first() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let server = TestServer::spawn(
        Server::builder()
            .layer(Record {
                name: "first",
                log: log.clone(),
            })
            .layer(Record {
                name: "second",
                log: log.clone(),
            })
            .add_service(echo_service()),
    );
    let mut client = server.client().await;
    call(&mut client, "Echo", Echo::default()).await.unwrap();
    // As with tower::ServiceBuilder: the layer added first is the outermost.
    assert_eq!(*log.lock().unwrap(), ["first", "second"]);
}

// ===== every outcome reaches the layers =====

/// Each call's method and how it ended (`None`: cleanly).
type Seen = Arc<Mutex<Vec<(String, Option<(Code, String)>)>>>;

/// Records the final status of every call it wraps — the response future's
/// error, or the last item of a streaming reply — as a logging, metrics or
/// tracing layer would.
#[derive(Clone)]
struct Outcomes<S> {
    inner: S,
    seen: Seen,
}

/// Passes a streaming reply through, recording how it ended.
struct Watch {
    inner: wren_transport::BodyStream,
    method: String,
    seen: Seen,
}

impl futures_util::Stream for Watch {
    type Item = Result<bytes::Bytes, Status>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        let item = std::task::ready!(self.inner.as_mut().poll_next(cx));
        let end = match &item {
            Some(Ok(_)) => return Poll::Ready(item),
            Some(Err(status)) => Some((status.code(), status.message().to_owned())),
            None => None,
        };
        let method = self.method.clone();
        self.seen.lock().unwrap().push((method, end));
        Poll::Ready(item)
    }
}

impl<S> Service<Request<Body>> for Outcomes<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Status> + Send,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Status;
    type Future = BoxFuture<'static, Result<Response<Body>, Status>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let method = req.method().to_owned();
        let seen = self.seen.clone();
        let call = self.inner.call(req);
        Box::pin(async move {
            match call.await {
                Ok(resp) if resp.get_ref().is_stream() => Ok(resp.map(|body| {
                    Body::from_stream(Watch {
                        inner: body.into_stream(),
                        method,
                        seen,
                    })
                })),
                Ok(resp) => {
                    seen.lock().unwrap().push((method, None));
                    Ok(resp)
                }
                Err(status) => {
                    let end = Some((status.code(), status.message().to_owned()));
                    seen.lock().unwrap().push((method, end));
                    Err(status)
                }
            }
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_layer_sees_deadlines_panics_and_how_streams_end() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let service = slow_service()
        .unary("Panic", |_req: Request<Echo>| async move {
            if true {
                panic!("a handler panics");
            }
            Ok(Response::new(Echo::default()))
        })
        .server_streaming("Endless", |_req: Request<Echo>| async move {
            let replies = futures_util::stream::repeat_with(|| Ok(Echo::default()));
            Ok(Response::new(replies))
        })
        .server_streaming("PanicStream", |_req: Request<Echo>| async move {
            let replies = futures_util::stream::once(async {
                if true {
                    panic!("a reply stream panics");
                }
                Ok(Echo::default())
            });
            Ok(Response::new(replies))
        });
    let server = TestServer::spawn(
        Server::builder()
            .layer(tower::layer::layer_fn({
                let seen = seen.clone();
                move |inner| Outcomes {
                    inner,
                    seen: seen.clone(),
                }
            }))
            .add_service(service),
    );
    let mut client = server.client().await;

    // A handler still running at its deadline.
    let mut req = Request::new(Echo {
        msg: String::new(),
        n: 60_000,
    });
    req.set_timeout(Duration::from_millis(50));
    let err = within(
        "the deadline",
        client.unary::<_, Echo>(req, SERVICE, "Sleep"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);

    // A panicking handler.
    let err = within("the panic", call(&mut client, "Panic", Echo::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);

    // A streaming reply cut by its deadline, and one that panics.
    let mut req = Request::new(Echo::default());
    req.set_timeout(Duration::from_millis(50));
    let mut replies = within(
        "Endless opens",
        client.server_streaming::<_, Echo>(req, SERVICE, "Endless"),
    )
    .await
    .unwrap()
    .into_inner();
    let end = within("Endless to end", async {
        loop {
            if let Err(status) = replies.message().await {
                return status;
            }
        }
    })
    .await;
    assert_eq!(end.code(), Code::DeadlineExceeded, "{end:?}");
    let mut replies = within(
        "PanicStream opens",
        client.server_streaming::<_, Echo>(Request::new(Echo::default()), SERVICE, "PanicStream"),
    )
    .await
    .unwrap()
    .into_inner();
    let end = within("PanicStream to end", replies.message())
        .await
        .unwrap_err();
    assert_eq!(end.code(), Code::Internal, "{end:?}");

    // The layer saw all four outcomes, worded by the side that decided.
    within("the layer's records", async {
        while seen.lock().unwrap().len() < 4 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    let find = |method: &str| {
        seen.iter()
            .find(|(m, _)| m == method)
            .unwrap_or_else(|| panic!("the layer saw no outcome of {method}: {seen:?}"))
            .1
            .clone()
            .unwrap_or_else(|| panic!("{method} ended without a status: {seen:?}"))
    };
    let (code, message) = find("Sleep");
    assert_eq!(code, Code::DeadlineExceeded);
    assert!(message.contains("server"), "{message}");
    assert_eq!(
        find("Panic"),
        (Code::Internal, "handler panicked".to_owned())
    );
    let (code, message) = find("Endless");
    assert_eq!(code, Code::DeadlineExceeded);
    assert!(message.contains("server"), "{message}");
    assert_eq!(
        find("PanicStream"),
        (Code::Internal, "reply stream panicked".to_owned())
    );
    // The panic's own text stays in the server's log.
    assert_eq!(err.message(), "handler panicked");
}

#[tokio::test]
async fn a_client_deadline_says_the_client_gave_up() {
    // Nothing answers: the client's own timer decides.
    let (ours, _theirs) = tokio::net::UnixStream::pair().unwrap();
    let mut client = wren_client::Client::new(wren_client::Channel::new(ours));
    let mut req = Request::new(Echo::default());
    req.set_timeout(Duration::from_millis(20));
    let err = within(
        "the client deadline",
        client.unary::<_, Echo>(req, SERVICE, "Echo"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(err.message().contains("client"), "{err:?}");
}
