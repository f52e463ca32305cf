//! Proof that wren survives bad peers.
//!
//! This crate is not published. It holds what wren's robustness suites
//! share:
//!
//! - [`fixture`]: the probe service, one method of every call kind plus
//!   handlers that never finish, counted while they run;
//! - [`peer`]: [`RawPeer`](peer::RawPeer), a frame-level peer that sends
//!   exactly the bytes a test chooses;
//! - [`fuzz`]: the bodies of the cargo-fuzz targets in `fuzz/`, which the
//!   stable test `tests/fuzz_corpus.rs` replays over the committed corpus;
//! - [`harness`]: the probe service on a temporary socket, and a socket
//!   that wren channels connect to and a test answers by hand;
//! - [`sys`]: open file descriptors and resident memory, read from `/proc`;
//! - [`soak`]: many connections making many calls, for `cargo xtask soak`
//!   and (smaller) the normal tests.
//!
//! The suites themselves are this crate's integration tests;
//! `docs/RELIABILITY.md` lists each with its figures and the command that
//! reproduces it.

pub mod fixture;
pub mod fuzz;
pub mod harness;
pub mod peer;
pub mod soak;
pub mod sys;
