//! Records read as a stream of bounded batches, for prediction on inputs larger than memory: CSV, NDJSON (one
//! object per line), a JSON array (read whole: arrays are for small inputs), or a single JSON object. Every
//! cell stays text here; typing happens per batch with the training schema.
//!
//! CSV is cut into batches of whole lines while it has no quotes, and each batch is split into fields where it
//! is predicted ([`Batch::into_text`]), on the thread pool: reading record by record on the one reading thread
//! was an eighth of a 100k-row prediction, and the part that did not run in parallel. Without quotes, fields
//! are split by hand; from the first quote on (a quoted field may hold a line break) the csv crate reads record
//! by record.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::frame::Frame;
use super::limits::{read_line_capped, CappedReader, Limits, Tally, TooLong};
use super::schema::{column_from_text, CellRules, ColumnType};
use super::source::file::{each_array_element, Element, Place};
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

/// One column's cells of a batch: spans of a text. A CSV batch's columns all share the batch's own bytes
/// (cut, not copied: copying every cell was a tenth of a 100k-row prediction's instructions); a column built
/// cell by cell (JSON, quoted CSV) owns its text, cells back to back. A missing cell (a JSON null or absent
/// key) is told apart from an empty one.
#[derive(Debug, Clone, Default)]
pub struct TextColumn {
    text: Arc<String>,
    /// Where each cell is in `text`; [`MISSING_SPAN`] if missing.
    cells: Vec<(usize, usize)>,
}

/// The span of a missing cell.
const MISSING_SPAN: (usize, usize) = (usize::MAX, usize::MAX);

impl TextColumn {
    /// Appends a cell to a column that owns its text.
    pub fn push(&mut self, cell: Option<&str>) {
        // The column's own text (a clone only if it were shared, which a column built by pushes is not).
        let text = Arc::make_mut(&mut self.text);
        self.cells.push(match cell {
            Some(cell) => {
                text.push_str(cell);
                (text.len() - cell.len(), text.len())
            }
            None => MISSING_SPAN,
        });
    }

    /// Cell `row`; None when missing.
    ///
    /// # Panics
    /// If there are not more than `row` cells.
    pub fn get(&self, row: usize) -> Option<&str> {
        self.cell(self.cells[row])
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        self.cells.iter().map(|&span| self.cell(span))
    }

    fn cell(&self, (start, end): (usize, usize)) -> Option<&str> {
        (start != MISSING_SPAN.0).then(|| &self.text[start..end])
    }
}

pub struct RecordStream {
    source: PathBuf,
    header: Vec<String>,
    format: InputFormat,
    inner: Inner,
    limits: Limits,
    next_row: usize,
    /// Keys seen in JSON records that are not in the header (first record's keys): ignored, counted.
    pub ignored_keys: usize,
}

enum Inner {
    /// CSV without quotes so far: batches are cut as raw bytes, and parsed where they are predicted.
    CsvChunks(CsvChunks),
    /// CSV with quotes, read record by record (a quoted field may hold a line break, so lines are not rows),
    /// each capped.
    Csv(csv::Reader<CappedReader<Box<dyn Read>>>, Tally),
    Lines(Box<dyn BufRead>, Option<serde_json::Map<String, serde_json::Value>>),
    /// A JSON array, element by element, and the first element (read for the header).
    Array(ArrayElements, Option<serde_json::Map<String, serde_json::Value>>),
    Objects(std::vec::IntoIter<serde_json::Map<String, serde_json::Value>>),
}

type Object = serde_json::Map<String, serde_json::Value>;

/// The objects of a JSON array, read element by element by export's streaming reader
/// ([`each_array_element`]) on a thread of its own and handed over in groups through a bounded channel: that
/// reader pushes elements to a callback, a batch pulls them, and a thread between the two keeps memory to a few
/// groups of elements instead of the array (a 500 MB array took 2.16 GB read whole).
struct ArrayElements {
    receiver: std::sync::mpsc::Receiver<Result<Vec<Object>>>,
    group: std::vec::IntoIter<Object>,
    source: PathBuf,
    done: bool,
}

/// Elements per message, and messages waiting in the channel.
const ARRAY_GROUP: usize = 256;
const ARRAY_GROUPS_AHEAD: usize = 4;

