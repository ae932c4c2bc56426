//! Replays the fuzz corpus and every saved crash (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`)
//! through the same entry points the cargo-fuzz targets call. Fuzzing itself runs with `make fuzz`; this keeps
//! what it found fixed on every `cargo test`.

use std::path::Path;

fn inputs(target: &str) -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        files.extend(entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()));
    }
    files.sort();
    files
}

#[test]
fn artifact_decode_corpus_never_panics() {
    let files = inputs("artifact_decode");
    assert!(files.len() >= 3, "the artifact corpus is missing: {files:?}");
    for f in files {
        mlctl::fuzzing::artifact_decode(&std::fs::read(&f).unwrap());
    }
}

#[test]
fn csv_ingest_corpus_never_panics() {
    let files = inputs("csv_ingest");
    assert!(files.len() >= 10, "the CSV corpus is missing: {files:?}");
    for f in files {
        mlctl::fuzzing::csv_ingest(&std::fs::read(&f).unwrap());
    }
}

/// The fast CSV reader of `mlctl predict` against the csv crate, on the CSV corpus and on `csv_stream`'s own
/// inputs and saved disagreements: the same records, or both refuse.
#[test]
fn csv_stream_reads_every_saved_input_as_the_csv_crate_does() {
    let mut files = inputs("csv_ingest");
    files.extend(inputs("csv_stream"));
    assert!(files.len() >= 20, "the CSV corpus is missing: {files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let outcome = std::panic::catch_unwind(|| mlctl::fuzzing::csv_stream_matches_csv_crate(&bytes));
        assert!(outcome.is_ok(), "{} disagrees with the csv crate", f.display());
    }
}
