//! The `server_connection` target: a wren server connection fed an
//! arbitrary sequence of frames.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::BytesMut;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::codec::Decoder;
use wren_server::{ConnectInfo, Server};
use wren_transport::codec::{Decoded, Flags, FrameCodec, MessageType, proto};

use super::script::{Ending, FlagChoice, KindChoice, Write, frame_bytes};
use crate::fixture::{self, Live, Msg};

/// The server's message limit in this target, small so that oversize
/// frames are cheap to make.
pub(crate) const LIMIT: usize = 1024;

/// How long (in virtual time) the server may take to finish after the
/// peer's last byte before it counts as a hang.
const HANG: Duration = Duration::from_secs(3600);

/// What a fuzzed client sends.
#[derive(Arbitrary, Debug)]
struct Script {
    steps: Vec<Step>,
    ending: Ending,
}

#[derive(Arbitrary, Debug)]
enum Step {
    /// A frame with a valid envelope or message, or not.
    Frame {
        id: IdChoice,
        kind: KindChoice,
        flags: FlagChoice,
        payload: Payload,
    },
    /// A header over the limit, followed by `sent` bytes of its payload
    /// (the rest of the script's bytes then count as payload too).
    Oversize {
        id: IdChoice,
        kind: KindChoice,
        over: u16,
        sent: u16,
    },
    /// Bytes as they are.
    Raw(Vec<u8>),
    /// Lets the server run for this many virtual milliseconds.
    Pause(u8),
}

/// Which stream id a frame goes on.
#[derive(Arbitrary, Clone, Copy, Debug)]
enum IdChoice {
    /// The next fresh odd id.
    Next,
    /// A fresh odd id `2 * (n + 1)` past the next one (out of order).
    Skip(u8),
    /// The last id used again.
    Same,
    /// An id below the last one.
    Back(u8),
    /// A stream opened earlier (the `n`th, modulo how many).
    Opened(u8),
    /// An even id.
    Even(u16),
    /// An id within `n` of 2^32.
    NearWrap(u8),
    /// Any id.
    Any(u32),
}

#[derive(Arbitrary, Debug)]
enum Payload {
    /// A `ttrpc.Request` for the probe service (or a wrong service).
    Call {
        method: MethodChoice,
        msg: SmallMsg,
        timeout: Timeout,
        metadata: Vec<(String, String)>,
        wrong_service: bool,
    },
    /// A bare message (what Data frames carry).
    Message(SmallMsg),
    /// Anything.
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Clone, Copy, Debug)]
enum MethodChoice {
    Echo,
    Sleep,
    Park,
    Count,
    Sum,
    Hoard,
    Chat,
    Unknown,
}

#[derive(Arbitrary, Clone, Copy, Debug)]
enum Timeout {
    None,
    Negative,
    Millis(u16),
}

#[derive(Arbitrary, Clone, Copy, Debug)]
struct SmallMsg {
    seq: u8,
    body: u8,
}

impl SmallMsg {
    fn encode(self) -> Vec<u8> {
        Msg::new(u64::from(self.seq % 32), vec![b'x'; usize::from(self.body)]).encode_to_vec()
    }
}

impl MethodChoice {
    fn name(self) -> &'static str {
        match self {
            MethodChoice::Echo => fixture::ECHO,
            MethodChoice::Sleep => fixture::SLEEP,
            MethodChoice::Park => fixture::PARK,
            MethodChoice::Count => fixture::COUNT,
            MethodChoice::Sum => fixture::SUM,
            MethodChoice::Hoard => fixture::HOARD,
            MethodChoice::Chat => fixture::CHAT,
            MethodChoice::Unknown => "Unknown",
        }
    }
}

/// Turns the script into writes, tracking ids as a client would.
struct Ids {
    last: u32,
    opened: Vec<u32>,
}

