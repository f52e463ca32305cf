//! tonic's benchmark client: the generated `BenchClient` over a `Channel`
//! whose connector dials the unix socket.

use std::path::Path;

use bench_driver::{BenchClient, Error};
use bench_peer_tonic::bench_client::BenchClient as Generated;
use bench_peer_tonic::{FloodRequest, Payload};
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint, Uri};

#[derive(Clone)]
struct Client(Generated<Channel>);

impl BenchClient for Client {
    async fn connect(socket: &Path) -> Result<Self, Error> {
        let socket = socket.to_owned();
        // The URI is required but unused: the connector dials the socket.
        let channel = Endpoint::try_from("http://[::]:50051")?
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let socket = socket.clone();
                async move {
                    Ok::<_, std::io::Error>(TokioIo::new(
                        tokio::net::UnixStream::connect(socket).await?,
                    ))
                }
            }))
            .await?;
        Ok(Client(Generated::new(channel)))
    }

    async fn echo(&mut self, data: &[u8]) -> Result<usize, Error> {
        let request = Payload {
            data: data.to_vec(),
        };
        Ok(self.0.echo(request).await?.into_inner().data.len())
    }

    async fn flood(&mut self, count: u64, size: u64) -> Result<u64, Error> {
        let mut replies = self
            .0
            .flood(FloodRequest { count, size })
            .await?
            .into_inner();
        let mut received = 0;
        while let Some(reply) = replies.message().await? {
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