impl ArrayElements {
    fn start(source: &Path, reader: Box<dyn BufRead + Send>, limits: Limits) -> Self {
        let (sender, receiver) = std::sync::mpsc::sync_channel(ARRAY_GROUPS_AHEAD);
        let path = source.to_path_buf();
        // The thread ends at the end of the array, at an error, or when the stream is dropped (its next send
        // fails); it is not joined, as it may be waiting for input that never comes.
        std::thread::spawn(move || {
            let mut group = Vec::with_capacity(ARRAY_GROUP);
            let mut each = |place: Place, element: Element| -> Result<()> {
                let object = match element {
                    Element::Object(fields) => fields.into_iter().collect(),
                    Element::Other(what) => {
                        let msg = format!("expected a JSON object, found {what}");
                        return Err(Error::data(&path, Some(place.row), None, msg));
                    }
                };
                group.push(object);
                if group.len() == ARRAY_GROUP {
                    let full = std::mem::replace(&mut group, Vec::with_capacity(ARRAY_GROUP));
                    sender.send(Ok(full)).map_err(|_| Error::data(&path, None, None, "the reader stopped"))?;
                }
                Ok(())
            };
            let result = each_array_element(&path, reader, &limits, &mut each);
            let last = result.map(|_| std::mem::take(&mut group));
            // An error here means the stream is gone, and nobody is waiting for the rest.
            let _ = sender.send(last);
            let _ = sender.send(Ok(Vec::new()));
        });
        ArrayElements { receiver, group: Vec::new().into_iter(), source: source.to_path_buf(), done: false }
    }

    /// The next object; None after the last.
    fn next(&mut self) -> Result<Option<Object>> {
        loop {
            if let Some(object) = self.group.next() {
                return Ok(Some(object));
            }
            if self.done {
                return Ok(None);
            }
            match self.receiver.recv() {
                // The empty group is the end.
                Ok(Ok(group)) if group.is_empty() => self.done = true,
                Ok(Ok(group)) => self.group = group.into_iter(),
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(Error::data(&self.source, None, None, "the JSON reader stopped unexpectedly"));
                }
            }
        }
    }
}

/// The csv crate's read buffer, which a record's cap has to allow for.
const CSV_BUFFER: usize = 8 << 10;

