//! The connection driver both sides share.
//!
//! A [`Connection`] owns the socket. One future reads frames, hands each to a
//! [`Dispatch`] that routes it by stream id, lets the dispatcher drive its own
//! work (handlers on a server, queued calls on a client), and writes every
//! frame queued in the [`Outbox`] in as few writes as it can. Calls may queue
//! frames from tasks of their own: the outbox is shared, and the connection
//! is woken when a frame arrives in an empty one.

mod outbox;
mod read;

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};
use wren_codec::{DEFAULT_MAX_MESSAGE_SIZE, Decoded, Frame, FrameCodec, Header};

use self::outbox::Writer;
pub use self::outbox::{Frames, Outbox, Oversize, SHARE_THRESHOLD};
use self::read::ReadBuffer;

/// Frames decoded per turn before the driver also serves writes and work.
const READ_BATCH: usize = 64;
/// Turns of the driver loop before it yields to the runtime.
const TURNS_PER_POLL: usize = 16;

/// What a connection does with the frames it reads.
pub trait Dispatch {
    /// A frame arrived. Replies go into `out`.
    fn on_frame(&mut self, frame: Frame, out: &Outbox);

    /// A frame over the size limit arrived; its payload was skipped.
    fn on_oversize(&mut self, header: Header, out: &Outbox);

    /// Drives the dispatcher's own work, queueing frames into `out`.
    ///
    /// Returns `Ready(())` once the dispatcher is finished with the
    /// connection: the driver then flushes what is queued and closes.
    fn poll_work(&mut self, cx: &mut Context<'_>, out: &Outbox) -> Poll<()>;

    /// Whether the connection should read more frames now. When this turns
    /// from `false` to `true`, `poll_work` must have arranged a wake-up.
    fn wants_read(&self) -> bool {
        true
    }

    /// Asked before queued frames are written: `true` puts the write off
    /// until the connection's task has let the tasks ahead of it in the
    /// runtime's queue run (the driver wakes itself and returns). A
    /// dispatcher that has just woken callers who are about to queue more
    /// frames uses this to send them in one write instead of one each.
    fn hold_writes(&mut self) -> bool {
        false
    }

    /// Whether reading frames makes this side write (a server answers what
    /// it reads). Such a dispatcher stops reading while its writes are
    /// blocked; one that only consumes what it reads (a client reading
    /// replies) keeps reading, so two peers can never both stop reading and
    /// wait on each other.
    fn reads_produce_writes(&self) -> bool {
        true
    }

    /// Whether no call is in flight. An idle connection gives its write
    /// buffer back after each flush; a busy one keeps it for the next batch.
    fn is_idle(&self) -> bool {
        true
    }

    /// The connection is gone (peer closed, I/O error, or finished).
    fn on_close(&mut self, error: Option<&io::Error>);
}

/// Settings for a [`Connection`].
#[derive(Clone, Copy, Debug)]
pub struct ConnectionSettings {
    /// The largest frame payload accepted or sent. Default: 4 MiB.
    pub max_message_size: usize,
    /// Queued output, in bytes, above which the connection stops reading new
    /// frames and taking new work until the peer has read some. Default: 256 KiB.
    pub write_high_water: usize,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            write_high_water: 256 * 1024,
        }
    }
}

/// A future that drives one ttrpc connection until it ends.
///
/// Resolves to `Ok(())` when the dispatcher finished or the peer closed
/// cleanly, and to the I/O error that broke the connection otherwise. Either
/// way the dispatcher's [`Dispatch::on_close`] has run.
#[derive(Debug)]
pub struct Connection<T, D> {
    io: T,
    dispatch: D,
    codec: FrameCodec,
    read: ReadBuffer,
    writer: Writer,
    read_closed: bool,
    done: bool,
}

