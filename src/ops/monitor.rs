//! `mlctl monitor`: did the predictions come true? The model's prediction logs over a period, joined by id with
//! the outcomes recorded since, scored per window and compared with the test scores of the versions that made
//! them; the model's age; and one verdict for cron: OK, or RETRAIN DUE with every reason (exit 3).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;

use crate::drift::{DriftReport, FailOn};
use crate::error::{Error, Result};
use crate::metrics::calibration::Calibration;
use crate::metrics::Metrics;
use crate::models::Task;
use crate::monitor::join::{predictions, Outcomes};
use crate::monitor::windows::{Window, Windows};
use crate::ops::drift::{Current, DriftOptions};
use crate::registry::index::ModelEntry;
use crate::registry::metadata::Metadata;
use crate::registry::{ModelName, ModelRef, Stage, Store, VersionRecord};
use crate::reporter::Reporter;

pub struct MonitorOptions {
    pub name: ModelName,
    pub since: DateTime<Utc>,
    pub window: Duration,
    /// Empty: the task's default rule ([`default_drop`]).
    pub max_drops: Vec<MaxDrop>,
    pub max_age: Option<Duration>,
    pub min_labels: usize,
    /// When the latest window's logged features count as drifted (against the training data of the version that
    /// made most of its predictions), as `drift --fail-on`.
    pub fail_on: FailOn,
    pub prediction_logs: PathBuf,
    pub outcome_logs: PathBuf,
}

/// `--max-drop METRIC=X`: RETRAIN DUE when the metric is worse than the test score by more than X.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaxDrop {
    pub metric: String,
    pub by: f64,
}

impl MaxDrop {
    pub fn parse(text: &str) -> Result<MaxDrop> {
        let bad = |why: String| Error::Usage(format!("--max-drop {text}: {why}"));
        let (metric, by) = text.split_once('=').ok_or_else(|| bad("expected METRIC=X, e.g. f1=0.05".into()))?;
        let metric = metric.trim();
        let names = Metrics::all_names();
        if !names.contains(&metric) {
            let hint = crate::suggest::hint(metric, names.iter().copied());
            return Err(bad(format!("unknown metric \"{metric}\"{hint}; metrics: {}", names.join(", "))));
        }
        let by = by.trim().parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0);
        let by = by.ok_or_else(|| bad("expected a number ≥ 0 after =".into()))?;
        Ok(MaxDrop { metric: metric.to_owned(), by })
    }
}

/// The rule when no --max-drop is given: the task's headline score may fall by 0.05 (f1 for classification, r2
/// for regression: both lie in a fixed range, so a fixed drop means the same on every dataset).
pub fn default_drop(task: Task) -> MaxDrop {
    let metric = if task == Task::Regression { "r2" } else { "f1" };
    MaxDrop { metric: metric.to_owned(), by: 0.05 }
}

