//! wren's benchmark server: the generated `BenchServer` over a hand-written
//! `Bench`, served on a unix socket by a default `Server` (a task per call).
//! `--inline` runs handlers inline on the connection task instead
//! (`Server::inline_handlers(true)`).

use std::iter::{Map, RepeatN};

use bench_peer_wren::bench_server::{Bench, BenchServer};
use bench_peer_wren::{FloodRequest, Payload};
use bench_support::server::{ServerArgs, ready};
use futures_util::stream::{self, Iter};
use wren_rpc::{Request, Response, Server, Status};

struct Service;

type Replies = Iter<Map<RepeatN<Payload>, fn(Payload) -> Result<Payload, Status>>>;

impl Bench for Service {
    async fn echo(&self, request: Request<Payload>) -> Result<Response<Payload>, Status> {
        Ok(Response::new(request.into_inner()))
    }

    type FloodStream = Replies;

    async fn flood(&self, request: Request<FloodRequest>) -> Result<Response<Replies>, Status> {
        let FloodRequest { count, size } = request.into_inner();
        let message = Payload {
            data: bench_support::payload(size as usize),
        };
        let replies = std::iter::repeat_n(message, count as usize).map(Ok as fn(_) -> _);
        Ok(Response::new(stream::iter(replies)))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = ServerArgs::from_env();
    let listener = tokio::net::UnixListener::bind(&args.socket)?;
    let router = Server::builder()
        .inline_handlers(args.inline)
        .add_service(BenchServer::new(Service));
    ready();
    router.serve(listener).await?;
    Ok(())
}
