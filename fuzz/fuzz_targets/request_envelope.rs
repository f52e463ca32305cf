//! `request_envelope`: see `wren_robustness::fuzz::request_envelope` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    wren_robustness::fuzz::request_envelope(data);
});