#[derive(Debug, Clone, Serialize)]
pub struct MonitorReport {
    pub model: String,
    pub task: Task,
    pub since: String,
    pub until: String,
    pub window_seconds: i64,
    pub windows: Vec<WindowReport>,
    pub join: JoinCounts,
    /// The version a bare name predicts with (production, else the newest) and how old it is.
    pub age: Age,
    pub age_days: f64,
    pub rules: Rules,
    /// How metrics are estimated before outcomes arrive, or why they are not.
    pub estimation: String,
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowReport {
    pub start: String,
    pub end: String,
    pub predicted: usize,
    pub labelled: usize,
    /// Predictions per version.
    pub versions: BTreeMap<String, usize>,
    /// Realised metrics on the labelled rows (empty without labels).
    pub metrics: BTreeMap<String, f64>,
    /// The version that made most of the window's predictions, whose test scores the metrics are compared with.
    pub compared_with: Option<String>,
    pub test_metrics: BTreeMap<String, f64>,
    /// Realised minus test score, per metric both have.
    pub change: BTreeMap<String, f64>,
    /// Whether it has enough labelled rows (--min-labels) to be judged.
    pub judged: bool,
    /// Binary classifiers: CBPE's estimates over every prediction of the window (empty otherwise), and how
    /// many predictions they rest on (those of calibrated versions).
    pub estimated: BTreeMap<String, f64>,
    pub estimated_rows: usize,
    /// Estimated minus test score.
    pub estimated_change: BTreeMap<String, f64>,
    /// The latest window with predictions: the share of its logged features that drifted from the training data
    /// (`mlctl drift --logs` on the window), and which; None for the other windows.
    pub drift_share: Option<f64>,
    pub drifted_features: Vec<String>,
    #[serde(skip)]
    drift_detected: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct JoinCounts {
    pub predictions: usize,
    pub predictions_with_outcome: usize,
    pub predictions_without_id: usize,
    pub outcomes: usize,
    /// Recorded outcomes no prediction in the period claimed (predicted earlier, or an unknown id).
    pub outcomes_without_prediction: usize,
    /// Outcome lines that re-recorded an id (the latest wins).
    pub outcomes_replaced: usize,
    /// Labelled rows whose label or prediction the model's classes do not hold.
    pub unmatched: usize,
    pub torn_lines: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Age {
    pub version: semver::Version,
    pub stage: Stage,
    pub trained_at: String,
    pub days_since_trained: f64,
    /// Days since it entered its stage (None when it never moved).
    pub days_in_stage: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rules {
    pub max_drop: Vec<MaxDrop>,
    pub fail_on: FailOn,
    pub max_age_days: Option<f64>,
    pub min_labels: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "RETRAIN DUE")]
    RetrainDue,
}

impl MonitorReport {
    /// The metrics worth a column and a chart: the judged ones, then the task's usual scores on a 0–1 scale.
    pub fn chart_metrics(&self) -> Vec<&str> {
        let usual: &[&str] = if self.task == Task::Regression { &["r2"] } else { &["f1", "accuracy", "roc_auc"] };
        let mut out: Vec<&str> = self.rules.max_drop.iter().map(|d| d.metric.as_str()).collect();
        for m in usual {
            if !out.contains(m) {
                out.push(m);
            }
        }
        out
    }
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::RetrainDue => "RETRAIN DUE",
        }
    }
}

