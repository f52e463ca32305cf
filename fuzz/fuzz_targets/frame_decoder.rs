//! `frame_decoder`: see `wren_robustness::fuzz::frame_decoder` for what it feeds and asserts.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    wren_robustness::fuzz::frame_decoder(data);
});
