//! `mlctl train --compare a,b,c`: k-fold cross-validation of several algorithms on the same training rows and
//! folds, ranked by the task's primary metric (best mean, ties broken by the lower standard deviation); the
//! winner is then trained and registered as usual, and the table goes to MODEL_COMPARISON.md.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::data::frame::Frame;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::models::params::Settings;
use crate::models::{estimator, param_specs, Algorithm, Task};
use crate::ops::fitting::{fit_and_score, TargetData};
use crate::registry::metadata::{CvSummary, MeanStd};
use crate::reporter::Reporter;

/// What is compared on: the frame, its features and target, and the training rows the folds are cut from.
pub struct Job<'a> {
    pub frame: &'a Frame,
    pub features: &'a [String],
    pub target: &'a TargetData,
    pub pipeline: &'a crate::pipeline::PipelineSpec,
    pub rows: &'a [usize],
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub task: Task,
    pub folds: usize,
    /// The primary metric candidates are ranked by.
    pub metric: String,
    pub higher_is_better: bool,
    /// Best first.
    pub candidates: Vec<Candidate>,
    pub winner: Algorithm,
}

#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub algorithm: Algorithm,
    pub params: serde_json::Value,
    /// Mean ± std over the folds of each headline metric.
    pub metrics: BTreeMap<String, MeanStd>,
    /// The primary metric on each fold where it is defined, in fold order (what the chart draws).
    pub fold_scores: Vec<f64>,
    /// Seconds per fold to fit the pipeline and model, and to predict the fold's test rows.
    pub fit_seconds: MeanStd,
    pub predict_seconds: MeanStd,
}

impl Comparison {
    /// The cross-validation summary of one candidate, as `train --cv` would have recorded it.
    pub fn summary_of(&self, algorithm: Algorithm) -> Option<CvSummary> {
        let c = self.candidates.iter().find(|c| c.algorithm == algorithm)?;
        Some(CvSummary { folds: self.folds, metrics: c.metrics.clone() })
    }
}

