//! Channels that connect on first use and reconnect after the connection
//! drops: [`Builder::lazy`].

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use wren_transport::{Connection, ConnectionClosed};

use crate::connection::{ClientConnection, Command};
use crate::{Builder, Channel};

/// How a reconnecting channel retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first failed attempt. Default: 100 ms.
    pub initial: Duration,
    /// The longest wait between attempts; each failure doubles the wait up
    /// to this. Default: 5 s.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl Builder {
    /// The retry policy of a [lazy](Builder::lazy) channel.
    #[must_use]
    pub fn backoff(mut self, backoff: Backoff) -> Builder {
        self.backoff = backoff;
        self
    }

    /// What a [lazy](Builder::lazy) channel does with calls made while it
    /// cannot connect: `false` (the default) fails them at once with
    /// `UNAVAILABLE`; `true` keeps them queued until a connection is up or
    /// their deadline passes.
    #[must_use]
    pub fn wait_for_connection(mut self, wait: bool) -> Builder {
        self.wait_for_connection = wait;
        self
    }

    /// A channel that connects with `connect` on its first call, and again
    /// on the next call after the connection drops, retrying with capped
    /// exponential backoff. A long-lived publisher (a shim sending events to
    /// containerd) survives the peer restarting this way.
    ///
    /// Calls in flight when a connection drops fail with `UNAVAILABLE`; the
    /// protocol cannot tell whether the peer ran them, so they are not
    /// retried.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn lazy<C, F, T>(self, connect: C) -> Channel
    where
        C: FnMut() -> F + Send + 'static,
        F: Future<Output = io::Result<T>> + Send + 'static,
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let (tx, rx) = mpsc::channel(self.queue);
        tokio::spawn(supervise(rx, connect, self));
        self.channel(tx)
    }

    /// A [lazy](Builder::lazy) channel to a unix socket.
    pub fn lazy_unix(self, path: impl Into<PathBuf>) -> Channel {
        let path = path.into();
        self.lazy(move || tokio::net::UnixStream::connect(path.clone()))
    }
}

impl Channel {
    /// A channel to a unix socket that connects on first use and reconnects
    /// after the connection drops; see [`Builder::lazy`].
    pub fn connect_lazy_unix(path: impl Into<PathBuf>) -> Channel {
        Builder::default().lazy_unix(path)
    }
}

async fn supervise<C, F, T>(mut commands: mpsc::Receiver<Command>, mut connect: C, builder: Builder)
where
    C: FnMut() -> F,
    F: Future<Output = io::Result<T>>,
    T: AsyncRead + AsyncWrite + Unpin,
{
    let (backoff, wait) = (builder.backoff, builder.wait_for_connection);
    let mut delay = backoff.initial;
    loop {
        // Connect on first use: wait for a call.
        let Some(first) = commands.recv().await else {
            return; // Every handle is gone.
        };
        let mut first = Some(first);
        let io = loop {
            match connect().await {
                Ok(io) => break io,
                Err(e) => {
                    tracing::debug!(error = %e, "ttrpc: connect failed, retrying");
                    let status =
                        ConnectionClosed::new(Some(format!("cannot connect: {e}"))).into_status();
                    let retry_at = tokio::time::Instant::now() + delay;
                    delay = (delay * 2).min(backoff.max);
                    if wait {
                        tokio::time::sleep_until(retry_at).await;
                        continue;
                    }
                    // Fail fast: this call, and every call made before the
                    // next attempt.
                    if let Some(cmd) = first.take() {
                        cmd.reply.fail(status.clone());
                    }
                    loop {
                        tokio::select! {
                            () = tokio::time::sleep_until(retry_at) => break,
                            cmd = commands.recv() => match cmd {
                                Some(cmd) => cmd.reply.fail(status.clone()),
                                None => return,
                            },
                        }
                    }
                    // Try again when the next call comes.
                    match commands.recv().await {
                        Some(cmd) => first = Some(cmd),
                        None => return,
                    }
                }
            }
        };
        delay = backoff.initial;
        let dispatch =
            ClientConnection::reconnecting(commands, first, builder.max_concurrent_calls);
        let mut conn = Connection::new(io, dispatch, builder.settings);
        if let Err(e) = (&mut conn).await {
            tracing::debug!(error = %e, "ttrpc: connection dropped, will reconnect");
        }
        commands = conn.into_dispatch().into_commands();
    }
}
