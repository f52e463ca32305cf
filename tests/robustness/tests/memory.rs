//! Bounded memory per peer: a wren server in its own process (default
//! settings) under four attacks, its resident memory read from
//! `/proc/PID/status` before and during each, and another connection
//! served throughout.
//!
//! Each test prints a `FIGURE` line (run with `--nocapture` to see it);
//! `docs/RELIABILITY.md` records them.
#![allow(missing_docs)]

use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tokio::net::UnixStream;
use wren_robustness::fixture::{COUNT, ECHO, HOARD, Msg, PARK, SERVICE};
use wren_robustness::harness::ChildServer;
use wren_robustness::peer::{RawPeer, header_bytes, request, request_frame, status_of, within};
use wren_robustness::sys::Memory;
use wren_transport::Request;
use wren_transport::codec::{Code, Flags, Frame, MessageType, proto};

const KIB: u64 = 1024;

fn start() -> ChildServer {
    ChildServer::start(std::path::Path::new(env!(
        "CARGO_BIN_EXE_wren-robust-server"
    )))
}

/// A fresh connection's Echo call succeeds: the server still serves others.
async fn served(server: &ChildServer) {
    let mut client = server.client().await;
    let reply = within(
        "a call on another connection during the attack",
        client.unary::<Msg, Msg>(Request::new(Msg::new(5, &b"hi"[..])), SERVICE, ECHO),
    )
    .await
    .expect("another connection is served during the attack");
    assert_eq!(reply.into_inner().seq, 5);
}

/// The server's memory after a warm-up call, once it has settled.
async fn baseline(server: &ChildServer) -> Memory {
    served(server).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.memory()
}

async fn connect_many(server: &ChildServer, n: usize) -> Vec<RawPeer<UnixStream>> {
    let mut peers = Vec::with_capacity(n);
    for _ in 0..n {
        peers.push(server.raw().await);
    }
    peers
}

