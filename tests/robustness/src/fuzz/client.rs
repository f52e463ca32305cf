//! The `client_connection` target: a wren channel with calls of every kind
//! in flight, fed arbitrary frames by its server.

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use futures_util::stream;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use wren_client::{Channel, Client};
use wren_transport::codec::{Flags, Status, proto};
use wren_transport::{Request, Streaming};

use super::script::{Ending, FlagChoice, KindChoice, Write, frame_bytes};
use crate::fixture::{self, Msg};

/// The channel's message limit in this target.
pub(crate) const LIMIT: usize = 1024;

/// How long (in virtual time) calls may take to finish after the server
/// side has closed before it counts as a hang.
const HANG: Duration = Duration::from_secs(3600);

/// What the fuzzed server does.
#[derive(Arbitrary, Debug)]
struct Script {
    calls: Vec<Call>,
    steps: Vec<Step>,
    ending: Ending,
}

/// A call the channel makes before the server says anything.
#[derive(Arbitrary, Clone, Copy, Debug)]
struct Call {
    kind: CallKind,
    /// Messages a streaming client sends (modulo 4).
    messages: u8,
    /// A deadline in virtual milliseconds, if any.
    timeout_ms: Option<u16>,
}

#[derive(Arbitrary, Clone, Copy, Debug)]
enum CallKind {
    Unary,
    ServerStreaming,
    ClientStreaming,
    Bidi,
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// A frame the server sends.
    Frame {
        id: IdChoice,
        kind: KindChoice,
        flags: FlagChoice,
        payload: Payload,
    },
    /// A header over the channel's limit, followed by `sent` payload bytes.
    Oversize { id: IdChoice, over: u16, sent: u16 },
    /// Bytes as they are.
    Raw(Vec<u8>),
    /// Lets the channel run for this many virtual milliseconds.
    Pause(u8),
}

#[derive(Arbitrary, Clone, Copy, Debug)]
enum IdChoice {
    /// The stream id of the `n`th call (modulo how many).
    Call(u8),
    /// Any id.
    Any(u32),
}

#[derive(Arbitrary, Debug)]
enum Payload {
    /// A `ttrpc.Response` carrying a message.
    Reply { seq: u8 },
    /// A `ttrpc.Response` carrying a status (any code, including 0 and
    /// values outside the table).
    Failure { code: i32, message: String },
    /// A bare message (what Data frames carry).
    Message { seq: u8 },
    /// Anything.
    Bytes(Vec<u8>),
}

impl Payload {
    fn encode(&self) -> Vec<u8> {
        let msg = |seq: &u8| Msg::new(u64::from(*seq), &b"reply"[..]).encode_to_vec();
        match self {
            Payload::Reply { seq } => proto::Response {
                status: None,
                payload: msg(seq).into(),
            }
            .encode_to_vec(),
            Payload::Failure { code, message } => proto::Response {
                status: Some(proto::Status {
                    code: *code,
                    message: message.clone(),
                    details: Vec::new(),
                }),
                payload: Default::default(),
            }
            .encode_to_vec(),
            Payload::Message { seq } => msg(seq),
            Payload::Bytes(bytes) => bytes.clone(),
        }
    }
}

impl Script {
    fn calls(&self) -> &[Call] {
        &self.calls[..self.calls.len().min(8)]
    }

    fn writes(&self) -> Vec<Write> {
        let calls = self.calls().len().max(1) as u32;
        let pick = |id: IdChoice| match id {
            IdChoice::Call(n) => 1 + 2 * (u32::from(n) % calls),
            IdChoice::Any(id) => id,
        };
        let mut writes: Vec<Write> = self
            .steps
            .iter()
            .map(|step| match step {
                Step::Frame {
                    id,
                    kind,
                    flags,
                    payload,
                } => Write {
                    bytes: frame_bytes(pick(*id), kind.kind(), flags.flags(), &payload.encode()),
                    pause_ms: 0,
                },
                Step::Oversize { id, over, sent } => {
                    let length = LIMIT as u32 + 1 + u32::from(*over);
                    let mut bytes = crate::peer::header_bytes(
                        length,
                        pick(*id),
                        wren_transport::codec::MessageType::RESPONSE,
                        Flags::EMPTY,
                    )
                    .to_vec();
                    bytes.resize(bytes.len() + usize::from(*sent).min(length as usize), 0);
                    Write { bytes, pause_ms: 0 }
                }
                Step::Raw(bytes) => Write {
                    bytes: bytes.clone(),
                    pause_ms: 0,
                },
                Step::Pause(ms) => Write {
                    bytes: Vec::new(),
                    pause_ms: u64::from(*ms),
                },
            })
            .collect();
        writes.push(Write {
            bytes: self.ending.bytes(1),
            pause_ms: 0,
        });
        writes
    }
}

