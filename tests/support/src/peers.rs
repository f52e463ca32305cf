//! The repository, and what a test does when an interop peer is missing.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/support is two levels below the root")
        .to_path_buf()
}

/// Whether the environment variable `CI` is set to something true (not
/// empty, `false` or `0`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Reports a missing peer: fails the test in CI, skips it elsewhere (saying why).
pub fn peer_missing(what: &str, why: &str) {
    if in_ci() {
        panic!("{what} is required in CI but could not be prepared:\n{why}");
    }
    eprintln!("SKIPPED: {what} is not available here (CI would fail):\n{why}");
}
