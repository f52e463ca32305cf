//! The client's integration tests' helpers: the shared ones from
//! `wren-test-support` (tests/support), and a typed Echo call.
#![allow(dead_code, unused_imports)]

pub(crate) use wren_test_support::messages::{Echo, Empty, SERVICE};
pub(crate) use wren_test_support::raw::{RawConn, RawServer, Received};
pub(crate) use wren_test_support::{HANG, within};

use wren_client::Client;
use wren_transport::codec::Status;

/// Calls Echo with `msg` through a typed client.
pub(crate) async fn echo(client: &mut Client, msg: Echo) -> Result<Echo, Status> {
    client
        .unary::<Echo, Echo>(wren_transport::Request::new(msg), SERVICE, "Echo")
        .await
        .map(wren_transport::Response::into_inner)
}
