//! `mlctl export --sample NAME`: writes a generated dataset to CSV, atomically, with a dataset card beside it
//! (`FILE.card.json`: source, rows, columns with types and missing counts, SHA-256, exported_at).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::load::{read_csv, ReadOptions};
use crate::data::sample;
use crate::error::{Error, Result};
use crate::registry::atomic::write_atomic;
use crate::reporter::Reporter;

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub sample: String,
    pub rows: usize,
    pub seed: u64,
    pub output: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetCard {
    pub source: String,
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

pub fn card_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".card.json");
    output.with_file_name(name)
}

pub fn export(opts: &ExportOptions, reporter: &dyn Reporter) -> Result<DatasetCard> {
    if !sample::SAMPLE_NAMES.contains(&opts.sample.as_str()) {
        return Err(Error::Config(format!(
            "unknown sample \"{}\"{}; available: {}",
            opts.sample,
            crate::suggest::hint(&opts.sample, sample::SAMPLE_NAMES.iter().copied()),
            sample::SAMPLE_NAMES.join(", ")
        )));
    }
    if opts.rows == 0 {
        return Err(Error::Config("--rows must be at least 1".into()));
    }
    reporter.phase(&format!("generating {} rows of {} (seed {})", opts.rows, opts.sample, opts.seed));
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(opts.rows * 80));
    let csv_error = |e: csv::Error| Error::Model(format!("writing CSV: {e}"));
    writer.write_record(sample::COLUMNS).map_err(csv_error)?;
    for row in sample::skill_assignment(opts.rows, opts.seed) {
        writer.write_record(&row).map_err(csv_error)?;
    }
    let bytes = writer.into_inner().map_err(|e| Error::Model(format!("writing CSV: {e}")))?;
    write_atomic(&opts.output, &bytes)?;

    // The card describes the file as mlctl will read it, so it is built by reading it back.
    let (frame, facts) = read_csv(&opts.output, &ReadOptions::default())?;
    let card = DatasetCard {
        source: format!("sample:{} rows={} seed={}", opts.sample, opts.rows, opts.seed),
        path: opts.output.display().to_string(),
        rows: facts.rows,
        columns: frame
            .columns
            .iter()
            .map(|c| ColumnCard {
                name: c.name.clone(),
                column_type: c.type_name().to_owned(),
                missing: c.missing_count(),
            })
            .collect(),
        sha256: facts.sha256,
        bytes: bytes.len() as u64,
        exported_at: crate::clock::now_rfc3339(),
    };
    let mut json = serde_json::to_vec_pretty(&card).map_err(|e| Error::Model(e.to_string()))?;
    json.push(b'\n');
    write_atomic(&card_path(&opts.output), &json)?;
    Ok(card)
}
