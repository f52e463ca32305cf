//! ttrpc-rust's benchmark client: the generated `BenchClient` over an async
//! `ttrpc::r#async::Client`.

use std::path::Path;

use bench_driver::{BenchClient, Error};
use bench_peer_ttrpc_rust::bench::{FloodRequest, Payload};
use bench_peer_ttrpc_rust::bench_ttrpc::BenchClient as Generated;
use ttrpc::context::Context;

#[derive(Clone)]
struct Client(Generated);

impl BenchClient for Client {
    async fn connect(socket: &Path) -> Result<Self, Error> {
        let address = format!("unix://{}", socket.display());
        Ok(Client(Generated::new(
            ttrpc::r#async::Client::connect(&address).await?,
        )))
    }

    async fn echo(&mut self, data: &[u8]) -> Result<usize, Error> {
        let mut request = Payload::new();
        request.data = data.to_vec();
        Ok(self.0.echo(Context::default(), &request).await?.data.len())
    }

    async fn flood(&mut self, count: u64, size: u64) -> Result<u64, Error> {
        let mut request = FloodRequest::new();
        request.count = count;
        request.size = size;
        let mut replies = self.0.flood(Context::default(), &request).await?;
        let mut received = 0;
        while let Some(reply) = replies.recv().await? {
            if reply.data.len() as u64 != size {
                return Err(format!("a message of {} bytes, not {size}", reply.data.len()).into());
            }
            received += 1;
        }
        Ok(received)
    }
}

fn main() {
    bench_driver::main::<Client>();
}
