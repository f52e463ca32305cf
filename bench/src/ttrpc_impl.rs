//! ttrpc-rust (crates.io `ttrpc`, async): `ttrpc::r#async::Server` with a
//! hand-written `MethodHandler` per method, and `Client::request`.
//!
//! The handlers and the client calls do what ttrpc-rust's generated code does
//! (`async_request_handler!` / `async_client_request!`), with prost in place
//! of rust-protobuf for the messages themselves so both implementations spend
//! the same on the payload codec.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;

use async_trait::async_trait;
use prost::Message;
use tokio::runtime::Runtime;
use ttrpc::r#async::transport::{Listener, Socket};
use ttrpc::r#async::{Client, MethodHandler, Server, Service, TtrpcContext};
use ttrpc::proto::{RequestInit, ResponseInit};

use crate::Impl;
use crate::msgs::{Echo, Empty, METHOD_ECHO, METHOD_EMPTY, SERVICE};

pub struct Ttrpc;

fn others(e: impl std::fmt::Display) -> ttrpc::Error {
    ttrpc::Error::Others(e.to_string())
}

fn ok_response(payload: Vec<u8>) -> ttrpc::Response {
    let mut res = ttrpc::Response::init_status(ttrpc::get_status(ttrpc::Code::OK, "".to_string()));
    ResponseInit::set_payload(&mut res, payload);
    res
}

struct EmptyMethod;

#[async_trait]
impl MethodHandler for EmptyMethod {
    async fn handler(
        &self,
        _ctx: TtrpcContext,
        req: ttrpc::Request,
    ) -> ttrpc::Result<ttrpc::Response> {
        let _req = Empty::decode(&req.payload[..]).map_err(others)?;
        Ok(ok_response(Empty::default().encode_to_vec()))
    }
}

struct EchoMethod;

#[async_trait]
impl MethodHandler for EchoMethod {
    async fn handler(
        &self,
        _ctx: TtrpcContext,
        req: ttrpc::Request,
    ) -> ttrpc::Result<ttrpc::Response> {
        let req = Echo::decode(&req.payload[..]).map_err(others)?;
        Ok(ok_response(req.encode_to_vec()))
    }
}

fn request(method: &str, payload: Vec<u8>) -> ttrpc::Request {
    let mut req =
        ttrpc::Request::init_request(SERVICE.to_string(), method.to_string(), 0, Vec::new());
    RequestInit::set_payload(&mut req, payload);
    req
}

impl Impl for Ttrpc {
    const NAME: &'static str = "ttrpc-rust";
    type Server = Server;
    type Client = Client;

    fn serve(rt: &Runtime, path: &Path) -> Server {
        let _guard = rt.enter();
        let listener = tokio::net::UnixListener::bind(path).expect("bind unix socket");
        let mut methods: HashMap<String, Box<dyn MethodHandler + Send + Sync>> = HashMap::new();
        methods.insert(METHOD_EMPTY.to_string(), Box::new(EmptyMethod));
        methods.insert(METHOD_ECHO.to_string(), Box::new(EchoMethod));
        let service = Service {
            methods,
            streams: HashMap::new(),
        };
        let mut server = Server::new()
            .add_listener(Listener::from(listener))
            .register_service(HashMap::from([(SERVICE.to_string(), service)]));
        rt.block_on(server.start()).expect("ttrpc: start");
        server
    }

    fn stop(rt: &Runtime, mut server: Server) {
        rt.block_on(async move {
            let _ = server.shutdown().await;
        });
    }

    async fn connect(path: &Path) -> Client {
        let stream = tokio::net::UnixStream::connect(path)
            .await
            .expect("ttrpc: connect");
        Client::new(Socket::from(stream))
    }

    fn empty(client: &mut Client) -> impl Future<Output = Result<(), String>> + Send {
        let req = request(METHOD_EMPTY, Empty::default().encode_to_vec());
        async move {
            let res = client.request(req).await.map_err(|e| e.to_string())?;
            Empty::decode(&res.payload[..]).map_err(|e| e.to_string())?;
            Ok(())
        }
    }

    fn echo(
        client: &mut Client,
        data: &[u8],
    ) -> impl Future<Output = Result<usize, String>> + Send {
        let req = request(
            METHOD_ECHO,
            Echo {
                data: data.to_vec(),
            }
            .encode_to_vec(),
        );
        async move {
            let res = client.request(req).await.map_err(|e| e.to_string())?;
            let reply = Echo::decode(&res.payload[..]).map_err(|e| e.to_string())?;
            Ok(reply.data.len())
        }
    }
}
