//! How the client's connection groups calls into writes, seen from the
//! socket: a counting wrapper around the client's end of a socket pair,
//! and a blocking raw server on a thread of its own.
#![allow(missing_docs)]

mod support;

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::BytesMut;
use prost::Message;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::JoinSet;
use tokio_util::codec::{Decoder, Encoder};
use wren_client::{Channel, Client};
use wren_transport::codec::{Decoded, Flags, Frame, FrameCodec, MessageType, proto};

use support::{Echo, echo, within};

/// Records the size of each write that carried bytes.
struct CountWrites<T> {
    io: T,
    sizes: Arc<Mutex<Vec<usize>>>,
}

impl<T> CountWrites<T> {
    fn record(&self, written: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = written
            && *n > 0
        {
            self.sizes.lock().unwrap().push(*n);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for CountWrites<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CountWrites<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        self.record(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.record(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The raw server's part: reads `count` requests, then answers them all
/// (each echoes its payload) in one write.
fn read_then_answer_all(io: &mut StdUnixStream, input: &mut BytesMut, count: usize) {
    let mut codec = FrameCodec::new();
    let mut read = 0;
    let mut replies = BytesMut::new();
    while read < count {
        match codec.decode(input).expect("a frame") {
            Some(Decoded::Frame(frame)) => {
                assert_eq!(frame.kind, MessageType::REQUEST);
                let request = proto::Request::decode(frame.payload).expect("a request");
                read += 1;
                let reply = proto::Response {
                    status: None,
                    payload: request.payload,
                };
                let frame = Frame::new(
                    frame.stream_id,
                    MessageType::RESPONSE,
                    Flags::EMPTY,
                    bytes::Bytes::from(reply.encode_to_vec()),
                );
                codec.encode(frame, &mut replies).unwrap();
            }
            Some(Decoded::Oversize(_)) => panic!("oversize frame"),
            None => {
                let mut chunk = [0u8; 4096];
                let n = io.read(&mut chunk).expect("read");
                assert!(n > 0, "the client closed early");
                input.extend_from_slice(&chunk[..n]);
            }
        }
    }
    io.write_all(&replies).expect("write");
}

/// Callers whose replies came in one read make their next calls in one
/// write, not one write each: tokio runs the connection's task right after
/// the first of them queues its call (the worker's LIFO slot), and the
/// connection yields once to let the others queue theirs.
#[test]
fn callers_answered_together_send_their_next_calls_in_one_write() {
    const CALLERS: usize = 8;
    let (client_io, mut server_io) = StdUnixStream::pair().unwrap();
    let server = std::thread::spawn(move || {
        let mut input = BytesMut::new();
        for _round in 0..2 {
            read_then_answer_all(&mut server_io, &mut input, CALLERS);
        }
    });
    let sizes = Arc::new(Mutex::new(Vec::new()));
    // One worker: the order tasks run in is then the scheduler's alone.
    // The test leans on tokio's order (a task woken from a worker runs
    // next, from its LIFO slot; a task that wakes itself goes to the back
    // of the queue), which is what the yield is for: if a tokio release
    // changes that order, this test says so.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        client_io.set_nonblocking(true).unwrap();
        let io = tokio::net::UnixStream::from_std(client_io).unwrap();
        let channel = Channel::builder().connect_with(CountWrites {
            io,
            sizes: sizes.clone(),
        });
        let mut calls = JoinSet::new();
        for _ in 0..CALLERS {
            let mut client = Client::new(channel.clone());
            calls.spawn(async move {
                for _round in 0..2 {
                    let same = Echo {
                        msg: "same size".to_owned(),
                        n: 7,
                    };
                    echo(&mut client, same).await.unwrap();
                }
            });
        }
        within("every call", async {
            while let Some(caller) = calls.join_next().await {
                caller.unwrap();
            }
        })
        .await;
    });
    server.join().unwrap();

    // Every request has the same size: the writes' sizes say how many
    // each carried. The first round's requests come first.
    let sizes = sizes.lock().unwrap().clone();
    let frame = sizes.iter().sum::<usize>() / (2 * CALLERS);
    assert!(sizes.iter().all(|&n| n % frame == 0), "{sizes:?}");
    let mut first_round = 0;
    let mut writes = sizes.iter();
    while first_round < CALLERS {
        first_round += writes.next().unwrap() / frame;
    }
    assert_eq!(first_round, CALLERS, "{sizes:?}");
    let second_round: Vec<usize> = writes.map(|n| n / frame).collect();
    assert_eq!(second_round, [CALLERS], "calls per write: {sizes:?}");
}