/// The first byte of `reader` that is not white space (consumed up to it, not past it), None at the end.
fn first_byte(source: &Path, reader: &mut Box<dyn BufRead + Send>) -> Result<Option<u8>> {
    loop {
        let buf = reader.fill_buf().map_err(|e| Error::io(source, e))?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => return Ok(Some(buf[i])),
            None if buf.is_empty() => return Ok(None),
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

impl RecordStream {
    /// Opens `reader`, named `source` in messages, with the caps of [`Limits::from_env`]. `format` None sniffs:
    /// `{` → NDJSON or one object, `[` → JSON array, else CSV; `JsonArray` (a .json file) that opens with `{` is
    /// one object.
    pub fn open(
        source: &Path,
        reader: Box<dyn BufRead + Send>,
        format: Option<InputFormat>,
        delimiter: u8,
    ) -> Result<Self> {
        Self::open_with_limits(source, reader, format, delimiter, Limits::from_env()?)
    }

    /// [`RecordStream::open`] with caps of the caller's: a line, record or cell longer than they allow is an error
    /// naming its row (and its column where it is known).
    pub fn open_with_limits(
        source: &Path,
        mut reader: Box<dyn BufRead + Send>,
        format: Option<InputFormat>,
        delimiter: u8,
        limits: Limits,
    ) -> Result<Self> {
        let format = match format {
            // A .json file holding one object is one record, as on stdin.
            Some(InputFormat::JsonArray) => match first_byte(source, &mut reader)? {
                Some(b'{') => InputFormat::JsonObject,
                _ => InputFormat::JsonArray,
            },
            Some(f) => f,
            None => match first_byte(source, &mut reader)? {
                Some(b'{') => InputFormat::Ndjson,
                Some(b'[') => InputFormat::JsonArray,
                _ => InputFormat::Csv,
            },
        };
        let empty =
            || Error::data(source, None, None, "the input is empty: expected CSV with a header, NDJSON or JSON");
        let (header, inner) = match format {
            InputFormat::Csv => {
                // The csv crate reads the header (it may be quoted) and reads ahead; the bytes it read past the
                // header are kept from the recording and become the start of the first batch.
                let recording = Recording { inner: reader, seen: Vec::new(), cap: limits.line + CSV_BUFFER };
                let mut csv =
                    csv::ReaderBuilder::new().delimiter(delimiter).buffer_capacity(CSV_BUFFER).from_reader(recording);
                let header = csv.headers().map(|h| {
                    h.iter().map(|h| h.trim_start_matches('\u{feff}').trim().to_owned()).collect::<Vec<String>>()
                });
                // The header and its terminator (`\r\n` at most).
                let header_end = csv.position().byte();
                if csv.get_ref().seen.len() > limits.line + CSV_BUFFER || header_end > limits.line as u64 + 2 {
                    return Err(limits.line_error(source, None, None, "the header line"));
                }
                let header =
                    header.map_err(|e| Error::data(source, None, None, format!("cannot read the CSV header: {e}")))?;
                if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
                    return Err(empty());
                }
                let header_end = usize::try_from(header_end).unwrap_or(usize::MAX);
                let Recording { inner, seen, .. } = csv.into_inner();
                let pending = seen.get(header_end..).unwrap_or_default().to_vec();
                (header, Inner::CsvChunks(CsvChunks { reader: inner, pending, delimiter, limits }))
            }
            InputFormat::Ndjson | InputFormat::JsonObject => {
                let mut lines: Box<dyn BufRead> = reader;
                let first = next_object(source, &mut lines, 1, &limits)?.ok_or_else(empty)?;
                (first.keys().cloned().collect(), Inner::Lines(lines, Some(first)))
            }
            InputFormat::JsonArray => {
                let mut elements = ArrayElements::start(source, reader, limits);
                let first = elements.next()?.ok_or_else(empty)?;
                (first.keys().cloned().collect(), Inner::Array(elements, Some(first)))
            }
        };
        let source = source.to_path_buf();
        Ok(RecordStream { source, header, format, inner, limits, next_row: 1, ignored_keys: 0 })
    }

    /// Records already parsed as JSON objects (a request body): the header is the first object's keys.
    pub fn from_objects(source: &Path, objects: Vec<serde_json::Map<String, serde_json::Value>>) -> Result<Self> {
        let header: Vec<String> = objects
            .first()
            .ok_or_else(|| Error::data(source, None, None, "holds no records"))?
            .keys()
            .cloned()
            .collect();
        let inner = Inner::Objects(objects.into_iter());
        let format = InputFormat::JsonArray;
        let (source, limits) = (source.to_path_buf(), Limits::from_env()?);
        Ok(RecordStream { source, header, format, inner, limits, next_row: 1, ignored_keys: 0 })
    }

    pub fn format(&self) -> InputFormat {
        self.format
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The next batch of at most `max_rows` rows, or None at the end.
    pub fn next_batch(&mut self, max_rows: usize) -> Result<Option<Batch>> {
        let first_row = self.next_row;
        let width = self.header.len();
        let (source, limits) = (&self.source, &self.limits);
        let io = |e: std::io::Error| Error::io(source, e);
        let objects = Objects { source, header: &self.header, limits, first_row, max_rows };
        let batch = match &mut self.inner {
            Inner::CsvChunks(chunks) => match chunks.next_chunk(max_rows).map_err(io)? {
                Chunk::Rows(bytes, rows) => {
                    Some(Batch::Csv(CsvBatch { bytes, rows, first_row, delimiter: chunks.delimiter, width }))
                }
                Chunk::End => None,
                Chunk::Overlong { row, column, cell } => {
                    let (row, column) = (Some(first_row + row), self.header.get(column).map(String::as_str));
                    return Err(match cell {
                        Some(len) => limits.cell_error(source, row, column, len),
                        None => limits.line_error(source, row, column, "the line"),
                    });
                }
                Chunk::Quoted(bytes) => {
                    // From here on, record by record: the bytes not yet returned, then the rest of the input.
                    let rest: Box<dyn Read> =
                        Box::new(std::io::Cursor::new(bytes).chain(std::mem::replace(&mut chunks.reader, exhausted())));
                    let (rest, tally) = CappedReader::new(rest, limits.line + CSV_BUFFER);
                    let csv = csv::ReaderBuilder::new()
                        .delimiter(chunks.delimiter)
                        .has_headers(false)
                        .flexible(true)
                        .buffer_capacity(CSV_BUFFER)
                        .from_reader(rest);
                    self.inner = Inner::Csv(csv, tally);
                    return self.next_batch(max_rows);
                }
            },
            Inner::Csv(csv, tally) => {
                let caps = Some((&*tally, limits, self.header.as_slice()));
                let text = read_records(csv, source, width, first_row, max_rows, caps)?;
                (text.len > 0).then_some(Batch::Text(text))
            }
            Inner::Lines(lines, pending) => {
                let next = |row| match pending.take() {
                    Some(object) => Ok(Some(object)),
                    None => next_object(source, lines, row, limits),
                };
                objects.read(&mut self.ignored_keys, next)?
            }
            Inner::Array(elements, pending) => {
                let next = |_| match pending.take() {
                    Some(object) => Ok(Some(object)),
                    None => elements.next(),
                };
                objects.read(&mut self.ignored_keys, next)?
            }
            Inner::Objects(list) => objects.read(&mut self.ignored_keys, |_| Ok(list.next()))?,
        };
        self.next_row += batch.as_ref().map_or(0, Batch::rows);
        Ok(batch)
    }
}

/// What a batch of JSON objects is read with.
struct Objects<'a> {
    source: &'a Path,
    header: &'a [String],
    limits: &'a Limits,
    first_row: usize,
    max_rows: usize,
}

impl Objects<'_> {
    /// Up to `max_rows` JSON objects from `next` (given the row number, for its errors) as a text batch.
    fn read(
        &self,
        ignored_keys: &mut usize,
        mut next: impl FnMut(usize) -> Result<Option<Object>>,
    ) -> Result<Option<Batch>> {
        let mut columns: Vec<TextColumn> = vec![TextColumn::default(); self.header.len()];
        let mut len = 0;
        while len < self.max_rows {
            let row = self.first_row + len;
            let Some(mut object) = next(row)? else { break };
            for (name, col) in self.header.iter().zip(columns.iter_mut()) {
                let cell = object.remove(name).and_then(json_cell);
                if let Some(cell) = &cell {
                    self.limits.check_cell(self.source, Some(row), Some(name), cell.len())?;
                }
                col.push(cell.as_deref());
            }
            *ignored_keys += object.len();
            len += 1;
        }
        Ok((len > 0).then_some(Batch::Text(TextBatch { first_row: self.first_row, columns, len })))
    }
}

