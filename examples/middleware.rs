//! Tower middleware on both sides of a ttrpc connection.
//!
//! Run with `cargo run --example middleware`. The server stacks a stock
//! timeout, a stock concurrency limit and a custom layer that reads the
//! `authorization` metadata and rejects calls without the right token with
//! `PERMISSION_DENIED`. The client wraps its channel in a stock timeout.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tower::{Layer, Service, ServiceBuilder};
use wren_examples::hello::greeter_client::GreeterClient;
use wren_examples::hello::greeter_server::{Greeter, GreeterServer};
use wren_examples::hello::{HelloReply, HelloRequest};
use wren_rpc::{Body, Channel, Request, Response, Server, Status};

struct MyGreeter;

impl Greeter for MyGreeter {
    async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        let name = req.into_inner().name;
        if name == "slowpoke" {
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        Ok(Response::new(HelloReply {
            message: format!("hello, {name}"),
        }))
    }
}

/// Rejects calls whose `authorization` metadata is not the expected token.
#[derive(Clone)]
struct RequireToken(&'static str);

impl<S> Layer<S> for RequireToken {
    type Service = TokenCheck<S>;

    fn layer(&self, inner: S) -> TokenCheck<S> {
        TokenCheck {
            inner,
            token: self.0,
        }
    }
}

#[derive(Clone)]
struct TokenCheck<S> {
    inner: S,
    token: &'static str,
}

impl<S> Service<Request<Body>> for TokenCheck<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Error: Into<wren_rpc::BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = wren_rpc::BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        if req.metadata().get("authorization") != Some(self.token) {
            let status = Status::permission_denied(format!(
                "{}/{} needs a valid authorization token",
                req.service(),
                req.method()
            ));
            return Box::pin(std::future::ready(Err(status.into())));
        }
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("middleware.sock");

    let router = Server::builder()
        .layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(
            200,
        )))
        .layer(tower::limit::ConcurrencyLimitLayer::new(16))
        .layer(RequireToken("s3cret"))
        .add_service(GreeterServer::new(MyGreeter));
    let shutdown = router.shutdown_handle();
    let server = tokio::spawn(router.serve(tokio::net::UnixListener::bind(&path)?));

    // Client-side middleware: a stock timeout around the channel.
    let channel = ServiceBuilder::new()
        .timeout(Duration::from_secs(2))
        .service(Channel::connect_unix(&path).await?);
    let mut client = GreeterClient::new(channel);

    let mut req = Request::new(HelloRequest {
        name: "wren".into(),
    });
    req.metadata_mut().insert("authorization", "s3cret");
    println!(
        "with the token:    {:?}",
        client.say_hello(req).await.map(|r| r.into_inner().message)
    );

    let err = client
        .say_hello(HelloRequest {
            name: "wren".into(),
        })
        .await
        .unwrap_err();
    println!("without the token: {} ({})", err.code(), err.message());
    assert_eq!(err.code(), wren_rpc::Code::PermissionDenied);

    let mut req = Request::new(HelloRequest {
        name: "slowpoke".into(),
    });
    req.metadata_mut().insert("authorization", "s3cret");
    let err = client.say_hello(req).await.unwrap_err();
    println!("a slow handler:    {} ({})", err.code(), err.message());
    assert_eq!(err.code(), wren_rpc::Code::DeadlineExceeded);

    shutdown.shutdown().await;
    server.await??;
    Ok(())
}
