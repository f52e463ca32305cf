//! The raw floor's server: a thread per connection, blocking reads, every
//! complete request of a read answered in one write.

use std::io;
use std::os::unix::net::{UnixListener, UnixStream};

use bench_peer_raw::{CLOSED, DATA, FLOOD, FrameReader, REQUEST, RESPONSE, flush, put_frame};
use bench_support::server::{ServerArgs, ready};

/// A stream is written in chunks of about this many bytes.
const CHUNK: usize = 64 << 10;

fn serve(mut stream: UnixStream) -> io::Result<()> {
    let mut frames = FrameReader::new();
    let mut out = Vec::new();
    loop {
        while let Some((header, range)) = frames.next_frame() {
            if header.kind != REQUEST {
                return Err(io::Error::other(format!(
                    "unexpected frame type {}",
                    header.kind
                )));
            }
            let payload = frames.payload(range);
            if header.flags & FLOOD == 0 {
                put_frame(&mut out, header.stream, RESPONSE, 0, payload);
                continue;
            }
            let count = u64::from_be_bytes(payload[0..8].try_into().unwrap());
            let size = u64::from_be_bytes(payload[8..16].try_into().unwrap()) as usize;
            let message = bench_support::payload(size);
            for i in 0..count {
                let flags = if i + 1 == count { CLOSED } else { 0 };
                put_frame(&mut out, header.stream, DATA, flags, &message);
                if out.len() >= CHUNK {
                    flush(&mut stream, &mut out)?;
                }
            }
        }
        flush(&mut stream, &mut out)?;
        if frames.fill(&mut stream)? == 0 {
            return Ok(());
        }
    }
}

fn main() -> io::Result<()> {
    let args = ServerArgs::from_env();
    if args.inline {
        return Err(io::Error::other("the raw floor has no inline mode"));
    }
    let listener = UnixListener::bind(&args.socket)?;
    ready();
    for stream in listener.incoming() {
        let stream = stream?;
        std::thread::spawn(move || {
            if let Err(e) = serve(stream) {
                eprintln!("raw-server: connection: {e}");
            }
        });
    }
    Ok(())
}
