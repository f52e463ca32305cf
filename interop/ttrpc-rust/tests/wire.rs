//! The frames each side puts on the wire, recorded by a [`Tap`] between a
//! client and a server: what ttrpc-rust sends where Go's rules leave room,
//! and that wren answers it as Go would.

use wren_interop_ttrpc_rust::pb;
use wren_interop_ttrpc_rust::tap::{
    DATA, Dir, NO_DATA, REMOTE_CLOSED, REMOTE_OPEN, REQUEST, RESPONSE, Seen, Tap,
};
use wren_interop_ttrpc_rust::ttrpc_side::{self, TtrpcServer, ctx, part, payload, sum};
use wren_interop_ttrpc_rust::within;
use wren_interop_ttrpc_rust::wren_side::{self, WrenServer, channel_stream};
use wren_rpc::codec::proto;
use wren_rpc::prost::Message;

const CLOSE: u8 = REMOTE_CLOSED | NO_DATA;

/// The `(type, flags, length)` of the frames on `id` going `dir`.
fn shapes(tap: &Tap, id: u32, dir: Dir) -> Vec<(u8, u8, u32)> {
    frames(tap, id, dir).iter().map(Seen::shape).collect()
}

fn frames(tap: &Tap, id: u32, dir: Dir) -> Vec<Seen> {
    tap.stream(id)
        .into_iter()
        .filter(|s| s.dir == dir)
        .collect()
}

fn request_envelope(tap: &Tap, id: u32) -> proto::Request {
    let request = &frames(tap, id, Dir::ToServer)[0];
    assert_eq!(request.kind, REQUEST, "{}", tap.log());
    proto::Request::decode(&request.payload[..]).expect("a ttrpc.Request")
}

fn response_envelope(tap: &Tap, id: u32) -> proto::Response {
    let response = frames(tap, id, Dir::ToClient)
        .into_iter()
        .find(|s| s.kind == RESPONSE)
        .unwrap_or_else(|| panic!("a Response on {id}\n{}", tap.log()));
    proto::Response::decode(&response.payload[..]).expect("a ttrpc.Response")
}

/// The frames each test below exchanges: 2 (unary) + 5 (client streaming,
/// two messages) + 5 (server streaming, three messages) + 4 (server
/// streaming, two messages) + 5 (bidi, one round trip).
const FRAMES: usize = 2 + 5 + 5 + 4 + 5;

