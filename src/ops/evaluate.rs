//! `mlctl evaluate`: score a registered version on data — every classification metric scikit-learn users expect
//! with the classification report and confusion matrix, regression errors, or clustering inertia, silhouette and
//! segment sizes — compare it with the production version on the same rows, and check CI gates
//! (`--min f1=0.82`, `--max rmse=3.5`).

use std::path::{Path, PathBuf};

use crate::data::frame::{ColumnData, Frame, MISSING_CODE};
use crate::data::load::read_csv;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::models::Bundle;
use crate::models::{Predictions, Task};
use crate::ops::fitting::{check_unlabelled, numeric_target, score, unlabelled_rows, SelectedTarget};
use crate::ops::leakage::{self, OverlapPolicy, TrainingOverlap};
use crate::registry::loaded::{load, load_record, production_other_than, LoadedModel};
use crate::registry::{ModelRef, Store};
use crate::report::evaluation::ChartData;
pub use crate::report::evaluation_data::{Bound, DataInfo, EvaluateReport, Gate, GateResult, Scored};
use crate::reporter::Reporter;

#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    pub reference: ModelRef,
    pub data: PathBuf,
    pub gates: Vec<Gate>,
    pub delimiter: Option<u8>,
    /// Also write a markdown report with SVG charts here.
    pub report: Option<PathBuf>,
    /// `--allow-overlap`: score data that repeats training rows.
    pub overlap: OverlapPolicy,
    /// `--pos-label`: the positive class of binary metrics, when not the one the model was trained with.
    pub pos_label: Option<String>,
}

pub fn evaluate(opts: &EvaluateOptions, store: &Store, reporter: &dyn Reporter) -> Result<EvaluateReport> {
    if let Some(report) = &opts.report {
        crate::fs::refuse_same_file(&opts.data, report)?;
    }
    let registry = store.load()?;
    let model = load(store, &registry, &opts.reference)?;
    let task = model.bundle.task;
    for gate in &opts.gates {
        gate.check_task(task, &format!("{}@{}", model.name, model.record.version))?;
    }
    reporter.phase(&format!("scoring {}@{} on {}", model.name, model.record.version, opts.data.display()));
    let scored = score_file(store, &model, &opts.data, opts.delimiter, opts.overlap, opts.pos_label.as_deref())?;
    let (metrics, data, mut warnings) = (scored.metrics, scored.data, scored.warnings);
    let training_overlap = scored.overlap;

    let production = match production_other_than(&registry, &model) {
        Some(record) => {
            reporter.phase(&format!("scoring production {}@{} on the same data", model.name, record.version));
            let champion = load_record(store, &model.name, record.clone())?;
            let FileScore { metrics: m, warnings: w, .. } =
                score_file(store, &champion, &opts.data, opts.delimiter, opts.overlap, opts.pos_label.as_deref())?;
            warnings.extend(w.into_iter().map(|w| format!("production {}: {w}", champion.record.version)));
            Some(Scored { version: champion.record.version, stage: champion.record.stage, metrics: m })
        }
        None => None,
    };
    let deltas = production
        .as_ref()
        .map(|p| {
            Metrics::names(task)
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
    let (classes, pos_label) = (scored.classes, scored.pos_label);
    let mut report = EvaluateReport {
        model: model.name.to_string(),
        version: model.record.version.clone(),
        stage: model.record.stage,
        data,
        training_overlap,
        task,
        classification_report: metrics.as_classification().map(|m| m.report.render(&classes, 4)),
        classes,
        pos_label,
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
        let importances = store.metadata(&model.name, &model.record).map(|m| m.feature_importances).unwrap_or_default();
        let charts = ChartData {
            y_true: scored.y_true.as_deref(),
            proba: scored.predictions.proba(),
            actual: scored.actual.as_deref(),
            predicted: match &scored.predictions {
                crate::models::Predictions::Values(v) => Some(v),
                _ => None,
            },
            importances: &importances,
        };
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
        let entry = registry.entry_mut(&model.name)?;
        if let Some(record) = entry.versions.iter_mut().find(|v| v.version == model.record.version) {
            record.report = Some(link.clone());
        }
        Ok(())
    })
}

/// A model scored on one file.
pub struct FileScore {
    pub metrics: Metrics,
    pub data: DataInfo,
    pub warnings: Vec<String>,
    /// Class codes of the rows (classification): what curves are drawn from, with the probabilities.
    pub y_true: Option<Vec<u32>>,
    /// The target's values (regression): what the predicted-against-actual chart is drawn from.
    pub actual: Option<Vec<f64>>,
    pub predictions: Predictions,
    /// How much of the file the model was trained on.
    pub overlap: TrainingOverlap,
    /// The classes in the order the codes, probabilities and metrics use (the positive class second).
    pub classes: Vec<String>,
    /// The positive class of a binary classifier.
    pub pos_label: Option<String>,
}

/// Which class binary metrics are about: the model's class 1, or its class 0 when `--pos-label` names it (then
/// codes and probability columns are swapped before scoring, so every metric follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Positive {
    NotBinary,
    AsTrained,
    Swapped,
}

