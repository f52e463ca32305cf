//! All four kinds of call ttrpc has, from generated code: unary, server
//! streaming, client streaming and bidirectional streaming.
//!
//! Run with `cargo run --example streaming`. The service is
//! `proto/numbers/v1/numbers.proto`.
//!
//! # Where `Stream` comes from
//!
//! wren's streams are `futures_core::Stream`s: the one trait the async
//! ecosystem shares. `tokio_stream::Stream`, `futures::Stream` and
//! `futures_util::Stream` are all re-exports of it, so use whichever crate
//! you already have. This example uses `tokio-stream`, for two things:
//!
//! - `tokio_stream::wrappers::ReceiverStream` turns a tokio `mpsc::Receiver`
//!   into a `Stream`: a handler's reply stream fed from a task, or a
//!   client's request stream fed as the program goes (bidi);
//! - `tokio_stream::StreamExt` adds `next()`, `map()` and friends. A
//!   `Streaming<T>` (what you read on either side) also has its own
//!   `message()`, which needs no import.

use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use wren_examples::numbers::Number;
use wren_examples::numbers::numbers_client::NumbersClient;
use wren_examples::numbers::numbers_server::{Numbers, NumbersServer};
use wren_rpc::{Channel, Request, Response, Server, Status, Streaming};

struct MyNumbers;

impl Numbers for MyNumbers {
    // A server-streaming method names its reply stream's type. A
    // `ReceiverStream` lets a spawned task produce the replies.
    type CountToStream = ReceiverStream<Result<Number, Status>>;
    // Any `Stream + Send + 'static` will do; a boxed one hides the type of
    // a chain of adapters.
    type RunningTotalStream = Pin<Box<dyn Stream<Item = Result<Number, Status>> + Send>>;

    /// Unary.
    async fn square(&self, req: Request<Number>) -> Result<Response<Number>, Status> {
        let n = req.into_inner().value;
        let value = n
            .checked_mul(n)
            .ok_or_else(|| Status::out_of_range(format!("{n} squared overflows")))?;
        Ok(Response::new(Number { value }))
    }

    /// Server streaming: the replies come from a task through a channel. The
    /// call ends when the sender is dropped; an `Err` sent ends it with that
    /// status instead.
    async fn count_to(
        &self,
        req: Request<Number>,
    ) -> Result<Response<Self::CountToStream>, Status> {
        let n = req.into_inner().value;
        if n < 0 {
            return Err(Status::invalid_argument(
                "cannot count to a negative number",
            ));
        }
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            for value in 1..=n {
                // `send` fails once the client has gone away: stop then.
                if tx.send(Ok(Number { value })).await.is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    /// Client streaming: read until the client closes its side.
    async fn sum(&self, req: Request<Streaming<Number>>) -> Result<Response<Number>, Status> {
        let mut numbers = req.into_inner();
        let mut value = 0i64;
        // `message()` is `Ok(None)` at the clean end, `Err` if the stream broke.
        while let Some(n) = numbers.message().await? {
            value = value.saturating_add(n.value);
        }
        Ok(Response::new(Number { value }))
    }

    /// Bidirectional: one reply per request, as each arrives.
    async fn running_total(
        &self,
        req: Request<Streaming<Number>>,
    ) -> Result<Response<Self::RunningTotalStream>, Status> {
        let mut total = 0i64;
        let replies = req.into_inner().map(move |n| {
            total = total.saturating_add(n?.value);
            Ok(Number { value: total })
        });
        Ok(Response::new(Box::pin(replies)))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("numbers.sock");
    let router = Server::builder().add_service(NumbersServer::new(MyNumbers));
    let shutdown = router.shutdown_handle();
    let server = tokio::spawn(router.serve(tokio::net::UnixListener::bind(&path)?));

    // One connection carries every call, streaming or not, concurrently.
    let mut client = NumbersClient::new(Channel::connect_unix(&path).await?);

    // 1. Unary.
    let square = client.square(Number { value: 12 }).await?.into_inner();
    println!("unary:            Square(12) = {}", square.value);
    assert_eq!(square.value, 144);

    // 2. Server streaming: the reply is a `Streaming<Number>`.
    let mut counted = client.count_to(Number { value: 5 }).await?.into_inner();
    let mut values = Vec::new();
    while let Some(n) = counted.message().await? {
        values.push(n.value);
    }
    println!("server streaming: CountTo(5) = {values:?}");
    assert_eq!(values, [1, 2, 3, 4, 5]);

    // The same with `StreamExt` (items are `Result<Number, Status>`).
    let values: Vec<i64> = client
        .count_to(Number { value: 3 })
        .await?
        .into_inner()
        .map(|n| n.map(|n| n.value))
        .collect::<Result<_, Status>>()
        .await?;
    assert_eq!(values, [1, 2, 3]);

    // A handler's error before the first reply ends the stream with it.
    let mut refused = client.count_to(Number { value: -1 }).await?.into_inner();
    let err = refused.message().await.unwrap_err();
    println!(
        "server streaming: CountTo(-1) = {} ({})",
        err.code(),
        err.message()
    );
    assert_eq!(err.code(), wren_rpc::Code::InvalidArgument);

    // 3. Client streaming: any `Stream` of messages; its end closes the
    // sending side on the wire.
    let numbers = tokio_stream::iter([3, 4, 5].map(|value| Number { value }));
    let sum = client.sum(numbers).await?.into_inner();
    println!("client streaming: Sum(3, 4, 5) = {}", sum.value);
    assert_eq!(sum.value, 12);

    // 4. Bidirectional: the requests come from a channel, so the program can
    // send one, read the reply, and decide what to send next.
    let (tx, rx) = mpsc::channel(4);
    let mut totals = client
        .running_total(ReceiverStream::new(rx))
        .await?
        .into_inner();
    for (value, expected) in [(10, 10), (20, 30), (12, 42)] {
        tx.send(Number { value }).await?;
        let total = totals.message().await?.ok_or("the stream ended early")?;
        println!(
            "bidi:             sent {value:>2}, running total {}",
            total.value
        );
        assert_eq!(total.value, expected);
    }
    // Dropping the sender closes our side; the server's stream then ends.
    drop(tx);
    assert_eq!(totals.message().await?, None);
    println!("bidi:             closed, the server's stream ended");

    shutdown.shutdown().await;
    server.await??;
    Ok(())
}
