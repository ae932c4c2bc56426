//! `mlctl export`: a generated sample (`--sample NAME`) or the rows of a database query or a data file (`--from`)
//! written to CSV, atomically, with a dataset card beside it (`FILE.card.json`: source with any password
//! redacted, query, rows, columns with types and missing counts, SHA-256, exported_at).
//!
//! A source streams: rows go from the database cursor through the CSV writer into a temp file beside the output,
//! hashed and counted on the way, and only a complete export is renamed into place. The card is built from those
//! counts, not by reading the file back, so memory stays flat for tables larger than RAM.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::sample;
use crate::data::source::sink::CsvSink;
use crate::data::source::{self, Row, RowSink, Source};
use crate::error::{Error, Result};
use crate::fs::write_atomic;
use crate::reporter::Reporter;

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub input: Input,
    pub output: PathBuf,
}

#[derive(Debug, Clone)]
pub enum Input {
    Sample {
        name: String,
        rows: usize,
        seed: u64,
        /// Moves the sample away from the default population (none by default).
        shift: sample::Shift,
    },
    /// A source with what to read from it: a database needs a table or a query; a file is read whole.
    Source { source: Source, table: Option<String>, query: Option<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetCard {
    /// Where the rows came from; a database URL never carries its password here.
    pub source: String,
    /// The SQL that produced the rows (`SELECT * FROM "t"` for `--table t`); null for samples and files.
    pub query: Option<String>,
    /// The CSV the card describes, by file name: it sits beside the card.
    pub path: String,
    pub rows: usize,
    pub columns: Vec<ColumnCard>,
    pub sha256: String,
    pub bytes: u64,
    pub exported_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnCard {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: String,
    pub missing: usize,
}

/// The dataset's name as the card records it: the file beside the card, so a card means the same on any
/// machine and after the folder moves (an absolute path would name the exporter's machine).
fn card_relative(output: &Path) -> String {
    output.file_name().map_or_else(|| output.display().to_string(), |n| n.to_string_lossy().into_owned())
}

pub fn card_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".card.json");
    output.with_file_name(name)
}

pub fn export(opts: &ExportOptions, reporter: &dyn Reporter) -> Result<DatasetCard> {
    let card = match &opts.input {
        Input::Sample { name, rows, seed, shift } => {
            export_sample(name, (*rows, *seed, *shift), &opts.output, reporter)?
        }
        Input::Source { source, table, query } => {
            export_source(source, table.as_deref(), query.as_deref(), &opts.output, reporter)?
        }
    };
    // A device or FIFO (-o /dev/stdout) gets the data only: there is no file beside it for a card to describe.
    if !crate::fs::is_stream(&opts.output) {
        let mut json = serde_json::to_vec_pretty(&card).map_err(|e| Error::Model(e.to_string()))?;
        json.push(b'\n');
        write_atomic(&card_path(&opts.output), &json)?;
    }
    Ok(card)
}

/// What to run against a database: the query, or every row of the table.
fn sql_for(source: &Source, table: Option<&str>, query: Option<&str>) -> Result<Option<String>> {
    let from = source.redacted();
    match (source.is_database(), table, query) {
        (true, Some(_), Some(_)) => Err(Error::Usage("give --table or --query, not both".into())),
        (true, Some(t), None) if !t.trim().is_empty() => Ok(Some(source::select_all(t.trim()))),
        (true, None, Some(q)) if !q.trim().is_empty() => Ok(Some(q.trim().trim_end_matches(';').trim_end().to_owned())),
        (true, _, _) => {
            Err(Error::Usage(format!("--from {from}: say what to export with --table NAME or --query \"SELECT ...\"")))
        }
        (false, None, None) => Ok(None),
        (false, _, _) => {
            Err(Error::Usage(format!("--from {from}: --table and --query are for databases; a file is exported whole")))
        }
    }
}

fn export_source(
    source: &Source,
    table: Option<&str>,
    query: Option<&str>,
    output: &Path,
    reporter: &dyn Reporter,
) -> Result<DatasetCard> {
    let sql = sql_for(source, table, query)?;
    let from = source.redacted();
    reporter.phase(&match &sql {
        Some(sql) => format!("exporting from {from}: {sql}"),
        None => format!("exporting {from}"),
    });
    if let Source::File(path, _) = source {
        crate::fs::refuse_same_file(path, output)?;
    }
    let mut sink = CsvSink::create(output, reporter)?;
    let types = match source {
        Source::Sqlite(path) => {
            source::sqlite::export(path, &from, sql.as_deref().unwrap_or_default(), &mut sink, reporter)?
        }
        Source::Postgres(url) => {
            source::postgres::export(url, &from, sql.as_deref().unwrap_or_default(), &mut sink, reporter)?
        }
        Source::File(path, kind) => source::file::export(path, *kind, &mut sink, reporter)?,
    };
    let written = sink.finish()?;
    Ok(DatasetCard {
        source: from,
        query: sql,
        path: card_relative(output),
        rows: written.rows as usize,
        columns: written
            .names
            .iter()
            .zip(&types)
            .zip(&written.missing)
            .map(|((name, ty), missing)| ColumnCard {
                name: name.clone(),
                column_type: ty.as_str().to_owned(),
                missing: *missing as usize,
            })
            .collect(),
        sha256: written.sha256,
        bytes: written.bytes,
        exported_at: crate::clock::now_rfc3339(),
    })
}

fn export_sample(
    name: &str,
    (rows, seed, shift): (usize, u64, sample::Shift),
    output: &Path,
    reporter: &dyn Reporter,
) -> Result<DatasetCard> {
    if !sample::SAMPLE_NAMES.contains(&name) {
        return Err(Error::Usage(format!(
            "unknown sample \"{}\"{}; available: {}",
            name,
            crate::suggest::hint(name, sample::SAMPLE_NAMES.iter().copied()),
            sample::SAMPLE_NAMES.join(", ")
        )));
    }
    if rows == 0 {
        return Err(Error::Usage("--rows must be at least 1".into()));
    }
    reporter.phase(&format!("generating {} rows of {} (seed {}{})", rows, name, seed, shift.describe()));
    // Row by row into the same sink as the database exports, so memory stays flat for any --rows; the card is
    // built from the sink's counts and the generator's declared column types instead of reading the file back.
    let mut sink = CsvSink::create(output, reporter)?;
    let names: Vec<String> = sample::COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    sink.header(&names)?;
    let mut row = Row::new(names.len());
    for cells in sample::skill_assignment_shifted(rows, seed, shift) {
        for (i, cell) in cells.iter().enumerate() {
            if cell.is_empty() {
                row.set_null(i);
            } else {
                row.set(i, cell);
            }
        }
        sink.row(&row)?;
    }
    let written = sink.finish()?;
    Ok(DatasetCard {
        source: format!("sample:{name} rows={rows} seed={seed}{}", shift.describe()),
        query: None,
        path: card_relative(output),
        rows: written.rows as usize,
        columns: names
            .into_iter()
            .zip(sample::COLUMN_TYPES)
            .zip(&written.missing)
            .map(|((name, ty), missing)| ColumnCard {
                name,
                column_type: ty.as_str().to_owned(),
                missing: *missing as usize,
            })
            .collect(),
        sha256: written.sha256,
        bytes: written.bytes,
        exported_at: crate::clock::now_rfc3339(),
    })
}