/// An exhausted reader, to take the place of one moved out.
fn exhausted() -> Box<dyn BufRead> {
    Box::new(std::io::empty())
}

/// A batch as the stream hands it over: text cells, or CSV bytes whose parsing is left to whoever predicts
/// the batch, so that parsing runs on the thread pool rather than on the one thread that reads.
pub enum Batch {
    Text(TextBatch),
    Csv(CsvBatch),
}

/// Whole CSV records without quotes: `rows` of them, the first being data row `first_row`.
pub struct CsvBatch {
    bytes: Vec<u8>,
    rows: usize,
    first_row: usize,
    delimiter: u8,
    /// Fields per record: the header's.
    width: usize,
}

impl Batch {
    /// Rows in the batch.
    pub fn rows(&self) -> usize {
        match self {
            Batch::Text(text) => text.len,
            Batch::Csv(csv) => csv.rows,
        }
    }

    /// The batch as text cells; `source` names the input in errors (a row with the wrong number of fields,
    /// text that is not UTF-8).
    pub fn into_text(self, source: &Path) -> Result<TextBatch> {
        match self {
            Batch::Text(text) => Ok(text),
            Batch::Csv(CsvBatch { bytes, rows, first_row, delimiter, width }) => {
                // Invalid UTF-8 (or a delimiter that is not ASCII) takes the csv crate, for its row and message.
                let bytes = match String::from_utf8(bytes) {
                    Ok(text) if delimiter.is_ascii() => {
                        let text = split_quote_free(Arc::new(text), source, delimiter, width, first_row, rows)?;
                        debug_assert_eq!(text.len, rows, "the chunker and the splitter count records alike");
                        return Ok(text);
                    }
                    Ok(text) => text.into_bytes(),
                    Err(e) => e.into_bytes(),
                };
                let mut csv = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(&bytes[..]);
                // The chunker has capped these records' lines and cells.
                let text = read_records(&mut csv, source, width, first_row, rows, None)?;
                debug_assert_eq!(text.len, rows, "the chunker and the csv crate count records alike");
                Ok(text)
            }
        }
    }
}

/// Up to `max_rows` records of `csv` as text columns, each checked to have `width` fields, and with `caps` (the
/// tally of the reader under `csv`, the caps, the header) no longer than the line cap, their cells no longer
/// than the cell cap.
fn read_records<R: Read>(
    csv: &mut csv::Reader<R>,
    source: &Path,
    width: usize,
    first_row: usize,
    max_rows: usize,
    caps: Option<(&Tally, &Limits, &[String])>,
) -> Result<TextBatch> {
    let mut columns: Vec<TextColumn> = vec![TextColumn::default(); width];
    // One record reused for every row: a new one per row cost an allocation each.
    let mut record = csv::StringRecord::new();
    let mut len = 0;
    while len < max_rows {
        let row = first_row + len;
        let start = csv.position().byte();
        let more = csv.read_record(&mut record);
        if let Some((tally, limits, header)) = caps {
            let end = csv.position().byte();
            // The record and its terminator (`\r\n` at most).
            if tally.tripped() || end - start > limits.line as u64 + 2 {
                return Err(limits.line_error(source, Some(row), None, "the record"));
            }
            tally.mark_at(end);
            // Only a record longer than a cell can hold one that is too long.
            if record.as_slice().len() > limits.cell {
                for (cell, name) in record.iter().zip(header) {
                    limits.check_cell(source, Some(row), Some(name), cell.len())?;
                }
            }
        }
        let more = more.map_err(|e| {
            let msg = match e.kind() {
                csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
                _ => format!("cannot be read as CSV: {e}"),
            };
            Error::data(source, Some(row), None, msg)
        })?;
        if !more {
            break;
        }
        if record.len() != width {
            return Err(wrong_width(source, row, record.len(), width));
        }
        for (col, cell) in columns.iter_mut().zip(record.iter()) {
            col.push(Some(cell));
        }
        len += 1;
    }
    Ok(TextBatch { first_row, columns, len })
}

