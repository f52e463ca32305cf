//! The probe service on a unix socket, in a process of its own, so that a
//! test can read the server's memory from `/proc/PID/status` while it
//! attacks it.
//!
//! ```text
//! wren-robust-server SOCKET_PATH
//! ```
//!
//! Serves with wren's default settings. Prints `ready` on stdout once
//! listening; exits when its standard input closes.

use std::io::{BufRead, Write};

use wren_robustness::fixture::{self, Live};
use wren_server::Server;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::io::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| std::io::Error::other("usage: wren-robust-server SOCKET_PATH"))?;
    let listener = tokio::net::UnixListener::bind(&path)?;
    let router = Server::builder().add_service(fixture::probe(&Live::new()));
    let handle = router.shutdown_handle();
    let server = tokio::spawn(router.serve(listener));
    println!("ready");
    std::io::stdout().flush()?;
    // The parent holds our stdin; when it goes, so do we.
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        while std::io::stdin()
            .lock()
            .read_line(&mut line)
            .is_ok_and(|n| n > 0)
        {
            line.clear();
        }
    })
    .await?;
    handle.close().await;
    server.await?
}
