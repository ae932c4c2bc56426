//! `mlctl outcomes`: the real outcomes of logged predictions, read from a CSV (an id column and a label
//! column), checked against the model's task and classes, and appended to
//! `logs/outcomes/<name>/<YYYY-MM-DD>.jsonl` in one append, so that `monitor` can join them with the prediction
//! logs by id. All or nothing: one bad label and nothing from the file is recorded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::frame::{Column, Frame};
use crate::data::load::{read_csv, ReadOptions};
use crate::data::schema::{parse_number, ColumnType};
use crate::error::{Error, Result};
use crate::models::Task;
use crate::ops::prediction_log::PredictionLog;
use crate::registry::loaded::{load_record, LoadedModel};
use crate::registry::{ModelName, Store};
use crate::reporter::Reporter;

pub struct OutcomesOptions {
    pub name: ModelName,
    pub data: PathBuf,
    pub id_column: String,
    /// The label column; the model's target when None.
    pub target: Option<String>,
    pub delimiter: Option<u8>,
    /// `logs/outcomes`: the model's day files go in a folder of its name under it.
    pub log_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutcomesReport {
    pub model: String,
    /// The version whose task and classes the labels were checked against.
    pub checked_against: semver::Version,
    pub data: String,
    pub recorded: usize,
    /// Rows whose label is missing (not known yet): not recorded.
    pub without_label: usize,
    /// Ids given more than once in the file: the last row wins, as a later recording would.
    pub repeated_ids: usize,
    pub log_file: String,
}

/// One outcome line. `label` is the class label as text (classification) or the value (regression).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeLine {
    pub id: String,
    pub label: Label,
    pub recorded_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Label {
    Value(f64),
    Class(String),
}

/// A string is a class, a number a value (by hand: serde's untagged enums buffer every value first, which a
/// million outcome lines notice).
impl<'de> Deserialize<'de> for Label {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Label;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a class label or a number")
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Label, E> {
                Ok(Label::Class(v.to_owned()))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Label, E> {
                Ok(Label::Value(v))
            }
            // A label was an f64 before it was written.
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Label, E> {
                Ok(Label::Value(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Label, E> {
                Ok(Label::Value(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

pub fn outcomes(opts: &OutcomesOptions, store: &Store, reporter: &dyn Reporter) -> Result<OutcomesReport> {
    let registry = store.load()?;
    let record = registry
        .models
        .get(&opts.name)
        .and_then(|entry| entry.serving())
        .ok_or_else(|| Error::Config(format!("no model named {} in the registry", opts.name)))?;
    let model = load_record(store, &opts.name, record.clone())?;
    if model.bundle.task == Task::Clustering {
        return Err(Error::Config(format!("{} is a clustering model: it has no outcomes to record", opts.name)));
    }
    let target = opts.target.clone().unwrap_or_else(|| model.bundle.target.clone());
    reporter.phase(&format!("reading {}", opts.data.display()));
    let read = ReadOptions {
        delimiter: opts.delimiter,
        declared: HashMap::from([(opts.id_column.clone(), ColumnType::Categorical)]),
        text_columns: vec![opts.id_column.clone(), target.clone()],
        ..model.bundle.pipeline.read_options(opts.delimiter, Vec::new())
    };
    let (frame, _) = read_csv(&opts.data, &read)?;
    let ids = column(&frame, &opts.id_column, "--id-column")?;
    let labels = column(&frame, &target, "the outcome column (--target)")?;
    let recorded_at = crate::clock::now_rfc3339();
    let mut lines = Vec::new();
    let (mut recorded, mut without_label) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    let mut repeated_ids = 0;
    for row in 0..frame.n_rows {
        let id = ids.text(row).ok_or_else(|| {
            Error::data(&opts.data, Some(row + 1), Some(&opts.id_column), "has no id: every outcome needs one")
        })?;
        let Some(text) = labels.text(row) else {
            without_label += 1;
            continue;
        };
        let label = check_label(&model, &text)
            .map_err(|expected| Error::data(&opts.data, Some(row + 1), Some(&target), expected))?;
        if !seen.insert(id.to_string()) {
            repeated_ids += 1;
        }
        let line = OutcomeLine { id: id.into_owned(), label, recorded_at: recorded_at.clone() };
        serde_json::to_writer(&mut lines, &line).map_err(|e| Error::Model(format!("cannot write an outcome: {e}")))?;
        lines.push(b'\n');
        recorded += 1;
    }
    if recorded == 0 {
        return Err(Error::data(&opts.data, None, Some(&target), "holds no labels: nothing to record"));
    }
    let mut log = PredictionLog::open(&opts.log_dir, opts.name.as_str())?;
    log.append(&lines)?;
    Ok(OutcomesReport {
        model: opts.name.to_string(),
        checked_against: model.record.version.clone(),
        data: opts.data.display().to_string(),
        recorded,
        without_label,
        repeated_ids,
        log_file: log.path.display().to_string(),
    })
}

fn column<'a>(frame: &'a Frame, name: &str, what: &str) -> Result<&'a Column> {
    frame.column(name).ok_or_else(|| {
        let names = frame.column_names();
        Error::data(
            &frame.source,
            None,
            Some(name),
            format!(
                "{what} names no column of the file{}; its columns: {}",
                crate::suggest::hint(name, names.iter().copied()),
                names.join(", ")
            ),
        )
    })
}

/// The label as the model knows it, or what was expected instead.
fn check_label(model: &LoadedModel, text: &str) -> std::result::Result<Label, String> {
    match model.bundle.task {
        Task::Regression => parse_number(text)
            .map(Label::Value)
            .ok_or_else(|| format!("\"{text}\" is not a number; {} is a regression model", model.name)),
        _ => {
            let classes = &model.bundle.classes;
            let text = text.trim();
            if classes.iter().any(|c| c == text) {
                return Ok(Label::Class(text.to_owned()));
            }
            // A number written another way ("1.0" for class "1") is the same class.
            let same_number = parse_number(text).and_then(|x| classes.iter().find(|c| parse_number(c) == Some(x)));
            same_number.map(|c| Label::Class(c.clone())).ok_or_else(|| {
                format!(
                    "\"{text}\" is not a class {}@{} knows; its classes: {}",
                    model.name,
                    model.record.version,
                    classes.join(", ")
                )
            })
        }
    }
}

/// Where a model's outcome files are.
pub fn folder(log_dir: &Path, name: &ModelName) -> PathBuf {
    log_dir.join(name.as_str())
}
