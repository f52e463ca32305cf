//! ttrpc-rust (crates.io `ttrpc`, async): `ttrpc::r#async::Server` with a
//! hand-written `MethodHandler` per unary method and `StreamHandler` for the
//! server-streaming one, and `Client::request` / `Client::new_stream`.
//!
//! The handlers and the client calls do what ttrpc-rust's generated code does
//! (`async_request_handler!` / `async_client_request!`,
//! `async_server_streamimg_handler!` + `ServerStreamSender::send`,
//! `async_client_stream_receive!` + `ClientStreamReceiver::recv`), with prost
//! in place of rust-protobuf for the messages themselves so both
//! implementations spend the same on the payload codec.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use prost::Message;
use tokio::runtime::Runtime;
use ttrpc::r#async::transport::{Listener, Socket};
use ttrpc::r#async::{
    Client, MethodHandler, Server, Service, StreamHandler, StreamInner, TtrpcContext,
};
use ttrpc::proto::{RequestInit, ResponseInit};

use crate::Impl;
use crate::msgs::{
    Echo, Empty, Flood, METHOD_ECHO, METHOD_EMPTY, METHOD_FLOOD, SERVICE, flood_payload,
};

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

/// Server streaming: what `async_server_streamimg_handler!` does (the request
/// arrives as the stream's first message), then one `send` per reply, as
/// `ServerStreamSender::send` does. `Ok(None)` ends the stream: the server
/// sends the closing Data frame.
struct FloodMethod;

#[async_trait]
impl StreamHandler for FloodMethod {
    async fn handler(
        &self,
        _ctx: TtrpcContext,
        mut inner: StreamInner,
    ) -> ttrpc::Result<Option<ttrpc::Response>> {
        let req_buf = inner.recv().await?;
        let Flood { count, size } = Flood::decode(&req_buf[..]).map_err(others)?;
        let data = flood_payload(size as usize);
        for _ in 0..count {
            inner
                .send(Echo { data: data.clone() }.encode_to_vec())
                .await?;
        }
        Ok(None)
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
        let mut streams: HashMap<String, Arc<dyn StreamHandler + Send + Sync>> = HashMap::new();
        streams.insert(METHOD_FLOOD.to_string(), Arc::new(FloodMethod));
        let service = Service { methods, streams };
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

    async fn flood(client: &mut Client, count: usize, size: usize) -> Result<usize, String> {
        let req = request(
            METHOD_FLOOD,
            Flood {
                count: count as u64,
                size: size as u64,
            }
            .encode_to_vec(),
        );
        // `async_client_stream_receive!`: a stream that sends its request and
        // only receives.
        let mut inner = client
            .new_stream(req, false, true)
            .await
            .map_err(|e| e.to_string())?;
        let mut received = 0;
        loop {
            // `ClientStreamReceiver::recv`: `Eof` is the clean end.
            let buf = match inner.recv().await {
                Ok(buf) => buf,
                Err(ttrpc::Error::Eof) => break,
                Err(e) => return Err(e.to_string()),
            };
            let reply = Echo::decode(&buf[..]).map_err(|e| e.to_string())?;
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
