//! [`Client`]: typed calls over any tower service that speaks ttrpc bodies.

use futures_util::{Stream, StreamExt};
use tower_service::Service;
use wren_transport::codec::ByteStr;
use wren_transport::{
    Body, BoxError, MethodKind, Request, Response, Streaming, codec::Status, status_from_error,
};

use crate::Channel;

/// Typed calls over a [`Channel`], or over any service with the same request
/// and response types: a channel wrapped in tower layers, or a server's
/// service called in memory. Generated clients are built on it.
#[derive(Clone, Debug)]
pub struct Client<S = Channel> {
    inner: S,
}

impl<S> Client<S> {
    /// A client over `inner`.
    pub fn new(inner: S) -> Client<S> {
        Client { inner }
    }

    /// The service underneath.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The service underneath, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The service underneath, consuming the client.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Client<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
    S::Error: Into<BoxError>,
{
    /// Calls `service`/`method` with `req` and decodes the reply as `R`.
    pub async fn unary<M, R>(
        &mut self,
        req: Request<M>,
        service: impl Into<ByteStr>,
        method: impl Into<ByteStr>,
    ) -> Result<Response<R>, Status>
    where
        M: prost::Message,
        R: prost::Message + Default,
    {
        let mut req = req.map(|m| Body::encode(&m));
        req.set_path(service, method);
        std::future::poll_fn(|cx| self.inner.poll_ready(cx))
            .await
            .map_err(|e| status_from_error(e.into()))?;
        let resp = self
            .inner
            .call(req)
            .await
            .map_err(|e| status_from_error(e.into()))?;
        resp.try_map(decode_reply)
    }

    /// Calls a server-streaming method: one request, a stream of replies.
    pub async fn server_streaming<M, R>(
        &mut self,
        req: Request<M>,
        service: impl Into<ByteStr>,
        method: impl Into<ByteStr>,
    ) -> Result<Response<Streaming<R>>, Status>
    where
        M: prost::Message,
        R: prost::Message + Default,
    {
        let req = req.map(|m| Body::encode(&m));
        let resp = self
            .call(req, service, method, MethodKind::ServerStreaming)
            .await?;
        Ok(resp.map(Body::into_streaming))
    }

    /// Calls a client-streaming method: the messages of `req`'s stream,
    /// then one reply. The stream's end closes the send side on the wire.
    pub async fn client_streaming<M, St, R>(
        &mut self,
        req: Request<St>,
        service: impl Into<ByteStr>,
        method: impl Into<ByteStr>,
    ) -> Result<Response<R>, Status>
    where
        M: prost::Message + 'static,
        St: Stream<Item = M> + Send + 'static,
        R: prost::Message + Default,
    {
        let req = req.map(|messages| Body::encode_stream(messages.map(Ok)));
        let resp = self
            .call(req, service, method, MethodKind::ClientStreaming)
            .await?;
        resp.try_map(decode_reply)
    }

    /// Calls a bidirectional streaming method: the messages of `req`'s
    /// stream go out as they come, replies come back as a stream.
    pub async fn streaming<M, St, R>(
        &mut self,
        req: Request<St>,
        service: impl Into<ByteStr>,
        method: impl Into<ByteStr>,
    ) -> Result<Response<Streaming<R>>, Status>
    where
        M: prost::Message + 'static,
        St: Stream<Item = M> + Send + 'static,
        R: prost::Message + Default,
    {
        let req = req.map(|messages| Body::encode_stream(messages.map(Ok)));
        let resp = self.call(req, service, method, MethodKind::Bidi).await?;
        Ok(resp.map(Body::into_streaming))
    }

    async fn call(
        &mut self,
        mut req: Request<Body>,
        service: impl Into<ByteStr>,
        method: impl Into<ByteStr>,
        kind: MethodKind,
    ) -> Result<Response<Body>, Status> {
        req.set_path(service, method);
        req.set_method_kind(kind);
        std::future::poll_fn(|cx| self.inner.poll_ready(cx))
            .await
            .map_err(|e| status_from_error(e.into()))?;
        self.inner
            .call(req)
            .await
            .map_err(|e| status_from_error(e.into()))
    }
}

/// Decodes a reply's one message, consuming the body so that the message's
/// buffer is handed to the decoder rather than shared with it (as
/// [`Body::decode`] does, which only borrows). The errors are worded as
/// `Body::decode`'s, after "malformed reply: ".
fn decode_reply<R: prost::Message + Default>(body: Body) -> Result<R, Status> {
    let message = body
        .into_message()
        .map_err(|e| Status::internal(format!("malformed reply: {}", e.message())))?;
    R::decode(message)
        .map_err(|e| Status::internal(format!("malformed reply: error unmarshalling payload: {e}")))
}
