//! Reading CSV files into a [`Frame`], and Parquet files for `export` ([`export_parquet`]). The only module that
//! imports polars.
//!
//! Two passes, each doing a job the other cannot:
//! 1. a streaming structural pass (csv crate) that hashes the whole file (SHA-256, for lineage) and checks what
//!    polars would otherwise accept silently or report without a row: an empty file, a header without rows,
//!    duplicate column names, rows with too few or too many fields, bytes that are not UTF-8;
//! 2. polars splits the file into text columns, in parallel, while the first pass runs on another thread.
//!
//! Typing then follows `schema`, a column per thread: a column is numeric when every cell is a finite number
//! or missing, stray tokens in a mostly numeric column are an error, and columns the caller declares
//! categorical (or needs as text, like a target) keep their cells' exact spelling.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::frame::{Column, Frame};
use super::limits::{CappedReader, Limits};
use super::schema::{column_from_text, CellRules, ColumnType};
use super::source::{check_names_hinted, push_integer, push_real, push_real32, Row, RowSink, ValueType};
use crate::error::{Error, IoContext, Result};

#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Field separator; b',' when None.
    pub delimiter: Option<u8>,
    /// Column types fixed by the caller (declared in mlctl.toml or on the command line, or known from training).
    pub declared: HashMap<String, ColumnType>,
    /// Columns to keep as exact text (e.g. the target, ids).
    pub text_columns: Vec<String>,
    /// Extra missing-value tokens, in every column (`--na-values`).
    pub na_values: Vec<String>,
    /// Declared-numeric columns whose cells that are not numbers are read as missing values, not refused.
    pub stray_as_missing: Vec<String>,
}

/// What the structural pass learnt about the file.
#[derive(Debug, Clone)]
pub struct FileFacts {
    pub sha256: String,
    pub rows: usize,
    pub header: Vec<String>,
    /// Cells that were not numbers, read as missing values, per declared-numeric column (see
    /// [`ReadOptions::stray_as_missing`]).
    pub stray_as_missing: BTreeMap<String, usize>,
}

/// Reads `path` into a typed frame, with the file's SHA-256.
pub fn read_csv(path: &Path, options: &ReadOptions) -> Result<(Frame, FileFacts)> {
    let delimiter = options.delimiter.unwrap_or(b',');
    let limits = Limits::from_env()?;
    // The header first, alone and capped: polars given a 100 MB header line, or a device that never ends, grows
    // its memory until the machine kills it.
    read_header(path, delimiter, &limits)?;
    check_lines(path, &limits)?;
    // The structural pass (one thread, hashing) runs beside polars' parse; its errors come first, as they
    // name rows where polars' do not.
    let (facts, df) = std::thread::scope(|scope| {
        let structure = scope.spawn(|| check_structure(path, delimiter, &limits));
        let df = read_with_polars(path, delimiter);
        (structure.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)), df)
    });
    let mut facts = facts?;
    let df = df?;
    let (frame, stray) = frame_from_polars(path, &df, &facts.header, options)?;
    facts.stray_as_missing = stray;
    Ok((frame, facts))
}

/// The column names of the CSV at `path`, from its first record alone: no more than the line cap is read (a
/// header line longer than that is an error), so a header can be checked before the file is handed to a reader
/// that would take it whole. The names are checked as the structural pass checks them (empty, repeated).
pub fn read_header(path: &Path, delimiter: u8, limits: &Limits) -> Result<Vec<String>> {
    let file = File::open(path).at(path)?;
    // The csv crate reads ahead by its buffer; the cap on the reader is the line cap and that buffer.
    let (capped, tally) = CappedReader::new(std::io::BufReader::with_capacity(1 << 16, file), limits.line + CSV_BUFFER);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(CSV_BUFFER)
        .from_reader(capped);
    let mut record = csv::ByteRecord::new();
    let read = reader.read_byte_record(&mut record);
    // The record and its terminator (`\r\n` at most).
    if tally.tripped() || reader.position().byte() > limits.line as u64 + 2 {
        return Err(limits.line_error(path, None, None, "the header line"));
    }
    if !read.map_err(|e| csv_error(path, &e))? || (record.len() == 1 && record[0].trim_ascii().is_empty()) {
        return Err(Error::data(path, None, None, "the file is empty: expected a header line and data rows"));
    }
    header_names(path, &record, delimiter)
}

