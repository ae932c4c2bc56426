//! `--from FILE`: a Parquet, JSON (an array of objects), NDJSON / JSON Lines (one object per line) or CSV file,
//! written as a validated, normalised CSV: one header, every cell in its column's canonical spelling (see [`ValueType`]),
//! missing values as empty fields.
//!
//! - **Parquet** is read by polars (in `data::load`, the only module that knows it) in slices of 65,536 rows, so
//!   memory follows the slice and the row groups it overlaps, not the file. Types come from the file's schema,
//!   checked before anything is written: integers (any width, signed or not), floats, strings, booleans, dates,
//!   timestamps (time-zoned ones in UTC with `+00`); a list, struct, binary or other column is refused by name.
//!
//! JSON, NDJSON and CSV files are read twice, streaming both times, so memory stays flat whatever its size: the first pass learns
//! the columns and their types and rejects what cannot be exported (with the row and column), the second writes
//! the rows. Nothing is written to the sink before the whole file has been checked.
//!
//! - **JSON / NDJSON**: the columns are the union of the objects' keys, in the order they first appear; an object
//!   without a key has that cell missing, as has `null`. A column's type comes from its values: integers, or
//!   numbers with a fraction (real; integers among them keep their exact digits), `true` / `false`, strings (text,
//!   or date / timestamp when every string is an ISO 8601 date or time). A column mixing kinds (a number in one
//!   row, a string in another) is an error naming both rows, as is a nested array or object, which a CSV cannot
//!   hold. The array is read element by element (serde's sequence visitor), never whole.
//! - **CSV**: the header names the columns; cells are typed like mlctl's own reader does (the missing tokens
//!   `NA`, `null`, … are empty fields; a column of integers is integer, with fractions real, `true` / `false`
//!   boolean, ISO dates and times date / timestamp, anything else text, written as it is).

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{check_names_hinted, parse_time_text, push_integer, push_real, push_stamp, Row, RowSink, Stamp, ValueType};
use crate::data::limits::{read_line_capped, CappedReader, Limits, Tally, TooLong};
use crate::data::schema::{is_missing_token, parse_number};
use crate::error::{Error, IoContext, Result};
use crate::reporter::Reporter;

/// The extensions `--from` recognises as files, for messages.
pub const SUPPORTED: &str = ".parquet, .json, .ndjson, .jsonl or .csv";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Parquet,
    /// A JSON array of objects.
    Json,
    /// One JSON object per line (`.ndjson`, `.jsonl`).
    Ndjson,
    Csv,
}

impl FileKind {
    /// By extension, case-insensitively.
    pub fn from_path(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "parquet" | "pq" => FileKind::Parquet,
            "json" => FileKind::Json,
            "ndjson" | "jsonl" => FileKind::Ndjson,
            "csv" => FileKind::Csv,
            _ => return None,
        })
    }
}

/// Streams the rows of the file at `path` into `sink`; returns the columns' types.
pub fn export(path: &Path, kind: FileKind, sink: &mut dyn RowSink, reporter: &dyn Reporter) -> Result<Vec<ValueType>> {
    std::fs::metadata(path).at(path)?;
    let limits = Limits::from_env()?;
    match kind {
        FileKind::Json | FileKind::Ndjson => export_json(path, kind, &limits, sink, reporter),
        FileKind::Csv => export_csv(path, &limits, sink, reporter),
        FileKind::Parquet => crate::data::load::export_parquet(path, sink),
    }
}

// ---- the types of columns --------------------------------------------------------------------------------------

/// What one column has held so far, and the first row that showed it (for the message when a later row differs).
#[derive(Debug, Clone, Copy)]
struct Seen {
    ty: ValueType,
    row: usize,
}

/// The type that holds both, if there is one: integers widen to reals, dates to timestamps, and both to text
/// when every value was a string.
fn widen(a: ValueType, b: ValueType) -> Option<ValueType> {
    use ValueType::{Date, Integer, Real, Text, Timestamp};
    Some(match (a, b) {
        _ if a == b => a,
        (Integer, Real) | (Real, Integer) => Real,
        (Date, Timestamp) | (Timestamp, Date) => Timestamp,
        (Text, Date | Timestamp) | (Date | Timestamp, Text) => Text,
        _ => return None,
    })
}

