//! wren: `Server` with a `Methods` service, and the typed `Client` over a `Channel`.

use std::future::Future;
use std::path::Path;

use tokio::runtime::Runtime;
use wren::server::{Methods, ShutdownHandle};
use wren::{Channel, Client, Request, Response};

use crate::Impl;
use crate::msgs::{Echo, Empty, METHOD_ECHO, METHOD_EMPTY, SERVICE};

pub struct Wren;

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
            });
        let router = wren::Server::builder().add_service(service);
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
        Client::new(Channel::connect_unix(path).await.expect("wren: connect"))
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
}
