//! [`Methods`]: a service assembled from async functions, one per method.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::Stream;
use futures_util::future::BoxFuture;
use tower_service::Service;
use wren_transport::{Body, MethodKind, NameMap, Request, Response, Streaming, codec::Status};

use crate::NamedService;

type Handler =
    dyn Fn(Request<Body>) -> BoxFuture<'static, Result<Response<Body>, Status>> + Send + Sync;

/// A service built from typed async functions, for services without
/// generated code (tests, proxies, quick tools).
///
/// Unknown methods get `UNIMPLEMENTED` with the message `method <name>`.
///
/// ```
/// use wren_server::Methods;
/// use wren_transport::{Request, Response};
///
/// let greeter = Methods::new("hello.v1.Greeter").unary("Hello", |req: Request<String>| async move {
///     Ok(Response::new(format!("hello, {}", req.into_inner())))
/// });
/// ```
#[derive(Clone)]
pub struct Methods {
    name: Arc<str>,
    methods: NameMap<&'static str, (MethodKind, Arc<Handler>)>,
}

impl Methods {
    /// A service called `name` with no methods yet.
    pub fn new(name: impl Into<Arc<str>>) -> Methods {
        Methods {
            name: name.into(),
            methods: NameMap::default(),
        }
    }

    /// Adds a unary method. The request message is decoded before `handler`
    /// runs; one that does not decode gets `INVALID_ARGUMENT`.
    #[must_use]
    pub fn unary<In, Out, F, Fut>(self, method: &'static str, handler: F) -> Methods
    where
        In: prost::Message + Default + 'static,
        Out: prost::Message + 'static,
        F: Fn(Request<In>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.insert(method, MethodKind::Unary, move |req: Request<Body>| {
            let handler = handler.clone();
            Box::pin(async move {
                let req = req.try_map(|body| body.decode::<In>())?;
                let resp = handler(req).await?;
                Ok(resp.map(|m| Body::encode(&m)))
            })
        })
    }

    /// Adds a server-streaming method: one request, a stream of replies. The
    /// stream ends the call when it ends; an `Err` item ends it with that
    /// status.
    #[must_use]
    pub fn server_streaming<In, Out, St, F, Fut>(self, method: &'static str, handler: F) -> Methods
    where
        In: prost::Message + Default + 'static,
        Out: prost::Message + 'static,
        St: Stream<Item = Result<Out, Status>> + Send + 'static,
        F: Fn(Request<In>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<St>, Status>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.insert(
            method,
            MethodKind::ServerStreaming,
            move |req: Request<Body>| {
                let handler = handler.clone();
                Box::pin(async move {
                    let req = req.try_map(|body| body.decode::<In>())?;
                    let resp = handler(req).await?;
                    Ok(resp.map(Body::encode_stream))
                })
            },
        )
    }

    /// Adds a client-streaming method: a stream of requests, one reply.
    #[must_use]
    pub fn client_streaming<In, Out, F, Fut>(self, method: &'static str, handler: F) -> Methods
    where
        In: prost::Message + Default + 'static,
        Out: prost::Message + 'static,
        F: Fn(Request<Streaming<In>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<Out>, Status>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.insert(
            method,
            MethodKind::ClientStreaming,
            move |req: Request<Body>| {
                let handler = handler.clone();
                Box::pin(async move {
                    let resp = handler(req.map(Body::into_streaming)).await?;
                    Ok(resp.map(|m| Body::encode(&m)))
                })
            },
        )
    }

    /// Adds a bidirectional streaming method.
    #[must_use]
    pub fn bidi<In, Out, St, F, Fut>(self, method: &'static str, handler: F) -> Methods
    where
        In: prost::Message + Default + 'static,
        Out: prost::Message + 'static,
        St: Stream<Item = Result<Out, Status>> + Send + 'static,
        F: Fn(Request<Streaming<In>>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<St>, Status>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.insert(method, MethodKind::Bidi, move |req: Request<Body>| {
            let handler = handler.clone();
            Box::pin(async move {
                let resp = handler(req.map(Body::into_streaming)).await?;
                Ok(resp.map(Body::encode_stream))
            })
        })
    }

    fn insert<F>(mut self, method: &'static str, kind: MethodKind, handler: F) -> Methods
    where
        F: Fn(Request<Body>) -> BoxFuture<'static, Result<Response<Body>, Status>>
            + Send
            + Sync
            + 'static,
    {
        self.methods.insert(method, (kind, Arc::new(handler)));
        self
    }
}

impl NamedService for Methods {
    fn service_name(&self) -> &str {
        &self.name
    }

    fn method_kind(&self, method: &str) -> MethodKind {
        self.methods
            .get(method)
            .map_or(MethodKind::Unary, |(kind, _)| *kind)
    }
}

impl fmt::Debug for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Methods")
            .field("name", &self.name)
            .field("methods", &self.methods.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Service<Request<Body>> for Methods {
    type Response = Response<Body>;
    type Error = Status;
    type Future = BoxFuture<'static, Result<Response<Body>, Status>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        match self.methods.get(req.method()) {
            Some((_, handler)) => handler(req),
            None => {
                let status = Status::unimplemented(format!("method {}", req.method()));
                Box::pin(std::future::ready(Err(status)))
            }
        }
    }
}
