//! Micro-benchmarks of routing: `Routes::method_kind` (one of the lookups
//! every call makes) with 1 and with 20 services, and a whole unary call
//! through `Routes` and `Methods` (route, decode, handler, encode), polled
//! to completion in place.
//!
//! `cargo bench -p wren-server --bench routes`; instruction counts with
//! `cargo xtask bench micro`.

#[path = "../../wren-codec/benches/icount/mod.rs"]
mod icount;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use tower::Service;
use wren_server::{Body, Methods, Request, Response, Routes};

use icount::Case;

const SERVICE: &str = "wren.bench.v1.Bench";

/// An echo service of prost `bytes` messages, as a `Methods`.
fn bench_service(name: &str) -> Methods {
    Methods::new(name.to_owned()).unary("Echo", |req: Request<Bytes>| async move {
        Ok(Response::new(req.into_inner()))
    })
}

fn routes(services: usize) -> Routes {
    let mut routes = Routes::new();
    for i in 1..services {
        routes.add_service(bench_service(&format!("wren.bench.v1.Other{i}")));
    }
    routes.add_service(bench_service(SERVICE));
    routes
}

/// Polls `fut` once with a no-op waker; it must be ready.
fn ready<F: Future>(fut: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the call was not ready at once"),
    }
}

fn main() {
    let mut cases = Vec::new();
    for (name, services) in [
        ("routes/method_kind/1-service", 1),
        ("routes/method_kind/20-services", 20),
    ] {
        let routes = routes(services);
        cases.push(Case::new(name, move || routes.method_kind(SERVICE, "Echo")));
    }
    // `bytes` field 1 holding 256 bytes: the encoded request message.
    let mut message = vec![0x0a, 0x80, 0x02];
    message.extend((0..256).map(|i| (i % 251) as u8));
    let message = Bytes::from(message);
    let mut routes = routes(1);
    cases.push(Case::new("routes/call/unary-256B", move || {
        let mut request = Request::new(Body::new(message.clone()));
        request.set_path(SERVICE, "Echo");
        ready(routes.call(request)).expect("the call succeeds")
    }));
    icount::main(cases);
}
