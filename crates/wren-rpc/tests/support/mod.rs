//! Shared pieces of wren's interop tests.
#![allow(dead_code, unreachable_pub, missing_docs, unused_imports)]

pub mod echo;
pub mod peers;
pub mod streaming;
