//! Records read as a stream of bounded batches, for prediction on inputs larger than memory: CSV (csv crate,
//! one record at a time), NDJSON (one object per line), a JSON array (read whole: arrays are for small inputs),
//! or a single JSON object. Every cell stays text here; typing happens per batch with the training schema.

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use super::frame::Frame;
use super::schema::{column_from_text, ColumnType};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Csv,
    Ndjson,
    JsonArray,
    /// One JSON object: the single-record (interactive, service glue) case.
    JsonObject,
}

/// A batch of rows, column-major text cells.
#[derive(Debug, Clone)]
pub struct TextBatch {
    /// Data-row number (1-based) of the first row, for messages.
    pub first_row: usize,
    pub columns: Vec<TextColumn>,
    pub len: usize,
}

/// One column's cells of a batch, back to back in one string (a `String` per cell cost an allocation each,
/// a tenth of a prediction run); a missing cell (a JSON null or absent key) is told apart from an empty one.
#[derive(Debug, Clone, Default)]
pub struct TextColumn {
    text: String,
    /// Where each cell's text ends in `text`, and whether it is missing.
    cells: Vec<(usize, bool)>,
}

impl TextColumn {
    pub fn push(&mut self, cell: Option<&str>) {
        self.text.push_str(cell.unwrap_or(""));
        self.cells.push((self.text.len(), cell.is_none()));
    }

    /// Cell `row`; None when missing.
    ///
    /// # Panics
    /// If there are not more than `row` cells.
    pub fn get(&self, row: usize) -> Option<&str> {
        let (end, missing) = self.cells[row];
        let start = if row == 0 { 0 } else { self.cells[row - 1].0 };
        (!missing).then(|| &self.text[start..end])
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        let starts = std::iter::once(0).chain(self.cells.iter().map(|&(end, _)| end));
        starts.zip(&self.cells).map(|(start, &(end, missing))| (!missing).then(|| &self.text[start..end]))
    }
}

pub struct RecordStream {
    source: PathBuf,
    header: Vec<String>,
    format: InputFormat,
    inner: Inner,
    next_row: usize,
    /// Keys seen in JSON records that are not in the header (first record's keys): ignored, counted.
    pub ignored_keys: usize,
}

enum Inner {
    Csv(csv::Reader<Box<dyn Read>>),
    Lines(Box<dyn BufRead>, Option<serde_json::Map<String, serde_json::Value>>),
    Objects(std::vec::IntoIter<serde_json::Map<String, serde_json::Value>>),
}

