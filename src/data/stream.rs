//! Records read as a stream of bounded batches, for prediction on inputs larger than memory: CSV, NDJSON (one
//! object per line), a JSON array (read whole: arrays are for small inputs), or a single JSON object. Every
//! cell stays text here; typing happens per batch with the training schema.
//!
//! CSV is cut into batches of whole lines while it has no quotes, and each batch is split into fields where it
//! is predicted ([`Batch::into_text`]), on the thread pool: reading record by record on the one reading thread
//! was an eighth of a 100k-row prediction, and the part that did not run in parallel. Without quotes, fields
//! are split by hand; from the first quote on (a quoted field may hold a line break) the csv crate reads record
//! by record.

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    next_row: usize,
    /// Keys seen in JSON records that are not in the header (first record's keys): ignored, counted.
    pub ignored_keys: usize,
}

enum Inner {
    /// CSV without quotes so far: batches are cut as raw bytes, and parsed where they are predicted.
    CsvChunks(CsvChunks),
    /// CSV with quotes, read record by record (a quoted field may hold a line break, so lines are not rows).
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
                // The csv crate reads the header (it may be quoted) and reads ahead; the bytes it read past the
                // header are kept from the recording and become the start of the first batch.
                let recording = Recording { inner: reader, seen: Vec::new() };
                let mut csv = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(recording);
                let header: Vec<String> = csv
                    .headers()
                    .map_err(|e| Error::data(source, None, None, format!("cannot read the CSV header: {e}")))?
                    .iter()
                    .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
                    .collect();
                if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
                    return Err(empty());
                }
                let header_end = usize::try_from(csv.position().byte()).unwrap_or(usize::MAX);
                let Recording { inner, seen } = csv.into_inner();
                let pending = seen.get(header_end..).unwrap_or_default().to_vec();
                (header, Inner::CsvChunks(CsvChunks { reader: inner, pending, delimiter }))
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
        Ok(RecordStream { source: source.to_path_buf(), header, format, inner, next_row: 1, ignored_keys: 0 })
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
        let io = |e: std::io::Error| Error::io(&self.source, e);
        let batch = match &mut self.inner {
            Inner::CsvChunks(chunks) => match chunks.next_chunk(max_rows).map_err(io)? {
                Chunk::Rows(bytes, rows) => {
                    Some(Batch::Csv(CsvBatch { bytes, rows, first_row, delimiter: chunks.delimiter, width }))
                }
                Chunk::End => None,
                Chunk::Quoted(bytes) => {
                    // From here on, record by record: the bytes not yet returned, then the rest of the input.
                    let rest: Box<dyn Read> =
                        Box::new(std::io::Cursor::new(bytes).chain(std::mem::replace(&mut chunks.reader, exhausted())));
                    let csv = csv::ReaderBuilder::new()
                        .delimiter(chunks.delimiter)
                        .has_headers(false)
                        .flexible(true)
                        .from_reader(rest);
                    self.inner = Inner::Csv(csv);
                    return self.next_batch(max_rows);
                }
            },
            Inner::Csv(csv) => {
                let text = read_records(csv, &self.source, width, first_row, max_rows)?;
                (text.len > 0).then_some(Batch::Text(text))
            }
            Inner::Lines(lines, pending) => {
                let source = &self.source;
                let next = |row| match pending.take() {
                    Some(object) => Ok(Some(object)),
                    None => next_object(source, lines, row),
                };
                read_objects(&self.header, &mut self.ignored_keys, first_row, max_rows, next)?
            }
            Inner::Objects(objects) => {
                read_objects(&self.header, &mut self.ignored_keys, first_row, max_rows, |_| Ok(objects.next()))?
            }
        };
        self.next_row += batch.as_ref().map_or(0, Batch::rows);
        Ok(batch)
    }
}

/// Up to `max_rows` JSON objects from `next` (given the row number, for its errors) as a text batch.
fn read_objects(
    header: &[String],
    ignored_keys: &mut usize,
    first_row: usize,
    max_rows: usize,
    mut next: impl FnMut(usize) -> Result<Option<serde_json::Map<String, serde_json::Value>>>,
) -> Result<Option<Batch>> {
    let mut columns: Vec<TextColumn> = vec![TextColumn::default(); header.len()];
    let mut len = 0;
    while len < max_rows {
        let Some(object) = next(first_row + len)? else { break };
        push_object(header, &mut columns, object, ignored_keys);
        len += 1;
    }
    Ok((len > 0).then_some(Batch::Text(TextBatch { first_row, columns, len })))
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
                let text = read_records(&mut csv, source, width, first_row, rows)?;
                debug_assert_eq!(text.len, rows, "the chunker and the csv crate count records alike");
                Ok(text)
            }
        }
    }
}

/// Up to `max_rows` records of `csv` as text columns, each checked to have `width` fields.
fn read_records<R: Read>(
    csv: &mut csv::Reader<R>,
    source: &Path,
    width: usize,
    first_row: usize,
    max_rows: usize,
) -> Result<TextBatch> {
    let mut columns: Vec<TextColumn> = vec![TextColumn::default(); width];
    // One record reused for every row: a new one per row cost an allocation each.
    let mut record = csv::StringRecord::new();
    let mut len = 0;
    while len < max_rows {
        let row = first_row + len;
        let more = csv.read_record(&mut record).map_err(|e| {
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

/// Reads through to `inner`, keeping a copy of what it read.
struct Recording {
    inner: Box<dyn BufRead>,
    seen: Vec<u8>,
}

impl Read for Recording {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
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
}

enum Chunk {
    /// Whole records, and how many.
    Rows(Vec<u8>, usize),
    /// Every byte not yet returned, up to where a quote appeared (the rest is still in the reader).
    Quoted(Vec<u8>),
    End,
}

impl CsvChunks {
    /// The bytes of the next `max_rows` records (fewer at the end of the input).
    fn next_chunk(&mut self, max_rows: usize) -> std::io::Result<Chunk> {
        let mut bytes = std::mem::take(&mut self.pending);
        let (mut scanned, mut rows, mut in_line) = (0, 0, false);
        loop {
            if memchr::memchr(b'"', &bytes[scanned..]).is_some() {
                return Ok(Chunk::Quoted(bytes));
            }
            let start = scanned;
            let mut full = false;
            for at in memchr::memchr2_iter(b'\n', b'\r', &bytes[start..]).map(|i| i + start) {
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
) {
    for (name, col) in header.iter().zip(columns.iter_mut()) {
        col.push(object.remove(name).and_then(json_cell).as_deref());
    }
    *ignored += object.len();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of `input` read as CSV in batches of `batch` rows: (first row, cells) per row.
    fn rows(input: &str, batch: usize) -> Result<Vec<(usize, Vec<Option<String>>)>> {
        let reader: Box<dyn BufRead> = Box::new(std::io::Cursor::new(input.as_bytes().to_vec()));
        let source = Path::new("t.csv");
        let mut stream = RecordStream::open(source, reader, Some(InputFormat::Csv), b',')?;
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
        let reader: Box<dyn BufRead> = Box::new(std::io::Cursor::new(b"a,b\n1,2\n3,\xff\n".to_vec()));
        let mut stream = RecordStream::open(Path::new("t.csv"), reader, Some(InputFormat::Csv), b',').unwrap();
        let batch = stream.next_batch(10).unwrap().unwrap();
        let err = batch.into_text(Path::new("t.csv")).unwrap_err().to_string();
        assert!(err.contains("row 2: is not valid UTF-8"), "{err}");
    }
}
