//! `Routes` calls a service whose future is already a boxed handler future
//! straight away (no second box). These check that doing so keeps what the
//! boxed path guaranteed: a panic in the service's `call` fails that call
//! with INTERNAL, a call whose deadline has passed never reaches the
//! service, and a service that is not ready yet is waited for.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tower_service::Service;
use wren_server::{MethodKind, NamedService, Routes};
use wren_test_support::within;
use wren_transport::codec::{Code, Status};
use wren_transport::{Body, Request, Response};

/// A hand-written service that does work in `call` itself (counted), and
/// panics there for the method `PanicInCall`. Not ready on the first
/// `poll_ready` when `slow_start` is set.
#[derive(Clone)]
struct Eager {
    calls: Arc<AtomicUsize>,
    slow_start: bool,
    polled: bool,
}

impl NamedService for Eager {
    fn service_name(&self) -> &str {
        "test.Eager"
    }

    fn method_kind(&self, _method: &str) -> MethodKind {
        MethodKind::Unary
    }
}

impl Service<Request<Body>> for Eager {
    type Response = Response<Body>;
    type Error = Status;
    type Future = BoxFuture<'static, Result<Response<Body>, Status>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        if self.slow_start && !self.polled {
            self.polled = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if req.method() == "PanicInCall" {
            panic!("a service panics in call");
        }
        Box::pin(async { Ok(Response::new(Body::new("ok".into()))) })
    }
}

fn routes(slow_start: bool) -> (Routes, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut routes = Routes::new();
    routes.add_service(Eager {
        calls: calls.clone(),
        slow_start,
        polled: false,
    });
    (routes, calls)
}

fn request(method: &'static str) -> Request<Body> {
    let mut req = Request::new(Body::new("hi".into()));
    req.set_path("test.Eager", method);
    req
}

/// Calls "Fine" and checks its reply.
async fn assert_fine(routes: &mut Routes) {
    let reply = within("the call to Fine", routes.call(request("Fine")))
        .await
        .unwrap();
    assert_eq!(reply.into_inner().into_message().unwrap(), "ok");
}

#[tokio::test]
async fn a_panic_in_a_services_call_fails_that_call_with_internal() {
    let (mut routes, calls) = routes(false);
    let err = within("the panicking call", routes.call(request("PanicInCall")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(err.message(), "handler panicked");
    // The routes go on serving.
    assert_fine(&mut routes).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_call_whose_deadline_passed_never_reaches_the_service() {
    let (mut routes, calls) = routes(false);
    let mut req = request("Fine");
    req.set_deadline(Some(Instant::now() - Duration::from_millis(1)));
    let err = within("the expired call", routes.call(req))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the service was called");
}

#[tokio::test]
async fn a_service_not_ready_at_once_is_waited_for() {
    let (mut routes, calls) = routes(true);
    assert_fine(&mut routes).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unknown_service_is_unimplemented_even_past_its_deadline() {
    let (mut routes, calls) = routes(false);
    let mut req = Request::new(Body::new("hi".into()));
    req.set_path("test.Missing", "Fine");
    req.set_deadline(Some(Instant::now() - Duration::from_millis(1)));
    let err = within("the call", routes.call(req)).await.unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);
    assert_eq!(err.message(), "service test.Missing");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
