//! The CSV a source streams into: written through the csv crate (RFC 4180 quoting, so commas, quotes and
//! newlines in a cell round-trip), hashed (SHA-256) and counted as it goes, into a temp file beside the output
//! that only [`CsvSink::finish`] renames into place.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{Row, RowSink};
use crate::error::{Error, Result};
use crate::fs::AtomicFile;
use crate::reporter::Reporter;

/// How often the running count is reported.
const COUNT_EVERY: u64 = 8192;

/// Hashes and counts the bytes on their way to the file.
struct Hashing {
    inner: AtomicFile,
    hasher: Sha256,
    bytes: u64,
}

impl Write for Hashing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub struct CsvSink<'r> {
    path: PathBuf,
    writer: csv::Writer<Hashing>,
    reporter: &'r dyn Reporter,
    rows: u64,
    missing: Vec<u64>,
    names: Vec<String>,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Written {
    pub names: Vec<String>,
    pub rows: u64,
    pub missing: Vec<u64>,
    pub sha256: String,
    pub bytes: u64,
}

impl<'r> CsvSink<'r> {
    pub fn create(path: &Path, reporter: &'r dyn Reporter) -> Result<Self> {
        let file = AtomicFile::create(path)?;
        let writer = csv::WriterBuilder::new().has_headers(false).from_writer(Hashing {
            inner: file,
            hasher: Sha256::new(),
            bytes: 0,
        });
        Ok(CsvSink { path: path.to_path_buf(), writer, reporter, rows: 0, missing: Vec::new(), names: Vec::new() })
    }

    fn csv_error(&self, e: csv::Error) -> Error {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => Error::io(&self.path, io),
            other => Error::Model(format!("{}: writing CSV: {other:?}", self.path.display())),
        }
    }

    /// Flushes, fsyncs and renames the file into place. Not calling it (an error on the way) leaves no file.
    pub fn finish(self) -> Result<Written> {
        let path = self.path.clone();
        let hashing = self.writer.into_inner().map_err(|e| Error::io(&path, e.into_error()))?;
        let sha256 = crate::fs::hex(&hashing.hasher.finalize());
        let bytes = hashing.bytes;
        hashing.inner.commit()?;
        self.reporter.count("exported", self.rows);
        Ok(Written { names: self.names, rows: self.rows, missing: self.missing, sha256, bytes })
    }
}

impl RowSink for CsvSink<'_> {
    fn header(&mut self, names: &[String]) -> Result<()> {
        self.names = names.to_vec();
        self.missing = vec![0; names.len()];
        self.writer.write_record(names).map_err(|e| self.csv_error(e))
    }

    fn row(&mut self, row: &Row) -> Result<()> {
        for i in 0..row.len() {
            let cell = match row.get(i) {
                Some(text) => text,
                None => {
                    self.missing[i] += 1;
                    ""
                }
            };
            if let Err(e) = self.writer.write_field(cell) {
                return Err(self.csv_error(e));
            }
        }
        self.writer.write_record(None::<&[u8]>).map_err(|e| self.csv_error(e))?;
        self.rows += 1;
        if self.rows.is_multiple_of(COUNT_EVERY) {
            self.reporter.count("exporting", self.rows);
        }
        Ok(())
    }
}
