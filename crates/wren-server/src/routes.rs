//! [`Routes`]: services by full name, as one tower service.

use std::any::{Any, TypeId};
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use futures_util::future::BoxFuture;
use pin_project_lite::pin_project;
use tower_service::Service;
use wren_transport::{
    Body, BoxError, MethodKind, NameMap, Request, Response, Side, codec::Status, panic_status,
    status_from_error,
};

use crate::guard::Guarded;

/// A service that knows its full proto name, such as `containerd.task.v2.Task`.
///
/// Generated servers implement it; [`Methods`](crate::Methods) does too.
pub trait NamedService {
    /// The full proto name of the service, without a leading slash.
    fn service_name(&self) -> &str;

    /// How `method` streams. The server opens a stream for a call only when
    /// its method is registered as streaming, whatever the Request's flags
    /// say, as Go does. Default: every method is unary.
    fn method_kind(&self, method: &str) -> MethodKind {
        let _ = method;
        MethodKind::Unary
    }
}

/// Tells how each method of a service streams.
type Kinds = Arc<dyn Fn(&str) -> MethodKind + Send + Sync>;

/// A handler's future, type-erased: what generated services and
/// [`Methods`](crate::Methods) return, so routing passes it on as it is.
type Handler = BoxFuture<'static, Result<Response<Body>, Status>>;

/// A handler future that fails with `status` at once.
fn failed(status: Status) -> Handler {
    Box::pin(std::future::ready(Err(status)))
}

trait Route: Send + Sync {
    fn call(&self, req: Request<Body>) -> Handler;
    fn kind(&self, method: &str) -> MethodKind;
}

struct ServiceRoute<S> {
    service: S,
    kinds: Option<Kinds>,
}

impl<S> Route for ServiceRoute<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    fn kind(&self, method: &str) -> MethodKind {
        self.kinds.as_ref().map_or(MethodKind::Unary, |k| k(method))
    }

    fn call(&self, req: Request<Body>) -> Handler {
        let mut svc = self.service.clone();
        if TypeId::of::<S::Future>() == TypeId::of::<Handler>() {
            // A service that is always ready and already returns a boxed
            // handler future (every generated service, `Methods`): call it
            // now and hand its future on, instead of boxing it a second
            // time inside an `async` block. A panic here is the handler's,
            // as it would be inside the block.
            let ready = catch_unwind(AssertUnwindSafe(|| {
                svc.poll_ready(&mut Context::from_waker(Waker::noop()))
            }));
            match ready {
                Ok(Poll::Ready(Ok(()))) => {
                    return match catch_unwind(AssertUnwindSafe(|| svc.call(req))) {
                        Ok(future) => (&mut Some(future) as &mut dyn Any)
                            .downcast_mut::<Option<Handler>>()
                            .and_then(Option::take)
                            .expect("the type ids matched"),
                        Err(panic) => failed(panic_status("handler", &*panic)),
                    };
                }
                Ok(Poll::Ready(Err(e))) => return failed(status_from_error(e.into())),
                Ok(Poll::Pending) => {} // Wait for it below, with a real waker.
                Err(panic) => return failed(panic_status("handler", &*panic)),
            }
        }
        Box::pin(async move {
            futures_util::future::poll_fn(|cx| svc.poll_ready(cx))
                .await
                .map_err(|e| status_from_error(e.into()))?;
            svc.call(req).await.map_err(|e| status_from_error(e.into()))
        })
    }
}

/// Every registered service, routed by `Request::service`. An unknown service
/// gets `UNIMPLEMENTED` with the message `service <name>`, as Go replies.
#[derive(Clone, Default)]
pub struct Routes {
    map: Arc<NameMap<Box<str>, Arc<dyn Route>>>,
}

impl Routes {
    /// No services.
    pub fn new() -> Routes {
        Routes::default()
    }

    /// Adds `service` under `name`.
    ///
    /// # Panics
    ///
    /// If a service of that name is already registered.
    pub fn add<S>(&mut self, name: impl Into<String>, service: S)
    where
        S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        self.insert(name.into(), service, None);
    }

    /// Adds a [`NamedService`] under its own name, with its methods' kinds.
    ///
    /// # Panics
    ///
    /// If a service of that name is already registered.
    pub fn add_service<S>(&mut self, service: S)
    where
        S: NamedService
            + Service<Request<Body>, Response = Response<Body>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        let name = service.service_name().to_owned();
        let named = service.clone();
        let kinds: Kinds = Arc::new(move |method: &str| named.method_kind(method));
        self.insert(name, service, Some(kinds));
    }

    fn insert<S>(&mut self, name: String, service: S, kinds: Option<Kinds>)
    where
        S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
    {
        let map = Arc::make_mut(&mut self.map);
        assert!(
            !map.contains_key(name.as_str()),
            "service {name} is registered twice"
        );
        map.insert(name.into(), Arc::new(ServiceRoute { service, kinds }));
    }

    /// How `service`'s `method` streams; unknown methods are unary.
    pub fn method_kind(&self, service: &str, method: &str) -> MethodKind {
        self.map
            .get(service)
            .map_or(MethodKind::Unary, |route| route.kind(method))
    }

    /// The names of the registered services.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(|name| &**name)
    }
}

impl fmt::Debug for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

pin_project! {
    /// The future of a call through [`Routes`]: the handler's future, with
    /// the call's deadline and the handler's panics decided here, inside
    /// the server's layers (`DEADLINE_EXCEEDED`, `INTERNAL`).
    pub struct RoutesFuture {
        #[pin]
        inner: Guarded<Handler>,
    }
}

impl Future for RoutesFuture {
    type Output = Result<Response<Body>, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx)
    }
}

impl fmt::Debug for RoutesFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutesFuture").finish_non_exhaustive()
    }
}

impl Service<Request<Body>> for Routes {
    type Response = Response<Body>;
    type Error = Status;
    type Future = RoutesFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let Some(route) = self.map.get(req.service()) else {
            // Go answers an unknown service before it looks at the
            // deadline: so does wren.
            let status = Status::unimplemented(format!("service {}", req.service()));
            return RoutesFuture {
                inner: Guarded::new(failed(status), None),
            };
        };
        let deadline = req.deadline();
        let handler = if deadline.is_some_and(|d| Instant::now() >= d) {
            // Expired when it arrived: the service is not even called.
            failed(Side::Server.deadline_exceeded())
        } else {
            route.call(req)
        };
        RoutesFuture {
            inner: Guarded::new(handler, deadline),
        }
    }
}
