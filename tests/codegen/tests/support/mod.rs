//! Implementations of every generated service trait, and a tower layer
//! that records the wire names each call carries.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use codegen_tests::collide::{self, services};
use codegen_tests::common::v1::{Selector, Thing, ThingRef, selector};
use codegen_tests::containerd::task::v2 as task;
use codegen_tests::hello::v1::{self as hello, HelloReply, HelloRequest};
use codegen_tests::{bare, secret};
use tower::{Layer, Service};
use wren_rpc::prost_types::Timestamp;
use wren_rpc::{Body, Request, Response, Status};

// ===== hello.v1 =====

/// Greets by name; echoes the `tenant` metadata into the reply.
#[derive(Default)]
pub(crate) struct Greeter;

impl hello::greeter_server::Greeter for Greeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let tenant = request.metadata().get("tenant").map(str::to_owned);
        let name = request.into_inner().name;
        if name.is_empty() {
            return Err(Status::invalid_argument("name must not be empty"));
        }
        let message = match tenant {
            Some(tenant) => format!("hello, {name} of {tenant}"),
            None => format!("hello, {name}"),
        };
        Ok(Response::new(HelloReply {
            message,
            at: Some(Timestamp {
                seconds: 1,
                nanos: 2,
            }),
        }))
    }

    async fn get_thing(&self, request: Request<ThingRef>) -> Result<Response<Thing>, Status> {
        let id = request.into_inner().id;
        Ok(Response::new(Thing {
            name: format!("thing {id}"),
            id,
            level: codegen_tests::common::v1::Level::High as i32,
            labels: [("k".to_owned(), "v".to_owned())].into(),
        }))
    }

    async fn ping(&self, _request: Request<()>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
}

pub(crate) struct Clock;

impl hello::clock_server::Clock for Clock {
    fn now(
        &self,
        _request: Request<()>,
    ) -> impl Future<Output = Result<Response<hello::Time>, Status>> + Send {
        // Not every implementation is an `async fn`.
        std::future::ready(Ok(Response::new(hello::Time {
            now: Some(Timestamp {
                seconds: 42,
                nanos: 0,
            }),
            raw: wren_rpc::prost::bytes::Bytes::from_static(b"raw"),
            selector: Some(Selector {
                by: Some(selector::By::Range(selector::Range { from: 1, to: 2 })),
                note: Some("n".into()),
            }),
        })))
    }
}

// ===== collide, collide.services =====

pub(crate) struct Collide;

impl collide::sync_server::Sync for Collide {
    async fn get(
        &self,
        request: Request<collide::Option>,
    ) -> Result<Response<collide::Result>, Status> {
        Ok(Response::new(collide::Result {
            code: i32::from(request.into_inner().set),
        }))
    }

    async fn put(
        &self,
        request: Request<collide::Box>,
    ) -> Result<Response<collide::Option>, Status> {
        Ok(Response::new(collide::Option {
            set: !request.into_inner().value.is_empty(),
        }))
    }
}

impl services::result_server::Result for Collide {
    type WatchStream = futures_util::stream::BoxStream<'static, Result<collide::Response, Status>>;
    type ChatStream = futures_util::stream::BoxStream<'static, Result<collide::Response, Status>>;

    async fn watch(
        &self,
        request: Request<collide::Request>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let prefix = request.into_inner().r#match;
        let replies = (0..3).map(move |i| {
            Ok(collide::Response {
                r#async: format!("{prefix}-{i}"),
            })
        });
        Ok(Response::new(Box::pin(futures_util::stream::iter(replies))))
    }

