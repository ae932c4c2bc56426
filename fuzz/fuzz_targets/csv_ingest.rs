//! CSV ingestion and schema inference against arbitrary bytes: an error is fine, a panic is not.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mlctl::fuzzing::csv_ingest(data));
