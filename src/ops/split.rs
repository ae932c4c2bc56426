//! `mlctl split`: one CSV into a training file and a holdout, so a holdout is easy to make and hard to get wrong
//! (a second seed of a generator is not a holdout of real data, and the same seed is the training data again).
//! Rows are copied byte for byte, in their original order, with the header; the choice of rows is the seeded
//! (optionally stratified) shuffle split `train` uses, so a seed gives the same files on every machine. Both
//! files are written atomically (temp file, fsync, rename), each with a dataset card as `export` writes.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::data::frame::{ColumnData, Frame};
use crate::data::load::{read_csv, ReadOptions};
use crate::data::schema::is_missing_token;
use crate::data::split::stratified_split;
use crate::error::{Error, IoContext, Result};
use crate::fs::{refuse_same_file, write_atomic, AtomicFile};
use crate::ops::export::{card_path, ColumnCard, DatasetCard};
use crate::reporter::Reporter;

#[derive(Debug, Clone)]
pub struct SplitOptions {
    pub input: PathBuf,
    /// The training part (`-o`).
    pub train: PathBuf,
    /// The held-out part (`--holdout`).
    pub holdout: PathBuf,
    pub test_size: f64,
    /// Keep this column's value proportions equal in both parts.
    pub stratify: Option<String>,
    pub seed: u64,
    pub delimiter: Option<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SplitReport {
    pub input: String,
    pub sha256: String,
    pub rows: usize,
    pub test_size: f64,
    pub stratify: Option<String>,
    pub seed: u64,
    pub train: DatasetCard,
    pub holdout: DatasetCard,
}

pub fn split(opts: &SplitOptions, reporter: &dyn Reporter) -> Result<SplitReport> {
    if !(opts.test_size > 0.0 && opts.test_size < 1.0) {
        return Err(Error::Config(format!("--test-size must be between 0 and 1 (exclusive), got {}", opts.test_size)));
    }
    check_paths(opts)?;
    reporter.phase(&format!("reading {}", opts.input.display()));
    let stratify: Vec<String> = opts.stratify.iter().cloned().collect();
    let read = ReadOptions { delimiter: opts.delimiter, text_columns: stratify, ..Default::default() };
    let (frame, facts) = read_csv(&opts.input, &read)?;
    let bytes = std::fs::read(&opts.input).at(&opts.input)?;
    let (header, rows) = record_ranges(&bytes, opts.delimiter.unwrap_or(b','), &opts.input)?;
    if rows.len() != frame.n_rows {
        return Err(Error::data(
            &opts.input,
            None,
            None,
            format!("{} records were found but {} rows were read: is it a well-formed CSV?", rows.len(), frame.n_rows),
        ));
    }
    let labels = strata(&frame, opts)?;
    let n_strata = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(1);
    let parts = stratified_split(&labels, n_strata, opts.test_size, opts.seed)?;
    reporter.phase(&format!("writing {} and {} rows", parts.train.len(), parts.test.len()));
    let source = |part: &str| {
        let how = opts.stratify.as_ref().map_or_else(String::new, |c| format!(", stratified by {c}"));
        format!(
            "{} ({part} part of a split: test size {}, seed {}{how})",
            opts.input.display(),
            opts.test_size,
            opts.seed
        )
    };
    let mut train_out = Part::new(&opts.train, source("training"))?;
    let mut holdout_out = Part::new(&opts.holdout, source("holdout"))?;
    train_out.write(&bytes, &header, &rows, &parts.train)?;
    holdout_out.write(&bytes, &header, &rows, &parts.test)?;
    let train = train_out.finish(&frame, &parts.train)?;
    let holdout = holdout_out.finish(&frame, &parts.test)?;
    Ok(SplitReport {
        input: opts.input.display().to_string(),
        sha256: facts.sha256,
        rows: frame.n_rows,
        test_size: opts.test_size,
        stratify: opts.stratify.clone(),
        seed: opts.seed,
        train,
        holdout,
    })
}

/// Neither output may be the input (it would be replaced while its rows are wanted) or the other output.
fn check_paths(opts: &SplitOptions) -> Result<()> {
    refuse_same_file(&opts.input, &opts.train)?;
    refuse_same_file(&opts.input, &opts.holdout)?;
    let same = |a: &Path, b: &Path| std::path::absolute(a).ok() == std::path::absolute(b).ok();
    if same(&opts.input, &opts.train) || same(&opts.input, &opts.holdout) {
        return Err(Error::Config(format!(
            "{}: an output is the input file; choose other names for -o and --holdout",
            opts.input.display()
        )));
    }
    if same(&opts.train, &opts.holdout) {
        return Err(Error::Config(format!(
            "-o and --holdout are the same file ({}); give the holdout its own name",
            opts.train.display()
        )));
    }
    Ok(())
}

/// The byte range of the header and of each record (up to the next record, so line ends and any blank lines
/// travel with their row), as the csv reader sees records: quoted line breaks stay inside their row.
type Ranges = (std::ops::Range<usize>, Vec<std::ops::Range<usize>>);

fn record_ranges(bytes: &[u8], delimiter: u8, path: &Path) -> Result<Ranges> {
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(bytes);
    let mut record = csv::ByteRecord::new();
    let mut starts = Vec::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => starts.push(record.position().map_or(0, |p| p.byte() as usize)),
            Ok(false) => break,
            Err(e) => return Err(Error::data(path, None, None, format!("cannot be split: {e}"))),
        }
    }
    let Some((_, rest)) = starts.split_first() else {
        return Err(Error::data(path, None, None, "is empty: there is no header to split under"));
    };
    let ends = rest.iter().skip(1).copied().chain(std::iter::once(bytes.len()));
    let rows = rest.iter().copied().zip(ends).map(|(s, e)| s..e).collect();
    // The header from byte 0, so a byte-order mark or leading blank lines are kept as they were.
    Ok((0..rest.first().copied().unwrap_or(bytes.len()), rows))
}