    async fn upload(
        &self,
        request: Request<wren_rpc::Streaming<collide::Request>>,
    ) -> Result<Response<collide::Response>, Status> {
        let mut stream = request.into_inner();
        let mut seen = Vec::new();
        while let Some(message) = stream.message().await? {
            seen.push(message.r#match);
        }
        Ok(Response::new(collide::Response {
            r#async: seen.join(","),
        }))
    }

    async fn chat(
        &self,
        request: Request<wren_rpc::Streaming<collide::Request>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        use futures_util::StreamExt;
        let replies = request.into_inner().map(|message| {
            message.map(|m| collide::Response {
                r#async: m.r#match.to_uppercase(),
            })
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn r#match(
        &self,
        request: Request<collide::Request>,
    ) -> Result<Response<collide::Response>, Status> {
        Ok(Response::new(collide::Response {
            r#async: request.into_inner().r#match,
        }))
    }

    async fn r#type(
        &self,
        request: Request<collide::Self_>,
    ) -> Result<Response<collide::Box>, Status> {
        Ok(Response::new(collide::Box {
            value: request.into_inner().r#type,
        }))
    }

    async fn get_thing(
        &self,
        request: Request<collide::Option>,
    ) -> Result<Response<collide::Send>, Status> {
        let data = if request.into_inner().set {
            vec![1]
        } else {
            vec![]
        };
        Ok(Response::new(collide::Send { data }))
    }

    async fn new(
        &self,
        request: Request<collide::Future>,
    ) -> Result<Response<collide::Result>, Status> {
        Ok(Response::new(collide::Result {
            code: i32::try_from(request.into_inner().at).unwrap_or(-1),
        }))
    }

    async fn with_interceptor(
        &self,
        request: Request<collide::Future>,
    ) -> Result<Response<collide::Result>, Status> {
        Ok(Response::new(collide::Result {
            code: i32::try_from(request.into_inner().at).map_or(-1, |at| -at),
        }))
    }

    async fn call(
        &self,
        request: Request<collide::Body>,
    ) -> Result<Response<collide::Status>, Status> {
        let body = request.into_inner();
        let code = body.r#box.map_or(0, |b| b.value.len())
            + usize::from(body.option.is_some_and(|o| o.set));
        Ok(Response::new(collide::Status {
            code: u32::try_from(code).unwrap(),
        }))
    }
}

impl services::service_server::Service for Collide {
    async fn ready(
        &self,
        request: Request<collide::Arc>,
    ) -> Result<Response<collide::Arc>, Status> {
        let weak = request.into_inner().weak;
        Ok(Response::new(collide::Arc {
            weak: weak.to_uppercase(),
        }))
    }
}

impl services::send_server::Send for Collide {
    async fn self_(
        &self,
        request: Request<collide::Self_>,
    ) -> Result<Response<collide::Self_>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

impl services::self_server::Self_ for Collide {
    async fn r#async(
        &self,
        request: Request<collide::Future>,
    ) -> Result<Response<collide::Future>, Status> {
        Ok(Response::new(collide::Future {
            at: request.into_inner().at + 1,
        }))
    }
}

// ===== secret.v1 =====

pub(crate) struct Vault;

impl secret::v1::vault_server::Vault for Vault {
    async fn put(
        &self,
        request: Request<secret::v1::Secret>,
    ) -> Result<Response<secret::v1::Receipt>, Status> {
        let secret = request.into_inner();
        Ok(Response::new(secret::v1::Receipt {
            version: (secret.key.len() + secret.value.len()) as u64,
        }))
    }
}

// ===== containerd.task.v2 =====

pub(crate) struct Task;

impl task::task_server::Task for Task {
    async fn create(
        &self,
        request: Request<task::CreateTaskRequest>,
    ) -> Result<Response<task::CreateTaskResponse>, Status> {
        let req = request.into_inner();
        if req
            .options
            .as_ref()
            .is_some_and(|any| any.type_url.is_empty())
        {
            return Err(Status::invalid_argument("options without a type"));
        }
        Ok(Response::new(task::CreateTaskResponse {
            pid: u32::try_from(req.id.len() + req.bundle.len()).unwrap(),
        }))
    }

    async fn start(
        &self,
        request: Request<task::StartRequest>,
    ) -> Result<Response<task::StartResponse>, Status> {
        let req = request.into_inner();
        Ok(Response::new(task::StartResponse {
            pid: if req.exec_id.is_empty() { 1 } else { 2 },
        }))
    }

    async fn delete(
        &self,
        _request: Request<task::DeleteRequest>,
    ) -> Result<Response<task::DeleteResponse>, Status> {
        Ok(Response::new(task::DeleteResponse {
            pid: 1,
            exit_status: 137,
            exited_at: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
        }))
    }

    async fn kill(&self, request: Request<task::KillRequest>) -> Result<Response<()>, Status> {
        if request.get_ref().signal == 0 {
            return Err(Status::invalid_argument("signal 0"));
        }
        Ok(Response::new(()))
    }

    async fn shutdown(
        &self,
        _request: Request<task::ShutdownRequest>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }
}

// ===== the file without a package =====

pub(crate) struct Bare;

impl bare::bare_server::Bare for Bare {
    async fn echo(&self, request: Request<bare::Word>) -> Result<Response<bare::Word>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

// ===== recording wire names =====

/// The `(service, method)` of every call that passed a [`Record`].
pub(crate) type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A tower layer recording the wire names of every request.
#[derive(Clone, Default)]
pub(crate) struct RecordLayer {
    pub(crate) seen: Seen,
}

impl<S> Layer<S> for RecordLayer {
    type Service = Record<S>;

    fn layer(&self, inner: S) -> Record<S> {
        Record {
            inner,
            seen: Arc::clone(&self.seen),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Record<S> {
    inner: S,
    seen: Seen,
}

impl<S> Service<Request<Body>> for Record<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        self.seen
            .lock()
            .unwrap()
            .push((request.service().to_owned(), request.method().to_owned()));
        Box::pin(self.inner.call(request))
    }
}

/// Takes what `seen` recorded so far.
pub(crate) fn take(seen: &Seen) -> Vec<(String, String)> {
    std::mem::take(&mut *seen.lock().unwrap())
}

/// The pairs, as `&str`s, for comparing.
pub(crate) fn pairs(list: &[(String, String)]) -> Vec<(&str, &str)> {
    list.iter().map(|(s, m)| (s.as_str(), m.as_str())).collect()
}
