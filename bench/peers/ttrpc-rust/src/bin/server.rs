//! ttrpc-rust's benchmark server: the generated service over a hand-written
//! `Bench`, on an async `ttrpc::r#async::Server` bound to a unix socket.

use std::sync::Arc;

use async_trait::async_trait;
use bench_peer_ttrpc_rust::bench::{FloodRequest, Payload};
use bench_peer_ttrpc_rust::bench_ttrpc::{Bench, create_bench};
use bench_support::server::{ServerArgs, ready};
use ttrpc::r#async::{Server, ServerStreamSender, TtrpcContext};

struct Service;

#[async_trait]
impl Bench for Service {
    async fn echo(&self, _ctx: &TtrpcContext, request: Payload) -> ttrpc::Result<Payload> {
        Ok(request)
    }

    async fn flood(
        &self,
        _ctx: &TtrpcContext,
        request: FloodRequest,
        replies: ServerStreamSender<Payload>,
    ) -> ttrpc::Result<()> {
        let mut message = Payload::new();
        message.data = bench_support::payload(request.size as usize);
        for _ in 0..request.count {
            replies.send(&message).await?;
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = ServerArgs::from_env();
    if args.inline {
        return Err("ttrpc-rust has no inline mode".into());
    }
    let address = format!("unix://{}", args.socket.display());
    let mut server = Server::new()
        .bind(&address)?
        .register_service(create_bench(Arc::new(Service)));
    server.start().await?;
    ready();
    std::future::pending::<()>().await;
    Ok(())
}
