//! The server's integration tests' helpers: the shared ones from
//! `wren-test-support` (tests/support), and the echo service.
#![allow(dead_code, unused_imports)]

pub(crate) use wren_test_support::frames::{decode_response, envelope, status};
pub(crate) use wren_test_support::messages::{Echo, Empty, Observed, SERVICE};
pub(crate) use wren_test_support::raw::Raw;
pub(crate) use wren_test_support::server::TestServer;
pub(crate) use wren_test_support::{HANG, within};

use wren_transport::{Request, Response};

/// The echo service used by most tests.
pub(crate) fn echo_service() -> wren_server::Methods {
    wren_server::Methods::new(SERVICE).unary("Echo", |req: Request<Echo>| async move {
        Ok(Response::new(req.into_inner()))
    })
}
