//! Lifecycle and load, on loopback unix sockets and bounded in count and
//! time: graceful shutdown with calls and streams in flight loses no reply;
//! a peer vanishing mid-frame, mid-call and mid-stream has its handlers
//! cancelled and leaves no fd behind; many connections and many calls leave
//! fds and memory where they started. (`cargo xtask soak` runs the last at
//! full size.)
#![allow(missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wren_client::{Channel, Client};
use wren_robustness::fixture::{CHAT, COUNT, HOARD, Msg, PARK, SERVICE, SLEEP, SUM};
use wren_robustness::harness::TestServer;
use wren_robustness::peer::{header_bytes, request_frame, within};
use wren_robustness::soak::{self, Config};
use wren_robustness::sys::open_sockets;
use wren_server::{ConnectInfo, Methods, Server};
use wren_transport::codec::{Flags, Frame, MessageType};
use wren_transport::{Request, Response};

/// The tests of this file run one at a time, each on a runtime of its own
/// that is gone (with every socket it held) before the next starts: two of
/// them count this process's sockets and memory.
static ALONE: Mutex<()> = Mutex::new(());

fn alone<F: std::future::Future>(test: F) -> F::Output {
    let _alone = ALONE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let output = runtime.block_on(test);
    drop(runtime);
    output
}

/// A stream of `n` messages, one every `gap`.
fn paced(n: u64, gap: Duration) -> impl futures_util::Stream<Item = Msg> + Send + 'static {
    futures_util::stream::iter(0..n).then(move |seq| async move {
        tokio::time::sleep(gap).await;
        Msg::new(seq, Bytes::from_static(b"paced"))
    })
}