/// The stratum of each row: the --stratify column's value (missing values are one stratum), or one stratum.
fn strata(frame: &Frame, opts: &SplitOptions) -> Result<Vec<u32>> {
    let Some(name) = &opts.stratify else { return Ok(vec![0; frame.n_rows]) };
    let column = frame.column(name).ok_or_else(|| {
        let names = frame.column_names();
        Error::data(
            &frame.source,
            None,
            Some(name),
            format!("--stratify names no such column{}", crate::suggest::hint(name, names.iter().copied())),
        )
    })?;
    let mut code_of: HashMap<String, u32> = HashMap::new();
    let mut labels = Vec::with_capacity(frame.n_rows);
    for row in 0..frame.n_rows {
        let value = column.text(row).map(|t| t.into_owned()).filter(|t| !is_missing_token(t)).unwrap_or_default();
        let next = code_of.len() as u32;
        labels.push(*code_of.entry(value).or_insert(next));
    }
    let mut counts = vec![0usize; code_of.len()];
    for &l in &labels {
        counts[l as usize] += 1;
    }
    if let Some((value, _)) = code_of.iter().filter(|(_, &c)| counts[c as usize] < 2).min_by_key(|(v, _)| v.as_str()) {
        let shown = if value.is_empty() { "(missing)" } else { value.as_str() };
        return Err(Error::data(
            &frame.source,
            None,
            Some(name),
            format!("value \"{shown}\" occurs in only 1 row: a stratified split needs at least 2 rows of each value"),
        ));
    }
    Ok(labels)
}

/// One output file being written, hashed as it goes.
struct Part {
    file: AtomicFile,
    hasher: Sha256,
    bytes: u64,
    source: String,
}

impl Part {
    fn new(path: &Path, source: String) -> Result<Part> {
        Ok(Part { file: AtomicFile::create(path)?, hasher: Sha256::new(), bytes: 0, source })
    }

    fn put(&mut self, chunk: &[u8]) -> Result<()> {
        self.file.write_all(chunk).at(self.file.path())?;
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
        Ok(())
    }

    fn write(
        &mut self,
        bytes: &[u8],
        header: &std::ops::Range<usize>,
        rows: &[std::ops::Range<usize>],
        which: &[usize],
    ) -> Result<()> {
        self.put(&bytes[header.clone()])?;
        if !bytes[header.clone()].ends_with(b"\n") {
            self.put(b"\n")?;
        }
        for &row in which {
            let slice = &bytes[rows[row].clone()];
            self.put(slice)?;
            // The file's last row may have no line end; in the middle of another file it needs one.
            if !slice.ends_with(b"\n") {
                self.put(b"\n")?;
            }
        }
        Ok(())
    }

    /// Renames the file into place and writes its card beside it.
    fn finish(self, frame: &Frame, rows: &[usize]) -> Result<DatasetCard> {
        let path = self.file.path().to_path_buf();
        self.file.commit()?;
        let card = DatasetCard {
            source: self.source,
            query: None,
            path: path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned()),
            rows: rows.len(),
            columns: frame
                .columns
                .iter()
                .map(|c| ColumnCard {
                    name: c.name.clone(),
                    column_type: card_type(&c.data).to_owned(),
                    missing: rows.iter().filter(|&&r| c.is_missing(r)).count(),
                })
                .collect(),
            sha256: format!("{:x}", self.hasher.finalize()),
            bytes: self.bytes,
            exported_at: crate::clock::now_rfc3339(),
        };
        if !crate::fs::is_stream(&path) {
            let mut json = serde_json::to_vec_pretty(&card).map_err(|e| Error::Model(e.to_string()))?;
            json.push(b'\n');
            write_atomic(&card_path(&path), &json)?;
        }
        Ok(card)
    }
}

/// A column's type in export's words (integer, real, text, date).
fn card_type(data: &ColumnData) -> &'static str {
    match data {
        ColumnData::Numeric(v) if v.iter().all(|x| x.is_nan() || x.fract() == 0.0) => "integer",
        ColumnData::Numeric(_) => "real",
        ColumnData::Categorical { .. } => "text",
        ColumnData::Date(_) => "date",
    }
}