/// A string's type: date or timestamp when it is ISO 8601, else text.
fn string_type(s: &str) -> ValueType {
    match parse_time_text(s) {
        Some(Stamp::Date(_)) => ValueType::Date,
        Some(Stamp::Naive(_) | Stamp::Zoned(_)) => ValueType::Timestamp,
        None => ValueType::Text,
    }
}

/// The error for a file that changed between the two passes (the second finds what the first did not).
fn changed(path: &Path) -> Error {
    Error::data(path, None, None, "the file changed while it was being exported; run the export again")
}

// ---- JSON and NDJSON -------------------------------------------------------------------------------------------

/// One element of the file: an object as its keys and values in file order, or something else (described).
pub(crate) enum Element {
    Object(Vec<(String, Value)>),
    Other(&'static str),
}

impl<'de> de::Deserialize<'de> for Element {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Element, A::Error> {
        let mut fields = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            fields.push((key, value));
        }
        Ok(Element::Object(fields))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Element, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Element::Other("an array"))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Element, E> {
        Ok(Element::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Element, E> {
        Ok(Element::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Element, E> {
        Ok(Element::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Element, E> {
        Ok(Element::Other("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Element, E> {
        Ok(Element::Other("a string"))
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<Element, E> {
        Ok(Element::Other("null"))
    }
}

/// Where a JSON element sits, for messages: its data row, and for NDJSON its line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    pub(crate) row: usize,
    pub(crate) line: Option<usize>,
}

impl Place {
    fn suffix(self) -> String {
        self.line.map(|l| format!(" (line {l})")).unwrap_or_default()
    }
}

/// Calls `each` on every element of the file, in order, streaming; an element longer than the line cap is an
/// error (its cells are checked where they are used).
fn each_element(
    path: &Path,
    kind: FileKind,
    limits: &Limits,
    each: &mut dyn FnMut(Place, Element) -> Result<()>,
) -> Result<usize> {
    let file = File::open(path).at(path)?;
    let reader = BufReader::with_capacity(1 << 16, file);
    match kind {
        FileKind::Ndjson => each_line(path, reader, limits, each),
        _ => each_array_element(path, reader, limits, each),
    }
}

fn each_line(
    path: &Path,
    mut reader: BufReader<File>,
    limits: &Limits,
    each: &mut dyn FnMut(Place, Element) -> Result<()>,
) -> Result<usize> {
    let mut bytes = Vec::new();
    let (mut line_no, mut row) = (0usize, 0usize);
    loop {
        bytes.clear();
        match read_line_capped(&mut reader, &mut bytes, limits.line).at(path)? {
            Ok(0) => return Ok(row),
            Ok(_) => {}
            Err(TooLong) => {
                return Err(limits.line_error(path, Some(row + 1), None, &format!("line {}", line_no + 1)));
            }
        }
        let Ok(line) = std::str::from_utf8(&bytes) else {
            return Err(Error::data(path, Some(row + 1), None, format!("line {} is not UTF-8 text", line_no + 1)));
        };
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        row += 1;
        let place = Place { row, line: Some(line_no) };
        let element = serde_json::from_str::<Element>(line.trim_end_matches(['\n', '\r'])).map_err(|e| {
            Error::data(
                path,
                Some(row),
                None,
                format!("line {line_no} is not valid JSON (at character {}): {}", e.column(), bare_message(&e)),
            )
        })?;
        each(place, element)?;
    }
}

/// serde_json's message without its " at line L column C" (which counts within the line here).
fn bare_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).map_or(text.clone(), str::to_owned)
}

/// Hands each element of a top-level JSON array to a callback as serde reads it, so the array is never whole
/// in memory. A callback error is kept aside (serde's error type can only carry a message). Each element starts
/// a new record for the reader's cap.
struct EachElement<'a> {
    each: &'a mut dyn FnMut(Place, Element) -> Result<()>,
    failed: &'a mut Option<Error>,
    rows: &'a mut usize,
    tally: &'a Tally,
}

impl<'de> DeserializeSeed<'de> for EachElement<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> std::result::Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EachElement<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of objects (for one object per line, name the file .ndjson or .jsonl)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.tally.mark_here();
        while let Some(element) = seq.next_element::<Element>()? {
            self.tally.mark_here();
            *self.rows += 1;
            if let Err(e) = (self.each)(Place { row: *self.rows, line: None }, element) {
                *self.failed = Some(e);
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Calls `each` on every element of the JSON array `reader` holds (named `path` in messages), in order, as serde
/// reads it; returns how many there were. An element longer than the line cap stops the reading as soon as the
/// cap is passed. `predict` reads `.json` input through this too, on a thread of its own.
pub(crate) fn each_array_element<R: std::io::Read>(
    path: &Path,
    reader: R,
    limits: &Limits,
    each: &mut dyn FnMut(Place, Element) -> Result<()>,
) -> Result<usize> {
    let mut failed = None;
    let mut rows = 0usize;
    // serde reads a byte at a time, which the standard library makes cheap only on a BufReader: the cap is
    // counted under one, a buffer at a time (counted byte by byte, a 500 MB array took 2 s more). A mark is then
    // where the buffer had been filled to, at or after the element's start, so an element is refused only when
    // longer than the cap, and always when longer than the cap and a buffer.
    let (reader, tally) = CappedReader::new(reader, limits.line);
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(8 << 10, reader));
    let result = EachElement { each, failed: &mut failed, rows: &mut rows, tally: &tally }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Some(e) = failed {
        return Err(e);
    }
    if tally.tripped() {
        return Err(limits.line_error(path, Some(rows + 1), None, "the JSON element"));
    }
    result.map_err(|e| {
        if e.is_io() {
            return Error::data(path, None, None, format!("reading: {e}"));
        }
        match e.classify() {
            // Valid JSON, but not an array at the top.
            serde_json::error::Category::Data if rows == 0 => Error::data(path, None, None, bare_message(&e)),
            serde_json::error::Category::Eof => Error::data(path, None, None, format!("not valid JSON: {e}")),
            _ => Error::data(path, Some(rows + 1), None, format!("not valid JSON: {e}")),
        }
    })?;
    Ok(rows)
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a real number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn json_type(value: &Value) -> Option<ValueType> {
    match value {
        Value::Bool(_) => Some(ValueType::Boolean),
        Value::Number(n) if n.is_f64() => Some(ValueType::Real),
        Value::Number(_) => Some(ValueType::Integer),
        Value::String(s) => Some(string_type(s)),
        _ => None,
    }
}

fn type_noun(ty: ValueType) -> &'static str {
    match ty {
        ValueType::Integer | ValueType::Real => "numbers",
        ValueType::Boolean => "booleans",
        ValueType::Text | ValueType::Date | ValueType::Timestamp => "strings",
    }
}

fn export_json(
    path: &Path,
    kind: FileKind,
    limits: &Limits,
    sink: &mut dyn RowSink,
    reporter: &dyn Reporter,
) -> Result<Vec<ValueType>> {
    // Pass 1: the union of the keys, in order of first appearance, and each column's type.
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut seen: Vec<Option<Seen>> = Vec::new();
    // The last row that had each key, to catch a key given twice in one object.
    let mut last_row: Vec<usize> = Vec::new();
    let rows = each_element(path, kind, limits, &mut |place, element| {
        let fields = object_fields(path, place, element)?;
        for (key, value) in &fields {
            let i = match index.get(key.as_str()) {
                Some(&i) => i,
                None => {
                    index.insert(key.clone(), names.len());
                    names.push(key.clone());
                    seen.push(None);
                    last_row.push(0);
                    names.len() - 1
                }
            };
            if last_row[i] == place.row {
                return Err(Error::data(
                    path,
                    Some(place.row),
                    Some(key),
                    format!("the key appears twice in the object{}", place.suffix()),
                ));
            }
            last_row[i] = place.row;
            if let Value::String(text) = value {
                limits.check_cell(path, Some(place.row), Some(key), text.len())?;
            }
            if value.is_null() {
                continue;
            }
            let Some(ty) = json_type(value) else {
                return Err(Error::data(
                    path,
                    Some(place.row),
                    Some(key),
                    format!(
                        "{}{}, which a CSV cell cannot hold: expected a string, number, boolean or null",
                        describe(value),
                        place.suffix()
                    ),
                ));
            };
            seen[i] = Some(match seen[i] {
                None => Seen { ty, row: place.row },
                Some(before) => match widen(before.ty, ty) {
                    Some(wider) => Seen { ty: wider, row: before.row },
                    None => {
                        return Err(Error::data(
                            path,
                            Some(place.row),
                            Some(key),
                            format!(
                                "{}{}, but row {} holds {}: expected {} like it (a column holds one type)",
                                describe(value),
                                place.suffix(),
                                before.row,
                                type_noun(before.ty),
                                type_noun(before.ty),
                            ),
                        ))
                    }
                },
            });
        }
        Ok(())
    })?;
    if names.is_empty() {
        let what = if rows == 0 { "no rows" } else { "only empty objects" };
        return Err(Error::data(path, None, None, format!("the file holds {what}, so there are no columns to export")));
    }
    check_names_hinted(&path.display().to_string(), &names, "in the file")?;
    let types: Vec<ValueType> = seen.iter().map(|s| s.map_or(ValueType::Text, |s| s.ty)).collect();
    reporter.phase(&format!("{}: {} rows, {} columns; writing", path.display(), rows, names.len()));

    // Pass 2: the rows, each cell spelt for its column's type.
    sink.header(&names)?;
    let mut row = Row::new(names.len());
    let mut written = 0usize;
    each_element(path, kind, limits, &mut |place, element| {
        let fields = object_fields(path, place, element)?;
        for i in 0..row.len() {
            row.set_null(i);
        }
        for (key, value) in &fields {
            let i = *index.get(key.as_str()).ok_or_else(|| changed(path))?;
            if !write_json(types[i], value, &mut row, i) {
                return Err(changed(path));
            }
        }
        written += 1;
        sink.row(&row)
    })?;
    if written != rows {
        return Err(changed(path));
    }
    Ok(types)
}

fn object_fields(path: &Path, place: Place, element: Element) -> Result<Vec<(String, Value)>> {
    match element {
        Element::Object(fields) => Ok(fields),
        Element::Other(what) => Err(Error::data(
            path,
            Some(place.row),
            None,
            format!("{what}{}: expected an object of column names and values", place.suffix()),
        )),
    }
}

/// Writes `value` into cell `i` for a column of type `ty`; false if it does not fit (it did in the first pass).
fn write_json(ty: ValueType, value: &Value, row: &mut Row, i: usize) -> bool {
    use std::fmt::Write;
    if value.is_null() {
        row.set_null(i);
        return true;
    }
    let cell = row.cell(i);
    match (ty, value) {
        (ValueType::Integer | ValueType::Real, Value::Number(n)) => {
            if let Some(x) = n.as_i64() {
                push_integer(cell, x);
            } else if let Some(x) = n.as_u64() {
                let _ = write!(cell, "{x}");
            } else if let Some(x) = n.as_f64() {
                if ty == ValueType::Integer {
                    return false;
                }
                push_real(cell, x);
            }
        }
        (ValueType::Boolean, Value::Bool(b)) => cell.push_str(if *b { "true" } else { "false" }),
        (ValueType::Text, Value::String(s)) => cell.push_str(s),
        (ValueType::Date | ValueType::Timestamp, Value::String(s)) => return push_stamp(ty, s, cell),
        _ => return false,
    }
    true
}

// ---- CSV -------------------------------------------------------------------------------------------------------

/// A CSV cell's type as mlctl's reader sees it; None for a missing value.
fn csv_type(cell: &str) -> Option<ValueType> {
    if is_missing_token(cell) {
        return None;
    }
    let t = cell.trim();
    Some(if t.parse::<i64>().is_ok() {
        ValueType::Integer
    } else if parse_number(t).is_some() {
        ValueType::Real
    } else if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        ValueType::Boolean
    } else {
        string_type(t)
    })
}

/// Writes a CSV cell canonically for a column of type `ty`; false if it does not fit.
fn write_csv_cell(ty: ValueType, cell: &str, row: &mut Row, i: usize) -> bool {
    if is_missing_token(cell) {
        row.set_null(i);
        return true;
    }
    let t = cell.trim();
    let out = row.cell(i);
    match ty {
        ValueType::Text => out.push_str(cell),
        ValueType::Integer => match t.parse::<i64>() {
            Ok(x) => push_integer(out, x),
            Err(_) => return false,
        },
        ValueType::Real => {
            if let Ok(x) = t.parse::<i64>() {
                push_integer(out, x);
            } else if let Some(x) = parse_number(t) {
                push_real(out, x);
            } else {
                return false;
            }
        }
        ValueType::Boolean => match t.to_ascii_lowercase().as_str() {
            b @ ("true" | "false") => out.push_str(b),
            _ => return false,
        },
        ValueType::Date | ValueType::Timestamp => return push_stamp(ty, t, out),
    }
    true
}

/// The csv crate's read buffer, which a record's cap has to allow for.
const CSV_BUFFER: usize = 8 << 10;

/// A CSV reader over `path` whose records are capped at the line cap (see [`next_record`]).
fn csv_reader(path: &Path, limits: &Limits) -> Result<(csv::Reader<CappedReader<BufReader<File>>>, Tally)> {
    let file = File::open(path).at(path)?;
    let (capped, tally) = CappedReader::new(BufReader::with_capacity(1 << 16, file), limits.line + CSV_BUFFER);
    Ok((csv::ReaderBuilder::new().has_headers(true).buffer_capacity(CSV_BUFFER).from_reader(capped), tally))
}

/// The header of a reader from [`csv_reader`], no longer than the line cap.
fn csv_header(
    path: &Path,
    limits: &Limits,
    reader: &mut csv::Reader<CappedReader<BufReader<File>>>,
    tally: &Tally,
) -> Result<Vec<String>> {
    let header = reader.headers().map(|h| h.iter().map(str::to_owned).collect());
    // The record and its terminator (`\r\n` at most).
    if tally.tripped() || reader.position().byte() > limits.line as u64 + 2 {
        return Err(limits.line_error(path, None, None, "the header line"));
    }
    tally.mark_at(reader.position().byte());
    header.map_err(|e| csv_error(path, e))
}

/// Reads the next record (data row `row`) into `record`, failing on a record longer than the line cap or a cell
/// longer than the cell cap; false at the end.
fn next_record(
    path: &Path,
    limits: &Limits,
    names: &[String],
    (reader, tally): (&mut csv::Reader<CappedReader<BufReader<File>>>, &Tally),
    record: &mut csv::StringRecord,
    row: usize,
) -> Result<bool> {
    let start = reader.position().byte();
    let more = reader.read_record(record);
    let end = reader.position().byte();
    if tally.tripped() || end - start > limits.line as u64 + 2 {
        return Err(limits.line_error(path, Some(row), None, "the record"));
    }
    tally.mark_at(end);
    let more = more.map_err(|e| csv_error(path, e))?;
    // Only a record longer than a cell can hold one that is too long.
    if more && record.as_slice().len() > limits.cell {
        for (cell, name) in record.iter().zip(names) {
            limits.check_cell(path, Some(row), Some(name), cell.len())?;
        }
    }
    Ok(more)
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let row = e.position().map(|p| p.record() as usize).filter(|r| *r > 0);
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, io),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => Error::data(
            path,
            row,
            None,
            format!("{len} fields, but the header has {expected_len}: expected one field per column"),
        ),
        csv::ErrorKind::Utf8 { err, .. } => {
            Error::data(path, row, None, format!("field {} is not UTF-8 text", err.field() + 1))
        }
        other => Error::data(path, row, None, format!("not valid CSV: {other:?}")),
    }
}

fn export_csv(path: &Path, limits: &Limits, sink: &mut dyn RowSink, reporter: &dyn Reporter) -> Result<Vec<ValueType>> {
    let label = path.display().to_string();
    // Pass 1: the header and each column's type.
    let (mut reader, tally) = csv_reader(path, limits)?;
    let names = csv_header(path, limits, &mut reader, &tally)?;
    if names.is_empty() || (names.len() == 1 && names[0].is_empty()) {
        return Err(Error::data(path, None, None, "the file is empty: expected a header row naming the columns"));
    }
    check_names_hinted(&label, &names, "in the header")?;
    let mut types: Vec<Option<ValueType>> = vec![None; names.len()];
    let mut record = csv::StringRecord::new();
    let mut rows = 0usize;
    while next_record(path, limits, &names, (&mut reader, &tally), &mut record, rows + 1)? {
        rows += 1;
        for (ty, cell) in types.iter_mut().zip(record.iter()) {
            if let Some(t) = csv_type(cell) {
                *ty = Some(match *ty {
                    None => t,
                    Some(before) => widen(before, t).unwrap_or(ValueType::Text),
                });
            }
        }
    }
    let types: Vec<ValueType> = types.into_iter().map(|t| t.unwrap_or(ValueType::Text)).collect();
    reporter.phase(&format!("{label}: {rows} rows, {} columns; writing", names.len()));

    // Pass 2: the rows.
    let (mut reader, tally) = csv_reader(path, limits)?;
    csv_header(path, limits, &mut reader, &tally)?;
    sink.header(&names)?;
    let mut row = Row::new(names.len());
    let mut written = 0usize;
    while next_record(path, limits, &names, (&mut reader, &tally), &mut record, written + 1)? {
        written += 1;
        for (i, (ty, cell)) in types.iter().zip(record.iter()).enumerate() {
            if !write_csv_cell(*ty, cell, &mut row, i) {
                return Err(changed(path));
            }
        }
        sink.row(&row)?;
    }
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_extension() {
        assert_eq!(FileKind::from_path(Path::new("a/b.JSON")), Some(FileKind::Json));
        assert_eq!(FileKind::from_path(Path::new("b.parquet")), Some(FileKind::Parquet));
        assert_eq!(FileKind::from_path(Path::new("b.jsonl")), Some(FileKind::Ndjson));
        assert_eq!(FileKind::from_path(Path::new("b.ndjson")), Some(FileKind::Ndjson));
        assert_eq!(FileKind::from_path(Path::new("b.csv")), Some(FileKind::Csv));
        assert_eq!(FileKind::from_path(Path::new("b.xlsx")), None);
        assert_eq!(FileKind::from_path(Path::new("b")), None);
    }

    #[test]
    fn csv_cells_are_typed_and_spelt_canonically() {
        assert_eq!(csv_type(" 12 "), Some(ValueType::Integer));
        assert_eq!(csv_type("2.50"), Some(ValueType::Real));
        assert_eq!(csv_type("NA"), None);
        assert_eq!(csv_type("TRUE"), Some(ValueType::Boolean));
        assert_eq!(csv_type("2024-02-29"), Some(ValueType::Date));
        assert_eq!(csv_type("2024-02-29T10:00:00Z"), Some(ValueType::Timestamp));
        assert_eq!(csv_type("inf"), Some(ValueType::Text));
        let spell = |ty, cell| {
            let mut row = Row::new(1);
            write_csv_cell(ty, cell, &mut row, 0).then(|| row.get(0).map(str::to_owned))
        };
        assert_eq!(spell(ValueType::Real, "2.50"), Some(Some("2.5".into())));
        assert_eq!(spell(ValueType::Real, "9007199254740993"), Some(Some("9007199254740993".into())));
        assert_eq!(spell(ValueType::Boolean, "TRUE"), Some(Some("true".into())));
        assert_eq!(spell(ValueType::Integer, "null"), Some(None));
        assert_eq!(spell(ValueType::Integer, "x"), None);
    }

    #[test]
    fn types_widen_only_where_no_value_changes_meaning() {
        assert_eq!(widen(ValueType::Integer, ValueType::Real), Some(ValueType::Real));
        assert_eq!(widen(ValueType::Date, ValueType::Timestamp), Some(ValueType::Timestamp));
        assert_eq!(widen(ValueType::Date, ValueType::Text), Some(ValueType::Text));
        assert_eq!(widen(ValueType::Integer, ValueType::Text), None);
        assert_eq!(widen(ValueType::Boolean, ValueType::Integer), None);
    }
}
