//! [`Routes`]: services by full name, as one tower service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tower_service::Service;
use wren_transport::{
    Body, BoxError, MethodKind, NameMap, Request, Response, codec::Status, status_from_error,
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

trait Route: Send + Sync {
    fn call(&self, req: Request<Body>) -> BoxFuture<'static, Result<Response<Body>, Status>>;
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

    fn call(&self, req: Request<Body>) -> BoxFuture<'static, Result<Response<Body>, Status>> {
        let mut svc = self.service.clone();
        let deadline = req.deadline();
        Box::pin(Guarded::new(
            async move {
                futures_util::future::poll_fn(|cx| svc.poll_ready(cx))
                    .await
                    .map_err(|e| status_from_error(e.into()))?;
                svc.call(req).await.map_err(|e| status_from_error(e.into()))
            },
            deadline,
        ))
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

impl Service<Request<Body>> for Routes {
    type Response = Response<Body>;
    type Error = Status;
    type Future = BoxFuture<'static, Result<Response<Body>, Status>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        match self.map.get(req.service()) {
            Some(route) => route.call(req),
            None => {
                let status = Status::unimplemented(format!("service {}", req.service()));
                Box::pin(std::future::ready(Err(status)))
            }
        }
    }
}
