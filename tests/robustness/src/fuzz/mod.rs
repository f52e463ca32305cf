//! The bodies of the fuzz targets in `fuzz/`, as plain functions: the
//! cargo-fuzz binaries call them on libFuzzer's inputs, and a stable test
//! (`tests/fuzz_corpus.rs`) calls them on every file of the committed
//! corpus.
//!
//! Each function panics when wren misbehaves, and returns normally
//! otherwise. The connection targets run on a current-thread runtime whose
//! clock is paused: timers fire as soon as nothing else can run, so a
//! deadline or a stall costs no real time, and a connection that waits
//! forever shows up as a timeout instead of a slow input.

mod client;
mod decoder;
mod envelope;
mod script;
mod server;

use std::future::Future;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use self::client::client_connection;
pub use self::decoder::frame_decoder;
pub use self::envelope::request_envelope;
pub use self::server::server_connection;

/// The names of the targets, as `fuzz/` and the corpus directories call them.
pub const TARGETS: [&str; 4] = [
    "frame_decoder",
    "request_envelope",
    "server_connection",
    "client_connection",
];

/// Runs target `name` on `data`.
///
/// # Panics
///
/// If `name` is not one of [`TARGETS`], or the target finds a fault.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "frame_decoder" => frame_decoder(data),
        "request_envelope" => request_envelope(data),
        "server_connection" => server_connection(data),
        "client_connection" => client_connection(data),
        other => panic!("no fuzz target named {other}"),
    }
}

static PANICS: AtomicUsize = AtomicUsize::new(0);

/// Panics seen anywhere in this process since [`count_panics`] was first
/// called, including in spawned tasks (where tokio would otherwise swallow
/// them into a `JoinError` nobody looks at).
pub fn panics() -> usize {
    PANICS.load(Ordering::SeqCst)
}

/// Installs (once) a panic hook that counts panics, then defers to the hook
/// that was there before (under cargo-fuzz, libFuzzer's, which aborts).
pub fn count_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// Runs `fut` to completion on a fresh current-thread runtime with a paused
/// clock; tasks still running at the end are dropped with the runtime.
fn block_on_paused<F: Future>(fut: F) -> F::Output {
    count_panics();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime")
        .block_on(fut)
}