fn figure(scenario: &str, detail: &str, before: Memory, during: Memory) {
    eprintln!(
        "FIGURE {scenario}: {detail}; server RssAnon {} KiB before, {} KiB during (+{} KiB), VmRSS {} -> {} KiB, peak {} KiB",
        before.anon_kib,
        during.anon_kib,
        during.anon_kib.saturating_sub(before.anon_kib),
        before.rss_kib,
        during.rss_kib,
        during.peak_kib,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_one_byte_per_second_pins_next_to_nothing() {
    const CONNECTIONS: usize = 200;
    const SECONDS: usize = 5;
    let server = start();
    let before = baseline(&server).await;
    let mut peers = connect_many(&server, CONNECTIONS).await;
    // Each announces the largest frame allowed (4 MiB), then trickles it.
    let header = header_bytes(4 << 20, 1, MessageType::REQUEST, Flags::EMPTY);
    for peer in &mut peers {
        peer.send_raw(&header).await;
    }
    for _ in 0..SECONDS {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for peer in &mut peers {
            peer.send_raw(&[0x0a]).await;
        }
        served(&server).await;
    }
    let during = server.memory();
    figure(
        "slowloris",
        &format!("{CONNECTIONS} connections, each a 4 MiB header then 1 byte/s for {SECONDS} s"),
        before,
        during,
    );
    // Bound: what the reads so far could have touched, a page or two per
    // connection, plus the connections' own state (~2 KiB each).
    let bound = CONNECTIONS as u64 * 16 * KIB;
    let grown = during.anon_kib.saturating_sub(before.anon_kib) * KIB;
    assert!(
        grown < bound,
        "slowloris pinned {grown} bytes (bound {bound})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_reads_its_replies_is_held_to_the_write_buffer() {
    const CONNECTIONS: usize = 20;
    let server = start();
    let before = baseline(&server).await;
    let mut peers = connect_many(&server, CONNECTIONS).await;
    let big = Msg::new(100_000, Bytes::from(vec![b'x'; 1024]));
    for peer in &mut peers {
        // Streams of 100,000 replies of 1 KiB each, and 1 MiB echoes: about
        // 6.5 GB of replies per connection, never read.
        for i in 0..32u32 {
            peer.send(request_frame(2 * i + 1, COUNT, Flags::REMOTE_CLOSED, &big))
                .await;
        }
        let mib = Msg::new(1, Bytes::from(vec![b'y'; 1 << 20]));
        for i in 32..48u32 {
            let frame = request_frame(2 * i + 1, ECHO, Flags::EMPTY, &mib);
            // The server stops reading once its replies back up: a write that
            // cannot finish is the backpressure working.
            if tokio::time::timeout(Duration::from_millis(200), peer.send(frame))
                .await
                .is_err()
            {
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    served(&server).await;
    let during = server.memory();
    figure(
        "never-reads",
        &format!(
            "{CONNECTIONS} connections, each 32 streams of 100,000 x 1 KiB replies and 16 x 1 MiB echoes, never read"
        ),
        before,
        during,
    );
    // Bound per connection: the write buffer's high-water mark (256 KiB)
    // plus one reply being encoded and one request being read (1 MiB each
    // here), with room for the allocator.
    let per_connection = (256 + 2 * 1024 + 512) * KIB;
    let bound = CONNECTIONS as u64 * per_connection;
    let grown = during.anon_kib.saturating_sub(before.anon_kib) * KIB;
    assert!(grown < bound, "pinned {grown} bytes (bound {bound})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_streams_nobody_consumes_stay_within_the_budget() {
    const STREAMS: u32 = 5000;
    const MESSAGES: usize = 32;
    let server = start();
    let before = baseline(&server).await;
    let mut peer = server.raw().await;
    let chunk = Msg::new(0, Bytes::from(vec![b'z'; 1024])).encode_to_vec();
    let mut batch = Vec::new();
    for i in 0..STREAMS {
        let id = 2 * i + 1;
        batch.push(request_frame(
            id,
            HOARD,
            Flags::REMOTE_OPEN,
            &Msg::default(),
        ));
        for _ in 0..MESSAGES {
            batch.push(Frame::data(id, Flags::EMPTY, chunk.clone()));
        }
    }
    let sender = tokio::spawn(async move {
        for frame in batch {
            if tokio::time::timeout(Duration::from_secs(5), peer.send(frame))
                .await
                .is_err()
            {
                break; // The server stopped reading: backpressure.
            }
        }
        peer
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    served(&server).await;
    let during = server.memory();
    let _peer = sender.await.expect("the sender");
    figure(
        "unconsumed-streams",
        &format!(
            "{STREAMS} client streams on one connection, {MESSAGES} x 1 KiB each, none read by its handler"
        ),
        before,
        during,
    );
    assert_within_budget(before, during);
}

/// The bound on what one connection can pin with default settings: the
/// connection budget (64 MiB: requests in flight and unread stream
/// messages), one frame being read (4 MiB), the write buffer (256 KiB), and
/// 12 MiB for the calls' own state and the allocator.
const CONNECTION_BOUND: u64 = (64 + 4 + 12) * 1024 * KIB + 256 * KIB;

fn assert_within_budget(before: Memory, during: Memory) {
    let grown = during.anon_kib.saturating_sub(before.anon_kib) * KIB;
    assert!(
        grown < CONNECTION_BOUND,
        "one connection pinned {} KiB (bound {} KiB)",
        grown / KIB,
        CONNECTION_BOUND / KIB
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_small_metadata_entries_per_call() {
    // Enough calls to fill the connection's budget (64 MiB) by their wire
    // size alone; those past it are refused.
    const CALLS: u32 = 700;
    const ENTRIES: usize = 10_000;
    let server = start();
    let before = baseline(&server).await;
    let mut peer = server.raw().await;
    let mut envelope = request(PARK, &Msg::new(1, Bytes::new()));
    envelope.metadata = (0..ENTRIES)
        .map(|i| proto::KeyValue {
            key: format!("k{i}"),
            value: "v".to_owned(),
        })
        .collect();
    let bytes = Bytes::from(envelope.encode_to_vec());
    let wire = bytes.len();
    for i in 0..CALLS {
        peer.send(Frame::request(2 * i + 1, bytes.clone())).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    served(&server).await;
    let during = server.memory();
    figure(
        "metadata",
        &format!(
            "{CALLS} calls on one connection, each {ENTRIES} metadata entries ({wire} bytes on the wire)"
        ),
        before,
        during,
    );
    assert_within_budget(before, during);
}

/// Two bytes on the wire (`2a 00`) make an empty metadata entry, which
/// costs far more decoded: a 4 MiB request of them is 2 million entries
/// (about 100 MB once decoded, before metadata counted against the budget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_of_nothing_but_empty_metadata_entries() {
    const CALLS: u32 = 4;
    let server = start();
    let before = baseline(&server).await;
    let mut peer = server.raw().await;
    let mut bytes = request(PARK, &Msg::new(1, Bytes::new())).encode_to_vec();
    // Each `2a 00` is one empty KeyValue: two bytes on the wire.
    let entries = ((4 << 20) - bytes.len()) / 2;
    for _ in 0..entries {
        bytes.extend_from_slice(&[0x2a, 0x00]);
    }
    let bytes = Bytes::from(bytes);
    for i in 0..CALLS {
        peer.send(Frame::request(2 * i + 1, bytes.clone())).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    served(&server).await;
    let during = server.memory();
    figure(
        "metadata-empty",
        &format!(
            "{CALLS} calls on one connection, each a 4 MiB request of {entries} empty metadata entries"
        ),
        before,
        during,
    );
    assert_within_budget(before, during);
    // Decoded, one such request alone is over the budget: each is refused
    // before its entries are allocated.
    for i in 0..CALLS {
        let resp = peer.recv_response(2 * i + 1).await;
        let (code, message) = status_of(&resp).expect("a refusal");
        assert_eq!(code, Code::ResourceExhausted);
        assert!(
            message.starts_with("connection buffer budget exhausted"),
            "{message}"
        );
    }
}
