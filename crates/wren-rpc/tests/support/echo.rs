//! The messages of `proto/interop/echo.proto` and a wren implementation of
//! its `Echo` service, shared by the interop tests.

use std::time::{Duration, Instant};

use prost::Message;
use wren_rpc::server::Methods;
use wren_rpc::{Code, Request, Response, Status};

pub const SERVICE: &str = "wren.interop.v1.Echo";
pub const FAIL_DETAIL_URL: &str = "type.googleapis.com/wren.interop.v1.FailDetail";

#[derive(Clone, PartialEq, Message)]
pub struct EchoRequest {
    #[prost(int64, tag = "1")]
    pub seq: i64,
    #[prost(string, tag = "2")]
    pub msg: String,
    #[prost(bytes = "vec", tag = "3")]
    pub payload: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct EchoResponse {
    #[prost(int64, tag = "1")]
    pub seq: i64,
    #[prost(string, tag = "2")]
    pub msg: String,
    #[prost(bytes = "vec", tag = "3")]
    pub payload: Vec<u8>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Pair {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct MetadataResponse {
    #[prost(message, repeated, tag = "1")]
    pub pairs: Vec<Pair>,
}

#[derive(Clone, PartialEq, Message)]
pub struct DeadlineResponse {
    #[prost(bool, tag = "1")]
    pub has_deadline: bool,
    #[prost(int64, tag = "2")]
    pub remaining_ms: i64,
}

#[derive(Clone, PartialEq, Message)]
pub struct FailRequest {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(string, tag = "3")]
    pub detail: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct FailDetail {
    #[prost(string, tag = "1")]
    pub detail: String,
}

fn echo(req: EchoRequest) -> EchoResponse {
    EchoResponse {
        seq: req.seq + 1,
        msg: req.msg,
        payload: req.payload,
    }
}

/// The `Echo` service with the semantics every interop peer implements.
pub fn service() -> Methods {
    Methods::new(SERVICE)
        .unary("Echo", |req: Request<EchoRequest>| async move {
            Ok(Response::new(echo(req.into_inner())))
        })
        .unary("Sleep", |req: Request<EchoRequest>| async move {
            let ms = u64::try_from(req.get_ref().seq).unwrap_or(0);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(Response::new(echo(req.into_inner())))
        })
        .unary("Metadata", |req: Request<EchoRequest>| async move {
            let mut pairs: Vec<Pair> = req
                .metadata()
                .iter()
                .map(|(k, v)| Pair {
                    key: k.to_owned(),
                    value: v.to_owned(),
                })
                .collect();
            // Sorted by key; a stable sort keeps each key's values in order.
            pairs.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(Response::new(MetadataResponse { pairs }))
        })
        .unary("Deadline", |req: Request<EchoRequest>| async move {
            let reply = match req.deadline() {
                Some(d) => DeadlineResponse {
                    has_deadline: true,
                    remaining_ms: d.saturating_duration_since(Instant::now()).as_millis() as i64,
                },
                None => DeadlineResponse::default(),
            };
            Ok(Response::new(reply))
        })
        .unary("Fail", |req: Request<FailRequest>| async move {
            let req = req.into_inner();
            let detail = prost_types::Any {
                type_url: FAIL_DETAIL_URL.to_owned(),
                value: FailDetail { detail: req.detail }.encode_to_vec(),
            };
            Err::<Response<EchoResponse>, _>(
                Status::new(Code::from_i32(req.code), req.message).with_details([detail]),
            )
        })
}
