//! model.bin decoding against arbitrary bytes: an error is fine, a panic or unbounded allocation is not.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlctl::fuzzing::artifact_decode(data));