/// Waits until the tap has seen `n` frames (the last ones may still be on
/// their way when the client already has its answer).
async fn settle(tap: &Tap, n: usize) {
    within("the tap to see every frame", async {
        while tap.seen().len() < n {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// ttrpc-rust's client, as a wren server sees it:
/// - unary Requests are flagged 0, server-streaming 0x01 (remote-closed)
///   with the request message in the payload, even an empty one;
/// - client-streaming and bidi Requests are flagged 0x06 (remote-open *and*
///   no-data; Go sends 0x02, wren 0x06 too) with no payload;
/// - an empty message is a Data frame flagged 0 of length 0; close-send is
///   Data 0x05 of length 0, as Go.
///
/// And wren answers as Go does: success Responses carry no status, a
/// server stream ends with Data 0x05 of length 0, a bidi stream too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttrpc_rust_client_to_wren_server() {
    let server = WrenServer::start();
    let tap = Tap::start(server.path());
    let client = ttrpc_side::client(tap.path()).await;

    // 1: unary.
    client.echo(ctx(), &payload(1, "a")).await.expect("Echo");
    // 3: client streaming, an empty part then a non-empty one.
    let mut s = client.sum_stream(ctx()).await.expect("SumStream");
    s.send(&part(0)).await.expect("send");
    s.send(&part(2)).await.expect("send");
    s.close_and_recv().await.expect("the sum");
    // 5: server streaming, 3 parts: empty, 3, empty.
    let mut s = client
        .divide_stream(ctx(), &sum(3, 3))
        .await
        .expect("DivideStream");
    while s.recv().await.expect("a part").is_some() {}
    // 7: server streaming with an empty request.
    let empty = protobuf::well_known_types::empty::Empty::new();
    let mut s = client
        .empty_payload_stream(ctx(), &empty)
        .await
        .expect("EmptyPayloadStream");
    while s.recv().await.expect("a message").is_some() {}
    // 9: bidi, one round trip then close-send.
    let mut s = client.echo_stream(ctx()).await.expect("EchoStream");
    s.send(&payload(5, "m")).await.expect("send");
    s.recv().await.expect("a reply");
    s.close_send().await.expect("close-send");
    assert!(matches!(s.recv().await, Err(ttrpc::Error::Eof)));
    settle(&tap, FRAMES).await;
    let log = tap.log();

    // Unary.
    assert_eq!(shapes(&tap, 1, Dir::ToServer)[0].1, 0, "{log}");
    assert_eq!(response_envelope(&tap, 1).status, None, "{log}");

    // Client streaming.
    let to_server = shapes(&tap, 3, Dir::ToServer);
    assert_eq!(to_server[0].1, REMOTE_OPEN | NO_DATA, "{log}");
    assert!(request_envelope(&tap, 3).payload.is_empty(), "{log}");
    assert_eq!(
        to_server[1..],
        [(DATA, 0, 0), (DATA, 0, 2), (DATA, CLOSE, 0)],
        "{log}"
    );
    let response = response_envelope(&tap, 3);
    assert_eq!(response.status, None, "{log}");
    assert_eq!(
        pb::Sum::decode(&response.payload[..]).unwrap(),
        pb::Sum { sum: 2, num: 2 }
    );

    // Server streaming.
    assert_eq!(
        shapes(&tap, 5, Dir::ToServer),
        [(REQUEST, REMOTE_CLOSED, 57)],
        "{log}"
    );
    let request = request_envelope(&tap, 5);
    assert_eq!(
        pb::Sum::decode(&request.payload[..]).unwrap(),
        pb::Sum { sum: 3, num: 3 }
    );
    assert_eq!(
        shapes(&tap, 5, Dir::ToClient),
        [(DATA, 0, 0), (DATA, 0, 2), (DATA, 0, 0), (DATA, CLOSE, 0)],
        "{log}"
    );

    // Server streaming, empty request: still flagged 0x01 only, payload empty.
    assert_eq!(shapes(&tap, 7, Dir::ToServer)[0].1, REMOTE_CLOSED, "{log}");
    assert!(request_envelope(&tap, 7).payload.is_empty(), "{log}");
    let replies = shapes(&tap, 7, Dir::ToClient);
    assert_eq!(replies.len(), 3, "{log}");
    assert_eq!(replies[2], (DATA, CLOSE, 0), "{log}");

    // Bidi.
    let to_server = shapes(&tap, 9, Dir::ToServer);
    assert_eq!(to_server[0].1, REMOTE_OPEN | NO_DATA, "{log}");
    assert_eq!(to_server[1..], [(DATA, 0, 5), (DATA, CLOSE, 0)], "{log}");
    assert_eq!(
        shapes(&tap, 9, Dir::ToClient),
        [(DATA, 0, 5), (DATA, CLOSE, 0)],
        "{log}"
    );
    server.stop().await;
}

/// ttrpc-rust's server, as a wren client sees it:
/// - success Responses (unary and client-streaming) carry an explicit
///   status with code OK and an empty message, where Go leaves `status`
///   out; wren's client takes both;
/// - a server or bidi stream ends with Data 0x05 of length 0, as Go.
///
/// And wren's client sends: unary Requests flagged 0, server-streaming 0x01
/// with the message (even empty) as payload, as Go does; client-streaming
/// and bidi 0x06 (remote-open|no-data, as ttrpc-rust's client; Go sends
/// 0x02) with no payload, so that ttrpc-rust takes no first message from
/// it (`SumStream` below counts 2 parts, not 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wren_client_to_ttrpc_rust_server() {
    let server = TtrpcServer::start().await;
    let tap = Tap::start(server.path());
    let mut client = wren_side::client(tap.path()).await;

    // 1: unary.
    client
        .echo(pb::EchoPayload {
            seq: 1,
            msg: "a".into(),
        })
        .await
        .expect("Echo");
    // 3: client streaming.
    let parts = futures::stream::iter([pb::Part { add: 0 }, pb::Part { add: 2 }]);
    let total = client
        .sum_stream(parts)
        .await
        .expect("SumStream")
        .into_inner();
    assert_eq!(total, pb::Sum { sum: 2, num: 2 });
    // 5: server streaming.
    let mut s = client
        .divide_stream(pb::Sum { sum: 3, num: 3 })
        .await
        .expect("DivideStream")
        .into_inner();
    while s.message().await.expect("a part").is_some() {}
    // 7: server streaming with an empty request.
    let mut s = client
        .empty_payload_stream(())
        .await
        .expect("EmptyPayloadStream")
        .into_inner();
    while s.message().await.expect("a message").is_some() {}
    // 9: bidi.
    let (tx, requests) = channel_stream(1);
    let mut s = client
        .echo_stream(requests)
        .await
        .expect("EchoStream")
        .into_inner();
    tx.send(pb::EchoPayload {
        seq: 5,
        msg: "m".into(),
    })
    .await
    .expect("send");
    s.message().await.expect("a reply").expect("not the end");
    drop(tx);
    assert_eq!(s.message().await.expect("a clean end"), None);
    settle(&tap, FRAMES).await;
    let log = tap.log();

    // Unary: ttrpc-rust's success Response carries status OK explicitly.
    assert_eq!(shapes(&tap, 1, Dir::ToServer)[0].1, 0, "{log}");
    let status = response_envelope(&tap, 1)
        .status
        .expect("an explicit status");
    assert_eq!((status.code, status.message.as_str()), (0, ""), "{log}");

    // Client streaming: wren flags the Request 0x06 (remote-open|no-data),
    // no payload.
    let to_server = shapes(&tap, 3, Dir::ToServer);
    assert_eq!(to_server[0].1, REMOTE_OPEN | NO_DATA, "{log}");
    assert!(request_envelope(&tap, 3).payload.is_empty(), "{log}");
    assert_eq!(
        to_server[1..],
        [(DATA, 0, 0), (DATA, 0, 2), (DATA, CLOSE, 0)],
        "{log}"
    );
    let response = response_envelope(&tap, 3);
    let status = response.status.expect("an explicit status");
    assert_eq!(status.code, 0, "{log}");

    // Server streaming.
    assert_eq!(shapes(&tap, 5, Dir::ToServer)[0].1, REMOTE_CLOSED, "{log}");
    assert_eq!(
        shapes(&tap, 5, Dir::ToClient),
        [(DATA, 0, 0), (DATA, 0, 2), (DATA, 0, 0), (DATA, CLOSE, 0)],
        "{log}"
    );
    assert_eq!(shapes(&tap, 7, Dir::ToServer)[0].1, REMOTE_CLOSED, "{log}");
    assert!(request_envelope(&tap, 7).payload.is_empty(), "{log}");
    assert_eq!(shapes(&tap, 7, Dir::ToClient).len(), 3, "{log}");

    // Bidi: flagged 0x06 too, no payload.
    let to_server = shapes(&tap, 9, Dir::ToServer);
    assert_eq!(to_server[0].1, REMOTE_OPEN | NO_DATA, "{log}");
    assert!(request_envelope(&tap, 9).payload.is_empty(), "{log}");
    assert_eq!(to_server[1..], [(DATA, 0, 5), (DATA, CLOSE, 0)], "{log}");
    assert_eq!(
        shapes(&tap, 9, Dir::ToClient),
        [(DATA, 0, 5), (DATA, CLOSE, 0)],
        "{log}"
    );
    server.stop().await;
}
