//! `server_connection`: see `wren_robustness::fuzz::server_connection` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    wren_robustness::fuzz::server_connection(data);
});
