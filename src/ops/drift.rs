//! `mlctl drift`: load a version and its reference profile, read the current data (a CSV, or the prediction
//! logs since a point in time), compare feature by feature and the model's predictions, and optionally write a
//! markdown report with SVG histograms. The caller turns `drift_detected` into exit code 3.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::Value;

use crate::data::dates::{as_days, parse_date};
use crate::data::frame::{ColumnData, Frame};
use crate::data::limits::{read_line_capped, Limits, TooLong};
use crate::data::load::read_csv;
use crate::data::schema::{parse_number, ColumnType};
use crate::drift::compare::{choose_tests, CurrentColumn};
use crate::drift::profile::{score_of, ReferenceProfile, REFERENCE_FILE};
use crate::drift::{compare, CurrentData, DriftReport, FailOn, Layer};
use crate::error::{Error, IoContext, Result};
use crate::models::Task;
use crate::registry::loaded::{load, LoadedModel};
use crate::registry::{ModelRef, Store};
use crate::reporter::Reporter;

pub enum Current {
    /// A CSV file with the feature columns (other columns are ignored).
    Data(PathBuf),
    /// The prediction logs of the model (`logs/predictions/<name>/*.jsonl`) from `since` on (before `until`, when
    /// given).
    Logs { dir: PathBuf, since: DateTime<Utc>, until: Option<DateTime<Utc>>, since_text: String },
}

pub struct DriftOptions {
    pub reference: ModelRef,
    pub current: Current,
    /// Overrides, highest priority first (command line, then mlctl.toml).
    pub layers: Vec<Layer>,
    pub fail_on: FailOn,
    /// Bonferroni: divide p-value thresholds by the number of p-value tests (the default; off with
    /// `--no-bonferroni`).
    pub bonferroni: bool,
    pub report: Option<PathBuf>,
    pub delimiter: Option<u8>,
}

/// Parses `--since`: a duration back from now (`7d`, `24h`, `30m`, `2w`), a date (`2026-01-01`, midnight UTC)
/// or an RFC 3339 timestamp.
pub fn parse_since(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let t = text.trim();
    let bad = || {
        Error::Usage(format!(
            "--since {text}: expected a duration such as 7d, 24h, 30m or 2w, a date such as 2026-01-01, or an RFC \
             3339 timestamp"
        ))
    };
    if let Some(d) = duration(t) {
        return d.and_then(|d| now.checked_sub_signed(d)).ok_or_else(bad);
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0).map(|d| d.and_utc()).ok_or_else(bad);
    }
    DateTime::parse_from_rfc3339(t).map(|d| d.with_timezone(&Utc)).map_err(|_| bad())
}

/// `7d`, `24h`, `30m`, `2w`: None when the text is not of that form; Some(None) when it is but out of range.
fn duration(t: &str) -> Option<Option<Duration>> {
    let unit = t.chars().last().filter(char::is_ascii_alphabetic)?;
    let n = t[..t.len() - 1].parse::<i64>().ok()?;
    let d = match unit {
        'm' => Duration::try_minutes(n),
        'h' => Duration::try_hours(n),
        'd' => Duration::try_days(n),
        'w' => Duration::try_weeks(n),
        _ => None,
    };
    Some(d.filter(|_| n >= 0))
}

/// Parses a positive duration flag such as `--window 7d`.
pub fn parse_duration(flag: &str, text: &str) -> Result<Duration> {
    duration(text.trim())
        .flatten()
        .filter(|d| *d > Duration::zero())
        .ok_or_else(|| Error::Usage(format!("{flag} {text}: expected a positive duration such as 7d, 24h, 30m or 2w")))
}

