//! wren: `Server` with a `Methods` service, and the typed `Client` over a `Channel`.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::Runtime;
use wren_rpc::server::{Methods, ShutdownHandle};
use wren_rpc::{Channel, Client, Request, Response};

use crate::Impl;
use crate::msgs::{
    Echo, Empty, Flood, METHOD_ECHO, METHOD_EMPTY, METHOD_FLOOD, SERVICE, flood_payload,
};

pub struct Wren;

/// The most replies the client buffers per streaming call
/// (`Builder::max_buffered_messages_per_stream`); 0 keeps wren's default.
/// Set once from the command line before any client connects.
pub static STREAM_BUFFER: AtomicUsize = AtomicUsize::new(0);

pub struct WrenServer {
    shutdown: ShutdownHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Impl for Wren {
    const NAME: &'static str = "wren";
    type Server = WrenServer;
    type Client = Client<Channel>;

    fn serve(rt: &Runtime, path: &Path) -> WrenServer {
        let _guard = rt.enter();
        let listener = tokio::net::UnixListener::bind(path).expect("bind unix socket");
        let service = Methods::new(SERVICE)
            .unary(METHOD_EMPTY, |_req: Request<Empty>| async move {
                Ok(Response::new(Empty::default()))
            })
            .unary(METHOD_ECHO, |req: Request<Echo>| async move {
                Ok(Response::new(req.into_inner()))
            })
            // The replies come from an iterator: always ready, so the stream
            // goes as fast as the connection writes.
            .server_streaming(METHOD_FLOOD, |req: Request<Flood>| async move {
                let Flood { count, size } = req.into_inner();
                let data = flood_payload(size as usize);
                let replies = (0..count).map(move |_| Ok(Echo { data: data.clone() }));
                Ok(Response::new(futures_util::stream::iter(replies)))
            });
        let router = wren_rpc::Server::builder().add_service(service);
        let shutdown = router.shutdown_handle();
        let task = rt.spawn(router.serve(listener));
        WrenServer { shutdown, task }
    }

    fn stop(rt: &Runtime, server: WrenServer) {
        rt.block_on(async move {
            server.shutdown.close().await;
            let _ = server.task.await;
        });
    }

    async fn connect(path: &Path) -> Client<Channel> {
        let mut builder = Channel::builder();
        let buffer = STREAM_BUFFER.load(Ordering::Relaxed);
        if buffer > 0 {
            // Bytes are limited too (1 MiB by default): lift that limit with
            // the message count, so the count alone decides.
            builder = builder
                .max_buffered_messages_per_stream(buffer)
                .max_buffered_bytes_per_stream(usize::MAX);
        }
        Client::new(builder.connect_unix(path).await.expect("wren: connect"))
    }

    async fn empty(client: &mut Client<Channel>) -> Result<(), String> {
        let reply: Response<Empty> = client
            .unary(Request::new(Empty::default()), SERVICE, METHOD_EMPTY)
            .await
            .map_err(|s| s.to_string())?;
        let _ = reply.into_inner();
        Ok(())
    }

    fn echo(
        client: &mut Client<Channel>,
        data: &[u8],
    ) -> impl Future<Output = Result<usize, String>> + Send {
        let msg = Echo {
            data: data.to_vec(),
        };
        async move {
            let reply: Response<Echo> = client
                .unary(Request::new(msg), SERVICE, METHOD_ECHO)
                .await
                .map_err(|s| s.to_string())?;
            Ok(reply.into_inner().data.len())
        }
    }

    async fn flood(
        client: &mut Client<Channel>,
        count: usize,
        size: usize,
    ) -> Result<usize, String> {
        let request = Flood {
            count: count as u64,
            size: size as u64,
        };
        let mut replies = client
            .server_streaming::<Flood, Echo>(Request::new(request), SERVICE, METHOD_FLOOD)
            .await
            .map_err(|s| s.to_string())?
            .into_inner();
        let mut received = 0;
        while let Some(reply) = replies.message().await.map_err(|s| s.to_string())? {
            if reply.data.len() != size {
                return Err(format!(
                    "message of {} bytes, expected {size}",
                    reply.data.len()
                ));
            }
            received += 1;
        }
        Ok(received)
    }
}
