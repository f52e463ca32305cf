//! Interceptors: a function that sees the head of every call — metadata,
//! deadline, extensions, service and method names — before it goes on, and
//! may change it or reject the call with a [`Status`].
//!
//! The same types serve both sides. On a server an interceptor runs when a
//! call's Request frame has arrived, before the handler (and, for streaming
//! calls, before any stream message is read); the peer's [`Peer`](crate::Peer)
//! is in the extensions. On a client it runs when the call is made, before
//! anything is written: a rejected call never reaches the wire.
//!
//! An interceptor cannot see the message (the body stays encoded, or is a
//! stream) and cannot await. For either, write a tower layer; tower's own
//! `filter::AsyncFilterLayer` takes an async predicate.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower::{Layer, Service};
use wren_codec::Status;

use crate::{Body, BoxError, Request, Response};

/// Inspects or changes the head of each call, or rejects the call.
///
/// Implemented for every `FnMut(Request<()>) -> Result<Request<()>, Status>`,
/// the shape tonic's interceptors have, so a closure is an interceptor:
///
/// ```
/// use wren_transport::{Request, codec::Status};
///
/// let require_tenant = |req: Request<()>| match req.metadata().get("tenant") {
///     Some(_) => Ok(req),
///     None => Err(Status::unauthenticated("no tenant metadata")),
/// };
/// # let _: &dyn Fn(Request<()>) -> Result<Request<()>, Status> = &require_tenant;
/// ```
///
/// The request carries no message (`()`): its metadata, deadline,
/// extensions, service and method names and
/// [`method_kind`](Request::method_kind) are those of the call, and what
/// the interceptor changes in them is what the rest of the call sees.
/// Returning `Err(status)` ends the call with that status; the service
/// behind is not called.
pub trait Interceptor {
    /// Looks at one call's head; returns it (changed or not) to let the call
    /// go on, or the status to end it with.
    ///
    /// # Errors
    ///
    /// The status the call fails with; the client sees exactly this code
    /// and message.
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status>;
}

impl<F> Interceptor for F
where
    F: FnMut(Request<()>) -> Result<Request<()>, Status>,
{
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        self(request)
    }
}

/// A tower [`Layer`] that runs an [`Interceptor`] in front of a service: on
/// a server, `Server::builder().layer(InterceptorLayer::new(f))` guards
/// every service; on a client, it wraps a channel.
#[derive(Clone, Copy, Debug)]
pub struct InterceptorLayer<I> {
    interceptor: I,
}

impl<I> InterceptorLayer<I> {
    /// A layer running `interceptor` on every call.
    pub fn new(interceptor: I) -> InterceptorLayer<I> {
        InterceptorLayer { interceptor }
    }
}

impl<S, I: Clone> Layer<S> for InterceptorLayer<I> {
    type Service = InterceptedService<S, I>;

    fn layer(&self, inner: S) -> InterceptedService<S, I> {
        InterceptedService::new(inner, self.interceptor.clone())
    }
}

/// A service with an [`Interceptor`] in front of it.
///
/// Its error is a [`BoxError`]: a rejection is the interceptor's
/// [`Status`], boxed, which servers and typed clients turn back into the
/// same status; the inner service's errors pass through boxed.
#[derive(Clone, Copy, Debug)]
pub struct InterceptedService<S, I> {
    inner: S,
    interceptor: I,
}

impl<S, I> InterceptedService<S, I> {
    /// `inner`, with `interceptor` run before each call.
    pub fn new(inner: S, interceptor: I) -> InterceptedService<S, I> {
        InterceptedService { inner, interceptor }
    }

    /// The service behind the interceptor.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The service behind the interceptor, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The service behind the interceptor, consuming this one.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, I> Service<Request<Body>> for InterceptedService<S, I>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Error: Into<BoxError>,
    I: Interceptor,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let (parts, body) = request.into_parts();
        let kind = match self.interceptor.call(Request::from_parts(parts, ())) {
            Ok(head) => {
                let (parts, ()) = head.into_parts();
                Kind::Called {
                    future: self.inner.call(Request::from_parts(parts, body)),
                }
            }
            Err(status) => Kind::Rejected {
                status: Some(status),
            },
        };
        ResponseFuture { kind }
    }
}