pub fn monitor(opts: &MonitorOptions, store: &Store, reporter: &dyn Reporter) -> Result<MonitorReport> {
    let registry = store.load()?;
    let entry = registry
        .models
        .get(&opts.name)
        .ok_or_else(|| Error::Config(format!("no model named {} in the registry", opts.name)))?;
    let current = entry.serving().ok_or_else(|| Error::Config(format!("{} has no versions", opts.name)))?;
    let task = Task::parse(&read_metadata(store, &opts.name, current)?.task)?;
    if task == Task::Clustering {
        return Err(Error::Config(format!("{} is a clustering model: it has no outcomes to monitor", opts.name)));
    }
    let now = crate::clock::now();
    if opts.since >= now {
        return Err(Error::Usage("--since: the period starts in the future".to_owned()));
    }
    let (classes, calibrations) = classes_and_calibrations(store, &opts.name, entry, task)?;
    let mut windows = Windows::new((opts.since, now, opts.window), task, classes, calibrations)?;

    let outcome_folder = opts.outcome_logs.join(opts.name.as_str());
    reporter.phase(&format!("reading outcomes in {}", outcome_folder.display()));
    let mut outcomes = Outcomes::read(&outcome_folder)?;
    let prediction_folder = opts.prediction_logs.join(opts.name.as_str());
    reporter.phase(&format!("joining the predictions logged in {}", prediction_folder.display()));
    let mut join = JoinCounts { outcomes: outcomes.labels.len(), ..JoinCounts::default() };
    // The last window's drift is read beside the join, on the other core: for the serving version, which made
    // its predictions unless a promotion happened within the window (then it is read again below).
    let last_window = (windows.windows.last().map_or(opts.since, |w| w.start), None);
    let (joined, speculative) = std::thread::scope(|scope| {
        let drift = scope.spawn(|| drift_between(opts, store, &current.version, last_window, &crate::reporter::Silent));
        let joined = predictions(&prediction_folder, opts.since, |logged, version, at| {
            join.predictions += 1;
            let outcome = match &logged.id {
                Some(id) => outcomes.claim(&id.0),
                None => {
                    join.predictions_without_id += 1;
                    None
                }
            };
            join.predictions_with_outcome += usize::from(outcome.is_some());
            windows.add(logged, version, at, outcome);
            Ok(())
        });
        (joined, drift.join())
    });
    let speculative = speculative.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    join.torn_lines = joined? + outcomes.torn;
    join.outcomes_without_prediction = outcomes.unclaimed();
    join.outcomes_replaced = outcomes.lines - outcomes.labels.len();
    join.unmatched = windows.unmatched;

    let rules = Rules {
        max_drop: if opts.max_drops.is_empty() { vec![default_drop(task)] } else { opts.max_drops.clone() },
        fail_on: opts.fail_on,
        max_age_days: opts.max_age.map(days),
        min_labels: opts.min_labels,
    };
    let reports = windows
        .windows
        .iter()
        .map(|w| window_report(&windows, w, entry, opts.min_labels))
        .collect::<Result<Vec<_>>>()?;
    let mut reports = reports;
    latest_window_drift(opts, store, &mut reports, (&current.version, speculative), reporter)?;
    let age = age(entry, current, now)?;
    let mut report = MonitorReport {
        model: opts.name.to_string(),
        task,
        since: stamp(opts.since),
        until: stamp(now),
        window_seconds: opts.window.num_seconds(),
        windows: reports,
        join,
        age_days: age.days_since_trained,
        age,
        rules,
        estimation: estimation_note(task, &windows),
        verdict: Verdict::Ok,
        reasons: Vec::new(),
        warnings: Vec::new(),
    };
    let uncalibrated = windows.uncalibrated_versions();
    if !uncalibrated.is_empty() && windows.n_classes() == 2 {
        report.warnings.push(format!(
            "no estimates for the predictions of {} (trained before mlctl calibrated probabilities): retrain to get \
             them",
            uncalibrated.iter().map(|v| format!("{}@{v}", report.model)).collect::<Vec<_>>().join(", ")
        ));
    }
    if report.join.torn_lines > 0 {
        report.warnings.push(format!(
            "{} torn line(s) skipped in the logs (a writer killed mid-line leaves one)",
            report.join.torn_lines
        ));
    }
    judge(&mut report);
    Ok(report)
}

/// The drift of the logged features of `version`'s predictions in `[since, until)` from its training data.
fn drift_between(
    opts: &MonitorOptions,
    store: &Store,
    version: &semver::Version,
    (since, until): (DateTime<Utc>, Option<DateTime<Utc>>),
    reporter: &dyn Reporter,
) -> Result<DriftReport> {
    let drift_opts = DriftOptions {
        reference: ModelRef::parse(&format!("{}@{version}", opts.name))?,
        current: Current::Logs { dir: opts.prediction_logs.clone(), since, until, since_text: stamp(since) },
        layers: Vec::new(),
        fail_on: opts.fail_on,
        bonferroni: true,
        report: None,
        delimiter: None,
    };
    crate::ops::drift::drift(&drift_opts, store, reporter)
}

