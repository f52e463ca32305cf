//! The service every robustness suite and fuzz target talks to: one method
//! of each call kind, plus handlers that never finish, all counted while
//! they run so a test can see that they were cancelled.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use wren_server::{Methods, Request, Response, Streaming};
use wren_transport::codec::Status;

/// The full name of the probe service.
pub const SERVICE: &str = "wren.robust.Probe";

/// Unary: replies with the request.
pub const ECHO: &str = "Echo";
/// Unary: sleeps `seq` milliseconds, then replies with the request.
pub const SLEEP: &str = "Sleep";
/// Unary: never replies (runs, holding its request, until it is cancelled).
pub const PARK: &str = "Park";
/// Server streaming: replies `seq` messages, each a copy of the request with
/// its own `seq` (0, 1, …), then ends.
pub const COUNT: &str = "Count";
/// Client streaming: reads every message, replies `seq` = how many.
pub const SUM: &str = "Sum";
/// Client streaming: never reads its messages and never replies.
pub const HOARD: &str = "Hoard";
/// Bidirectional: echoes each message as it arrives, ends when the client does.
pub const CHAT: &str = "Chat";

/// The message every method takes and returns.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Msg {
    /// A number whose meaning depends on the method.
    #[prost(uint64, tag = "1")]
    pub seq: u64,
    /// Opaque bytes, echoed back.
    #[prost(bytes = "bytes", tag = "2")]
    pub body: Bytes,
}

impl Msg {
    /// A message with `seq` and `body`.
    pub fn new(seq: u64, body: impl Into<Bytes>) -> Msg {
        Msg {
            seq,
            body: body.into(),
        }
    }
}

/// Counts handlers (and reply streams) that are still alive.
#[derive(Clone, Debug, Default)]
pub struct Live(Arc<AtomicUsize>);

/// Held by a running handler; dropping it marks the handler as gone.
#[derive(Debug)]
pub struct LiveGuard(Arc<AtomicUsize>);

impl Live {
    /// A counter at zero.
    pub fn new() -> Live {
        Live::default()
    }

    /// Handlers and reply streams alive now.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Marks one more handler as alive until the guard is dropped.
    pub fn enter(&self) -> LiveGuard {
        self.0.fetch_add(1, Ordering::SeqCst);
        LiveGuard(self.0.clone())
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The probe service, counting its live handlers in `live`.
pub fn probe(live: &Live) -> Methods {
    // Each handler takes its own handle on the counter.
    let [l1, l2, l3, l4, l5, l6, l7] = std::array::from_fn(|_| live.clone());
    Methods::new(SERVICE)
        .unary(ECHO, move |req: Request<Msg>| {
            let guard = l1.enter();
            async move {
                let _guard = guard;
                Ok(Response::new(req.into_inner()))
            }
        })
        .unary(SLEEP, move |req: Request<Msg>| {
            let guard = l2.enter();
            async move {
                let _guard = guard;
                tokio::time::sleep(Duration::from_millis(req.get_ref().seq)).await;
                Ok(Response::new(req.into_inner()))
            }
        })
        .unary(PARK, move |req: Request<Msg>| {
            let guard = l3.enter();
            async move {
                // Holds its request (metadata and all) while it waits.
                let _held = (guard, req);
                std::future::pending::<Result<Response<Msg>, Status>>().await
            }
        })
        .server_streaming(COUNT, move |req: Request<Msg>| {
            let guard = l4.enter();
            async move {
                let msg = req.into_inner();
                let replies = stream::iter(0..msg.seq).map(move |seq| {
                    let _alive = &guard;
                    Ok(Msg::new(seq, msg.body.clone()))
                });
                Ok(Response::new(replies))
            }
        })
        .client_streaming(SUM, move |req: Request<Streaming<Msg>>| {
            let guard = l5.enter();
            async move {
                let _guard = guard;
                let mut inbound = req.into_inner();
                let mut count = 0;
                while inbound.message().await?.is_some() {
                    count += 1;
                }
                Ok(Response::new(Msg::new(count, Bytes::new())))
            }
        })
        .client_streaming(HOARD, move |req: Request<Streaming<Msg>>| {
            let guard = l6.enter();
            async move {
                let _guard = guard;
                let _unread = req.into_inner();
                std::future::pending::<Result<Response<Msg>, Status>>().await
            }
        })
        .bidi(CHAT, move |req: Request<Streaming<Msg>>| {
            let guard = l7.enter();
            async move {
                let replies = req.into_inner().map(move |msg| {
                    let _alive = &guard;
                    msg
                });
                Ok(Response::new(replies))
            }
        })
}