impl Ids {
    fn pick(&mut self, choice: IdChoice) -> u32 {
        let fresh = |last: u32, skip: u32| last.wrapping_add(2 * skip + 2) | 1;
        let id = match choice {
            IdChoice::Next => fresh(self.last, 0),
            IdChoice::Skip(n) => fresh(self.last, u32::from(n) + 1),
            IdChoice::Same => self.last,
            IdChoice::Back(n) => self.last.saturating_sub(2 * u32::from(n) + 2) | 1,
            IdChoice::Opened(n) if !self.opened.is_empty() => {
                self.opened[usize::from(n) % self.opened.len()]
            }
            IdChoice::Opened(_) => 1,
            IdChoice::Even(n) => u32::from(n) * 2,
            IdChoice::NearWrap(n) => u32::MAX - u32::from(n),
            IdChoice::Any(id) => id,
        };
        if matches!(choice, IdChoice::Next | IdChoice::Skip(_)) {
            self.last = id;
            self.opened.push(id);
        }
        id
    }
}

impl Script {
    fn writes(&self) -> Vec<Write> {
        let mut ids = Ids {
            last: u32::MAX, // so that the first fresh id is 1
            opened: Vec::new(),
        };
        let mut writes = Vec::new();
        for step in &self.steps {
            let mut write = Write::default();
            match step {
                Step::Frame {
                    id,
                    kind,
                    flags,
                    payload,
                } => {
                    let id = ids.pick(*id);
                    let payload = payload.encode();
                    write.bytes = frame_bytes(id, kind.kind(), flags.flags(), &payload);
                }
                Step::Oversize {
                    id,
                    kind,
                    over,
                    sent,
                } => {
                    let length = LIMIT as u32 + 1 + u32::from(*over);
                    let header =
                        crate::peer::header_bytes(length, ids.pick(*id), kind.kind(), Flags::EMPTY);
                    write.bytes = header.to_vec();
                    let sent = usize::from(*sent).min(length as usize);
                    write.bytes.resize(write.bytes.len() + sent, 0);
                }
                Step::Raw(bytes) => write.bytes.clone_from(bytes),
                Step::Pause(ms) => write.pause_ms = u64::from(*ms),
            }
            writes.push(write);
        }
        writes.push(Write {
            bytes: self.ending.bytes(ids.last),
            pause_ms: 0,
        });
        writes
    }
}

impl Payload {
    fn encode(&self) -> Vec<u8> {
        match self {
            Payload::Call {
                method,
                msg,
                timeout,
                metadata,
                wrong_service,
            } => proto::Request {
                service: if *wrong_service {
                    "wren.robust.Nope".to_owned()
                } else {
                    fixture::SERVICE.to_owned()
                },
                method: method.name().to_owned(),
                payload: msg.encode().into(),
                timeout_nano: match timeout {
                    Timeout::None => 0,
                    Timeout::Negative => -1,
                    Timeout::Millis(ms) => i64::from(*ms) * 1_000_000,
                },
                metadata: metadata
                    .iter()
                    .take(8)
                    .map(|(key, value)| proto::KeyValue {
                        key: key.clone(),
                        value: value.clone(),
                    })
                    .collect(),
            }
            .encode_to_vec(),
            Payload::Message(msg) => msg.encode(),
            Payload::Bytes(bytes) => bytes.clone(),
        }
    }
}

/// Serves one connection whose client sends what `data` describes, then
/// closes, once with handlers in tasks of their own (the default) and once
/// with inline handlers. Asserts, each time:
///
/// - no panic;
/// - the server finishes once the client has closed (bounded in virtual
///   time: a hang fails);
/// - every reply is a well-formed frame within the limit: a Response that
///   decodes as `ttrpc.Response`, or a Data frame (flags 0, or the close
///   marker with no payload) — never another type;
/// - replies go only to stream ids the client used: a success or a Data
///   frame only to an odd id the client sent a Request on, an error status
///   only to an id some client frame carried; no Data frame follows the
///   final frame of its stream;
/// - once the connection is over, no handler is left running.
pub fn server_connection(data: &[u8]) {
    let Ok(script) = Script::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let sent: Vec<u8> = script.writes().into_iter().flat_map(|w| w.bytes).collect();
    // Both ways of running handlers: a task per call (the default) and
    // inside the connection's task.
    for inline in [false, true] {
        let output = serve(&script, inline);
        check_replies(&sent, &output);
    }
}

