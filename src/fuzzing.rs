//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the test that replays their corpus
//! (`tests/cli/fuzz_replay.rs`), so CI checks every saved input against the same code the fuzzer ran.
//! Each takes arbitrary bytes and must return (an error is fine); a panic or an unbounded allocation is a bug.
//! [`csv_stream_matches_csv_crate`] is a differential check: the fast CSV reader must agree with the csv crate.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::data::limits::Limits;
use crate::data::load::{read_csv, ReadOptions};
use crate::data::stream::{InputFormat, RecordStream};
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

/// Reads `bytes` as CSV with the fast batch reader of `mlctl predict` ([`RecordStream`], in batches of 1, 3
/// and 1,000 rows) and with the csv crate, and panics unless both give the same data records, or both refuse
/// the input. Where the csv crate reads what the fast reader refuses, only the fast reader's caps may explain
/// it (a line or cell too long): those inputs are skipped.
///
/// # Panics
/// When the two readers disagree.
pub fn csv_stream_matches_csv_crate(bytes: &[u8]) {
    let expected = csv_crate_records(bytes);
    for batch in [1, 3, 1000] {
        assert_agree(expected.as_deref(), &stream_records(bytes, batch), batch);
    }
}

/// Panics unless the csv crate's records (`expected`, None if it refused) and the fast reader's agree.
fn assert_agree(expected: Option<&[Vec<String>]>, actual: &crate::error::Result<Vec<Vec<String>>>, batch: usize) {
    match (expected, actual) {
        (Some(e), Ok(a)) => assert_eq!(a, e, "batches of {batch} rows: the records differ from the csv crate's"),
        (None, Err(_)) => {}
        (Some(_), Err(e)) => {
            let why = e.to_string();
            assert!(why.contains("longer than"), "batches of {batch}: refused what the csv crate reads: {why}");
        }
        (None, Ok(a)) => panic!("batches of {batch}: read {a:?} where the csv crate refuses the input"),
    }
}

/// The data records as the csv crate reads them (header skipped, equal lengths required), or None if it
/// refuses the input or it has no header to speak of.
fn csv_crate_records(bytes: &[u8]) -> Option<Vec<Vec<String>>> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().ok()?;
    if header.is_empty() || (header.len() == 1 && header[0].trim_start_matches('\u{feff}').trim().is_empty()) {
        return None;
    }
    reader.records().map(|r| r.ok().map(|r| r.iter().map(str::to_owned).collect())).collect()
}

fn stream_records(bytes: &[u8], batch: usize) -> crate::error::Result<Vec<Vec<String>>> {
    let source = Path::new("fuzz.csv");
    let reader: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(bytes.to_vec()));
    let mut stream = RecordStream::open_with_limits(source, reader, Some(InputFormat::Csv), b',', Limits::default())?;
    let mut records = Vec::new();
    while let Some(batch) = stream.next_batch(batch)? {
        let text = batch.into_text(source)?;
        for row in 0..text.len {
            records.push(text.columns.iter().map(|c| c.get(row).unwrap_or_default().to_owned()).collect());
        }
    }
    Ok(records)
}

fn scratch_file() -> PathBuf {
    let thread = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_alphanumeric(), "");
    std::env::temp_dir().join(format!("mlctl-fuzz-{}-{thread}.csv", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter().map(|r| r.iter().map(|c| (*c).to_owned()).collect()).collect()
    }

    #[test]
    fn both_readers_give_the_records_of_a_tricky_input() {
        // Quote-free rows, then a quoted line break and an escaped quote (the csv crate's path), CRLF and blanks.
        let input = b"a,b\r\n1,2\r\n\r\n3,\n\"x\ny\",\"5\"\"\"\n";
        let expected = records(&[&["1", "2"], &["3", ""], &["x\ny", "5\""]]);
        assert_eq!(csv_crate_records(input), Some(expected.clone()));
        for batch in [1, 3, 1000] {
            assert_eq!(stream_records(input, batch).unwrap(), expected);
        }
        csv_stream_matches_csv_crate(input);
    }

    #[test]
    fn a_disagreement_is_a_panic() {
        fn panics(f: impl FnOnce()) -> bool {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
        }
        let expected = records(&[&["1", "2"]]);
        let differs = Ok(records(&[&["1", "3"]]));
        let refused = Err(crate::error::Error::Usage("a row of the wrong width".to_owned()));
        assert!(panics(|| assert_agree(Some(&expected), &differs, 1)));
        assert!(panics(|| assert_agree(None, &differs, 1)));
        assert!(panics(|| assert_agree(Some(&expected), &refused, 1)));
        assert_agree(None, &refused, 1);
        assert_agree(Some(&expected), &Ok(expected.clone()), 1);
    }

    #[test]
    fn a_ragged_row_is_refused_by_both() {
        let input = b"a,b\n1,2\n3\n";
        assert_eq!(csv_crate_records(input), None);
        assert!(stream_records(input, 1000).is_err());
    }
}
