//! `mlctl promote`: move a version between stages, and `--rollback`. At most one version is in production and
//! one in staging: the one a promotion displaces goes to archived. A promotion into production is gated on the
//! model's primary metric against the current production version (the champion): the challenger must beat it
//! by at least `min_improvement`, on stored test metrics or, with `--data`, with both evaluated on that same
//! file. Moving the production version itself out of production (to staging or archived) leaves the model with
//! nothing to serve, so it is refused unless forced: a promotion of another version into production is the way
//! that keeps one serving. `--force` overrides either refusal, and the reason it needs is recorded. Every change is appended to the audit trail with who,
//! when, why and the figures that decided it; the registry lock makes the check and the change one step.

use std::collections::BTreeMap;
use std::path::PathBuf;

use semver::Version;
use serde::Serialize;

use super::evaluate::score_file;
use super::leakage::OverlapPolicy;
use crate::clock;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::registry::index::{current_user, ModelEntry};
use crate::registry::loaded::load_record;
use crate::registry::{Event, ModelName, ModelRef, Stage, Store, VersionRecord};
use crate::reporter::Reporter;

/// What a promotion into production must show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateSpec {
    /// None: the task's primary metric (f1, rmse or silhouette; see [`Metrics::primary`]).
    pub metric: Option<String>,
    /// The challenger must beat the champion by at least this much (in the metric's better direction).
    pub min_improvement: f64,
}

impl GateSpec {
    pub fn new(metric: Option<&str>, min_improvement: f64) -> Result<GateSpec> {
        let names = Metrics::all_names();
        if let Some(metric) = metric.filter(|m| !names.contains(m)) {
            return Err(Error::Config(format!(
                "unknown primary metric \"{metric}\"{}; metrics: {}",
                crate::suggest::hint(metric, names.iter().copied()),
                names.join(", ")
            )));
        }
        if !min_improvement.is_finite() {
            return Err(Error::Config(format!("min_improvement must be a finite number, not {min_improvement}")));
        }
        Ok(GateSpec { metric: metric.map(str::to_owned), min_improvement })
    }
}

#[derive(Debug, Clone)]
pub struct PromoteOptions {
    pub reference: ModelRef,
    pub to: Stage,
    pub gate: GateSpec,
    /// Evaluate challenger and champion on this file instead of comparing stored test metrics.
    pub data: Option<PathBuf>,
    pub delimiter: Option<u8>,
    /// `--allow-overlap`: gate on --data even when it repeats training rows.
    pub overlap: OverlapPolicy,
    /// `--pos-label`: the positive class of a binary gate metric (with --data; without, it must be the one the
    /// stored metrics are about).
    pub pos_label: Option<String>,
    /// Promote even if the gate refuses, or take the production version out of production with no replacement.
    pub force: bool,
    pub reason: Option<String>,
}

/// A stage change that happened (or, in a refused promotion, would have).
#[derive(Debug, Clone, Serialize)]
pub struct Move {
    pub version: Version,
    pub from: Stage,
    pub to: Stage,
}

/// How the gate decided.
#[derive(Debug, Clone, Serialize)]
pub struct GateDecision {
    pub metric: String,
    /// The class the metric is about, for precision, recall and F1 of a binary classifier.
    pub pos_label: Option<String>,
    pub higher_is_better: bool,
    /// "stored test metrics" or "evaluated on FILE".
    pub basis: String,
    pub challenger: Version,
    pub challenger_value: f64,
    /// None when there is no production version yet: the gate passes.
    pub champion: Option<Version>,
    pub champion_value: Option<f64>,
    /// Challenger minus champion in the better direction (positive = better).
    pub improvement: Option<f64>,
    pub min_improvement: f64,
    pub passed: bool,
    /// With --data: the estimated share of its rows that each version (challenger, then champion) was trained
    /// on; None where not checked (a version trained before row fingerprints).
    pub training_overlap: Vec<(Version, Option<f64>)>,
}

impl GateDecision {
    /// One line for people and for the audit trail.
    pub fn summary(&self) -> String {
        let metric = self.metric_name();
        match (&self.champion, self.champion_value, self.improvement) {
            (Some(champion), Some(value), Some(improvement)) => format!(
                "{metric} {:.4} vs production {champion}'s {value:.4} ({}: improvement {improvement:+.4}, needed ≥ {})",
                self.challenger_value, self.basis, self.min_improvement
            ),
            _ => format!("{metric} {:.4} ({}); no production version to beat", self.challenger_value, self.basis),
        }
    }

