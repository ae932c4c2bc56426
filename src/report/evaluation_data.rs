//! What `mlctl evaluate` found, as data: the report serialised for `--json` and rendered to markdown by
//! `report::evaluation`, and the metric gates it checks. It lives below `ops` so that the rendering does not import
//! the workflow that calls it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::models::Task;
use crate::ops::leakage::TrainingOverlap;
use crate::registry::Stage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Bound {
    #[serde(rename = ">=")]
    Min,
    #[serde(rename = "<=")]
    Max,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gate {
    pub metric: String,
    pub bound: Bound,
    pub threshold: f64,
}

impl Gate {
    /// Parses `METRIC=VALUE` (from --min or --max), checking that some task has the metric; whether the model's
    /// task has it is checked once the model is loaded ([`Gate::check_task`]).
    pub fn parse(text: &str, bound: Bound) -> Result<Gate> {
        let flag = match bound {
            Bound::Min => "--min",
            Bound::Max => "--max",
        };
        let (metric, value) = text
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("{flag} {text}: expected METRIC=VALUE, e.g. {flag} f1=0.82")))?;
        let metric = metric.trim();
        let names = Metrics::all_names();
        if !names.contains(&metric) {
            return Err(Error::Usage(format!(
                "{flag} {text}: unknown metric \"{metric}\"{}; metrics: {}",
                crate::suggest::hint(metric, names.iter().copied()),
                names.join(", ")
            )));
        }
        let threshold: f64 = value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .ok_or_else(|| Error::Usage(format!("{flag} {text}: \"{value}\" is not a number")))?;
        Ok(Gate { metric: metric.to_owned(), bound, threshold })
    }

    /// Refuses a gate on a metric the model's task does not have (an rmse gate on a classifier).
    pub fn check_task(&self, task: Task, model: &str) -> Result<()> {
        let names = Metrics::names(task);
        if names.contains(&self.metric.as_str()) {
            return Ok(());
        }
        let owner = Metrics::task_of(&self.metric).map_or("another", Task::as_str);
        Err(Error::Usage(format!(
            "gate on {}: that is a {owner} metric, but {model} is a {} model; its metrics: {}",
            self.metric,
            task.as_str(),
            names.join(", ")
        )))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    #[serde(flatten)]
    pub gate: Gate,
    /// None when the metric is undefined on this data (e.g. ROC-AUC with one class): the gate is not met.
    pub value: Option<f64>,
    pub passed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    pub version: semver::Version,
    pub stage: Stage,
    pub metrics: Metrics,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvaluateReport {
    pub model: String,
    pub version: semver::Version,
    pub stage: Stage,
    pub data: DataInfo,
    /// How much of the data the version was trained on.
    pub training_overlap: TrainingOverlap,
    pub task: Task,
    pub classes: Vec<String>,
    /// The class precision, recall and F1 are about (binary classifiers).
    pub pos_label: Option<String>,
    pub metrics: Metrics,
    /// scikit-learn's classification_report layout (classification only).
    pub classification_report: Option<String>,
    /// The production version on the same rows, when REF is another version.
    pub production: Option<Scored>,
    /// REF minus production, per metric.
    pub deltas: BTreeMap<String, f64>,
    pub gates: Vec<GateResult>,
    pub passed: bool,
    pub warnings: Vec<String>,
    /// The markdown report written with --report.
    pub report: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DataInfo {
    pub path: String,
    pub sha256: String,
    pub rows: usize,
    /// Rows left out of the scores because their target is missing.
    pub rows_without_target: usize,
}