/// Makes the calls `data` describes on a channel whose server answers with
/// the frames `data` describes, then closes. Asserts:
///
/// - no panic, in the callers or in the connection's task;
/// - once the server side has closed, every call finishes — with a reply,
///   or with a status — within a bound of virtual time: none hangs.
pub fn client_connection(data: &[u8]) {
    let Ok(script) = Script::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let writes = script.writes();
    let calls = script.calls().to_vec();
    super::block_on_paused(async move {
        let (client_io, server_io) = tokio::io::duplex(64 * 1024);
        let channel = Channel::builder()
            .max_message_size(LIMIT)
            .connect_with(client_io);
        let mut callers = JoinSet::new();
        for call in calls {
            callers.spawn(make_call(Client::new(channel.clone()), call));
        }
        drop(channel);

        let (mut rd, mut wr) = tokio::io::split(server_io);
        // Read whatever the client sends, so it never blocks on a full pipe.
        let drain = tokio::spawn(async move {
            let mut sink = [0u8; 4096];
            while matches!(rd.read(&mut sink).await, Ok(n) if n > 0) {}
            rd
        });
        // Let the calls go out before the first reply.
        tokio::time::sleep(Duration::from_millis(1)).await;
        for write in writes {
            if wr.write_all(&write.bytes).await.is_err() {
                break;
            }
            if write.pause_ms > 0 {
                tokio::time::sleep(Duration::from_millis(write.pause_ms)).await;
            }
        }
        let _ = wr.flush().await;
        // The server side goes away: both halves dropped.
        drain.abort();
        let _ = drain.await;
        drop(wr);

        let finished = tokio::time::timeout(HANG, async {
            while let Some(joined) = callers.join_next().await {
                if let Err(e) = joined {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        })
        .await;
        assert!(
            finished.is_ok(),
            "a call did not finish after the server closed"
        );
    });
}

/// Makes one call and reads it to its end; the result is a reply count or
/// the status that ended the call.
async fn make_call(mut client: Client, call: Call) -> Result<usize, Status> {
    let messages = usize::from(call.messages % 4);
    let outgoing = stream::iter(vec![Msg::new(7, &b"out"[..]); messages]);
    let svc = fixture::SERVICE;
    match call.kind {
        CallKind::Unary => client
            .unary::<Msg, Msg>(
                deadline(Request::new(Msg::new(1, &b"in"[..])), call),
                svc,
                fixture::ECHO,
            )
            .await
            .map(|_| 1),
        CallKind::ServerStreaming => {
            let req = deadline(Request::new(Msg::new(3, &b"in"[..])), call);
            let replies = client.server_streaming(req, svc, fixture::COUNT).await?;
            read_all(replies.into_inner()).await
        }
        CallKind::ClientStreaming => client
            .client_streaming::<Msg, _, Msg>(
                deadline(Request::new(outgoing), call),
                svc,
                fixture::SUM,
            )
            .await
            .map(|_| 1),
        CallKind::Bidi => {
            let replies = client
                .streaming(deadline(Request::new(outgoing), call), svc, fixture::CHAT)
                .await?;
            read_all(replies.into_inner()).await
        }
    }
}

/// `req` with the call's deadline, if it has one.
fn deadline<T>(mut req: Request<T>, call: Call) -> Request<T> {
    if let Some(ms) = call.timeout_ms {
        req.set_timeout(Duration::from_millis(u64::from(ms)));
    }
    req
}

/// Reads a stream of replies to its end.
async fn read_all(mut replies: Streaming<Msg>) -> Result<usize, Status> {
    let mut count = 0;
    while replies.message().await?.is_some() {
        count += 1;
    }
    Ok(count)
}