/// The latest window with predictions gets the drift of its main version's logged features: the one computed
/// beside the join (`speculative`, for the serving version over the last window) when that is the one needed.
fn latest_window_drift(
    opts: &MonitorOptions,
    store: &Store,
    reports: &mut [WindowReport],
    speculative: (&semver::Version, Result<DriftReport>),
    reporter: &dyn Reporter,
) -> Result<()> {
    let last = reports.len().saturating_sub(1);
    let Some((i, w)) = reports.iter_mut().enumerate().rev().find(|(_, w)| w.predicted > 0) else { return Ok(()) };
    let Some(version) = w.compared_with.as_deref().and_then(|v| semver::Version::parse(v).ok()) else { return Ok(()) };
    let drift = if i == last && version == *speculative.0 {
        speculative.1?
    } else {
        let parse = |t: &str| DateTime::parse_from_rfc3339(t).map(|t| t.with_timezone(&Utc)).ok();
        let (Some(since), Some(end)) = (parse(&w.start), parse(&w.end)) else { return Ok(()) };
        drift_between(opts, store, &version, (since, (i != last).then_some(end)), reporter)?
    };
    w.drift_share = Some(drift.share_drifted);
    w.drifted_features = drift.drifted_features;
    w.drift_detected = drift.drift_detected;
    Ok(())
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[allow(clippy::cast_precision_loss)] // Days of a model's life: far below 2^52 milliseconds.
fn days(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 86_400_000.0
}

fn read_metadata(store: &Store, name: &ModelName, record: &VersionRecord) -> Result<Metadata> {
    store.metadata(name, record)
}

/// Every class any version of a classifier knows, sorted (the codes labels and predictions are scored with),
/// and each binary version's calibration.
fn classes_and_calibrations(
    store: &Store,
    name: &ModelName,
    entry: &ModelEntry,
    task: Task,
) -> Result<(Vec<String>, HashMap<semver::Version, Calibration>)> {
    let (mut classes, mut calibrations) = (std::collections::BTreeSet::new(), HashMap::new());
    if task != Task::Classification {
        return Ok((Vec::new(), calibrations));
    }
    for record in entry.versions.iter().filter(|r| !r.files_deleted) {
        let meta = read_metadata(store, name, record)?;
        classes.extend(meta.classes);
        if let Some(c) = meta.calibration {
            calibrations.insert(record.version.clone(), c);
        }
    }
    Ok((classes.into_iter().collect(), calibrations))
}

fn window_report(windows: &Windows, w: &Window, entry: &ModelEntry, min_labels: usize) -> Result<WindowReport> {
    let metrics: BTreeMap<String, f64> = match windows.score(w)? {
        Some(m) => Metrics::headline(m.task())
            .iter()
            .filter_map(|name| m.get(name).filter(|x| x.is_finite()).map(|x| ((*name).to_owned(), x)))
            .collect(),
        None => BTreeMap::new(),
    };
    let main = w.main_version().and_then(|v| entry.get(v));
    let test_metrics = main.map(|r| r.metrics.clone()).unwrap_or_default();
    let change = versus(&metrics, &test_metrics);
    let estimated = w.estimated();
    let estimated_change = versus(&estimated, &test_metrics);
    Ok(WindowReport {
        start: stamp(w.start),
        end: stamp(w.end),
        predicted: w.predicted,
        labelled: w.labelled(),
        versions: w.versions.iter().map(|(v, n)| (v.to_string(), *n)).collect(),
        metrics,
        compared_with: main.map(|r| r.version.to_string()),
        test_metrics,
        change,
        judged: w.labelled() >= min_labels.max(1),
        estimated,
        estimated_rows: w.estimable(),
        estimated_change,
        drift_share: None,
        drifted_features: Vec::new(),
        drift_detected: false,
    })
}

fn estimation_note(task: Task, windows: &Windows) -> String {
    match task {
        Task::Regression => "none: regression is judged on realised metrics only".to_owned(),
        _ if windows.n_classes() != 2 => "none: a multiclass model is judged on realised metrics only".to_owned(),
        _ => "CBPE: expected confusion matrix from probabilities calibrated on the test split".to_owned(),
    }
}

/// `values` minus `test`, per metric both have.
fn versus(values: &BTreeMap<String, f64>, test: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    values.iter().filter_map(|(k, x)| test.get(k).map(|t| (k.clone(), x - t))).collect()
}

fn age(entry: &ModelEntry, current: &VersionRecord, now: DateTime<Utc>) -> Result<Age> {
    let trained = DateTime::parse_from_rfc3339(&current.created_at)
        .map_err(|_| Error::Registry(format!("version {} has no valid created_at", current.version)))?
        .with_timezone(&Utc);
    let entered = entry
        .events
        .iter()
        .rev()
        .find(|e| e.version == current.version && e.to == current.stage)
        .and_then(|e| DateTime::parse_from_rfc3339(&e.at).ok());
    Ok(Age {
        version: current.version.clone(),
        stage: current.stage,
        trained_at: current.created_at.clone(),
        days_since_trained: days(now - trained),
        days_in_stage: entered.map(|t| days(now - t.with_timezone(&Utc))),
    })
}

/// The verdict and its reasons: a metric of the latest window with enough outcomes worse than its test score
/// by more than allowed; the same for the estimated metric of a newer window still waiting for its outcomes;
/// or a model older than allowed.
fn judge(report: &mut MonitorReport) {
    let mut reasons = Vec::new();
    let min = report.rules.min_labels.max(1);
    let labelled = report.windows.iter().rposition(|w| w.judged);
    let estimated =
        report.windows.iter().rposition(|w| w.estimated_rows >= min).filter(|&i| labelled.is_none_or(|l| i > l));
    for (i, kind) in [(labelled, Kind::Realised), (estimated, Kind::Estimated)] {
        let Some(w) = i.map(|i| &report.windows[i]) else { continue };
        reasons.extend(report.rules.max_drop.iter().filter_map(|rule| dropped(w, rule, kind)));
    }
    if labelled.is_none() && estimated.is_none() {
        report.warnings.push(format!(
            "no window has {min} labelled predictions (--min-labels){}: performance not judged; record outcomes \
             with `mlctl outcomes {} --data FILE --id-column COL`",
            if report.task == Task::Classification { " or estimates" } else { "" },
            report.model
        ));
    }
    if let Some(w) = report.windows.iter().find(|w| w.drift_detected) {
        reasons.push(format!(
            "the window {} – {}: {} of its logged features drifted from the training data ({:.0}%, --fail-on {}): {}",
            w.start,
            w.end,
            w.drifted_features.len(),
            w.drift_share.unwrap_or(0.0) * 100.0,
            match report.rules.fail_on {
                FailOn::Any => "any".to_owned(),
                FailOn::Share(x) => format!("share={x}"),
            },
            w.drifted_features.join(", ")
        ));
    }
    if let Some(max) = report.rules.max_age_days.filter(|max| report.age.days_since_trained > *max) {
        reasons.push(format!(
            "{}@{} was trained {:.1} days ago (--max-age {max:.1} days)",
            report.model, report.age.version, report.age.days_since_trained
        ));
    }
    report.verdict = if reasons.is_empty() { Verdict::Ok } else { Verdict::RetrainDue };
    report.reasons = reasons;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Realised,
    Estimated,
}

/// Why a window's realised or estimated metric breaks its rule, if it does.
fn dropped(w: &WindowReport, rule: &MaxDrop, kind: Kind) -> Option<String> {
    let (values, rows, what) = match kind {
        Kind::Realised => (&w.metrics, w.labelled, "labelled"),
        Kind::Estimated => (&w.estimated, w.estimated_rows, "predictions, estimated before their outcomes"),
    };
    let (value, test) = (*values.get(&rule.metric)?, *w.test_metrics.get(&rule.metric)?);
    let higher_is_better = Metrics::higher_is_better(&rule.metric)?;
    let fall = if higher_is_better { test - value } else { value - test };
    (fall > rule.by).then(|| {
        format!(
            "{}{} {} from {test:.4} (test score of {}) to {value:.4} in the window {} – {} ({rows} {what}): by \
             {fall:.4}, more than --max-drop {}",
            if kind == Kind::Estimated { "estimated " } else { "" },
            rule.metric,
            if higher_is_better { "fell" } else { "rose" },
            w.compared_with.as_deref().unwrap_or("?"),
            w.start,
            w.end,
            rule.by
        )
    })
}