/// The `rows` records of quote-free CSV `text` as text columns, each checked to have `width` fields. Without
/// quotes, a record is a non-empty run of bytes between line terminators (`\n`, `\r` or both, as the csv
/// crate reads them) and its fields are what the delimiter separates, so one scan for the three bytes splits
/// the batch into spans of its text. On the reference 100k rows: 80 M instructions, against 218 M for the
/// csv crate and copied cells.
fn split_quote_free(
    text: Arc<String>,
    source: &Path,
    delimiter: u8,
    width: usize,
    first_row: usize,
    rows: usize,
) -> Result<TextBatch> {
    let mut columns: Vec<TextColumn> =
        (0..width).map(|_| TextColumn { text: Arc::clone(&text), cells: Vec::with_capacity(rows) }).collect();
    let (mut len, mut field, mut start) = (0, 0, 0);
    let bytes = text.as_bytes();
    // The three bytes are ASCII, so every cut is at a character boundary. Returns false at a record with the
    // wrong number of fields (`len` is its index), which ends the scan.
    let mut cut = |end: usize| -> bool {
        let at_delimiter = bytes.get(end) == Some(&delimiter);
        // A terminator right after another one (or at the start) ends an empty line, which is no record.
        if !at_delimiter && field == 0 && end == start {
            start = end + 1;
            return true;
        }
        if let Some(column) = columns.get_mut(field) {
            column.cells.push((start, end));
        }
        field += 1;
        start = end + 1;
        if !at_delimiter {
            if field != width {
                return false;
            }
            (len, field) = (len + 1, 0);
        }
        true
    };
    if !(for_each_position_of([delimiter, b'\n', b'\r'], bytes, &mut cut) && cut(bytes.len())) {
        return Err(wrong_width(source, first_row + len, field, width));
    }
    Ok(TextBatch { first_row, columns, len })
}

/// Calls `f` with the position of every byte of `bytes` that is one of `targets`, in order, while it returns
/// true; returns whether it always did. Eight bytes at a time, in one `u64` ([`zero_bytes`]): a byte at a
/// time, or memchr3 from match to match, cost several times the instructions on the short fields of a CSV.
#[inline]
fn for_each_position_of(targets: [u8; 3], bytes: &[u8], mut f: impl FnMut(usize) -> bool) -> bool {
    let broadcast = targets.map(|t| u64::from_ne_bytes([t; 8]));
    let (words, tail) = bytes.as_chunks::<8>();
    for (i, word) in words.iter().enumerate() {
        let word = u64::from_le_bytes(*word);
        // Byte k of the word is bits 8k..8k+8: a match sets bit 8k + 7.
        let mut found = broadcast.iter().fold(0, |found, &t| found | zero_bytes(word ^ t));
        while found != 0 {
            if !f(i * 8 + found.trailing_zeros() as usize / 8) {
                return false;
            }
            found &= found - 1;
        }
    }
    let tail_start = words.len() * 8;
    tail.iter().enumerate().filter(|&(_, byte)| targets.contains(byte)).all(|(offset, _)| f(tail_start + offset))
}

/// The top bit of each byte of `word` that is zero, and no other bit. Exact, unlike the shorter
/// `(w - 0x01…) & !w & 0x80…`, which can also flag a 0x01 byte above a zero one: the low seven bits of a byte
/// plus 0x7f reach its top bit unless they are all zero, and carry nothing into the next byte.
fn zero_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((word & LOW7) + LOW7) | word | LOW7)
}

/// A record's wrong field count, as an error naming its row.
fn wrong_width(source: &Path, row: usize, fields: usize, width: usize) -> Error {
    let msg = format!("has {fields} fields but the header has {width}; every row needs one field per column");
    Error::data(source, Some(row), None, msg)
}

/// Reads through to `inner`, keeping a copy of what it read, up to `cap` bytes (and one read more).
struct Recording {
    inner: Box<dyn BufRead>,
    seen: Vec<u8>,
    cap: usize,
}