/// Serves the script's client on a fresh runtime; returns what the server
/// wrote.
fn serve(script: &Script, inline: bool) -> Vec<u8> {
    let writes = script.writes();
    let live = Live::new();
    let output = super::block_on_paused(async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (mut rd, mut wr) = tokio::io::split(client);
        let writer = tokio::spawn(async move {
            for write in writes {
                if wr.write_all(&write.bytes).await.is_err() {
                    break; // The server closed; nothing more to say.
                }
                if write.pause_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(write.pause_ms)).await;
                }
            }
            let _ = wr.shutdown().await;
        });
        let reader = tokio::spawn(async move {
            let mut output = Vec::new();
            let _ = rd.read_to_end(&mut output).await;
            output
        });
        let router = Server::builder()
            .max_message_size(LIMIT)
            .inline_handlers(inline)
            .add_service(fixture::probe(&live));
        let served =
            tokio::time::timeout(HANG, router.serve_connection(server, ConnectInfo::new()));
        // An error is fine (the peer may end mid-frame); a hang is not.
        let _ = served
            .await
            .expect("the server hung after the client closed");
        let output = tokio::time::timeout(HANG, reader)
            .await
            .expect("the server kept its end open")
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        writer.abort();
        // Aborted handler tasks are dropped at their next poll.
        tokio::time::sleep(Duration::from_secs(1)).await;
        output
    });
    assert_eq!(
        live.count(),
        0,
        "handlers still running after the connection ended"
    );
    output
}

/// Checks the server's `output` against the frames in `sent`.
fn check_replies(sent: &[u8], output: &[u8]) {
    let mut codec = FrameCodec::builder().max_message_size(LIMIT).new_codec();
    let mut requests = HashSet::new();
    let mut any = HashSet::new();
    let mut buf = BytesMut::from(sent);
    while let Ok(Some(item)) = codec.decode(&mut buf) {
        let header = match item {
            Decoded::Frame(frame) => {
                if frame.kind == MessageType::REQUEST {
                    requests.insert(frame.stream_id);
                }
                frame.header()
            }
            Decoded::Oversize(header) => header,
        };
        any.insert(header.stream_id);
    }

    let mut codec = FrameCodec::builder().max_message_size(LIMIT).new_codec();
    let mut buf = BytesMut::from(output);
    let mut finished: HashMap<u32, bool> = HashMap::new();
    while let Some(item) = codec.decode(&mut buf).expect("decode") {
        let Decoded::Frame(frame) = item else {
            panic!("the server sent a frame over its own limit: {item:?}");
        };
        let id = frame.stream_id;
        match frame.kind {
            MessageType::RESPONSE => {
                assert!(frame.flags.is_empty(), "Response with flags: {frame:?}");
                let resp = proto::Response::decode(frame.payload.clone())
                    .expect("the server sent an undecodable Response");
                match resp.status.filter(|s| s.code != 0) {
                    // An error may end the stream or only reject one bad
                    // frame that reused its id: it does not mark the end.
                    Some(status) => {
                        assert!((1..=16).contains(&status.code), "status {status:?}");
                        assert!(any.contains(&id), "error on stream {id}, never used");
                    }
                    None => {
                        assert!(
                            id % 2 == 1 && requests.contains(&id),
                            "success on stream {id}, never requested"
                        );
                        finished.insert(id, true);
                    }
                }
            }
            MessageType::DATA => {
                assert!(
                    id % 2 == 1 && requests.contains(&id),
                    "Data on stream {id}, never requested"
                );
                assert!(
                    !finished.get(&id).copied().unwrap_or(false),
                    "Data after the final frame of stream {id}"
                );
                let close = Flags::REMOTE_CLOSED | Flags::NO_DATA;
                if frame.flags == close {
                    assert!(frame.payload.is_empty(), "close marker with a payload");
                    finished.insert(id, true);
                } else {
                    assert!(frame.flags.is_empty(), "Data with flags {:?}", frame.flags);
                }
            }
            other => panic!("the server sent a frame of type {other:?}"),
        }
    }
    assert!(
        buf.is_empty() && codec.is_idle(),
        "the server's output ends mid-frame"
    );
}
