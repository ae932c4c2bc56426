//! Reading the two logs a model leaves: its recorded outcomes (`logs/outcomes/<name>/*.jsonl`, the latest label
//! per id wins) and its prediction log lines since a point in time, each handed over with its outcome, if any.
//! Lines are read one at a time, capped like any input line; a torn line (a writer killed mid-write) is
//! skipped and counted.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::data::limits::{read_line_capped, Limits, TooLong};
use crate::error::{Error, IoContext, Result};
use crate::ops::outcomes::{Label, OutcomeLine};

/// The fields of a prediction log line that monitoring reads (the features are skipped unparsed).
#[derive(Debug, Deserialize)]
pub struct LoggedPrediction {
    #[serde(default)]
    pub id: Option<String>,
    pub version: semver::Version,
    pub timestamp: String,
    /// The predicted class (text) or value; null when the class was out of range.
    pub prediction: Option<Label>,
    /// Classification: every class's probability, by class label.
    #[serde(default)]
    pub probabilities: Option<HashMap<String, f64>>,
}

/// Recorded outcomes by id, the latest recording of each id winning; and whether a prediction claimed it.
#[derive(Debug, Default)]
pub struct Outcomes {
    pub labels: HashMap<String, (Label, bool)>,
    /// Lines read, including ids recorded again.
    pub lines: usize,
    pub torn: usize,
}

impl Outcomes {
    /// Reads every outcome file of a model, oldest day first.
    pub fn read(folder: &Path) -> Result<Self> {
        let mut out = Outcomes::default();
        for path in day_files(folder, None)? {
            out.torn += each_line(&path, |line, bytes| {
                let Some(outcome) = parse::<OutcomeLine>(&path, line, bytes, "an outcome line")? else {
                    return Ok(false);
                };
                out.lines += 1;
                out.labels.insert(outcome.id, (outcome.label, false));
                Ok(true)
            })?;
        }
        Ok(out)
    }

    /// The outcome of a prediction id, marking it as joined.
    pub fn claim(&mut self, id: &str) -> Option<&Label> {
        let (label, claimed) = self.labels.get_mut(id)?;
        *claimed = true;
        Some(label)
    }

    pub fn unclaimed(&self) -> usize {
        self.labels.values().filter(|(_, claimed)| !claimed).count()
    }
}

/// Calls `each` with every prediction logged in `folder` at or after `since`, in file order, with its parsed
/// time; returns the number of torn lines skipped.
pub fn predictions(
    folder: &Path,
    since: DateTime<Utc>,
    mut each: impl FnMut(LoggedPrediction, DateTime<Utc>) -> Result<()>,
) -> Result<usize> {
    let mut torn = 0;
    // Lines of one batch share a timestamp: parse it once.
    let mut last: Option<(String, DateTime<Utc>)> = None;
    for path in day_files(folder, Some(since.date_naive()))? {
        torn += each_line(&path, |line, bytes| {
            let Some(logged) = parse::<LoggedPrediction>(&path, line, bytes, "a prediction log line")? else {
                return Ok(false);
            };
            let at = match &last {
                Some((text, at)) if *text == logged.timestamp => *at,
                _ => {
                    let at = DateTime::parse_from_rfc3339(&logged.timestamp)
                        .map_err(|_| Error::data(&path, Some(line), None, "has no RFC 3339 \"timestamp\""))?
                        .with_timezone(&Utc);
                    last = Some((logged.timestamp.clone(), at));
                    at
                }
            };
            if at >= since {
                each(logged, at)?;
            }
            Ok(true)
        })?;
    }
    Ok(torn)
}

/// The `YYYY-MM-DD.jsonl` files of a folder in day order, from `from` on (files are named by the UTC day they
/// were written, so older days cannot hold newer entries). A missing folder has none.
fn day_files(folder: &Path, from: Option<NaiveDate>) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(folder, e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .filter(|p| {
            let day =
                p.file_stem().and_then(|s| s.to_str()).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
            !matches!((day, from), (Some(day), Some(from)) if day < from)
        })
        .collect();
    files.sort();
    Ok(files)
}

/// A line as `T`; None when it is not JSON at all (a torn line, which a writer killed mid-write leaves, or a
/// line cut inside a character); an error when it is JSON of another shape.
fn parse<T: serde::de::DeserializeOwned>(path: &Path, line: usize, bytes: &[u8], what: &str) -> Result<Option<T>> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_syntax() || e.is_eof() => Ok(None),
        Err(e) => Err(Error::data(path, Some(line), None, format!("is not {what}: {e}"))),
    }
}

/// Calls `each` with every non-blank line of a file (1-based line number, bytes), which says whether the line
/// was whole; returns how many were torn.
fn each_line(path: &Path, mut each: impl FnMut(usize, &[u8]) -> Result<bool>) -> Result<usize> {
    let limits = Limits::from_env()?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(path).at(path)?);
    let (mut bytes, mut torn) = (Vec::new(), 0);
    for line in 1.. {
        bytes.clear();
        match read_line_capped(&mut reader, &mut bytes, limits.line).at(path)? {
            Ok(0) => break,
            Ok(_) => {}
            Err(TooLong) => return Err(limits.line_error(path, Some(line), None, "the log line")),
        }
        let text = bytes.trim_ascii();
        if !text.is_empty() && !each(line, text)? {
            torn += 1;
        }
    }
    Ok(torn)
}