/// The settings that apply to `algorithm`: `key=value` where the algorithm knows the key, and
/// `ALGORITHM.key=value` for it alone.
pub fn settings_for(algorithm: Algorithm, task: Task, settings: &Settings) -> Settings {
    let specs = param_specs(algorithm, task);
    let prefix = format!("{}.", algorithm.as_str());
    let mut out = Settings::new();
    for (key, value) in settings {
        if let Some(own) = key.strip_prefix(&prefix) {
            out.insert(own.to_owned(), value.clone());
        } else if !key.contains('.') && specs.iter().any(|s| s.key == key) {
            out.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    out
}

/// Refuses a setting that no candidate would use (a typo would otherwise be silently ignored).
fn check_settings(algorithms: &[Algorithm], task: Task, settings: &Settings) -> Result<()> {
    for key in settings.keys() {
        let used = algorithms.iter().any(|a| match key.split_once('.') {
            Some((name, own)) => name == a.as_str() && param_specs(*a, task).iter().any(|s| s.key == own),
            None => param_specs(*a, task).iter().any(|s| s.key == key),
        });
        if !used {
            let names: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
            return Err(Error::Config(format!(
                "--set {key}: none of the compared algorithms ({}) has this hyperparameter; use ALGORITHM.{key}=VALUE \
                 for one of them",
                names.join(", ")
            )));
        }
    }
    Ok(())
}

/// Cross-validates every algorithm on the same folds and ranks them.
pub fn compare(
    job: &Job<'_>,
    task: Task,
    algorithms: &[Algorithm],
    settings: &Settings,
    k: usize,
    seed: u64,
    reporter: &dyn Reporter,
) -> Result<Comparison> {
    if task == Task::Clustering {
        return Err(Error::Config("--compare needs a target to cross-validate against; clustering has none".into()));
    }
    let mut unique: Vec<Algorithm> = Vec::new();
    for a in algorithms {
        a.check_task(task)?;
        if !unique.contains(a) {
            unique.push(*a);
        }
    }
    if unique.len() < 2 {
        return Err(Error::Usage(
            "--compare needs at least two different algorithms, e.g. --compare random-forest,gradient-boosting".into(),
        ));
    }
    check_settings(&unique, task, settings)?;
    // Build every estimator first, so a bad value fails before minutes of fitting.
    let estimators = unique
        .iter()
        .map(|a| estimator(*a, task, &settings_for(*a, task, settings), seed))
        .collect::<Result<Vec<_>>>()?;
    let folds = job.target.folds(job.rows, k, seed)?;
    let metric = Metrics::primary(task);
    let higher_is_better = Metrics::higher_is_better(metric).unwrap_or(true);
    let mut candidates = Vec::with_capacity(unique.len());
    for est in &estimators {
        let mut per_metric: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let (mut fit, mut predict) = (Vec::new(), Vec::new());
        for (i, split) in folds.iter().enumerate() {
            reporter.phase(&format!("comparing: {} fold {}/{k}", est.algorithm().as_str(), i + 1));
            let fitted = fit_and_score(job.frame, job.features, job.target, split, &**est, seed, job.pipeline)?;
            fit.push(fitted.fit_seconds);
            predict.push(fitted.predict_seconds);
            for name in Metrics::headline(task) {
                if let Some(v) = fitted.metrics.get(name).filter(|v| v.is_finite()) {
                    per_metric.entry((*name).to_owned()).or_default().push(v);
                }
            }
        }
        candidates.push(Candidate {
            algorithm: est.algorithm(),
            params: est.params(),
            fold_scores: per_metric.get(metric).cloned().unwrap_or_default(),
            metrics: per_metric.into_iter().map(|(k, v)| (k, MeanStd::of(&v))).collect(),
            fit_seconds: MeanStd::of(&fit),
            predict_seconds: MeanStd::of(&predict),
        });
    }
    rank(&mut candidates, metric, higher_is_better);
    let winner = candidates[0].algorithm;
    Ok(Comparison { task, folds: k, metric: metric.to_owned(), higher_is_better, candidates, winner })
}

/// Best mean first, ties broken by the lower std, then by the order given; a candidate without the metric last.
fn rank(candidates: &mut [Candidate], metric: &str, higher_is_better: bool) {
    let key = |c: &Candidate| c.metrics.get(metric).map(|m| (if higher_is_better { -m.mean } else { m.mean }, m.std));
    candidates.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

/// The chart of the primary metric per fold and algorithm, written beside MODEL_COMPARISON.md.
pub const FOLDS_CHART: &str = "MODEL_COMPARISON-folds.svg";

/// The SVG of [`FOLDS_CHART`]: a row of dots per algorithm, best first.
pub fn folds_chart(c: &Comparison) -> String {
    let rows: Vec<(String, Vec<f64>)> =
        c.candidates.iter().map(|cand| (cand.algorithm.as_str().to_owned(), cand.fold_scores.clone())).collect();
    let title = format!("{} per fold ({}-fold cross-validation)", c.metric, c.folds);
    crate::report::charts::strips(&title, &c.metric, &rows)
}

/// MODEL_COMPARISON.md: the ranked table, the chart of the folds and each candidate's parameters.
pub fn markdown(c: &Comparison, data: &str, dataset_sha256: &str, registered: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Model comparison\n");
    let _ = writeln!(
        out,
        "Written by `mlctl train --compare` at {}. Do not edit: the next comparison replaces it.\n",
        crate::clock::now_rfc3339()
    );
    let _ = writeln!(
        out,
        "- data: `{data}` (sha256 `{}`)\n- task: {}\n- method: {}-fold {}cross-validation on the training split, the same folds for every algorithm\n- ranked by: **{}** ({}), mean over the folds; ties go to the lower standard deviation\n- registered: **{registered}**\n",
        dataset_sha256.get(..12).unwrap_or(dataset_sha256),
        c.task.as_str(),
        c.folds,
        if c.task == Task::Classification { "stratified " } else { "" },
        c.metric,
        if c.higher_is_better { "higher is better" } else { "lower is better" },
    );
    let metrics: Vec<&str> = Metrics::headline(c.task)
        .iter()
        .copied()
        .filter(|m| c.candidates.iter().any(|x| x.metrics.contains_key(*m)))
        .collect();
    let _ = write!(out, "| rank | algorithm |");
    for m in &metrics {
        let _ = write!(out, " {m} |");
    }
    let _ = writeln!(out, " fit ms / fold | predict ms / fold |");
    let _ = writeln!(out, "|---:|---|{}---:|---:|", "---:|".repeat(metrics.len()));
    for (i, cand) in c.candidates.iter().enumerate() {
        let name = if i == 0 { format!("**{}**", cand.algorithm.as_str()) } else { cand.algorithm.as_str().to_owned() };
        let _ = write!(out, "| {} | {name} |", i + 1);
        for m in &metrics {
            match cand.metrics.get(*m) {
                Some(v) => {
                    let _ = write!(out, " {:.4} ± {:.4} |", v.mean, v.std);
                }
                None => out.push_str(" — |"),
            }
        }
        let _ = writeln!(out, " {:.1} | {:.1} |", cand.fit_seconds.mean * 1e3, cand.predict_seconds.mean * 1e3);
    }
    let _ = writeln!(
        out,
        "\n## {} per fold\n\nEach dot is one fold, the bar the mean.\n\n![{} per fold]({FOLDS_CHART})",
        c.metric, c.metric
    );
    let _ = writeln!(out, "\n## Parameters\n");
    for cand in &c.candidates {
        let _ = writeln!(out, "- `{}`: `{}`", cand.algorithm.as_str(), cand.params);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(algorithm: Algorithm, mean: f64, std: f64) -> Candidate {
        let mut metrics = BTreeMap::new();
        metrics.insert("f1".to_owned(), MeanStd { mean, std });
        let zero = MeanStd { mean: 0.0, std: 0.0 };
        Candidate {
            algorithm,
            params: serde_json::json!({}),
            metrics,
            fold_scores: vec![mean],
            fit_seconds: zero,
            predict_seconds: zero,
        }
    }

    #[test]
    fn best_mean_wins_and_ties_go_to_the_lower_std() {
        let mut c = vec![
            cand(Algorithm::RandomForest, 0.80, 0.01),
            cand(Algorithm::GradientBoosting, 0.85, 0.05),
            cand(Algorithm::LogisticRegression, 0.85, 0.02),
        ];
        rank(&mut c, "f1", true);
        let order: Vec<Algorithm> = c.iter().map(|c| c.algorithm).collect();
        assert_eq!(order, [Algorithm::LogisticRegression, Algorithm::GradientBoosting, Algorithm::RandomForest]);
        rank(&mut c, "f1", false);
        assert_eq!(c[0].algorithm, Algorithm::RandomForest);
    }

    #[test]
    fn settings_go_to_the_algorithms_that_know_them() {
        let mut s = Settings::new();
        s.insert("max_depth".into(), "4".into());
        s.insert("random-forest.n_trees".into(), "10".into());
        let rf = settings_for(Algorithm::RandomForest, Task::Classification, &s);
        assert_eq!(rf.get("n_trees").map(String::as_str), Some("10"));
        assert_eq!(rf.get("max_depth").map(String::as_str), Some("4"));
        let gb = settings_for(Algorithm::GradientBoosting, Task::Classification, &s);
        assert_eq!(gb.len(), 1);
        s.insert("n_neighbours".into(), "3".into());
        let both = [Algorithm::RandomForest, Algorithm::GradientBoosting];
        assert!(check_settings(&both, Task::Classification, &s).is_err());
    }
}