/// The csv crate's read buffer where a cap depends on it.
const CSV_BUFFER: usize = 8 << 10;

/// Reads `bytes` through SHA-256 as they stream by.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Checks that no line of `path` is longer than the line cap (its terminator, `\n`, `\r` or both, not counted),
/// with one scan for line ends before the file is handed to polars, which reads a line of any length whole (the
/// structural pass beside it could only report the line once polars had finished). The row is named while no
/// quote has come before the line: a quoted field may hold a line break, and then lines are no longer rows.
fn check_lines(path: &Path, limits: &Limits) -> Result<()> {
    let mut file = File::open(path).at(path)?;
    let mut buf = vec![0u8; 1 << 16];
    // The current line's length so far, the terminators before it and how many of them ended an empty line
    // (`\r\n` is two, the second ending an empty line), the `\n`s before it (for its number in an editor), and
    // whether a quote came before it.
    let (mut len, mut ends, mut empty, mut newlines, mut quoted) = (0usize, 0usize, 0usize, 0usize, false);
    let mut quote_in_line = false;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        let bytes = &buf[..n];
        let mut start = 0;
        for end in memchr::memchr2_iter(b'\n', b'\r', bytes).chain(std::iter::once(n)) {
            let segment = &bytes[start..end];
            len += segment.len();
            if !quoted {
                quote_in_line |= memchr::memchr(b'"', segment).is_some();
            }
            if len > limits.line {
                let lines = ends - empty;
                if lines == 0 {
                    return Err(limits.line_error(path, None, None, "the header line"));
                }
                let row = (!quoted).then_some(lines);
                return Err(limits.line_error(path, row, None, &format!("line {}", newlines + 1)));
            }
            if end < n {
                (ends, empty) = (ends + 1, empty + usize::from(len == 0));
                newlines += usize::from(bytes[end] == b'\n');
                quoted |= quote_in_line;
                (len, quote_in_line) = (0, false);
            }
            start = end + 1;
        }
    }
}

/// SHA-256 of a whole file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let file = File::open(path).at(path)?;
    let mut reader = HashingReader { inner: std::io::BufReader::new(file), hasher: Sha256::new() };
    std::io::copy(&mut reader, &mut std::io::sink()).at(path)?;
    Ok(crate::fs::hex(&reader.hasher.finalize()))
}

fn check_structure(path: &Path, delimiter: u8, limits: &Limits) -> Result<FileFacts> {
    let file = File::open(path).at(path)?;
    let mut hashing = HashingReader { inner: std::io::BufReader::with_capacity(1 << 16, file), hasher: Sha256::new() };
    let rows = {
        let mut reader =
            csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(&mut hashing);
        let mut record = csv::ByteRecord::new();
        let has_header = reader.read_byte_record(&mut record).map_err(|e| csv_error(path, &e))?;
        if !has_header || (record.len() == 1 && record[0].trim_ascii().is_empty()) {
            return Err(Error::data(path, None, None, "the file is empty: expected a header line and data rows"));
        }
        let header = header_names(path, &record, delimiter)?;
        let mut rows = 0usize;
        while reader.read_byte_record(&mut record).map_err(|e| csv_error(path, &e))? {
            rows += 1;
            if record.len() != header.len() {
                if record.len() == 1 && record[0].is_empty() {
                    // A blank line: polars skips it too.
                    rows -= 1;
                    continue;
                }
                let line = record.position().map_or(rows + 1, |p| p.line() as usize);
                return Err(Error::data(
                    path,
                    Some(rows),
                    None,
                    format!(
                        "has {} fields but the header has {} (line {line}); every row needs one field per column",
                        record.len(),
                        header.len()
                    ),
                ));
            }
            // Lines were capped before; a record of several lines (quoted line breaks) and its cells are checked
            // here, and only a record longer than a cell can hold one that is too long.
            let bytes = record.as_slice().len();
            if bytes > limits.cell {
                if bytes > limits.line {
                    return Err(limits.line_error(path, Some(rows), None, "the record"));
                }
                for (field, name) in record.iter().zip(&header) {
                    limits.check_cell(path, Some(rows), Some(name), field.len())?;
                }
            }
            // One check of the record's bytes; the column is looked for only when it fails.
            let invalid = std::str::from_utf8(record.as_slice()).is_err();
            if let Some(col) = record.iter().position(|field| invalid && std::str::from_utf8(field).is_err()) {
                return Err(Error::data(
                    path,
                    Some(rows),
                    Some(&header[col]),
                    "is not valid UTF-8: mlctl reads UTF-8 files (convert with `iconv -f latin1 -t utf-8`)",
                ));
            }
        }
        if rows == 0 {
            return Err(Error::data(path, None, None, "has a header but no data rows"));
        }
        (rows, header)
    };
    std::io::copy(&mut hashing, &mut std::io::sink()).at(path)?;
    Ok(FileFacts {
        sha256: crate::fs::hex(&hashing.hasher.finalize()),
        rows: rows.0,
        header: rows.1,
        stray_as_missing: BTreeMap::new(),
    })
}