pub fn drift(opts: &DriftOptions, store: &Store, reporter: &dyn Reporter) -> Result<DriftReport> {
    if let (Current::Data(data), Some(report)) = (&opts.current, &opts.report) {
        crate::fs::refuse_same_file(data, report)?;
    }
    let registry = store.load()?;
    let model = load(store, &registry, &opts.reference)?;
    // A missing profile is the profile loader's to explain (a version trained before profiles existed).
    let profile_path = store
        .version_file(&model.name, &model.record, REFERENCE_FILE)?
        .unwrap_or_else(|| store.file_location(&model.name, &model.record.version, REFERENCE_FILE));
    let profile = ReferenceProfile::load(&profile_path, &format!("{}@{}", model.name, model.record.version))?;

    // The defaults depend on the current data's size, known only once it is read; settings are checked now, so a
    // typo fails before any data is read.
    choose_tests(&profile, &opts.layers, opts.bonferroni, 0)?;
    // Logged rows when the current data is a sample of them.
    let mut sampled = None;
    let (current, source) = match &opts.current {
        Current::Data(path) => {
            reporter.phase(&format!("reading {}", path.display()));
            (from_csv(&model, path, opts.delimiter, reporter)?, path.display().to_string())
        }
        Current::Logs { dir, since, until, since_text } => {
            let folder = dir.join(model.name.as_str());
            reporter.phase(&format!("reading prediction logs in {} since {since_text}", folder.display()));
            let (current, LogsRead { torn, rows }) = from_logs(&model, &folder, (*since, *until))?;
            if rows > LOG_SAMPLE_ROWS {
                sampled = Some(rows);
            }
            if torn > 0 {
                reporter.warn(&format!(
                    "{torn} torn line(s) in {} skipped (a writer killed mid-line leaves one)",
                    folder.display()
                ));
            }
            if current.rows == 0 {
                return Err(Error::Config(format!(
                    "no predictions by {}@{} logged in {} since {} ({since_text}): run `mlctl predict {}@{} --data \
                     FILE` to log some, or widen --since",
                    model.name,
                    model.record.version,
                    folder.display(),
                    since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    model.name,
                    model.record.version
                )));
            }
            (current, format!("prediction logs since {}", since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        }
    };
    reporter.phase(&format!("comparing {} current rows with {} reference rows", current.rows, profile.sample_rows));
    let choices = choose_tests(&profile, &opts.layers, opts.bonferroni, current.rows)?;
    let mut report = compare(&profile, &current, &choices, opts.fail_on, opts.bonferroni)?;
    // A date column is compared as numbers (days since 1970-01-01); the report still calls it a date.
    for f in &mut report.features {
        if model.bundle.pipeline.features.iter().any(|p| p.name == f.feature && p.column_type() == ColumnType::Date) {
            f.column_type = ColumnType::Date.as_str();
        }
    }
    if let Some(rows) = sampled {
        report.warnings.push(format!(
            "the current data is a sample of {LOG_SAMPLE_ROWS} of the {rows} logged rows (uniform and seeded, so \
             the same logs give the same report; at most {LOG_SAMPLE_ROWS} rows are kept in memory)"
        ));
    }
    report.model = model.name.to_string();
    report.version = model.record.version.clone();
    report.current_source = source;
    if let Some(path) = &opts.report {
        crate::drift::report::write_markdown(&report, path)?;
        report.report = Some(path.display().to_string());
    }
    Ok(report)
}

/// Reads the features from a CSV (types enforced as in training) and predicts, for prediction drift.
fn from_csv(model: &LoadedModel, path: &Path, delimiter: Option<u8>, reporter: &dyn Reporter) -> Result<CurrentData> {
    let pipeline = &model.bundle.pipeline;
    let (frame, facts) = read_csv(path, &pipeline.read_options(delimiter, Vec::new()))?;
    for warning in crate::ops::train::stray_warnings(&facts.stray_as_missing, "trained with --numeric") {
        reporter.warn(&warning);
    }
    let (x, _) = pipeline.transform(&frame, None)?;
    let predictions = model.bundle.predict(&x);
    let classes: Vec<usize> = predictions.labels().unwrap_or_default().into_iter().map(|c| c as usize).collect();
    let scores = predictions.scores();
    Ok(CurrentData { rows: frame.n_rows, features: columns(model, &frame), predictions: Some((classes, scores)) })
}

fn columns(model: &LoadedModel, frame: &Frame) -> BTreeMap<String, CurrentColumn> {
    let mut out = BTreeMap::new();
    for f in &model.bundle.pipeline.features {
        let Some(column) = frame.column(&f.name) else { continue };
        let data = match (&column.data, f.column_type()) {
            (ColumnData::Numeric(v), ColumnType::Numeric) => CurrentColumn::Numeric(v.clone()),
            // Dates drift as numbers: days since 1970-01-01, as the reference profile holds them.
            (ColumnData::Date(v), ColumnType::Date) => CurrentColumn::Numeric(v.iter().map(|&s| as_days(s)).collect()),
            _ => {
                CurrentColumn::Categorical((0..frame.n_rows).map(|r| column.text(r).map(|t| t.into_owned())).collect())
            }
        };
        out.insert(f.name.clone(), data);
    }
    out
}

/// A logged numeric or date cell as a number (NaN when null): a JSON number (when `json_numbers`), or text that
/// `parse` reads; else what was expected and found.
fn logged_number(
    v: &Value,
    json_numbers: bool,
    parse: impl Fn(&str) -> Option<f64>,
    expected: &str,
) -> std::result::Result<f64, String> {
    match v {
        Value::Null => Ok(f64::NAN),
        Value::Number(n) if json_numbers => Ok(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => parse(s).ok_or_else(|| format!("expected {expected}, found \"{s}\"")),
        other => Err(format!("expected {expected}, found {other}")),
    }
}

/// Logged rows the statistics are computed on, at most: beyond it, a uniform sample of this many (seeded, so the
/// same logs give the same report). 10M logged rows collected whole peaked at 2.2 GB.
pub const LOG_SAMPLE_ROWS: usize = 100_000;
/// The seed of the sample of logged rows.
const LOG_SAMPLE_SEED: u64 = 36;

/// One logged row, as the statistics take it: a cell per feature, and the re-derived prediction.
struct LoggedRow {
    cells: Vec<LoggedCell>,
    /// The predicted class or segment (classification, clustering) and the score, when logged.
    predicted: Option<usize>,
    score: Option<f64>,
}

enum LoggedCell {
    /// NaN = missing.
    Number(f64),
    Text(Option<String>),
}

/// A uniform random sample of at most `capacity` of the items offered (reservoir sampling, Vitter's
/// algorithm R), and how many were offered.
struct Reservoir<T> {
    items: Vec<T>,
    capacity: usize,
    offered: usize,
    rng: crate::rng::Rng,
}

impl<T> Reservoir<T> {
    fn new(capacity: usize, seed: u64) -> Self {
        Reservoir { items: Vec::new(), capacity, offered: 0, rng: crate::rng::Rng::new(seed) }
    }

    fn offer(&mut self, item: T) {
        self.offered += 1;
        if self.items.len() < self.capacity {
            self.items.push(item);
        } else {
            // The n-th item replaces a kept one with probability capacity / n.
            let j = self.rng.below(self.offered);
            if let Some(slot) = self.items.get_mut(j) {
                *slot = item;
            }
        }
    }
}

/// What [`from_logs`] read besides the data: torn lines skipped, and the rows the data is a sample of.
struct LogsRead {
    torn: usize,
    rows: usize,
}

/// The logged predictions of `model`'s version since `since` (a sample of at most [`LOG_SAMPLE_ROWS`] rows,
/// `rows` saying how many there were), and how many torn lines (not JSON: the last line of a writer killed
/// mid-write) were skipped. Lines are read one at a time, each capped like any input line.
fn from_logs(
    model: &LoadedModel,
    folder: &Path,
    (since, until): (DateTime<Utc>, Option<DateTime<Utc>>),
) -> Result<(CurrentData, LogsRead)> {
    let features = &model.bundle.pipeline.features;
    let classes = &model.bundle.classes;
    let version = model.record.version.to_string();
    let limits = Limits::from_env()?;
    let mut sample = Reservoir::new(LOG_SAMPLE_ROWS, LOG_SAMPLE_SEED);
    let mut torn = 0usize;
    let mut files: Vec<PathBuf> = match std::fs::read_dir(folder) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(folder, e)),
    };
    files.sort();
    let since_day = since.date_naive();
    let mut bytes = Vec::new();
    for path in files {
        // Files are named by the UTC day they were written; older days cannot hold newer entries.
        let day = path.file_stem().and_then(|s| s.to_str()).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
        let after_until = |d: NaiveDate| until.is_some_and(|u| d > u.date_naive());
        if day.is_some_and(|d| d < since_day || after_until(d)) {
            continue;
        }
        let mut reader = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(&path).at(&path)?);
        for i in 0.. {
            bytes.clear();
            match read_line_capped(&mut reader, &mut bytes, limits.line).at(&path)? {
                Ok(0) => break,
                Ok(_) => {}
                Err(TooLong) => return Err(limits.line_error(&path, Some(i + 1), None, "the log line")),
            }
            if bytes.trim_ascii().is_empty() {
                continue;
            }
            let bad =
                |what: &str| Error::data(&path, Some(i + 1), None, format!("is not a prediction log line: {what}"));
            // Not JSON (or not UTF-8: a line cut inside a character) is a torn line.
            let Ok(entry) = serde_json::from_slice::<Value>(&bytes) else {
                torn += 1;
                continue;
            };
            if entry["version"].as_str() != Some(version.as_str()) {
                continue;
            }
            let at = entry["timestamp"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .ok_or_else(|| bad("no RFC 3339 \"timestamp\""))?;
            if at < since || until.is_some_and(|u| at >= u) {
                continue;
            }
            let mut row = LoggedRow { cells: Vec::with_capacity(features.len()), predicted: None, score: None };
            for f in features {
                let v = &entry["features"][&f.name];
                row.cells.push(match f.column_type() {
                    ColumnType::Numeric => LoggedCell::Number(
                        logged_number(v, true, parse_number, "a number")
                            .map_err(|found| Error::data(&path, Some(i + 1), Some(&f.name), found))?,
                    ),
                    ColumnType::Date => LoggedCell::Number(
                        logged_number(v, false, |s| parse_date(s).map(as_days), "a date")
                            .map_err(|found| Error::data(&path, Some(i + 1), Some(&f.name), found))?,
                    ),
                    ColumnType::Categorical => LoggedCell::Text(match v {
                        Value::Null => None,
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => {
                            Some(n.as_f64().map_or_else(|| n.to_string(), crate::data::frame::format_number))
                        }
                        other => Some(other.to_string()),
                    }),
                });
            }
            // The class is re-derived as the most probable one, as in the reference profile: a logged decision
            // may come from a custom --threshold, which would read as drift of the model when it is a choice.
            match model.bundle.task {
                Task::Classification => {
                    let probabilities: Option<Vec<f64>> =
                        classes.iter().map(|c| entry["probabilities"][c].as_f64()).collect();
                    if let Some(p) = probabilities {
                        row.predicted = Some(crate::models::argmax_rows(&p, classes.len())[0] as usize);
                        row.score = Some(score_of(&p));
                    }
                }
                Task::Regression => row.score = entry["prediction"].as_f64(),
                Task::Clustering => {
                    if let (Some(s), Some(d)) = (entry["segment"].as_u64(), entry["distance"].as_f64()) {
                        row.predicted = Some(s as usize);
                        row.score = Some(d);
                    }
                }
            }
            sample.offer(row);
        }
    }
    let rows = sample.offered;
    let kept = sample.items;
    let mut out = BTreeMap::new();
    for (k, f) in features.iter().enumerate() {
        let column = match f.column_type() {
            ColumnType::Numeric | ColumnType::Date => CurrentColumn::Numeric(
                kept.iter().map(|r| if let LoggedCell::Number(x) = r.cells[k] { x } else { f64::NAN }).collect(),
            ),
            ColumnType::Categorical => CurrentColumn::Categorical(
                kept.iter().map(|r| if let LoggedCell::Text(t) = &r.cells[k] { t.clone() } else { None }).collect(),
            ),
        };
        out.insert(f.name.clone(), column);
    }
    let predicted = kept.iter().filter_map(|r| r.predicted).collect();
    let scores = kept.iter().filter_map(|r| r.score).collect();
    Ok((CurrentData { rows, features: out, predictions: Some((predicted, scores)) }, LogsRead { torn, rows }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_durations_dates_and_timestamps() {
        let now = DateTime::parse_from_rfc3339("2026-01-10T12:00:00Z").unwrap().with_timezone(&Utc);
        let at = |s: &str| parse_since(s, now).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        assert_eq!(at("7d"), "2026-01-03T12:00:00Z");
        assert_eq!(at("24h"), "2026-01-09T12:00:00Z");
        assert_eq!(at("2w"), "2025-12-27T12:00:00Z");
        assert_eq!(at("2026-01-01"), "2026-01-01T00:00:00Z");
        assert_eq!(at("2026-01-05T06:00:00+02:00"), "2026-01-05T04:00:00Z");
        for bad in ["7y", "d", "yesterday", "-3d", "2026-13-01"] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_reservoir_keeps_a_uniform_seeded_sample_of_bounded_size() {
        let sample = |seed, n| {
            let mut r = Reservoir::new(100, seed);
            (0..n).for_each(|i| r.offer(i));
            (r.items, r.offered)
        };
        assert_eq!(sample(1, 60), ((0..60).collect(), 60), "fewer than the capacity: all, in order");
        let (kept, offered) = sample(1, 10_000);
        assert_eq!((kept.len(), offered), (100, 10_000));
        assert_eq!(sample(1, 10_000).0, kept, "the same seed, the same sample");
        assert_ne!(sample(2, 10_000).0, kept);
        // Every item is kept with probability 1/100: over 200 seeds, each tenth of the items holds about a tenth
        // of the 20,000 kept (2,000, standard deviation about 42).
        let mut tenths = [0usize; 10];
        for seed in 0..200 {
            for i in sample(seed, 10_000).0 {
                tenths[i / 1_000] += 1;
            }
        }
        assert!(tenths.iter().all(|&n| (1_800..=2_200).contains(&n)), "{tenths:?}");
    }
}
