//! The caps on one line (or record) and one cell of user data, and the readers that enforce them while reading,
//! so that no input — a 100 MB header, `/dev/zero`, a JSON element without end — grows memory without bound.
//! Every reader of user data (predict's record stream, the CSV reader of train / evaluate / drift, `export --from
//! FILE`) takes its caps from here: 1 MiB per line or record and 64 KiB per cell unless `MLCTL_MAX_LINE_BYTES` /
//! `MLCTL_MAX_CELL_BYTES` say otherwise.

use std::cell::Cell;
use std::io::{BufRead, Read};
use std::path::Path;
use std::rc::Rc;

use crate::error::{Error, Result};

/// The environment variable that sets the line (record) cap, in bytes.
pub const LINE_VAR: &str = "MLCTL_MAX_LINE_BYTES";
/// The environment variable that sets the cell cap, in bytes.
pub const CELL_VAR: &str = "MLCTL_MAX_CELL_BYTES";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes in one line of a file, or one record (a JSON element, a CSV record with quoted line breaks).
    pub line: usize,
    /// Bytes in one cell.
    pub cell: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { line: 1 << 20, cell: 64 << 10 }
    }
}

impl Limits {
    /// The defaults, overridden by [`LINE_VAR`] and [`CELL_VAR`]; a value that is not a positive number of bytes is
    /// an error naming the variable.
    pub fn from_env() -> Result<Limits> {
        let read = |var: &str, default: usize| -> Result<usize> {
            match std::env::var(var) {
                Err(std::env::VarError::NotPresent) => Ok(default),
                Ok(text) => text.trim().parse::<usize>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    Error::Config(format!("{var}={text}: expected a positive number of bytes, e.g. 1048576"))
                }),
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(Error::Config(format!("{var}: expected a positive number of bytes, e.g. 1048576")))
                }
            }
        };
        let default = Limits::default();
        Ok(Limits { line: read(LINE_VAR, default.line)?, cell: read(CELL_VAR, default.cell)? })
    }

    /// The error for a line (record) longer than the cap. `what` names it: "the header line", "the line", "the
    /// JSON element"…
    pub fn line_error(&self, path: &Path, row: Option<usize>, column: Option<&str>, what: &str) -> Error {
        let line = self.line;
        Error::data(
            path,
            row,
            column,
            format!("{what} is longer than {line} bytes, the limit of one line or record (set {LINE_VAR} to raise it)"),
        )
    }

    /// Checks a cell's length against the cap.
    pub fn check_cell(&self, path: &Path, row: Option<usize>, column: Option<&str>, len: usize) -> Result<()> {
        if len <= self.cell {
            return Ok(());
        }
        Err(self.cell_error(path, row, column, len))
    }

    /// The error for a cell of `len` bytes, longer than the cap.
    pub fn cell_error(&self, path: &Path, row: Option<usize>, column: Option<&str>, len: usize) -> Error {
        let cell = self.cell;
        Error::data(
            path,
            row,
            column,
            format!("the cell holds {len} bytes, more than {cell}, the limit of one cell (set {CELL_VAR} to raise it)"),
        )
    }
}

/// Reads one line (through its `\n`, kept) into `buf`, appending; returns the bytes read, 0 at the end. Stops with
/// [`TooLong`] once the line passes `cap` bytes (its terminator not counted), having read no more than the cap
/// and one buffer beyond it.
pub fn read_line_capped(reader: &mut dyn BufRead, buf: &mut Vec<u8>, cap: usize) -> std::io::Result<Capped<usize>> {
    let start = buf.len();
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            return Ok(Ok(buf.len() - start));
        }
        let (take, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        buf.extend_from_slice(&available[..take]);
        reader.consume(take);
        let len = buf.len() - start - usize::from(done);
        if len > cap {
            return Ok(Err(TooLong));
        }
        if done {
            return Ok(Ok(buf.len() - start));
        }
    }
}

/// A line or record past its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLong;

/// The result of a capped read.
pub type Capped<T> = std::result::Result<T, TooLong>;