pin_project! {
    /// The future of an [`InterceptedService`]: the inner service's, or the
    /// interceptor's rejection.
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Called { #[pin] future: F },
        Rejected { status: Option<Status> },
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.kind {
            Kind::Called { .. } => "called",
            Kind::Rejected { .. } => "rejected",
        };
        f.debug_tuple("ResponseFuture").field(&state).finish()
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<Response<Body>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called { future } => future.poll(cx).map_err(Into::into),
            KindProj::Rejected { status } => {
                let status = status.take().unwrap_or_else(|| {
                    Status::internal("interceptor future polled after it ended")
                });
                Poll::Ready(Err(status.into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tower::ServiceExt;
    use wren_codec::Code;

    use super::*;
    use crate::{MethodKind, status_from_error};

    /// Counts its calls and echoes the request's metadata `k` and its body.
    #[derive(Clone, Default)]
    struct Inner(Arc<AtomicUsize>);

    impl Service<Request<Body>> for Inner {
        type Response = Response<Body>;
        type Error = Status;
        type Future = std::future::Ready<Result<Response<Body>, Status>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: Request<Body>) -> Self::Future {
            self.0.fetch_add(1, Ordering::SeqCst);
            let mut resp = Response::new(req.into_inner());
            resp.extensions_mut().insert("called");
            std::future::ready(Ok(resp))
        }
    }

    fn request(body: Body) -> Request<Body> {
        let mut req = Request::new(body);
        req.set_path("demo.v1.Demo", "Call");
        req
    }

    #[tokio::test]
    async fn a_rejection_ends_the_call_with_its_status_and_skips_the_service() {
        let inner = Inner::default();
        let svc = InterceptedService::new(inner.clone(), |req: Request<()>| {
            Err(Status::permission_denied(format!("no {}", req.method())))
        });
        let err = svc.oneshot(request(Body::empty())).await.unwrap_err();
        let status = status_from_error(err);
        assert_eq!(status.code(), Code::PermissionDenied);
        assert_eq!(status.message(), "no Call");
        assert_eq!(inner.0.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn changes_to_the_head_reach_the_service_and_the_body_is_kept() {
        let seen = Arc::new(std::sync::Mutex::new(None));
        let inner = tower::service_fn({
            let seen = seen.clone();
            move |req: Request<Body>| {
                *seen.lock().unwrap() = Some((
                    req.metadata().get("added").map(str::to_owned),
                    req.service().to_owned(),
                    req.method_kind(),
                    req.deadline().is_some(),
                ));
                std::future::ready(Ok::<_, Status>(Response::new(req.into_inner())))
            }
        });
        let svc = InterceptedService::new(inner, |mut req: Request<()>| {
            req.metadata_mut().insert("added", "yes");
            req.set_timeout(std::time::Duration::from_secs(5));
            Ok(req)
        });
        let mut req = request(Body::new("payload".into()));
        req.set_method_kind(MethodKind::ClientStreaming);
        let resp = svc.oneshot(req).await.unwrap();
        assert_eq!(resp.into_inner().message().unwrap().as_ref(), b"payload");
        assert_eq!(
            seen.lock().unwrap().take(),
            Some((
                Some("yes".to_owned()),
                "demo.v1.Demo".to_owned(),
                MethodKind::ClientStreaming,
                true
            ))
        );
    }

    #[tokio::test]
    async fn a_streaming_body_passes_through_unread() {
        let inner = Inner::default();
        let svc = InterceptedService::new(inner.clone(), Ok::<Request<()>, Status>);
        let body = Body::from_stream(pending_stream());
        let resp = svc.oneshot(request(body)).await.unwrap();
        assert!(resp.get_ref().is_stream());
        assert_eq!(resp.extensions().get::<&str>(), Some(&"called"));
        assert_eq!(inner.0.load(Ordering::SeqCst), 1);
    }

    fn pending_stream()
    -> impl futures_core::Stream<Item = Result<bytes::Bytes, Status>> + Send + 'static {
        struct Never;
        impl futures_core::Stream for Never {
            type Item = Result<bytes::Bytes, Status>;
            fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
                Poll::Pending
            }
        }
        Never
    }

    #[tokio::test]
    async fn the_layer_clones_its_interceptor_into_each_service() {
        let calls = Arc::new(AtomicUsize::new(0));
        let layer = InterceptorLayer::new({
            let calls = calls.clone();
            move |req: Request<()>| {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(req)
            }
        });
        for _ in 0..3 {
            layer
                .layer(Inner::default())
                .oneshot(request(Body::empty()))
                .await
                .unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