impl<T, D> Connection<T, D>
where
    T: AsyncRead + AsyncWrite + Unpin,
    D: Dispatch,
{
    /// A connection over `io`, dispatching to `dispatch`.
    pub fn new(io: T, dispatch: D, settings: ConnectionSettings) -> Connection<T, D> {
        let (_, writer) = Outbox::new(settings.max_message_size, settings.write_high_water);
        Connection {
            io,
            dispatch,
            codec: FrameCodec::builder()
                .max_message_size(settings.max_message_size)
                .new_codec(),
            read: ReadBuffer::new(),
            writer,
            read_closed: false,
            done: false,
        }
    }

    /// The connection's outbox: frames queued into any clone of it are
    /// written by this connection.
    pub fn outbox(&self) -> &Outbox {
        self.writer.outbox()
    }

    /// The dispatcher.
    pub fn dispatch(&self) -> &D {
        &self.dispatch
    }

    /// The dispatcher, once the connection is over (or to take it back).
    pub fn into_dispatch(self) -> D {
        self.dispatch
    }

    /// The dispatcher, mutably. The connection reads the change the next
    /// time it is polled.
    pub fn dispatch_mut(&mut self) -> &mut D {
        &mut self.dispatch
    }

    fn finish(&mut self, error: Option<io::Error>) -> Poll<io::Result<()>> {
        self.done = true;
        self.writer.close();
        self.dispatch.on_close(error.as_ref());
        match error {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Reads and dispatches up to one batch of frames. `Ready(true)` if any
    /// frame was dispatched or the read side ended.
    fn poll_read_batch(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        let mut dispatched = 0;
        loop {
            while let Some(item) = self.read.decode(&mut self.codec)? {
                let out = self.writer.outbox();
                match item {
                    Decoded::Frame(frame) => self.dispatch.on_frame(frame, out),
                    Decoded::Oversize(header) => self.dispatch.on_oversize(header, out),
                }
                dispatched += 1;
                if dispatched >= READ_BATCH || !self.dispatch.wants_read() {
                    return Poll::Ready(Ok(true));
                }
            }
            match self.read.poll_fill(&mut self.io, &self.codec, cx) {
                Poll::Ready(Ok(0)) => {
                    self.read_closed = true;
                    if !self.read.is_empty() || !self.codec.is_idle() {
                        return Poll::Ready(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "connection closed in the middle of a frame",
                        )));
                    }
                    return Poll::Ready(Ok(true));
                }
                Poll::Ready(Ok(_)) => continue,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending if dispatched > 0 => return Poll::Ready(Ok(true)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T, D> Future for Connection<T, D>
where
    T: AsyncRead + AsyncWrite + Unpin,
    D: Dispatch + Unpin,
{
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(Ok(()));
        }
        for _ in 0..TURNS_PER_POLL {
            let mut progress = false;

            let writes_block_reads = this.writer.is_full() && this.dispatch.reads_produce_writes();
            if !this.read_closed && this.dispatch.wants_read() && !writes_block_reads {
                match this.poll_read_batch(cx) {
                    Poll::Ready(Ok(read)) => progress |= read,
                    Poll::Ready(Err(e)) => return this.finish(Some(e)),
                    Poll::Pending => {}
                }
            }

            let finished = this.dispatch.poll_work(cx, this.writer.outbox()).is_ready();

            if this.dispatch.hold_writes() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }

            let was_full = this.writer.is_full();
            let release = this.dispatch.is_idle();
            match this.writer.poll_write(&mut this.io, cx, release) {
                Poll::Ready(Err(e)) => return this.finish(Some(e)),
                // Reading and work stopped while the outbox was full: now
                // that it drained, take another turn for them.
                Poll::Ready(Ok(())) => progress |= was_full,
                Poll::Pending => {}
            }

            if (finished || this.read_closed) && this.writer.is_empty() {
                let _ = Pin::new(&mut this.io).poll_shutdown(cx);
                return this.finish(None);
            }
            // Park only if nothing was queued since the write: a frame
            // queued from now on wakes this task.
            if !progress && this.writer.park(cx) {
                return Poll::Pending;
            }
        }
        // Used our turns: let other tasks run, and come straight back.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
