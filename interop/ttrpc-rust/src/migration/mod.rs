//! The migration guide's side-by-side example
//! (`docs/migrating-from-ttrpc-rust.md`): one greeter
//! (`proto/interop/greeter.proto`) written for ttrpc-rust ([`ttrpc_rust`],
//! before) and for wren ([`wren`], after). Each module has the service, a
//! `serve` function and a `calls` function that makes every call the guide
//! shows; `tests/migration.rs` runs every client against every server and
//! checks that both tell the same story.

pub mod ttrpc_rust;
pub mod wren;