fn header_names(path: &Path, record: &csv::ByteRecord, delimiter: u8) -> Result<Vec<String>> {
    let mut names = Vec::with_capacity(record.len());
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, raw) in record.iter().enumerate() {
        let text = std::str::from_utf8(raw)
            .map_err(|_| Error::data(path, None, None, format!("header field {} is not valid UTF-8", i + 1)))?;
        let name = text.trim_start_matches('\u{feff}').trim().to_owned();
        if name.is_empty() {
            return Err(Error::data(
                path,
                None,
                None,
                format!("header field {} is empty: every column needs a name", i + 1),
            ));
        }
        if let Some(first) = seen.insert(name.clone(), i + 1) {
            return Err(Error::data(
                path,
                None,
                Some(&name),
                format!("appears twice in the header (fields {first} and {}): column names must be unique", i + 1),
            ));
        }
        names.push(name);
    }
    refuse_one_column_of_another_separator(path, &names, delimiter)?;
    Ok(names)
}

/// A header read as one column that holds `;` or a tab, with the default `,`: the file is almost surely separated
/// by that character, and every later error (a missing column, a single feature) would hide it. Says which
/// `--delimiter` reads it. Every command that reads CSV checks its header with this.
pub fn refuse_one_column_of_another_separator(path: &Path, names: &[String], delimiter: u8) -> Result<()> {
    let [name] = names else { return Ok(()) };
    let (separator, flag) = if delimiter != b',' {
        return Ok(());
    } else if name.contains(';') {
        ("';'", "--delimiter ';'")
    } else if name.contains('\t') {
        ("tabs", "--delimiter tab")
    } else {
        return Ok(());
    };
    let message = format!("has a single column \"{name}\": is the file separated by {separator}? pass {flag}");
    Err(Error::data(path, None, None, message))
}

fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let row = e.position().map(|p| p.record() as usize);
    Error::data(path, row, None, format!("cannot be read as CSV: {e}"))
}

/// Every column as text: polars splits and unescapes the fields, in parallel, and `schema` types them. Letting
/// polars infer types instead meant a regex match per cell over the whole file on one thread, most of the time
/// `train` spent reading.
fn read_with_polars(path: &Path, delimiter: u8) -> Result<DataFrame> {
    let polars_error = |e: PolarsError| Error::data(path, None, None, format!("cannot be read as CSV: {e}"));
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .map_parse_options(|p| p.with_separator(delimiter))
        .try_into_reader_with_file_path(Some(PathBuf::from(path)))
        .and_then(|reader| reader.finish())
        .map_err(polars_error)
}

/// Types the text columns by `schema`'s rules, in parallel (a column at a time); the first error in column
/// order is the one reported. Columns take the names the structural pass checked (trimmed, without a
/// byte-order mark).
fn frame_from_polars(
    path: &Path,
    df: &DataFrame,
    header: &[String],
    options: &ReadOptions,
) -> Result<(Frame, BTreeMap<String, usize>)> {
    let polars_error = |e: PolarsError| Error::data(path, None, None, format!("cannot be read: {e}"));
    if df.width() != header.len() {
        return Err(Error::data(path, None, None, "cannot be read as CSV: the header and the columns disagree"));
    }
    let typed: Vec<Result<(Column, usize)>> = df
        .columns()
        .par_iter()
        .zip(header)
        .map(|(col, name)| {
            let declared = if options.text_columns.iter().any(|c| c == name) {
                Some(ColumnType::Categorical)
            } else {
                options.declared.get(name).copied()
            };
            let strings = col.as_materialized_series().str().map_err(polars_error)?;
            let rules = CellRules {
                na_values: &options.na_values,
                stray_as_missing: options.stray_as_missing.iter().any(|c| c == name),
            };
            column_from_text(path, name, || strings.iter(), declared, 1, rules)
        })
        .collect();
    let mut columns = Vec::with_capacity(typed.len());
    let mut stray = BTreeMap::new();
    for result in typed {
        let (column, n) = result?;
        if n > 0 {
            stray.insert(column.name.clone(), n);
        }
        columns.push(column);
    }
    Ok((Frame { source: path.to_path_buf(), n_rows: df.height(), columns }, stray))
}

