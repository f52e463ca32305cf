//! [`HealthServer`]: `grpc.health.v1.Health` as a tower service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, Stream};
use tower_service::Service;
use wren_server::{MethodKind, Methods, NamedService};
use wren_transport::codec::Status;
use wren_transport::{Body, Request, Response};

use crate::ServingStatus;
use crate::pb::{HealthCheckRequest, HealthCheckResponse};
use crate::reporter::Registry;

/// The full proto name of the health service.
pub const SERVICE_NAME: &str = "grpc.health.v1.Health";

/// `grpc.health.v1.Health`, to pass to `Server::add_service`; made by
/// [`health_reporter`](crate::health_reporter), which also returns the
/// handle that sets the statuses it reports.
#[derive(Clone)]
pub struct HealthServer {
    methods: Methods,
}

impl HealthServer {
    pub(crate) fn new(registry: Arc<Registry>) -> HealthServer {
        let check = Arc::clone(&registry);
        let methods = Methods::new(SERVICE_NAME)
            .unary("Check", move |req: Request<HealthCheckRequest>| {
                let status = check.get(&req.get_ref().service);
                async move {
                    match status {
                        Some(status) => Ok(Response::new(reply(status))),
                        None => Err(Status::not_found(format!(
                            "unknown service {:?}",
                            req.into_inner().service
                        ))),
                    }
                }
            })
            .server_streaming("Watch", move |req: Request<HealthCheckRequest>| {
                let rx = registry.watch(&req.get_ref().service);
                async move { Ok(Response::new(watch_stream(rx))) }
            });
        HealthServer { methods }
    }
}

fn reply(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse {
        status: status as i32,
    }
}

/// The status now, then each change; ends only when the call does.
fn watch_stream(
    rx: tokio::sync::watch::Receiver<Option<ServingStatus>>,
) -> impl Stream<Item = Result<HealthCheckResponse, Status>> + Send + 'static {
    stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first && rx.changed().await.is_err() {
            return None;
        }
        let status = rx
            .borrow_and_update()
            .unwrap_or(ServingStatus::ServiceUnknown);
        Some((Ok(reply(status)), (rx, false)))
    })
}

impl fmt::Debug for HealthServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HealthServer").finish_non_exhaustive()
    }
}

impl NamedService for HealthServer {
    fn service_name(&self) -> &str {
        SERVICE_NAME
    }

    fn method_kind(&self, method: &str) -> MethodKind {
        self.methods.method_kind(method)
    }
}

impl Service<Request<Body>> for HealthServer {
    type Response = Response<Body>;
    type Error = Status;
    type Future = BoxFuture<'static, Result<Response<Body>, Status>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        self.methods.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.methods.call(req)
    }
}
