//! `mlctl evaluate`: score a registered version on labelled data — every classification metric scikit-learn
//! users expect, the classification report, the confusion matrix — compare it with the production version on the
//! same rows, and check CI gates (`--min f1=0.82`, `--max log_loss=0.4`).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::frame::{ColumnData, Frame};
use crate::data::load::{read_csv, ReadOptions};
use crate::error::{Error, Result};
use crate::metrics::classification::{classification_metrics, ClassificationMetrics};
use crate::models::argmax_rows;
use crate::registry::loaded::{load, load_record, production_other_than, LoadedModel};
use crate::registry::metadata::Metadata;
use crate::registry::{ModelRef, Stage, Store};
use crate::report::evaluation::ChartData;
use crate::reporter::Reporter;

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
    /// Parses `METRIC=VALUE` (from --min or --max), checking the metric name.
    pub fn parse(text: &str, bound: Bound) -> Result<Gate> {
        let flag = match bound {
            Bound::Min => "--min",
            Bound::Max => "--max",
        };
        let (metric, value) = text
            .split_once('=')
            .ok_or_else(|| Error::Config(format!("{flag} {text}: expected METRIC=VALUE, e.g. {flag} f1=0.82")))?;
        let metric = metric.trim();
        let names = ClassificationMetrics::names();
        if !names.contains(&metric) {
            return Err(Error::Config(format!(
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
            .ok_or_else(|| Error::Config(format!("{flag} {text}: \"{value}\" is not a number")))?;
        Ok(Gate { metric: metric.to_owned(), bound, threshold })
    }
}

#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    pub reference: ModelRef,
    pub data: PathBuf,
    pub gates: Vec<Gate>,
    pub delimiter: Option<u8>,
    /// Also write a markdown report with SVG charts here.
    pub report: Option<PathBuf>,
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
    pub metrics: ClassificationMetrics,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvaluateReport {
    pub model: String,
    pub version: semver::Version,
    pub stage: Stage,
    pub data: DataInfo,
    pub classes: Vec<String>,
    pub metrics: ClassificationMetrics,
    /// scikit-learn's classification_report layout.
    pub classification_report: String,
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
}

pub fn evaluate(opts: &EvaluateOptions, store: &Store, reporter: &dyn Reporter) -> Result<EvaluateReport> {
    let registry = store.load()?;
    let model = load(store, &registry, &opts.reference)?;
    reporter.phase(&format!("scoring {}@{} on {}", model.name, model.record.version, opts.data.display()));
    let scored = score_file(&model, &opts.data, opts.delimiter)?;
    let (metrics, data, mut warnings) = (scored.metrics, scored.data, scored.warnings);

    let production = match production_other_than(&registry, &model) {
        Some(record) => {
            reporter.phase(&format!("scoring production {}@{} on the same data", model.name, record.version));
            let champion = load_record(store, &model.name, record.clone())?;
            let FileScore { metrics: m, warnings: w, .. } = score_file(&champion, &opts.data, opts.delimiter)?;
            warnings.extend(w.into_iter().map(|w| format!("production {}: {w}", champion.record.version)));
            Some(Scored { version: champion.record.version, stage: champion.record.stage, metrics: m })
        }
        None => None,
    };
    let deltas = production
        .as_ref()
        .map(|p| {
            ClassificationMetrics::names()
                .iter()
                .filter_map(|n| Some(((*n).to_owned(), metrics.get(n)? - p.metrics.get(n)?)))
                .collect()
        })
        .unwrap_or_default();

    let gates: Vec<GateResult> = opts
        .gates
        .iter()
        .map(|g| {
            let value = metrics.get(&g.metric).filter(|v| v.is_finite());
            let passed = value.is_some_and(|v| match g.bound {
                Bound::Min => v >= g.threshold,
                Bound::Max => v <= g.threshold,
            });
            GateResult { gate: g.clone(), value, passed }
        })
        .collect();
    let classes = model.bundle.classes.clone();
    let mut report = EvaluateReport {
        model: model.name.to_string(),
        version: model.record.version.clone(),
        stage: model.record.stage,
        data,
        classification_report: metrics.report.render(&classes, 4),
        classes,
        metrics,
        production,
        deltas,
        passed: gates.iter().all(|g| g.passed),
        gates,
        warnings,
        report: None,
    };
    if let Some(path) = &opts.report {
        reporter.phase(&format!("writing the report {}", path.display()));
        let importances = Metadata::read(&store.layout.metadata(&model.name, &model.record.version))
            .map(|m| m.feature_importances)
            .unwrap_or_default();
        let charts = ChartData { y_true: &scored.y_true, proba: &scored.proba, importances: &importances };
        crate::report::evaluation::write_markdown(&report, &charts, path)?;
        record_report(store, &model, path, reporter)?;
        report.report = Some(path.display().to_string());
    }
    Ok(report)
}

/// Remembers the version's latest report in the registry, so MODEL_REGISTRY.md can link to it.
fn record_report(store: &Store, model: &LoadedModel, path: &Path, reporter: &dyn Reporter) -> Result<()> {
    let root = store.markdown.parent().map(Path::to_path_buf).unwrap_or_default();
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let shown = absolute.strip_prefix(std::path::absolute(&root).unwrap_or(root)).unwrap_or(&absolute);
    let link = shown.display().to_string();
    store.transaction(&|w| reporter.warn(w), |registry| {
        let entry = crate::ops::promote::entry_mut(registry, &model.name)?;
        if let Some(record) = entry.versions.iter_mut().find(|v| v.version == model.record.version) {
            record.report = Some(link.clone());
        }
        Ok(())
    })
}

/// A model scored on one labelled file.
pub struct FileScore {
    pub metrics: ClassificationMetrics,
    pub data: DataInfo,
    pub warnings: Vec<String>,
    /// Class codes of the rows, and their probabilities (row-major `rows × classes`): what curves are drawn from.
    pub y_true: Vec<u32>,
    pub proba: Vec<f64>,
}

/// Scores `model` on the labelled file at `path`.
pub fn score_file(model: &LoadedModel, path: &Path, delimiter: Option<u8>) -> Result<FileScore> {
    let bundle = &model.bundle;
    let declared: HashMap<_, _> = bundle.pipeline.features.iter().map(|f| (f.name.clone(), f.column_type())).collect();
    let read = ReadOptions { delimiter, declared, text_columns: vec![bundle.target.clone()] };
    let (frame, facts) = read_csv(path, &read)?;
    let y_true = labels_of(&frame, &bundle.target, &bundle.classes)?;
    let (x, stats) = bundle.pipeline.transform(&frame, None)?;
    let proba = bundle.model.predict_proba(&x);
    let n_classes = bundle.classes.len();
    let y_pred = argmax_rows(&proba, n_classes);
    let metrics = classification_metrics(&y_true, &y_pred, Some(&proba), n_classes)
        .map_err(|e| Error::data(path, None, None, format!("cannot be scored: {e}")))?;
    let mut warnings: Vec<String> = metrics.warnings.iter().map(|w| w.message(&bundle.classes)).collect();
    warnings.extend(
        stats
            .unknown_categories
            .iter()
            .map(|(col, n)| format!("{n} row(s) have a category of \"{col}\" unseen in training (encoded as unknown)")),
    );
    let data = DataInfo { path: path.display().to_string(), sha256: facts.sha256, rows: frame.n_rows };
    Ok(FileScore { metrics, data, warnings, y_true, proba })
}

/// The target column as class codes of the model; a label the model never saw is an error naming the row.
fn labels_of(frame: &Frame, target: &str, classes: &[String]) -> Result<Vec<u32>> {
    let names = frame.column_names();
    let column = frame.column(target).ok_or_else(|| {
        Error::data(
            &frame.source,
            None,
            Some(target),
            format!(
                "the target column the model predicts is missing{}; evaluation needs labelled data",
                crate::suggest::hint(target, names.iter().copied())
            ),
        )
    })?;
    let ColumnData::Categorical { codes, levels } = &column.data else {
        return Err(Error::Model("the target must be read as text".into()));
    };
    let class_of: Vec<Option<u32>> =
        levels.iter().map(|l| classes.iter().position(|c| c == l).map(|i| i as u32)).collect();
    codes
        .iter()
        .enumerate()
        .map(|(row, &code)| {
            let label = levels.get(code as usize);
            match label.and_then(|_| class_of[code as usize]) {
                Some(c) => Ok(c),
                None => Err(Error::data(
                    &frame.source,
                    Some(row + 1),
                    Some(target),
                    match label {
                        Some(l) => format!("label \"{l}\" is not a class the model knows ({})", classes.join(", ")),
                        None => "the label is missing".to_owned(),
                    },
                )),
            }
        })
        .collect()
}