// ---- export --from FILE.parquet ---------------------------------------------------------------------------------

/// Rows per Parquet slice in [`export_parquet`]: memory follows the slice (and the row groups it overlaps).
const PARQUET_SLICE: usize = 65_536;

/// `export --from FILE.parquet`: streams the file's rows into `sink` as canonical text cells, one slice of rows
/// at a time; returns the columns' types (from the file's schema, checked before anything is written).
pub fn export_parquet(path: &Path, sink: &mut dyn RowSink) -> Result<Vec<ValueType>> {
    export_parquet_in_slices(path, sink, PARQUET_SLICE)
}

fn export_parquet_in_slices(path: &Path, sink: &mut dyn RowSink, slice: usize) -> Result<Vec<ValueType>> {
    let polars_error = |e: PolarsError| Error::data(path, None, None, format!("cannot be read as Parquet: {e}"));
    let open = || File::open(path).at(path);
    let total = ParquetReader::new(open()?).num_rows().map_err(polars_error)?;
    let mut types = None;
    let mut offset = 0;
    loop {
        let df = ParquetReader::new(open()?).with_slice(Some((offset, slice))).finish().map_err(polars_error)?;
        if types.is_none() {
            types = Some(start_export(path, &df, sink)?);
        }
        write_rows(path, &df, offset, sink)?;
        offset += df.height();
        if df.height() == 0 || offset >= total {
            break;
        }
    }
    Ok(types.unwrap_or_default())
}

fn export_type(path: &Path, name: &str, dtype: &DataType) -> Result<ValueType> {
    Ok(match dtype {
        d if d.is_integer() => ValueType::Integer,
        d if d.is_float() => ValueType::Real,
        DataType::Boolean => ValueType::Boolean,
        DataType::String | DataType::Null => ValueType::Text,
        DataType::Date => ValueType::Date,
        DataType::Datetime(..) => ValueType::Timestamp,
        other => {
            return Err(Error::data(
                path,
                None,
                Some(name),
                format!(
                    "holds {other} values, which a CSV cell cannot hold: expected integers, reals, strings, \
                     booleans, dates or timestamps (flatten or convert the column first)"
                ),
            ))
        }
    })
}

/// Checks the names and types and writes the header.
fn start_export(path: &Path, df: &DataFrame, sink: &mut dyn RowSink) -> Result<Vec<ValueType>> {
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    check_names_hinted(&path.display().to_string(), &names, ": rename one in the file")?;
    let types =
        df.columns().iter().map(|c| export_type(path, c.name().as_str(), c.dtype())).collect::<Result<Vec<_>>>()?;
    sink.header(&names)?;
    Ok(types)
}