impl Positive {
    fn choose(model: &LoadedModel, pos_label: Option<&str>) -> Result<Positive> {
        let classes = &model.bundle.classes;
        let binary = model.bundle.task == Task::Classification && classes.len() == 2;
        match pos_label {
            None if binary => Ok(Positive::AsTrained),
            None => Ok(Positive::NotBinary),
            Some(p) if binary && classes.iter().any(|c| c == p) => {
                Ok(if classes[1] == p { Positive::AsTrained } else { Positive::Swapped })
            }
            Some(p) if binary => Err(Error::Config(format!(
                "--pos-label {p}: not a class of {}@{}; its classes are {}",
                model.name,
                model.record.version,
                classes.join(", ")
            ))),
            Some(p) => Err(Error::Config(format!(
                "--pos-label {p}: a positive class is for binary classifiers; {}@{} is not one",
                model.name, model.record.version
            ))),
        }
    }

    fn labels(self, codes: Vec<u32>) -> Vec<u32> {
        match self {
            Positive::Swapped => codes.into_iter().map(|c| 1 - c).collect(),
            _ => codes,
        }
    }

    fn predictions(self, predictions: Predictions) -> Predictions {
        match (self, predictions) {
            (Positive::Swapped, Predictions::Classes { mut proba, n_classes: 2 }) => {
                for row in proba.chunks_exact_mut(2) {
                    row.swap(0, 1);
                }
                Predictions::Classes { proba, n_classes: 2 }
            }
            (_, other) => other,
        }
    }

    fn classes(self, classes: &[String]) -> Vec<String> {
        let mut out = classes.to_vec();
        if self == Positive::Swapped {
            out.reverse();
        }
        out
    }

    fn label(self, classes: &[String]) -> Option<String> {
        (self != Positive::NotBinary).then(|| classes.get(1).cloned()).flatten()
    }
}

