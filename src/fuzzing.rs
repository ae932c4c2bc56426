//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the test that replays their corpus
//! (`tests/cli/fuzz_replay.rs`), so CI checks every saved input against the same code the fuzzer ran.
//! Each takes arbitrary bytes and must return (an error is fine); a panic or an unbounded allocation is a bug.

use std::path::PathBuf;

use crate::data::load::{read_csv, ReadOptions};
use crate::models::Bundle;
use crate::registry::artifact;

/// Decodes `bytes` as a model.bin, and again as a payload behind a valid header (random bytes would almost
/// never pass the checksum, and the payload decoder is what must withstand them); a bundle that decodes is
/// checked for consistency as loading does.
pub fn artifact_decode(bytes: &[u8]) {
    let path = std::path::Path::new("fuzz/model.bin");
    for file in [bytes.to_vec(), artifact::wrap(bytes)] {
        if let Ok(bundle) = artifact::decode::<Bundle>(&file, path) {
            let _ = bundle.validate();
        }
    }
}

/// Runs CSV ingestion (the structural pass, polars, typing and schema inference) on `bytes` as a file.
pub fn csv_ingest(bytes: &[u8]) {
    // read_csv reads a path (it hashes and streams the file), so the input goes through a per-process file.
    let path = scratch_file();
    if std::fs::write(&path, bytes).is_ok() {
        let _ = read_csv(&path, &ReadOptions::default());
        let semicolons = ReadOptions { delimiter: Some(b';'), ..ReadOptions::default() };
        let _ = read_csv(&path, &semicolons);
    }
}

fn scratch_file() -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_alphanumeric(), "");
    std::env::temp_dir().join(format!("mlctl-fuzz-{}-{thread}.csv", std::process::id()))
}