#[test]
fn graceful_shutdown_with_calls_and_streams_in_flight_loses_no_reply() {
    alone(async {
        let server = TestServer::start(Server::builder());
        let client = server.client().await;
        let mut calls = tokio::task::JoinSet::new();
        // 40 unary calls that take 300 ms.
        for i in 0..40u64 {
            let mut c = client.clone();
            calls.spawn(async move {
                let reply = c
                    .unary::<Msg, Msg>(Request::new(Msg::new(300, Bytes::new())), SERVICE, SLEEP)
                    .await?;
                assert_eq!(reply.into_inner().seq, 300);
                Ok::<_, wren_transport::codec::Status>(i)
            });
        }
        // 10 client streams and 10 bidi streams whose clients are still sending
        // when the shutdown starts (10 messages, 50 ms apart).
        for i in 0..10u64 {
            let mut c = client.clone();
            calls.spawn(async move {
                let reply = c
                    .client_streaming::<Msg, _, Msg>(
                        Request::new(paced(10, Duration::from_millis(50))),
                        SERVICE,
                        SUM,
                    )
                    .await?;
                assert_eq!(reply.into_inner().seq, 10, "every message counted");
                Ok(i)
            });
            let mut c = client.clone();
            calls.spawn(async move {
                let replies = c
                    .streaming::<Msg, _, Msg>(
                        Request::new(paced(10, Duration::from_millis(50))),
                        SERVICE,
                        CHAT,
                    )
                    .await?;
                let mut replies = replies.into_inner();
                let mut seqs = Vec::new();
                while let Some(m) = replies.message().await? {
                    seqs.push(m.seq);
                }
                assert_eq!(seqs, (0..10).collect::<Vec<_>>(), "every echo arrives");
                Ok(i)
            });
        }
        // A server stream too (1,000 replies, read slowly at first).
        let mut c = client.clone();
        calls.spawn(async move {
            let req = Request::new(Msg::new(1000, Bytes::from_static(b"s")));
            let mut replies = c
                .server_streaming::<Msg, Msg>(req, SERVICE, COUNT)
                .await?
                .into_inner();
            let mut next = 0;
            while let Some(m) = replies.message().await? {
                assert_eq!(m.seq, next);
                next += 1;
                if next < 5 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            assert_eq!(next, 1000);
            Ok(0)
        });

        tokio::time::sleep(Duration::from_millis(100)).await;
        let shutdown = {
            let handle = server.handle.clone();
            tokio::spawn(async move { handle.shutdown().await })
        };
        let mut done = 0;
        while let Some(joined) = within("the calls in flight", calls.join_next()).await {
            if let Err(status) = joined.expect("a call's task") {
                panic!("a call in flight lost its reply: {status:?}");
            }
            done += 1;
        }
        assert_eq!(done, 40 + 20 + 1);
        within("the shutdown", shutdown).await.unwrap();
        within("the server to stop", server.task)
            .await
            .unwrap()
            .unwrap();
    });
}

#[test]
fn a_peer_vanishing_mid_frame_mid_call_and_mid_stream_is_cleaned_up() {
    alone(async {
        let server = TestServer::start(Server::builder());
        // Give the server a connection's worth of lazily created state first.
        server.raw().await.echo_ok(1).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let sockets_before = open_sockets().unwrap();

        for cut in ["mid-frame", "mid-call", "mid-stream"] {
            let mut raw = server.raw().await;
            // Calls and streams in flight: a parked call, a hoarding client
            // stream, a bidi stream the client never closes, a server stream
            // of a million replies nobody reads.
            raw.send(request_frame(1, PARK, Flags::EMPTY, &Msg::default()))
                .await;
            raw.send(request_frame(3, HOARD, Flags::REMOTE_OPEN, &Msg::default()))
                .await;
            raw.send(Frame::data(3, Flags::EMPTY, &b"\x08\x01"[..]))
                .await;
            raw.send(request_frame(5, CHAT, Flags::REMOTE_OPEN, &Msg::default()))
                .await;
            let flood = Msg::new(1_000_000, Bytes::from_static(b"flood"));
            raw.send(request_frame(7, COUNT, Flags::REMOTE_CLOSED, &flood))
                .await;
            within("the handlers to start", async {
                while server.live.count() < 4 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await;
            match cut {
                "mid-frame" => {
                    let mut bytes =
                        header_bytes(100, 9, MessageType::REQUEST, Flags::EMPTY).to_vec();
                    bytes.extend_from_slice(&[0x0a; 40]);
                    raw.send_raw(&bytes).await;
                }
                "mid-call" => {}
                _ => {
                    raw.send(Frame::data(5, Flags::EMPTY, &b"\x08\x02"[..]))
                        .await;
                }
            }
            drop(raw); // Gone, without a word.
            server.all_handlers_gone().await;
        }
        within("the server to close its sockets", async {
            while open_sockets().unwrap() > sockets_before {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        // And it still serves.
        server.raw().await.echo_ok(1).await;
    });
}

#[test]
fn a_hundred_connections_then_twenty_thousand_calls_leave_fds_and_memory_as_they_were() {
    alone(async {
        let report = soak::run(Config::SMALL).await;
        eprintln!("FIGURE soak-small:\n{report}");
        assert_eq!(report.failures, 0, "{report}");
        assert_eq!(
            report.calls,
            (Config::SMALL.connections * Config::SMALL.calls_per_connection * Config::SMALL.rounds)
                as u64
                + Config::SMALL.calls
        );
        assert_eq!(
            report.sockets.0, report.sockets.2,
            "sockets before and after: {report}"
        );
        assert!(
            report.sockets.1 >= report.sockets.0 + 2 * Config::SMALL.connections,
            "the connections were all open at once: {report}"
        );
        for (what, grown) in soak::growth(&report) {
            assert!(grown < 8 * 1024, "RSS grew by {grown} KiB {what}: {report}");
        }
    });
}

#[test]
fn ten_thousand_concurrent_calls_on_one_connection_are_all_served() {
    alone(async {
        const CALLS: usize = 10_000;
        // A handler that waits until every call has arrived: the calls can
        // only all finish if all 10,000 are in flight at once.
        let entered = Arc::new(AtomicUsize::new(0));
        let (release, gate) = tokio::sync::watch::channel(false);
        let counter = entered.clone();
        let gated = Methods::new(SERVICE).unary("Gate", move |req: Request<Msg>| {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut gate = gate.clone();
            async move {
                let _ = gate.wait_for(|open| *open).await;
                Ok(Response::new(req.into_inner()))
            }
        });
        let (server_io, client_io) = tokio::net::UnixStream::pair().expect("a socket pair");
        let serve = Server::builder()
            .add_service(gated)
            .serve_connection(server_io, ConnectInfo::new());
        tokio::spawn(serve);
        let client = Client::new(Channel::new(client_io));
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..CALLS as u64 {
            let mut c = client.clone();
            calls.spawn(async move {
                let req = Request::new(Msg::new(i, Bytes::new()));
                c.unary::<Msg, Msg>(req, SERVICE, "Gate").await
            });
        }
        within("all 10,000 calls in flight at once", async {
            while entered.load(Ordering::SeqCst) < CALLS {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        release.send(true).expect("the handlers wait");
        let mut served = 0;
        while let Some(joined) = within("the replies", calls.join_next()).await {
            joined
                .expect("a call's task")
                .expect("every call is served");
            served += 1;
        }
        assert_eq!(served, CALLS);
    });
}
