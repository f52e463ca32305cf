//! The migration guide's side-by-side example: the greeter written for
//! ttrpc-rust (before) and for wren (after), every client against every
//! server. The migrated server must answer the old client exactly as the
//! old server did, and the migrated client must get from either server what
//! the old client got.
//!
//! Client streaming into a ttrpc-rust server is left out: its server
//! handles each frame in a task of its own, so a client stream's messages
//! (and its close-send) can arrive out of order (see README.md).

use std::path::Path;

use wren_interop_ttrpc_rust::migration::{ttrpc_rust, wren};
use wren_interop_ttrpc_rust::within;

/// What every client sees from every server.
fn expected(client_streaming: bool) -> Vec<String> {
    let mut lines = vec![
        "SayHello: hello, wren (tenant blue, deadline set)",
        "SayHello(\"\"): INVALID_ARGUMENT: name must not be empty",
        "SayHelloThrice: hello, wren #1 | hello, wren #2 | hello, wren #3",
    ];
    if client_streaming {
        lines.push("SayHelloToAll: hello, ann, bob");
    }
    lines.push("Chat: hello, x | hello, y | (end)");
    lines.into_iter().map(str::to_owned).collect()
}

enum Side {
    TtrpcRust,
    Wren,
}

async fn run(server: Side, client: Side) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greeter.sock");
    let client_streaming = matches!(server, Side::Wren);
    let calls = |path: &Path| {
        let path = path.to_owned();
        async move {
            match client {
                Side::TtrpcRust => ttrpc_rust::calls(&path, client_streaming)
                    .await
                    .map_err(|e| e.to_string()),
                Side::Wren => wren::calls(&path, client_streaming)
                    .await
                    .map_err(|e| e.to_string()),
            }
        }
    };
    let lines = match server {
        Side::TtrpcRust => {
            let running = ttrpc_rust::serve(&path).await.unwrap();
            let lines = within("the calls", calls(&path)).await;
            within("the server to stop", running.stop()).await.unwrap();
            lines
        }
        Side::Wren => {
            let running = wren::serve(&path).await.unwrap();
            let lines = within("the calls", calls(&path)).await;
            within("the server to stop", running.stop()).await.unwrap();
            lines
        }
    };
    let lines = lines.unwrap_or_else(|e| panic!("a call failed: {e}"));
    assert_eq!(lines, expected(client_streaming));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_ttrpc_rust_client_and_server() {
    run(Side::TtrpcRust, Side::TtrpcRust).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_wren_client_and_server() {
    run(Side::Wren, Side::Wren).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_client_against_the_migrated_server() {
    run(Side::Wren, Side::TtrpcRust).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_migrated_client_against_the_old_server() {
    run(Side::TtrpcRust, Side::Wren).await;
}