/// What a [`CappedReader`] has read, shared with whoever knows where records start (a CSV reader's position, a
/// JSON visitor between elements).
#[derive(Debug, Clone, Default)]
pub struct Tally(Rc<TallyState>);

#[derive(Debug, Default)]
struct TallyState {
    read: Cell<u64>,
    mark: Cell<u64>,
    tripped: Cell<bool>,
}

impl Tally {
    /// Bytes read so far.
    pub fn read(&self) -> u64 {
        self.0.read.get()
    }

    /// A record starts at byte `at` of the input.
    pub fn mark_at(&self, at: u64) {
        self.0.mark.set(at);
    }

    /// A record starts at the next byte to be read.
    pub fn mark_here(&self) {
        self.0.mark.set(self.0.read.get());
    }

    /// Whether the reader stopped because a record passed its cap: the error it returned is that, whatever the
    /// parser reading through it made of it.
    pub fn tripped(&self) -> bool {
        self.0.tripped.get()
    }
}

/// Reads through to `inner`, failing once more than `cap` bytes have been read since the last mark: a parser
/// that buffers a record whole (the csv crate, serde_json) then holds at most the cap and its own buffer.
pub struct CappedReader<R> {
    inner: R,
    tally: Tally,
    cap: u64,
}

impl<R: Read> CappedReader<R> {
    pub fn new(inner: R, cap: usize) -> (Self, Tally) {
        let tally = Tally::default();
        (CappedReader { inner, tally: tally.clone(), cap: cap as u64 }, tally)
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let state = &self.tally.0;
        let used = state.read.get() - state.mark.get();
        if used > self.cap {
            state.tripped.set(true);
            return Err(std::io::Error::other("a record is longer than the limit"));
        }
        // One byte past the cap is enough to know it was passed.
        let room = usize::try_from(self.cap - used + 1).unwrap_or(usize::MAX);
        let n = buf.len().min(room);
        let n = self.inner.read(&mut buf[..n])?;
        state.read.set(state.read.get() + n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_up_to_the_cap() {
        let mut reader = std::io::BufReader::with_capacity(4, &b"abc\nabcdef\nab"[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line_capped(&mut reader, &mut buf, 3).unwrap(), Ok(4));
        assert_eq!(buf, b"abc\n");
        buf.clear();
        assert_eq!(read_line_capped(&mut reader, &mut buf, 3).unwrap(), Err(TooLong));
        assert!(buf.len() <= 3 + 4, "no more than the cap and a buffer: {}", buf.len());
        let mut reader = std::io::BufReader::new(&b"ab"[..]);
        buf.clear();
        assert_eq!(read_line_capped(&mut reader, &mut buf, 2).unwrap(), Ok(2));
        assert_eq!(read_line_capped(&mut reader, &mut buf, 2).unwrap(), Ok(0));
    }

    #[test]
    fn the_reader_stops_a_record_past_its_cap_and_not_before() {
        let (mut reader, tally) = CappedReader::new(std::io::repeat(b'x'), 10);
        let mut buf = [0u8; 4];
        let mut total = 0;
        for _ in 0..3 {
            total += reader.read(&mut buf).unwrap();
        }
        assert_eq!(total, 11, "the cap and one byte");
        tally.mark_here();
        assert_eq!(reader.read(&mut buf).unwrap(), 4, "a new record starts afresh");
        assert!(!tally.tripped());
        for _ in 0..3 {
            let _ = reader.read(&mut buf);
        }
        assert!(reader.read(&mut buf).is_err());
        assert!(tally.tripped());
    }

    #[test]
    fn cells_over_the_cap_name_where_they_are() {
        let limits = Limits { line: 100, cell: 5 };
        assert!(limits.check_cell(Path::new("f.csv"), Some(2), Some("a"), 5).is_ok());
        let err = limits.check_cell(Path::new("f.csv"), Some(2), Some("a"), 6).unwrap_err().to_string();
        assert!(err.starts_with("f.csv: row 2, column \"a\": the cell holds 6 bytes, more than 5"), "{err}");
        assert!(err.contains(CELL_VAR), "{err}");
    }
}