/// One column's cells, typed, as an iterator over the frame's rows.
enum Cells<'a> {
    Int(Box<dyn Iterator<Item = Option<i64>> + 'a>),
    UInt(Box<dyn Iterator<Item = Option<u64>> + 'a>),
    F32(Box<dyn Iterator<Item = Option<f32>> + 'a>),
    F64(Box<dyn Iterator<Item = Option<f64>> + 'a>),
    Bool(Box<dyn Iterator<Item = Option<bool>> + 'a>),
    Str(Box<dyn Iterator<Item = Option<&'a str>> + 'a>),
    /// Days since 1970-01-01.
    Date(Box<dyn Iterator<Item = Option<i32>> + 'a>),
    /// Ticks since the Unix epoch, ticks per second, and whether the values are UTC instants (a time zone).
    Stamp(Box<dyn Iterator<Item = Option<i64>> + 'a>, i64, bool),
}

fn write_rows(path: &Path, df: &DataFrame, first_row: usize, sink: &mut dyn RowSink) -> Result<()> {
    use std::fmt::Write;
    let polars_error = |e: PolarsError| Error::data(path, None, None, format!("cannot be read: {e}"));
    // Casts first (they own new columns), iterators over them second.
    let mut physical = Vec::with_capacity(df.width());
    for col in df.columns() {
        let series = col.as_materialized_series();
        let cast = match series.dtype() {
            DataType::UInt64 | DataType::Int64 => None,
            d if d.is_unsigned_integer() => Some(DataType::UInt64),
            d if d.is_integer() => Some(DataType::Int64),
            d if d.is_float() && !matches!(d, DataType::Float32 | DataType::Float64) => Some(DataType::Float64),
            DataType::Date => Some(DataType::Int32),
            DataType::Datetime(..) => Some(DataType::Int64),
            DataType::Null => Some(DataType::String),
            _ => None,
        };
        physical.push(match cast {
            Some(to) => series.strict_cast(&to).map_err(|e| {
                Error::data(path, None, Some(col.name().as_str()), format!("cannot be converted to {to}: {e}"))
            })?,
            None => series.clone(),
        });
    }
    let mut columns = Vec::with_capacity(df.width());
    for (col, series) in df.columns().iter().zip(&physical) {
        columns.push(match col.dtype() {
            d if d.is_unsigned_integer() => Cells::UInt(Box::new(series.u64().map_err(polars_error)?.iter())),
            d if d.is_integer() => Cells::Int(Box::new(series.i64().map_err(polars_error)?.iter())),
            DataType::Float32 => Cells::F32(Box::new(series.f32().map_err(polars_error)?.iter())),
            d if d.is_float() => Cells::F64(Box::new(series.f64().map_err(polars_error)?.iter())),
            DataType::Boolean => Cells::Bool(Box::new(series.bool().map_err(polars_error)?.iter())),
            DataType::Date => Cells::Date(Box::new(series.i32().map_err(polars_error)?.iter())),
            DataType::Datetime(unit, zone) => {
                let per_second = match unit {
                    TimeUnit::Nanoseconds => 1_000_000_000,
                    TimeUnit::Microseconds => 1_000_000,
                    TimeUnit::Milliseconds => 1_000,
                };
                Cells::Stamp(Box::new(series.i64().map_err(polars_error)?.iter()), per_second, zone.is_some())
            }
            _ => Cells::Str(Box::new(series.str().map_err(polars_error)?.iter())),
        });
    }
    let names = df.get_column_names();
    let out_of_range = |r: usize, i: usize, what: &str| {
        Error::data(path, Some(first_row + r + 1), Some(names[i].as_str()), format!("{what} out of range"))
    };
    let mut row = Row::new(columns.len());
    for r in 0..df.height() {
        for (i, cells) in columns.iter_mut().enumerate() {
            let present = match cells {
                Cells::Int(it) => it.next().flatten().map(|x| push_integer(row.cell(i), x)),
                Cells::UInt(it) => it.next().flatten().map(|x| {
                    let _ = write!(row.cell(i), "{x}");
                }),
                Cells::F32(it) => it.next().flatten().map(|x| push_real32(row.cell(i), x)),
                Cells::F64(it) => it.next().flatten().map(|x| push_real(row.cell(i), x)),
                Cells::Bool(it) => it.next().flatten().map(|b| row.set(i, if b { "true" } else { "false" })),
                Cells::Str(it) => it.next().flatten().map(|t| row.set(i, t)),
                Cells::Date(it) => match it.next().flatten() {
                    Some(days) => {
                        let date = chrono::DateTime::from_timestamp(i64::from(days) * 86_400, 0)
                            .ok_or_else(|| out_of_range(r, i, "date"))?;
                        let _ = write!(row.cell(i), "{}", date.format("%Y-%m-%d"));
                        Some(())
                    }
                    None => None,
                },
                Cells::Stamp(it, per_second, zoned) => match it.next().flatten() {
                    Some(ticks) => {
                        let (secs, rest) = (ticks.div_euclid(*per_second), ticks.rem_euclid(*per_second));
                        let nanos = u32::try_from(rest * (1_000_000_000 / *per_second)).unwrap_or(0);
                        let t = chrono::DateTime::from_timestamp(secs, nanos)
                            .ok_or_else(|| out_of_range(r, i, "timestamp"))?;
                        let cell = row.cell(i);
                        let _ = write!(cell, "{}", t.naive_utc().format("%Y-%m-%d %H:%M:%S%.f"));
                        if *zoned {
                            cell.push_str("+00");
                        }
                        Some(())
                    }
                    None => None,
                },
            };
            if present.is_none() {
                row.set_null(i);
            }
        }
        sink.row(&row)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_types_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, "a.csv", "n,c,t\n1,x,0\n2.5,,1\n,y,1\n");
        let opts = ReadOptions { text_columns: vec!["t".into()], ..Default::default() };
        let (frame, facts) = read_csv(&p, &opts).unwrap();
        assert_eq!(frame.n_rows, 3);
        assert_eq!(facts.rows, 3);
        assert_eq!(facts.sha256, sha256_file(&p).unwrap());
        assert_eq!(frame.column("n").unwrap().type_name(), "numeric");
        assert_eq!(frame.column("c").unwrap().type_name(), "categorical");
        assert!(frame.column("c").unwrap().is_missing(1));
        assert_eq!(frame.column("t").unwrap().text(1).as_deref(), Some("1"));
    }

    #[test]
    fn structural_errors_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("empty.csv", "", "empty"),
            ("header.csv", "a,b\n", "no data rows"),
            ("ragged.csv", "a,b\n1,2\n3\n", "row 2: has 1 fields but the header has 2"),
            ("dup.csv", "a,a\n1,2\n", "appears twice"),
            ("semi.csv", "a;b\n1;2\n", "--delimiter"),
        ];
        for (name, text, expected) in cases {
            let p = write(&dir, name, text);
            let err = read_csv(&p, &ReadOptions::default()).unwrap_err().to_string();
            assert!(err.contains(expected), "{name}: {err}");
            assert!(err.contains(name), "{name}: {err}");
        }
    }

    #[test]
    fn lines_past_the_cap_are_found_before_polars_with_their_row_while_rows_are_lines() {
        let dir = tempfile::tempdir().unwrap();
        let limits = Limits { line: 3, cell: 3 };
        let cases = [
            ("a,b\n1,2\n,\n", None),
            ("a,b\r\n1,2\r\n\r\n12,34\r\n", Some("t.csv: row 2: line 4 is longer than 3 bytes")),
            ("a,b\n\n1,2\n12345", Some("t.csv: row 2: line 4 is longer than 3 bytes")),
            // After a quote, lines are not rows: the line alone is named.
            ("a,b\n\"x\ny\",\n1234,5\n", Some("t.csv: line 4 is longer than 3 bytes")),
            ("abcd,e\n1,2\n", Some("t.csv: the header line is longer than 3 bytes")),
        ];
        for (text, expected) in cases {
            let p = write(&dir, "t.csv", text);
            let got = check_lines(&p, &limits).err().map(|e| e.to_string());
            let got = got.as_deref().map(|e| e.trim_start_matches(&format!("{}/", dir.path().display())));
            match expected {
                None => assert_eq!(got, None, "{text:?}"),
                Some(m) => assert!(got.is_some_and(|g| g.starts_with(m)), "{text:?}: {got:?}"),
            }
        }
    }

    /// Collects what a source writes.
    #[derive(Default)]
    struct Collect {
        header: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
    }

    impl RowSink for Collect {
        fn header(&mut self, names: &[String]) -> Result<()> {
            self.header = names.to_vec();
            Ok(())
        }

        fn row(&mut self, row: &Row) -> Result<()> {
            self.rows.push((0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect());
            Ok(())
        }
    }

    #[test]
    fn parquet_slices_cross_row_groups_and_give_the_same_rows() {
        // Four rows in row groups of two (scripts/gen_export_fixtures.py).
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/export/people.parquet"));
        let mut whole = Collect::default();
        let types = export_parquet(path, &mut whole).unwrap();
        assert_eq!(whole.rows.len(), 4);
        assert_eq!(types[0], ValueType::Integer);
        for slice in [1, 3] {
            let mut sliced = Collect::default();
            assert_eq!(export_parquet_in_slices(path, &mut sliced, slice).unwrap(), types);
            assert_eq!(sliced.header, whole.header);
            assert_eq!(sliced.rows, whole.rows, "slices of {slice}");
        }
        assert_eq!(whole.rows[3][0].as_deref(), Some("4"));
    }
}