impl Read for Recording {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.seen.len() > self.cap {
            return Err(std::io::Error::other("the header is longer than the limit"));
        }
        let n = self.inner.read(buf)?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Cuts CSV input without quotes into batches of whole records, by counting lines: without quotes a record is
/// exactly a non-empty line, `\r`, `\n` and `\r\n` ending it and empty lines skipped, as the csv crate reads
/// it. The first quote hands the rest over to the csv crate ([`Chunk::Quoted`]).
struct CsvChunks {
    reader: Box<dyn BufRead>,
    /// Bytes read but not yet part of a batch.
    pending: Vec<u8>,
    delimiter: u8,
    limits: Limits,
}

enum Chunk {
    /// Whole records, and how many.
    Rows(Vec<u8>, usize),
    /// The record after `row` records of the chunk is longer than the line cap (`cell` None; `column` is where
    /// it passed the cap), or its field `column` is longer than the cell cap (`cell` its length).
    Overlong {
        row: usize,
        column: usize,
        cell: Option<usize>,
    },
    /// Every byte not yet returned, up to where a quote appeared (the rest is still in the reader).
    Quoted(Vec<u8>),
    End,
}

impl CsvChunks {
    /// The bytes of the next `max_rows` records (fewer at the end of the input).
    fn next_chunk(&mut self, max_rows: usize) -> std::io::Result<Chunk> {
        let mut bytes = std::mem::take(&mut self.pending);
        let (mut scanned, mut rows, mut in_line) = (0, 0, false);
        // Where the line being scanned starts, to measure it against the caps.
        let mut line_start = 0;
        loop {
            if memchr::memchr(b'"', &bytes[scanned..]).is_some() {
                return Ok(Chunk::Quoted(bytes));
            }
            let start = scanned;
            let mut full = false;
            for at in memchr::memchr2_iter(b'\n', b'\r', &bytes[start..]).map(|i| i + start) {
                // A line no longer than a cell can hold is within both caps: one comparison for nearly all.
                if at - line_start > self.limits.cell {
                    if let Some(overlong) = self.overlong(&bytes[line_start..at], rows) {
                        return Ok(overlong);
                    }
                }
                line_start = at + 1;
                // Content since the last terminator makes this one end a record.
                in_line |= at > scanned;
                scanned = at + 1;
                if std::mem::take(&mut in_line) {
                    rows += 1;
                    if rows == max_rows {
                        full = true;
                        break;
                    }
                }
            }
            if full {
                self.pending = bytes.split_off(scanned);
                return Ok(Chunk::Rows(bytes, rows));
            }
            // The line not yet ended is checked as it grows, so that an endless one stops at the cap.
            if bytes.len() - line_start > self.limits.line {
                let line = &bytes[line_start..];
                let column = memchr::memchr_iter(self.delimiter, &line[..self.limits.line]).count();
                return Ok(Chunk::Overlong { row: rows, column, cell: None });
            }
            in_line |= bytes.len() > scanned;
            scanned = bytes.len();
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                // The last record may have no terminator.
                rows += usize::from(in_line);
                return Ok(if rows == 0 { Chunk::End } else { Chunk::Rows(bytes, rows) });
            }
            bytes.extend_from_slice(buf);
            let n = buf.len();
            self.reader.consume(n);
        }
    }
}

impl CsvChunks {
    /// The error, if any, of a `line` (without its terminator) longer than a cell can be: the line is too long,
    /// or one of its fields is. `rows` records of the chunk come before it.
    fn overlong(&self, line: &[u8], rows: usize) -> Option<Chunk> {
        if line.len() > self.limits.line {
            let column = memchr::memchr_iter(self.delimiter, &line[..self.limits.line]).count();
            return Some(Chunk::Overlong { row: rows, column, cell: None });
        }
        let mut start = 0;
        let ends = memchr::memchr_iter(self.delimiter, line).chain(std::iter::once(line.len()));
        for (column, end) in ends.enumerate() {
            if end - start > self.limits.cell {
                return Some(Chunk::Overlong { row: rows, column, cell: Some(end - start) });
            }
            start = end + 1;
        }
        None
    }
}