impl RecordStream {
    /// Opens `reader`, named `source` in messages. `format` None sniffs: `{` → NDJSON or one object, `[` → JSON
    /// array, else CSV.
    pub fn open(
        source: &Path,
        mut reader: Box<dyn BufRead>,
        format: Option<InputFormat>,
        delimiter: u8,
    ) -> Result<Self> {
        let io = |e: std::io::Error| Error::io(source, e);
        let format = match format {
            Some(f) => f,
            None => {
                let peek = loop {
                    let buf = reader.fill_buf().map_err(io)?;
                    match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                        Some(i) => break Some(buf[i]),
                        None if buf.is_empty() => break None,
                        None => {
                            let n = buf.len();
                            reader.consume(n);
                        }
                    }
                };
                match peek {
                    Some(b'{') => InputFormat::Ndjson,
                    Some(b'[') => InputFormat::JsonArray,
                    _ => InputFormat::Csv,
                }
            }
        };
        let empty =
            || Error::data(source, None, None, "the input is empty: expected CSV with a header, NDJSON or JSON");
        let (header, inner) = match format {
            InputFormat::Csv => {
                let mut csv =
                    csv::ReaderBuilder::new().delimiter(delimiter).from_reader(Box::new(reader) as Box<dyn Read>);
                let header: Vec<String> = csv
                    .headers()
                    .map_err(|e| Error::data(source, None, None, format!("cannot read the CSV header: {e}")))?
                    .iter()
                    .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
                    .collect();
                if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
                    return Err(empty());
                }
                (header, Inner::Csv(csv))
            }
            InputFormat::Ndjson | InputFormat::JsonObject => {
                let mut lines = reader;
                let first = next_object(source, &mut lines, 1)?.ok_or_else(empty)?;
                (first.keys().cloned().collect(), Inner::Lines(lines, Some(first)))
            }
            InputFormat::JsonArray => {
                let mut text = String::new();
                reader.read_to_string(&mut text).map_err(io)?;
                let values: Vec<serde_json::Value> = serde_json::from_str(&text)
                    .map_err(|e| Error::data(source, None, None, format!("is not a JSON array of objects: {e}")))?;
                let mut objects = Vec::with_capacity(values.len());
                for (i, v) in values.into_iter().enumerate() {
                    match v {
                        serde_json::Value::Object(m) => objects.push(m),
                        other => {
                            return Err(Error::data(
                                source,
                                Some(i + 1),
                                None,
                                format!("expected a JSON object, found {other}"),
                            ))
                        }
                    }
                }
                let header = objects.first().ok_or_else(empty)?.keys().cloned().collect();
                (header, Inner::Objects(objects.into_iter()))
            }
        };
        Ok(RecordStream { source: source.to_path_buf(), header, format, inner, next_row: 1, ignored_keys: 0 })
    }

    pub fn format(&self) -> InputFormat {
        self.format
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The next batch of at most `max_rows` rows, or None at the end.
    pub fn next_batch(&mut self, max_rows: usize) -> Result<Option<TextBatch>> {
        let width = self.header.len();
        let mut columns: Vec<TextColumn> = vec![TextColumn::default(); width];
        let first_row = self.next_row;
        let mut len = 0;
        // One record reused for every row: a new one per row cost an allocation each.
        let mut record = csv::StringRecord::new();
        while len < max_rows {
            let row = first_row + len;
            let got = match &mut self.inner {
                Inner::Csv(csv) => {
                    let more = csv.read_record(&mut record).map_err(|e| {
                        let msg = match e.kind() {
                            csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
                            csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!(
                                "has {len} fields but the header has {expected_len}; every row needs one field per column"
                            ),
                            _ => format!("cannot be read as CSV: {e}"),
                        };
                        Error::data(&self.source, Some(row), None, msg)
                    })?;
                    if more {
                        for (col, cell) in columns.iter_mut().zip(record.iter()) {
                            col.push(Some(cell));
                        }
                    }
                    more
                }
                Inner::Lines(lines, pending) => {
                    let object = match pending.take() {
                        Some(o) => Some(o),
                        None => next_object(&self.source, lines, row)?,
                    };
                    object.is_some_and(|o| push_object(&self.header, &mut columns, o, &mut self.ignored_keys))
                }
                Inner::Objects(objects) => {
                    objects.next().is_some_and(|o| push_object(&self.header, &mut columns, o, &mut self.ignored_keys))
                }
            };
            if !got {
                break;
            }
            len += 1;
        }
        self.next_row += len;
        Ok((len > 0).then_some(TextBatch { first_row, columns, len }))
    }
}

/// Reads the next non-blank line as a JSON object.
fn next_object(
    source: &Path,
    lines: &mut Box<dyn BufRead>,
    row: usize,
) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).map_err(|e| Error::io(source, e))? == 0 {
            return Ok(None);
        }
        if !line.trim().is_empty() {
            break;
        }
    }
    // A pretty-printed object spans lines: keep reading while the text is an unfinished JSON value.
    let parsed = loop {
        match serde_json::from_str::<serde_json::Value>(&line) {
            Err(e) if e.is_eof() => {
                if lines.read_line(&mut line).map_err(|e| Error::io(source, e))? == 0 {
                    break serde_json::from_str::<serde_json::Value>(&line);
                }
            }
            other => break other,
        }
    };
    match parsed {
        Ok(serde_json::Value::Object(m)) => Ok(Some(m)),
        Ok(other) => Err(Error::data(source, Some(row), None, format!("expected a JSON object, found {other}"))),
        Err(e) => Err(Error::data(source, Some(row), None, format!("is not valid JSON: {e}"))),
    }
}

fn push_object(
    header: &[String],
    columns: &mut [TextColumn],
    mut object: serde_json::Map<String, serde_json::Value>,
    ignored: &mut usize,
) -> bool {
    for (name, col) in header.iter().zip(columns.iter_mut()) {
        col.push(object.remove(name).and_then(json_cell).as_deref());
    }
    *ignored += object.len();
    true
}

fn json_cell(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

impl TextBatch {
    /// Types the batch: columns in `types` get that type (a cell that does not fit is an error naming the row and
    /// column), every other column stays text.
    pub fn to_frame(&self, source: &Path, header: &[String], types: &HashMap<String, ColumnType>) -> Result<Frame> {
        let mut columns = Vec::with_capacity(header.len());
        for (name, cells) in header.iter().zip(&self.columns) {
            let declared = types.get(name).copied().unwrap_or(ColumnType::Categorical);
            columns.push(column_from_text(source, name, || cells.iter(), Some(declared), self.first_row)?);
        }
        Ok(Frame { source: source.to_path_buf(), n_rows: self.len, columns })
    }
}
