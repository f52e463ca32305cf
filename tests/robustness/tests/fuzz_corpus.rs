//! Replays the committed fuzz corpus on stable: every input in
//! `fuzz/corpus/<target>/` (what the fuzzers found interesting, minimized)
//! and in `fuzz/regressions/<target>/` (inputs that once found a fault),
//! through the same function the cargo-fuzz target calls.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};

use wren_robustness::fuzz;

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str) {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let corpus = inputs(&fuzz_dir.join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "no committed corpus for {target} in {}",
        fuzz_dir.display()
    );
    let regressions = inputs(&fuzz_dir.join("regressions").join(target));
    fuzz::count_panics();
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).expect("read a corpus input");
        let before = fuzz::panics();
        let outcome = std::panic::catch_unwind(|| fuzz::run(target, &data));
        assert!(
            outcome.is_ok() && fuzz::panics() == before,
            "{target} fails on {}",
            path.display()
        );
    }
    eprintln!(
        "{target}: {} corpus inputs and {} regressions replayed",
        corpus.len(),
        regressions.len()
    );
}

#[test]
fn frame_decoder_corpus() {
    replay("frame_decoder");
}

#[test]
fn request_envelope_corpus() {
    replay("request_envelope");
}

#[test]
fn server_connection_corpus() {
    replay("server_connection");
}

#[test]
fn client_connection_corpus() {
    replay("client_connection");
}