/// Reads the next non-blank line as a JSON object (data row `row`); an object longer than the line cap is an
/// error, found when the cap is passed.
fn next_object(source: &Path, lines: &mut Box<dyn BufRead>, row: usize, limits: &Limits) -> Result<Option<Object>> {
    let too_long = || limits.line_error(source, Some(row), None, "the JSON object");
    let mut line = Vec::new();
    // Reads a line onto `line`, within what is left of the cap; false at the end of the input.
    let mut read = |line: &mut Vec<u8>| -> Result<bool> {
        let room = limits.line.saturating_sub(line.len());
        match read_line_capped(&mut **lines, line, room).map_err(|e| Error::io(source, e))? {
            Ok(n) => Ok(n > 0),
            Err(TooLong) => Err(too_long()),
        }
    };
    loop {
        line.clear();
        if !read(&mut line)? {
            return Ok(None);
        }
        if !line.trim_ascii().is_empty() {
            break;
        }
    }
    // The text checked as UTF-8 at once and parsed as text is cheaper than serde checking string by string
    // (6% of the CPU time of an NDJSON prediction of 600,000 rows); serde still says where invalid bytes are.
    let parse = |line: &[u8]| match std::str::from_utf8(line) {
        Ok(text) => serde_json::from_str::<serde_json::Value>(text),
        Err(_) => serde_json::from_slice::<serde_json::Value>(line),
    };
    // A pretty-printed object spans lines: keep reading while the text is an unfinished JSON value.
    let parsed = loop {
        match parse(&line) {
            Err(e) if e.is_eof() => {
                if !read(&mut line)? {
                    break parse(&line);
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

fn json_cell(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

impl TextBatch {
    /// Types the batch: columns in `types` get that type (a cell that does not fit is an error naming the row and
    /// column, unless the column is in `stray_as_missing`, where it is read as missing and counted), every other
    /// column stays text; `na_values` are more missing-value tokens. Returns the frame and those counts.
    pub fn to_frame(
        &self,
        source: &Path,
        header: &[String],
        types: &HashMap<String, ColumnType>,
        na_values: &[String],
        stray_as_missing: &[String],
    ) -> Result<(Frame, BTreeMap<String, usize>)> {
        let mut columns = Vec::with_capacity(header.len());
        let mut stray = BTreeMap::new();
        for (name, cells) in header.iter().zip(&self.columns) {
            let declared = types.get(name).copied().unwrap_or(ColumnType::Categorical);
            let rules = CellRules { na_values, stray_as_missing: stray_as_missing.iter().any(|c| c == name) };
            let (column, n) = column_from_text(source, name, || cells.iter(), Some(declared), self.first_row, rules)?;
            if n > 0 {
                stray.insert(name.clone(), n);
            }
            columns.push(column);
        }
        Ok((Frame { source: source.to_path_buf(), n_rows: self.len, columns }, stray))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of `input` read as CSV in batches of `batch` rows: (first row, cells) per row.
    fn rows(input: &str, batch: usize) -> Result<Vec<(usize, Vec<Option<String>>)>> {
        read_all(input, InputFormat::Csv, batch, Limits::default())
    }

    /// Every row of `input` read as `format` with `limits`, in batches of `batch` rows.
    fn read_all(
        input: &str,
        format: InputFormat,
        batch: usize,
        limits: Limits,
    ) -> Result<Vec<(usize, Vec<Option<String>>)>> {
        let reader: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(input.as_bytes().to_vec()));
        let source = Path::new("t.csv");
        let mut stream = RecordStream::open_with_limits(source, reader, Some(format), b',', limits)?;
        let mut out = Vec::new();
        while let Some(batch) = stream.next_batch(batch)? {
            let rows = batch.rows();
            let text = batch.into_text(source)?;
            assert_eq!(text.len, rows);
            for row in 0..text.len {
                let cells = text.columns.iter().map(|c| c.get(row).map(str::to_owned)).collect();
                out.push((text.first_row + row, cells));
            }
        }
        Ok(out)
    }

    /// The same rows read by the csv crate in one pass.
    fn expected(input: &str) -> Vec<(usize, Vec<Option<String>>)> {
        let mut csv = csv::Reader::from_reader(input.as_bytes());
        csv.records()
            .enumerate()
            .map(|(i, r)| (i + 1, r.unwrap().iter().map(|c| Some(c.to_owned())).collect()))
            .collect()
    }

    #[test]
    fn line_batches_read_as_the_csv_crate_does() -> Result<()> {
        let inputs = [
            "a,b\n1,2\n3,4\n5,6\n",
            "a,b\n,\n\n,\r\n1,\n\n",
            "a,b\n\n\r\n,x",
            "a,b\r\n1,2\r\n3,4\r\n\r\n5,6",
            "a,b\r1,2\r\r3,4\n\n\n5,6\n\n",
            "\u{feff}a,b\n1,\n,4\n 5,6 \n",
            "\"a\",\"b\"\n1,2\n3,4\n",
            // A quote after two rows: the rest is read record by record, a line break inside a field included.
            "a,b\n1,2\n3,4\n\"x\ny\",5\n7,\"8\"\"\"\n9,10\n",
        ];
        for input in inputs {
            for batch in [1, 2, 3, 100] {
                assert_eq!(rows(input, batch)?, expected(input), "{input:?} in batches of {batch}");
            }
        }
        Ok(())
    }

    #[test]
    fn positions_are_found_as_a_byte_scan_finds_them() {
        let mut rng = crate::rng::Rng::new(9);
        let alphabet = b",\n\r\x00\x01\x7f\x80\xffa;";
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len).map(|_| alphabet[rng.below(alphabet.len())]).collect();
            let mut found = Vec::new();
            assert!(for_each_position_of([b',', b'\n', b'\r'], &bytes, |i| {
                found.push(i);
                true
            }));
            let expected: Vec<usize> = (0..len).filter(|&i| b",\n\r".contains(&bytes[i])).collect();
            assert_eq!(found, expected, "{bytes:?}");
        }
        let mut calls = 0;
        assert!(!for_each_position_of([b','; 3], b"a,b,c,d,e,f,g,h,i,j", |_| {
            calls += 1;
            calls < 3
        }));
        assert_eq!(calls, 3, "the scan stops at the first false");
    }

    #[test]
    fn a_bad_row_is_named_by_its_number_in_any_batch() {
        for input in ["a,b\n1,2\n\n3,4\n5\n6,7\n", "a,b\n1,2\n\"3\",4\n5\n6,7\n"] {
            for batch in [1, 2, 3, 100] {
                let err = rows(input, batch).unwrap_err().to_string();
                assert!(err.contains("t.csv: row 3: has 1 fields but the header has 2"), "{input:?} {batch}: {err}");
            }
        }
        let err = rows("a,b\n1,2\n3,\u{fffd}\n", 1).map(|r| r.len());
        assert_eq!(err.ok(), Some(2), "replacement characters are text");
        let reader: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(b"a,b\n1,2\n3,\xff\n".to_vec()));
        let mut stream = RecordStream::open(Path::new("t.csv"), reader, Some(InputFormat::Csv), b',').unwrap();
        let batch = stream.next_batch(10).unwrap().unwrap();
        let err = batch.into_text(Path::new("t.csv")).unwrap_err().to_string();
        assert!(err.contains("row 2: is not valid UTF-8"), "{err}");
    }

    #[test]
    fn lines_and_cells_are_capped_exactly_in_any_batch_and_on_every_path() {
        let limits = Limits { line: 9, cell: 4 };
        let read = |input: &str, format, batch| read_all(input, format, batch, limits).map(|r| r.len());
        let csv = InputFormat::Csv;
        // At the caps: a cell of 4 bytes, a line of 9 (CRLF or not; a quoted line counts its quotes).
        for input in ["a,b\n1,2\n1234,1234\n", "a,b\r\n1234,1234\r\n", "\"a\",b\n\"1234\",12\n1,2\n"] {
            for batch in [1, 2, 100] {
                assert!(read(input, csv, batch).is_ok(), "{input:?} in batches of {batch}");
            }
        }
        let cases = [
            ("a,b\n1,2\n12345,1\n", "t.csv: row 2, column \"a\": the cell holds 5 bytes, more than 4"),
            ("a,b\n1,12345\n", "t.csv: row 1, column \"b\": the cell holds 5 bytes"),
            ("a,b\n1,2\n1234,123456\n", "t.csv: row 2, column \"b\": the line is longer than 9 bytes"),
            // The last line, without a terminator.
            ("a,b\n1,2\n1234,123456", "t.csv: row 2, column \"b\": the line is longer than 9 bytes"),
            ("a,b\n\"1\",2\n1,\"12345\"\n", "t.csv: row 2, column \"b\": the cell holds 5 bytes"),
            ("a,b\n\"1\",2\n\"12\n34\",\"1\n23\"\n", "t.csv: row 2: the record is longer than 9 bytes"),
            ("abcd,efghij\n1,2\n", "t.csv: the header line is longer than 9 bytes"),
        ];
        for (input, message) in cases {
            for batch in [1, 2, 100] {
                let err = read(input, csv, batch).unwrap_err().to_string();
                assert!(err.starts_with(message), "{input:?} in batches of {batch}: {err}");
            }
        }
        let limits = Limits { line: 20, cell: 4 };
        let read = |input: &str, format| read_all(input, format, 1, limits).map(|r| r.len());
        assert_eq!(read("{\"a\": \"1234\"}\n{\"a\": 1}\n", InputFormat::Ndjson).ok(), Some(2));
        let err = read("{\"a\": 1}\n{\"a\": \"12345\"}\n", InputFormat::Ndjson).unwrap_err().to_string();
        assert!(err.starts_with("t.csv: row 2, column \"a\": the cell holds 5 bytes"), "{err}");
        let err = read("{\"a\": 1}\n{\"a\":\n\"1\",\n\"b\": 22222222}\n", InputFormat::Ndjson).unwrap_err().to_string();
        assert!(err.starts_with("t.csv: row 2: the JSON object is longer than 20 bytes"), "{err}");
        assert_eq!(read("[{\"a\": \"1234\"}, {\"a\": 1}]", InputFormat::JsonArray).ok(), Some(2));
        let err = read("[{\"a\": 1}, {\"a\": \"12345\"}]", InputFormat::JsonArray).unwrap_err().to_string();
        assert!(err.starts_with("t.csv: row 2, column \"a\": the cell holds 5 bytes"), "{err}");
        // An element is refused once longer than the cap and a read buffer (8 KiB).
        let long = format!("[{{\"a\": 1}}, {{\"a\": 1, \"b\": \"{}\"}}]", "x".repeat(9 << 10));
        let err = read(&long, InputFormat::JsonArray).unwrap_err().to_string();
        assert!(err.starts_with("t.csv: row 2: the JSON element is longer than 20 bytes"), "{err}");
    }
}