/// Scores `model` on the file at `path`: labelled for classification and regression; any rows with the
/// features for clustering.
/// Data that repeats the model's training rows is refused unless `policy` allows it (see [`leakage`]).
pub fn score_file(
    store: &Store,
    model: &LoadedModel,
    path: &Path,
    delimiter: Option<u8>,
    policy: OverlapPolicy,
    pos_label: Option<&str>,
) -> Result<FileScore> {
    let bundle = &model.bundle;
    let positive = Positive::choose(model, pos_label)?;
    let text_columns = if bundle.task == Task::Clustering { Vec::new() } else { vec![bundle.target.clone()] };
    let (frame, facts) = read_csv(path, &bundle.pipeline.read_options(delimiter, text_columns))?;
    let overlap = leakage::check(store, model, path, &facts.sha256, &frame, policy)?;
    let (truth, labelled, unlabelled_warning) = labelled_truth(&frame, bundle)?;
    let truth = match truth {
        SelectedTarget::Classes(labels, n) => SelectedTarget::Classes(positive.labels(labels), n),
        other => other,
    };
    let (x, stats) = bundle.pipeline.transform(&frame, labelled.as_deref())?;
    let predictions = positive.predictions(bundle.predict(&x));
    let classes = positive.classes(&bundle.classes);
    let metrics = score(&predictions, &truth, &x, model.record.seed)
        .map_err(|e| Error::data(path, None, None, format!("cannot be scored: {e}")))?;
    let mut warnings = crate::ops::train::stray_warnings(&facts.stray_as_missing, "trained with --numeric");
    warnings.extend(unlabelled_warning);
    warnings.extend(overlap.warnings.clone());
    if let Metrics::Classification(m) = &metrics {
        warnings.extend(m.warnings.iter().map(|w| w.message(&classes)));
    }
    warnings.extend(
        stats
            .unknown_categories
            .iter()
            .map(|(col, n)| format!("{n} row(s) have a category of \"{col}\" unseen in training (encoded as unknown)")),
    );
    let rows_without_target = labelled.map_or(0, |rows| frame.n_rows - rows.len());
    let data =
        DataInfo { path: path.display().to_string(), sha256: facts.sha256, rows: frame.n_rows, rows_without_target };
    let (y_true, actual) = match truth {
        SelectedTarget::Classes(y, _) => (Some(y), None),
        SelectedTarget::Values(v) => (None, Some(v)),
        SelectedTarget::None => (None, None),
    };
    let pos_label = positive.label(&classes);
    Ok(FileScore { metrics, data, warnings, y_true, actual, predictions, overlap, classes, pos_label })
}

/// The truth of the rows that have a target, and those rows (None: every row) with the warning that names
/// the rows dropped for lacking one: the training rule (see [`check_unlabelled`]), so a file where every row
/// lacks the target is an error. Labels are checked on every row first, so errors name rows of the file.
fn labelled_truth(frame: &Frame, bundle: &Bundle) -> Result<(SelectedTarget, Option<Vec<usize>>, Option<String>)> {
    let target = bundle.target.as_str();
    let truth = match bundle.task {
        Task::Classification => {
            SelectedTarget::Classes(labels_of(frame, target, &bundle.classes)?, bundle.classes.len())
        }
        Task::Regression => {
            require_target(frame, target)?;
            SelectedTarget::Values(numeric_target(frame, target)?)
        }
        Task::Clustering => return Ok((SelectedTarget::None, None, None)),
    };
    let unlabelled = unlabelled_rows(frame, target);
    let Some(warning) = check_unlabelled(frame, target, &unlabelled, false)? else {
        return Ok((truth, None, None));
    };
    let labelled = crate::data::frame::rows_but(frame.n_rows, &unlabelled);
    Ok((truth.select(&labelled), Some(labelled), Some(warning)))
}

/// An error naming the file unless it has the target column.
fn require_target(frame: &Frame, target: &str) -> Result<()> {
    if frame.column(target).is_some() {
        return Ok(());
    }
    let names = frame.column_names();
    Err(Error::data(
        &frame.source,
        None,
        Some(target),
        format!(
            "the target column the model predicts is missing{}; evaluation needs labelled data",
            crate::suggest::hint(target, names.iter().copied())
        ),
    ))
}

/// The target column as class codes of the model; a label the model never saw is an error naming the row.
fn labels_of(frame: &Frame, target: &str, classes: &[String]) -> Result<Vec<u32>> {
    require_target(frame, target)?;
    let column = frame.column(target).ok_or_else(|| Error::Model("the target column vanished".into()))?;
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
                // A missing label is dropped with the row (see `labelled_truth`).
                None if code == MISSING_CODE => Ok(MISSING_CODE),
                None => Err(Error::data(
                    &frame.source,
                    Some(row + 1),
                    Some(target),
                    format!(
                        "label \"{}\" is not a class the model knows ({})",
                        label.map_or("", String::as_str),
                        classes.join(", ")
                    ),
                )),
            }
        })
        .collect()
}