    /// The metric with the class it is about: "f1 (positive class: churned)".
    pub fn metric_name(&self) -> String {
        match &self.pos_label {
            Some(p) => format!("{} (positive class: {p})", self.metric),
            None => self.metric.clone(),
        }
    }

    fn figures(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::from([(self.metric.clone(), self.challenger_value)]);
        if let Some(v) = self.champion_value {
            out.insert(format!("production_{}", self.metric), v);
        }
        out.insert("min_improvement".to_owned(), self.min_improvement);
        out
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PromoteReport {
    pub model: String,
    pub version: Version,
    pub from: Stage,
    pub to: Stage,
    /// False when the version was already there (nothing to do) or the move was refused.
    pub changed: bool,
    pub gate: Option<GateDecision>,
    pub forced: bool,
    /// Refused: the gate said no, or the move would leave no version in production, and there was no --force
    /// (exit 3).
    pub refused: bool,
    /// The version was in production and nothing replaces it there: refused without --force, recorded when forced.
    pub leaves_production_empty: bool,
    /// Every stage change made, in order (the promoted version and the one it displaced).
    pub moves: Vec<Move>,
}

pub fn promote(opts: &PromoteOptions, store: &Store, reporter: &dyn Reporter) -> Result<PromoteReport> {
    if opts.to == Stage::Development {
        return Err(Error::Usage(
            "versions start in development; promote to staging, production or archived".to_owned(),
        ));
    }
    let registry = store.load()?;
    let record = registry.resolve(&opts.reference)?.clone();
    let name = &opts.reference.name;
    let mut report = PromoteReport {
        model: name.to_string(),
        version: record.version.clone(),
        from: record.stage,
        to: opts.to,
        changed: false,
        gate: None,
        forced: false,
        refused: false,
        leaves_production_empty: false,
        moves: Vec::new(),
    };
    if record.stage == opts.to {
        return Ok(report);
    }
    if record.stage == Stage::Production {
        // Nothing takes its place: predict NAME and serve NAME would have no version to use.
        report.leaves_production_empty = true;
        report.refused = !opts.force;
        report.forced = opts.force;
        if report.refused {
            return Ok(report);
        }
    }
    if opts.to != Stage::Archived && record.files_deleted {
        return Err(Error::Registry(format!(
            "{name}@{}: its model file was deleted by retention, so it cannot serve from {}; train it again",
            record.version, opts.to
        )));
    }

    let champion = registry.resolve(&ModelRef::stage(name, Stage::Production)).ok().cloned();
    if opts.to == Stage::Production {
        let decision = decide(opts, store, name, &record, champion.as_ref(), reporter)?;
        report.refused = !decision.passed && !opts.force;
        report.forced = !decision.passed && opts.force;
        report.gate = Some(decision);
        if report.refused {
            return Ok(report);
        }
    }

    let reason = reason_text(opts, &report);
    let figures = report.gate.as_ref().map(GateDecision::figures).unwrap_or_default();
    let expected_champion = champion.map(|c| c.version);
    let version = record.version.clone();
    let to = opts.to;
    let force = opts.force;
    report.moves = store.transaction(&|w| reporter.warn(w), |registry| {
        let entry = registry.entry_mut(name)?;
        // The gate ran outside the lock (evaluation can take a while): refuse if production changed meanwhile,
        // unless the promotion is forced, which no gate figure decides.
        let now_champion = entry.in_stage(Stage::Production).map(|v| v.version.clone());
        if to == Stage::Production && !force && now_champion != expected_champion {
            return Err(Error::Registry(format!(
                "the production version of {name} changed while the gate was evaluated; run the promotion again"
            )));
        }
        let mut moves = Vec::new();
        if matches!(to, Stage::Production | Stage::Staging) {
            if let Some(displaced) = entry.in_stage(to).map(|v| v.version.clone()) {
                let why = format!("replaced in {to} by {version}");
                moves.push(set_stage(entry, &displaced, Stage::Archived, &why, BTreeMap::new())?);
            }
        }
        moves.push(set_stage(entry, &version, to, &reason, figures.clone())?);
        Ok(moves)
    })?;
    report.changed = true;
    Ok(report)
}

/// The gate: the challenger's primary metric against the champion's, stored or evaluated on `opts.data`.
fn decide(
    opts: &PromoteOptions,
    store: &Store,
    name: &ModelName,
    challenger: &VersionRecord,
    champion: Option<&VersionRecord>,
    reporter: &dyn Reporter,
) -> Result<GateDecision> {
    let task = crate::models::Task::parse(&challenger.spec.task)?;
    let metric = opts.gate.metric.as_deref().unwrap_or(Metrics::primary(task));
    if !Metrics::names(task).contains(&metric) {
        let owner = Metrics::task_of(metric).map_or("another", crate::models::Task::as_str);
        return Err(Error::Config(format!(
            "the promotion gate compares {metric}, a {owner} metric, but {name} is a {} model; its metrics: {}",
            task.as_str(),
            Metrics::names(task).join(", ")
        )));
    }
    let higher_is_better = Metrics::higher_is_better(metric).unwrap_or(true);
    let overlaps = std::cell::RefCell::new(Vec::new());
    let positive = std::cell::RefCell::new(None);
    let (basis, challenger_value, champion_value) = match &opts.data {
        Some(path) => {
            let score = |record: &VersionRecord| -> Result<f64> {
                reporter.phase(&format!(
                    "evaluating {name}@{} ({}) on {}",
                    record.version,
                    record.stage,
                    path.display()
                ));
                let model = load_record(store, name, record.clone())?;
                // The champion is scored for the challenger's positive class: F1 about two classes is no comparison.
                let wanted = opts.pos_label.clone().or_else(|| positive.borrow().clone());
                let scored = score_file(store, &model, path, opts.delimiter, opts.overlap, wanted.as_deref())?;
                *positive.borrow_mut() = scored.pos_label.clone();
                for w in &scored.overlap.warnings {
                    reporter.warn(w);
                }
                overlaps.borrow_mut().push((record.version.clone(), scored.overlap.share));
                defined(scored.metrics.get(metric), metric, name, record, "on this data")
            };
            let challenger_value = score(challenger)?;
            let champion_value = champion.map(score).transpose()?;
            (format!("both evaluated on {}", path.display()), challenger_value, champion_value)
        }
        None => {
            *positive.borrow_mut() = stored_positive(opts, store, name, metric, challenger, champion)?;
            let stored = |record: &VersionRecord| {
                defined(record.metrics.get(metric).copied(), metric, name, record, "among its stored test metrics")
            };
            ("stored test metrics".to_owned(), stored(challenger)?, champion.map(stored).transpose()?)
        }
    };
    let improvement =
        champion_value.map(|c| if higher_is_better { challenger_value - c } else { c - challenger_value });
    // A tolerance for the rounding of an improvement of exactly min_improvement (e.g. 0.8 - 0.7 vs 0.1).
    let passed = improvement.is_none_or(|i| i >= opts.gate.min_improvement - 1e-12);
    let pos_label = positive.into_inner().filter(|_| is_binary_metric(metric));
    Ok(GateDecision {
        metric: metric.to_owned(),
        pos_label,
        higher_is_better,
        basis,
        challenger: challenger.version.clone(),
        challenger_value,
        champion: champion.map(|c| c.version.clone()),
        champion_value,
        improvement,
        min_improvement: opts.gate.min_improvement,
        passed,
        training_overlap: overlaps.into_inner(),
    })
}

/// Precision, recall and F1 of a binary classifier are about one class: the positive class.
pub fn is_binary_metric(metric: &str) -> bool {
    matches!(metric, "precision" | "recall" | "f1")
}

/// The positive class stored metrics are about (from metadata.json; the class that sorts last in metadata
/// written before it was recorded), refusing a comparison on stored metrics about different classes.
fn stored_positive(
    opts: &PromoteOptions,
    store: &Store,
    name: &ModelName,
    metric: &str,
    challenger: &VersionRecord,
    champion: Option<&VersionRecord>,
) -> Result<Option<String>> {
    let positive_of = |record: &VersionRecord| {
        let meta = store.metadata(name, record).ok()?;
        (meta.classes.len() == 2).then(|| meta.pos_label.unwrap_or_else(|| meta.classes[1].clone()))
    };
    let positive = positive_of(challenger);
    if !is_binary_metric(metric) {
        return Ok(positive);
    }
    if let (Some(wanted), Some(stored)) = (&opts.pos_label, &positive) {
        if wanted != stored {
            return Err(Error::Config(format!(
                "--pos-label {wanted}: the stored {metric} of {name}@{} is about class {stored}; gate on labelled \
                 data with --data to score it for {wanted}",
                challenger.version
            )));
        }
    }
    if let Some(champion) = champion {
        let theirs = positive_of(champion);
        if theirs != positive {
            return Err(Error::Config(format!(
                "the stored {metric} of {name}@{} is about class {} but production {}'s is about class {}: \
                 compare them on the same labelled data with --data (and --pos-label)",
                challenger.version,
                positive.as_deref().unwrap_or("?"),
                champion.version,
                theirs.as_deref().unwrap_or("?")
            )));
        }
    }
    Ok(positive)
}

fn defined(value: Option<f64>, metric: &str, name: &ModelName, record: &VersionRecord, where_: &str) -> Result<f64> {
    value.filter(|v| v.is_finite()).ok_or_else(|| {
        Error::Registry(format!(
            "{name}@{}: {metric} is undefined {where_}, so the promotion gate cannot compare it; choose another \
             metric with --metric or evaluate on labelled data with --data",
            record.version
        ))
    })
}

fn reason_text(opts: &PromoteOptions, report: &PromoteReport) -> String {
    let given = opts.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let gate = report.gate.as_ref().map(GateDecision::summary);
    let mut parts = Vec::new();
    if report.leaves_production_empty {
        parts.push("FORCED out of production, no version replaces it".to_owned());
    } else if report.forced {
        parts.push("FORCED past the gate".to_owned());
    }
    parts.extend(given.map(str::to_owned));
    parts.extend(gate);
    if parts.is_empty() {
        "promoted".to_owned()
    } else {
        parts.join("; ")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RollbackReport {
    pub model: String,
    /// The version that was in production (None if none was).
    pub from_version: Option<Version>,
    pub to_version: Version,
    pub moves: Vec<Move>,
}

/// Restores the version that was in production before the current one (the most recent earlier production
/// version that is still registered with its model file).
pub fn rollback(
    name: &ModelName,
    reason: Option<&str>,
    store: &Store,
    reporter: &dyn Reporter,
) -> Result<RollbackReport> {
    let given = reason.map(str::trim).filter(|r| !r.is_empty());
    store.transaction(&|w| reporter.warn(w), |registry| {
        let entry = registry.entry_mut(name)?;
        let current = entry.in_stage(Stage::Production).map(|v| v.version.clone());
        let previous = rollback_targets(entry).into_iter().next().ok_or_else(|| {
            Error::Registry(format!(
                "{name} has no earlier production version to roll back to (with its model file still there); \
                     see its history with `mlctl show {name}`"
            ))
        })?;
        let mut moves = Vec::new();
        let suffix = given.map(|r| format!(": {r}")).unwrap_or_default();
        if let Some(cur) = &current {
            let why = format!("rolled back to {previous}{suffix}");
            moves.push(set_stage(entry, cur, Stage::Archived, &why, BTreeMap::new())?);
        }
        let from = current.as_ref().map_or_else(|| "no production version".to_owned(), ToString::to_string);
        let why = format!("rollback from {from}{suffix}");
        moves.push(set_stage(entry, &previous, Stage::Production, &why, BTreeMap::new())?);
        Ok(RollbackReport { model: name.to_string(), from_version: current, to_version: previous, moves })
    })
}

/// The versions `--rollback` can go back to, first choice first: those that were in production before the
/// current one, the most recently promoted first, each once, still registered with their model file. Rollback
/// takes the first; prune keeps the files of as many of them as it keeps versions.
pub(crate) fn rollback_targets(entry: &ModelEntry) -> Vec<Version> {
    let current = entry.in_stage(Stage::Production).map(|v| &v.version);
    let mut targets: Vec<Version> = Vec::new();
    for event in entry.events.iter().rev() {
        let usable = event.to == Stage::Production
            && Some(&event.version) != current
            && !targets.contains(&event.version)
            && entry.get(&event.version).is_some_and(|r| !r.files_deleted);
        if usable {
            targets.push(event.version.clone());
        }
    }
    targets
}

/// Changes one version's stage and appends the event.
pub(crate) fn set_stage(
    entry: &mut ModelEntry,
    version: &Version,
    to: Stage,
    reason: &str,
    metrics: BTreeMap<String, f64>,
) -> Result<Move> {
    let record = entry
        .versions
        .iter_mut()
        .find(|v| &v.version == version)
        .ok_or_else(|| Error::Registry(format!("version {version} is not registered")))?;
    let from = record.stage;
    record.stage = to;
    entry.events.push(Event {
        at: clock::now_rfc3339(),
        user: current_user(),
        version: version.clone(),
        from: Some(from),
        to,
        reason: reason.to_owned(),
        metrics,
    });
    Ok(Move { version: version.clone(), from, to })
}
