//! [`Routes`]: services by full name, as one tower service.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tower_service::Service;
use wren_transport::{Body, BoxError, Request, Response, codec::Status, status_from_error};

/// A service that knows its full proto name, such as `containerd.task.v2.Task`.
///
/// Generated servers implement it; [`Methods`](crate::Methods) does too.
pub trait NamedService {
    /// The full proto name of the service, without a leading slash.
    fn service_name(&self) -> &str;
}

trait Route: Send + Sync {
    fn call(&self, req: Request<Body>) -> BoxFuture<'static, Result<Response<Body>, Status>>;
}

struct ServiceRoute<S>(S);

impl<S> Route for ServiceRoute<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    fn call(&self, req: Request<Body>) -> BoxFuture<'static, Result<Response<Body>, Status>> {
        let mut svc = self.0.clone();
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
    map: Arc<HashMap<String, Arc<dyn Route>>>,
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
        let name = name.into();
        let map = Arc::make_mut(&mut self.map);
        assert!(
            !map.contains_key(&name),
            "service {name} is registered twice"
        );
        map.insert(name, Arc::new(ServiceRoute(service)));
    }

    /// The names of the registered services.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
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
