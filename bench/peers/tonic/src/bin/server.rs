//! tonic's benchmark server: the generated `BenchServer` over a hand-written
//! `Bench`, served over HTTP/2 on a unix socket.

use std::iter::{Map, RepeatN};

use bench_peer_tonic::bench_server::{Bench, BenchServer};
use bench_peer_tonic::{FloodRequest, Payload};
use bench_support::server::{ServerArgs, ready};
use futures_util::stream::{self, Iter};
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};

struct Service;

type Replies = Iter<Map<RepeatN<Payload>, fn(Payload) -> Result<Payload, Status>>>;

#[tonic::async_trait]
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
    if args.inline {
        return Err("tonic has no inline mode".into());
    }
    let listener = tokio::net::UnixListener::bind(&args.socket)?;
    ready();
    tonic::transport::Server::builder()
        .add_service(BenchServer::new(Service))
        .serve_with_incoming(UnixListenerStream::new(listener))
        .await?;
    Ok(())
}
