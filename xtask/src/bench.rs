//! `cargo xtask bench`: filled in with the benchmark harness.

use crate::Result;

pub(crate) fn run(_args: &[String]) -> Result {
    Err("bench is not written yet".into())
}
