//! The messages of `proto/interop/streaming.proto`, a wren implementation of
//! its `Streaming` service, and what the streaming tests share: request
//! streams, frames of the streaming service, and (from `wren-test-support`)
//! a server on a temporary unix socket and a raw frame-level client.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt, stream};
use prost::Message;
use prost::bytes::Bytes;
use tokio::sync::mpsc;
use wren_rpc::codec::{Flags, Frame, MessageType, proto};
use wren_rpc::server::Methods;
use wren_rpc::{Request, Response, Status, Streaming};

#[allow(unused_imports)]
pub use wren_test_support::frames::{read_frame, write_frame};
#[allow(unused_imports)]
pub use wren_test_support::raw::Raw;
#[allow(unused_imports)]
pub use wren_test_support::server::TestServer;
#[allow(unused_imports)]
pub use wren_test_support::{HANG, within};

pub const SERVICE: &str = "wren.interop.streaming.v1.Streaming";

#[derive(Clone, PartialEq, Message)]
pub struct EchoPayload {
    #[prost(uint32, tag = "1")]
    pub seq: u32,
    #[prost(string, tag = "2")]
    pub msg: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Part {
    #[prost(int32, tag = "1")]
    pub add: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct Sum {
    #[prost(int32, tag = "1")]
    pub sum: i32,
    #[prost(int32, tag = "2")]
    pub num: i32,
}

/// Splits `sum.sum` into `sum.num` parts whose first and last are empty (the
/// default `Part`), the others sharing the sum as evenly as they can.
pub fn divide(sum: &Sum) -> Result<Vec<Part>, Status> {
    if sum.num < 3 {
        return Err(Status::invalid_argument(format!(
            "cannot divide into {} parts with empty first and last",
            sum.num
        )));
    }
    let middle = sum.num - 2;
    let (base, extra) = (sum.sum / middle, sum.sum % middle);
    let mut parts = vec![Part::default()];
    parts.extend((0..middle).map(|i| Part {
        add: base + i32::from(i < extra),
    }));
    parts.push(Part::default());
    Ok(parts)
}

/// The two messages `EmptyPayloadStream` sends.
pub fn empty_payload_replies() -> [EchoPayload; 2] {
    [
        EchoPayload {
            seq: 1,
            msg: "first".into(),
        },
        EchoPayload {
            seq: 2,
            msg: "second".into(),
        },
    ]
}

/// The `Streaming` service with the semantics its proto comments give.
pub fn service() -> Methods {
    Methods::new(SERVICE)
        .unary("Echo", |req: Request<EchoPayload>| async move {
            let m = req.into_inner();
            Ok(Response::new(EchoPayload {
                seq: m.seq + 1,
                msg: m.msg,
            }))
        })
        .bidi(
            "EchoStream",
            |req: Request<Streaming<EchoPayload>>| async move {
                let replies = req.into_inner().map(|m| {
                    m.map(|m| EchoPayload {
                        seq: m.seq + 1,
                        msg: m.msg,
                    })
                });
                Ok(Response::new(replies))
            },
        )
        .client_streaming("SumStream", |req: Request<Streaming<Part>>| async move {
            let mut parts = req.into_inner();
            let mut sum = Sum::default();
            while let Some(part) = parts.message().await? {
                sum.sum += part.add;
                sum.num += 1;
            }
            Ok(Response::new(sum))
        })
        .server_streaming("DivideStream", |req: Request<Sum>| async move {
            let parts = divide(req.get_ref())?;
            Ok(Response::new(stream::iter(parts.into_iter().map(Ok))))
        })
        .client_streaming(
            "EchoNull",
            |req: Request<Streaming<EchoPayload>>| async move {
                // Every message must arrive, in order: seq counts from 0.
                let mut messages = req.into_inner();
                let mut expected = 0;
                while let Some(m) = messages.message().await? {
                    if m.seq != expected {
                        return Err(Status::invalid_argument(format!(
                            "message {expected} arrived with seq {}",
                            m.seq
                        )));
                    }
                    expected += 1;
                }
                Ok(Response::new(()))
            },
        )
        .bidi(
            "EchoNullStream",
            |req: Request<Streaming<EchoPayload>>| async move {
                // The replies go out while more requests come in: each
                // request is answered as soon as it is read.
                let replies = req.into_inner().flat_map(|m| {
                    stream::iter(match m {
                        Ok(_) => vec![Ok(()); 10],
                        Err(status) => vec![Err(status)],
                    })
                });
                Ok(Response::new(replies))
            },
        )
        .server_streaming("EmptyPayloadStream", |_req: Request<()>| async move {
            Ok(Response::new(stream::iter(
                empty_payload_replies().into_iter().map(Ok),
            )))
        })
}

/// A request stream fed from a channel: messages go out as they are sent,
/// and dropping the sender ends the stream.
pub fn channel_stream<T: Send + 'static>(
    buffer: usize,
) -> (mpsc::Sender<T>, impl Stream<Item = T> + Send + 'static) {
    let (tx, mut rx) = mpsc::channel(buffer);
    (tx, stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// A stream that never yields, holding `T` until it is dropped.
pub struct Stall<T, Item> {
    pub hold: T,
    _item: std::marker::PhantomData<fn() -> Item>,
}

impl<T, Item> Stall<T, Item> {
    pub fn new(hold: T) -> Self {
        Stall {
            hold,
            _item: std::marker::PhantomData,
        }
    }
}

impl<T: Unpin, Item> Stream for Stall<T, Item> {
    type Item = Item;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Item>> {
        Poll::Pending
    }
}

/// Sends `()` on its channel when dropped: proves a handler (or the stream
/// it returned) was dropped.
pub struct DropGuard(pub Option<tokio::sync::oneshot::Sender<()>>);

impl DropGuard {
    pub fn new() -> (DropGuard, tokio::sync::oneshot::Receiver<()>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        (DropGuard(Some(tx)), rx)
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// A Request frame for `method` of the streaming service.
pub fn request(id: u32, flags: Flags, method: &str, payload: impl Into<Bytes>) -> Frame {
    request_to(id, flags, SERVICE, method, payload, 0)
}

pub fn request_to(
    id: u32,
    flags: Flags,
    service: &str,
    method: &str,
    payload: impl Into<Bytes>,
    timeout_nano: i64,
) -> Frame {
    let envelope = proto::Request {
        service: service.into(),
        method: method.into(),
        payload: payload.into(),
        timeout_nano,
        metadata: Vec::new(),
    };
    Frame::new(id, MessageType::REQUEST, flags, envelope.encode_to_vec())
}

pub const CLOSE: Flags = Flags::from_bits(0x05);

pub fn data(id: u32, message: &impl Message) -> Frame {
    Frame::data(id, Flags::EMPTY, message.encode_to_vec())
}

pub fn close(id: u32) -> Frame {
    Frame::data(id, CLOSE, Bytes::new())
}
