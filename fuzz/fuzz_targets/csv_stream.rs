//! The fast CSV reader of `mlctl predict` (src/data/stream.rs) against the csv crate on the same bytes: the same
//! records in batches of any size, or both refuse the input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlctl::fuzzing::csv_stream_matches_csv_crate(data));
