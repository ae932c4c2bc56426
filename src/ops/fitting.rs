//! What training, cross-validation, `--compare` and `evaluate` share: reading the target for a task (class
//! labels, numbers, or none), choosing the task when it is not given, splitting rows, fitting the pipeline and
//! model, and scoring predictions into the task's [`Metrics`].

use std::ops::Range;

use crate::data::frame::{ColumnData, Frame};
use crate::data::matrix::Matrix;
use crate::data::schema::parse_number;
use crate::data::split::{stratified_k_fold, stratified_split, Split};
use crate::error::{Error, Result};
use crate::metrics::{classification_metrics, clustering_metrics, regression_metrics, Metrics};
use crate::models::{Estimator, Predictions, Target, Task, TrainedModel};
use crate::pipeline::{FittedPipeline, PipelineSpec};

/// A numeric target with more distinct values than this (or any fractional value) is a regression target.
pub const MAX_CLASSES_INFERRED: usize = 20;
/// Rows the silhouette is computed on at most (a seeded sample above it): it costs O(rows²).
pub const SILHOUETTE_ROWS: usize = 10_000;

/// The task a target implies, and why, for when `--task` is not given: no target → clustering; a numeric
/// target with a fractional value or more than 20 distinct values → regression; otherwise classification
/// (the rule of scikit-learn's `type_of_target`, with a cap on integer classes).
pub fn infer_task(frame: &Frame, target: Option<&str>) -> (Task, String) {
    let Some(target) = target else {
        return (Task::Clustering, "no target column".to_owned());
    };
    let Some(ColumnData::Categorical { levels, .. }) = frame.column(target).map(|c| &c.data) else {
        return (Task::Classification, "a text target".to_owned());
    };
    let numbers: Option<Vec<f64>> = levels.iter().map(|l| parse_number(l)).collect();
    match numbers {
        Some(values) if values.iter().any(|v| v.fract() != 0.0) => {
            (Task::Regression, format!("numeric target \"{target}\" with fractional values"))
        }
        Some(values) if values.len() > MAX_CLASSES_INFERRED => {
            (Task::Regression, format!("numeric target \"{target}\" with {} distinct values", values.len()))
        }
        Some(values) => (Task::Classification, format!("target \"{target}\" with {} distinct values", values.len())),
        None => (Task::Classification, format!("text target \"{target}\" with {} classes", levels.len())),
    }
}

/// The target of a training frame, read for its task.
pub enum TargetData {
    Classes(ClassLabels),
    Values(Vec<f64>),
    None,
}

impl TargetData {
    pub fn read(frame: &Frame, target: Option<&str>, task: Task) -> Result<Self> {
        match (task, target) {
            (Task::Clustering, _) => Ok(TargetData::None),
            (_, None) => Err(Error::Config(format!("{} needs a target column: pass --target COLUMN", task.as_str()))),
            (Task::Classification, Some(t)) => Ok(TargetData::Classes(ClassLabels::from_frame(frame, t)?)),
            (Task::Regression, Some(t)) => numeric_target(frame, t).map(TargetData::Values),
        }
    }

    /// Class names (or nothing for regression and clustering, whose segments are named after fitting).
    pub fn classes(&self) -> Vec<String> {
        match self {
            TargetData::Classes(c) => c.classes.clone(),
            _ => Vec::new(),
        }
    }

    /// The train/test split: stratified by class, shuffled for regression, none for clustering (k-means fits
    /// every row and is scored on them).
    pub fn split(&self, n_rows: usize, test_size: f64, seed: u64) -> Result<Split> {
        match self {
            TargetData::Classes(c) => stratified_split(&c.codes, c.classes.len(), test_size, seed),
            TargetData::Values(_) => stratified_split(&vec![0; n_rows], 1, test_size, seed),
            TargetData::None => Ok(Split { train: (0..n_rows).collect(), test: (0..n_rows).collect() }),
        }
    }

    /// k folds of `rows` (indices into the frame), stratified for classification.
    pub fn folds(&self, rows: &[usize], k: usize, seed: u64) -> Result<Vec<Split>> {
        let folds = match self {
            TargetData::Classes(c) => {
                let labels: Vec<u32> = rows.iter().map(|&r| c.codes[r]).collect();
                stratified_k_fold(&labels, c.classes.len(), k, seed)?
            }
            TargetData::Values(_) => stratified_k_fold(&vec![0; rows.len()], 1, k, seed)?,
            TargetData::None => {
                return Err(Error::Config("cross-validation needs a target; clustering has none".into()))
            }
        };
        // Fold indices point into `rows`; map them back to frame rows.
        Ok(folds
            .into_iter()
            .map(|f| Split {
                train: f.train.iter().map(|&j| rows[j]).collect(),
                test: f.test.iter().map(|&j| rows[j]).collect(),
            })
            .collect())
    }

    /// The target of `rows`, owned, ready to become a [`Target`].
    pub fn select(&self, rows: &[usize]) -> SelectedTarget {
        match self {
            TargetData::Classes(c) => {
                SelectedTarget::Classes(rows.iter().map(|&r| c.codes[r]).collect(), c.classes.len())
            }
            TargetData::Values(v) => SelectedTarget::Values(rows.iter().map(|&r| v[r]).collect()),
            TargetData::None => SelectedTarget::None,
        }
    }
}

impl TargetData {
    /// Orders a binary target's classes so the positive class — `pos_label`, else the default of
    /// [`ClassLabels::with_positive`] — is class 1, the class binary metrics, thresholds and calibration are
    /// about. `pos_label` on a task without classes is an error.
    pub fn with_positive(self, pos_label: Option<&str>) -> Result<Self> {
        match (self, pos_label) {
            (TargetData::Classes(c), p) => Ok(TargetData::Classes(c.with_positive(p)?)),
            (_, Some(p)) => Err(Error::Config(format!(
                "--pos-label {p}: a positive class is for classification; this target has no classes"
            ))),
            (other, None) => Ok(other),
        }
    }

    /// The positive class of a binary target (class 1).
    pub fn positive_class(&self) -> Option<&str> {
        match self {
            TargetData::Classes(c) if c.classes.len() == 2 => c.classes.get(1).map(String::as_str),
            _ => None,
        }
    }
}

/// The target of some rows.
pub enum SelectedTarget {
    Classes(Vec<u32>, usize),
    Values(Vec<f64>),
    None,
}

impl SelectedTarget {
    /// The target of `rows` (indices into these rows).
    pub fn select(&self, rows: &[usize]) -> SelectedTarget {
        match self {
            SelectedTarget::Classes(y, k) => SelectedTarget::Classes(rows.iter().map(|&r| y[r]).collect(), *k),
            SelectedTarget::Values(y) => SelectedTarget::Values(rows.iter().map(|&r| y[r]).collect()),
            SelectedTarget::None => SelectedTarget::None,
        }
    }

    pub fn as_target(&self) -> Target<'_> {
        match self {
            SelectedTarget::Classes(labels, n_classes) => Target::Classes { labels, n_classes: *n_classes },
            SelectedTarget::Values(v) => Target::Values(v),
            SelectedTarget::None => Target::Unsupervised,
        }
    }
}

/// A regression target: a finite number in every row that has one (NaN where the target is missing: callers
/// drop those rows, see [`unlabelled_rows`]); a cell that is not a number is an error naming its row.
pub fn numeric_target(frame: &Frame, target: &str) -> Result<Vec<f64>> {
    let column =
        frame.column(target).ok_or_else(|| Error::data(&frame.source, None, Some(target), "no such column"))?;
    let mut out = Vec::with_capacity(frame.n_rows);
    for row in 0..frame.n_rows {
        let Some(text) = column.text(row) else {
            out.push(f64::NAN);
            continue;
        };
        match parse_number(&text) {
            Some(v) => out.push(v),
            None => {
                return Err(Error::data(
                    &frame.source,
                    Some(row + 1),
                    Some(target),
                    format!("\"{text}\" is not a number; a regression target must be numeric"),
                ))
            }
        }
    }
    Ok(out)
}

/// The rows (indices) whose target cell is missing.
pub fn unlabelled_rows(frame: &Frame, target: &str) -> Vec<usize> {
    frame.column(target).map_or_else(Vec::new, |c| (0..frame.n_rows).filter(|&r| c.is_missing(r)).collect())
}

/// "rows 3, 17, 42, 50, 61, …": the first five of `rows` (indices) as data-row numbers.
pub fn first_rows(rows: &[usize]) -> String {
    let shown: Vec<String> = rows.iter().take(5).map(|r| (r + 1).to_string()).collect();
    let more = if rows.len() > 5 { ", …" } else { "" };
    format!("row{} {}{more}", if rows.len() == 1 { "" } else { "s" }, shown.join(", "))
}

/// What to do with `unlabelled` rows of `frame`: an error when every row is unlabelled, or when `required`
/// (`--require-target`); otherwise they are to be dropped, with the warning this returns (None: none to drop).
pub fn check_unlabelled(frame: &Frame, target: &str, unlabelled: &[usize], required: bool) -> Result<Option<String>> {
    let Some(&first) = unlabelled.first() else { return Ok(None) };
    let n = unlabelled.len();
    if required || n == frame.n_rows {
        let why = if required {
            "fill or remove them (--require-target refuses rows without a label)"
        } else {
            "there is nothing to learn from or score: every row lacks the target"
        };
        return Err(Error::data(
            &frame.source,
            Some(first + 1),
            Some(target),
            format!("the target is missing in {n} row(s) ({}): {why}", first_rows(unlabelled)),
        ));
    }
    Ok(Some(format!(
        "dropped {n} row(s) without a value of the target \"{target}\" ({}); --require-target makes this an error",
        first_rows(unlabelled)
    )))
}

/// Target labels as class codes; classes sorted numerically when they are all numbers, else as text (as
/// scikit-learn's LabelEncoder sorts them).
pub struct ClassLabels {
    pub classes: Vec<String>,
    pub codes: Vec<u32>,
}

impl ClassLabels {
    /// Reads the target column of `frame` as class codes. Public so that tools outside `train` (the bench's
    /// `bench_split` example) can reproduce exactly the labels, and so the split, that training uses.
    pub fn from_frame(frame: &Frame, target: &str) -> Result<Self> {
        let column =
            frame.column(target).ok_or_else(|| Error::data(&frame.source, None, Some(target), "no such column"))?;
        let ColumnData::Categorical { codes, levels } = &column.data else {
            return Err(Error::Model("the target must be read as text".into()));
        };
        if let Some(first) = (0..frame.n_rows).find(|&r| column.is_missing(r)) {
            // Training drops unlabelled rows before it reads the labels (see `check_unlabelled`).
            return Err(Error::data(&frame.source, Some(first + 1), Some(target), "the target is missing"));
        }
        let mut order: Vec<usize> = (0..levels.len()).collect();
        let numeric: Option<Vec<f64>> = levels.iter().map(|l| parse_number(l)).collect();
        match &numeric {
            Some(values) => order.sort_by(|&a, &b| values[a].total_cmp(&values[b])),
            None => order.sort_by(|&a, &b| levels[a].cmp(&levels[b])),
        }
        if order.len() < 2 {
            return Err(Error::data(
                &frame.source,
                None,
                Some(target),
                format!(
                    "has a single class ({}): a classifier needs at least two classes in the target",
                    levels.first().map_or("none", String::as_str)
                ),
            ));
        }
        let mut counts = vec![0usize; levels.len()];
        for &c in codes {
            counts[c as usize] += 1;
        }
        if let Some(lonely) = order.iter().find(|&&i| counts[i] < 2) {
            return Err(Error::data(
                &frame.source,
                None,
                Some(target),
                format!(
                    "class \"{}\" has only 1 row: every class needs at least 2 (one to train on, one to test); \
                     add rows or remove that class",
                    levels[*lonely]
                ),
            ));
        }
        let mut code_of = vec![0u32; levels.len()];
        for (new, &old) in order.iter().enumerate() {
            code_of[old] = new as u32;
        }
        Ok(ClassLabels {
            classes: order.iter().map(|&i| levels[i].clone()).collect(),
            codes: codes.iter().map(|&c| code_of[c as usize]).collect(),
        })
    }
}

/// The label pairs whose positive class goes without saying (compared without case): the second of each.
const NAMED_PAIRS: &[(&str, &str)] = &[("0", "1"), ("false", "true"), ("no", "yes"), ("n", "y"), ("f", "t")];

impl ClassLabels {
    /// Puts a binary target's positive class at code 1: `pos_label` when given (it must be a class); else `1`,
    /// `true` or `yes` when the labels are such a pair; else the minority class (the class that sorts last on
    /// a tie). Sorting alone made the positive class the label that sorts last, so renaming yes/no to
    /// churned/stayed silently moved F1 from 0.558 to 0.719. Multiclass targets keep their order.
    pub fn with_positive(mut self, pos_label: Option<&str>) -> Result<Self> {
        if let Some(p) = pos_label {
            if !self.classes.iter().any(|c| c == p) {
                return Err(Error::Config(format!(
                    "--pos-label {p}: not a class of the target; its classes are {}",
                    self.classes.join(", ")
                )));
            }
            if self.classes.len() != 2 {
                return Err(Error::Config(format!(
                    "--pos-label {p}: a positive class is for binary targets; this one has {} classes ({})",
                    self.classes.len(),
                    self.classes.join(", ")
                )));
            }
        }
        if self.classes.len() != 2 {
            return Ok(self);
        }
        let positive = match pos_label {
            Some(p) => usize::from(self.classes[1] == p),
            None => self.default_positive(),
        };
        if positive == 0 {
            self.classes.swap(0, 1);
            for code in &mut self.codes {
                *code = 1 - *code;
            }
        }
        Ok(self)
    }

    /// The index of the default positive class of a binary target (see [`ClassLabels::with_positive`]).
    fn default_positive(&self) -> usize {
        let lower: Vec<String> = self.classes.iter().map(|c| c.to_lowercase()).collect();
        let numeric: Option<Vec<f64>> = self.classes.iter().map(|c| parse_number(c)).collect();
        if let Some(v) = numeric.filter(|v| v.contains(&0.0) && v.contains(&1.0)) {
            return usize::from(v[1] == 1.0);
        }
        for (negative, positive) in NAMED_PAIRS {
            if lower.iter().any(|l| l == negative) && lower.iter().any(|l| l == positive) {
                return usize::from(lower[1] == *positive);
            }
        }
        let ones = self.codes.iter().filter(|&&c| c == 1).count();
        // The minority class; on a tie, the class that sorts last, as before.
        usize::from(ones * 2 <= self.codes.len())
    }
}

/// Scores predictions against the truth in the task's metrics; `x` is needed by clustering metrics.
pub fn score(predictions: &Predictions, truth: &SelectedTarget, x: &Matrix, seed: u64) -> Result<Metrics> {
    let failed = |e: crate::metrics::MetricsError| Error::Model(format!("scoring: {e}"));
    match (predictions, truth) {
        (Predictions::Classes { proba, n_classes }, SelectedTarget::Classes(y, _)) => {
            let predicted = crate::models::argmax_rows(proba, *n_classes);
            classification_metrics(y, &predicted, Some(proba), *n_classes).map(Metrics::Classification).map_err(failed)
        }
        (Predictions::Values(values), SelectedTarget::Values(y)) => {
            regression_metrics(y, values).map(Metrics::Regression).map_err(failed)
        }
        (Predictions::Segments { segments, distances }, _) => {
            let k = segments.iter().map(|&s| s as usize + 1).max().unwrap_or(0).max(1);
            let squared: Vec<f64> = distances.iter().map(|d| d * d).collect();
            let sample = (x.n_rows() > SILHOUETTE_ROWS).then_some(SILHOUETTE_ROWS);
            // Undefined (one segment, or as many as rows) is reported as no silhouette, not an error.
            let silhouette =
                crate::models::kmeans::silhouette_score(x, segments, k, sample, seed).ok().map(|s| (s, sample));
            clustering_metrics(x.as_slice(), x.n_cols(), segments, k, &squared, silhouette)
                .map(Metrics::Clustering)
                .map_err(failed)
        }
        _ => Err(Error::Model("the model's output does not match the target's kind".into())),
    }
}

/// A pipeline and model fitted on some rows and scored on others.
pub struct Fitted {
    pub pipeline: FittedPipeline,
    pub model: TrainedModel,
    pub metrics: Metrics,
    pub warnings: Vec<String>,
    /// What the estimator chose while fitting (see [`Estimator::fit_notes`]).
    pub notes: Vec<String>,
    /// `k=auto`'s silhouette per k (see [`Estimator::k_search`]).
    pub k_search: Vec<crate::models::KScore>,
    pub test_x: Matrix,
    pub test_truth: SelectedTarget,
    pub test_predictions: Predictions,
    pub fit_seconds: f64,
    pub predict_seconds: f64,
}

/// Fits pipeline and model on `split.train`, scores on `split.test`.
pub fn fit_and_score(
    frame: &Frame,
    features: &[String],
    target: &TargetData,
    split: &Split,
    estimator: &dyn Estimator,
    seed: u64,
    spec: &PipelineSpec,
) -> Result<Fitted> {
    let started = std::time::Instant::now();
    let pipeline = FittedPipeline::fit(frame, features, &split.train, spec)?;
    let (x_train, _) = pipeline.transform(frame, Some(&split.train))?;
    let train_truth = target.select(&split.train);
    let model = estimator.fit(&x_train, &train_truth.as_target())?;
    let fit_warnings = model.fit_warnings();
    let notes = estimator.fit_notes();
    let k_search = estimator.k_search();
    let fit_seconds = started.elapsed().as_secs_f64();

    let started = std::time::Instant::now();
    let (test_x, stats) = pipeline.transform(frame, Some(&split.test))?;
    let test_predictions = model.predict(&test_x);
    let predict_seconds = started.elapsed().as_secs_f64();
    let test_truth = target.select(&split.test);
    let metrics = score(&test_predictions, &test_truth, &test_x, seed)?;
    let mut warnings: Vec<String> = match (&metrics, target) {
        (Metrics::Classification(m), TargetData::Classes(c)) => {
            m.warnings.iter().map(|w| w.message(&c.classes)).collect()
        }
        _ => Vec::new(),
    };
    warnings.extend(fit_warnings.into_iter().map(|w| format!("{}: {w}", estimator.algorithm().as_str())));
    warnings.extend(stats.unknown_categories.iter().map(|(col, n)| {
        format!("{n} test row(s) have a category of \"{col}\" unseen in training (encoded as unknown)")
    }));
    Ok(Fitted {
        pipeline,
        model,
        metrics,
        warnings,
        notes,
        k_search,
        test_x,
        test_truth,
        test_predictions,
        fit_seconds,
        predict_seconds,
    })
}

/// A binary classifier's calibration, fitted on its test-split probabilities of the positive class (the second
/// class); None for any other model or an empty test split.
pub fn calibration(fitted: &Fitted, target: &TargetData) -> Option<crate::metrics::calibration::Calibration> {
    let (Predictions::Classes { proba, n_classes: 2 }, SelectedTarget::Classes(y, _), TargetData::Classes(labels)) =
        (&fitted.test_predictions, &fitted.test_truth, target)
    else {
        return None;
    };
    let positive = labels.classes.get(1)?;
    let p: Vec<f64> = proba.chunks_exact(2).map(|row| row[1]).collect();
    let y: Vec<bool> = y.iter().map(|&c| c == 1).collect();
    (!p.is_empty()).then(|| crate::metrics::calibration::Calibration::fit(positive, &p, &y))
}

/// The encoded columns of each input feature, in pipeline order.
pub fn feature_columns(pipeline: &FittedPipeline) -> Vec<Range<usize>> {
    let mut out = Vec::with_capacity(pipeline.features.len());
    let mut offset = 0;
    for f in &pipeline.features {
        // A date's derived features, like a categorical column's one-hot columns, are one group.
        let width = f.width();
        out.push(offset..offset + width);
        offset += width;
    }
    out
}

/// Importance per input feature, highest first, and how it was measured: the model's own (one-hot columns
/// summed back to their feature), or permutation importance on the test split for models without one.
pub fn importances(fitted: &Fitted, seed: u64) -> (Vec<(String, f64)>, crate::models::ImportanceMethod) {
    let groups = feature_columns(&fitted.pipeline);
    let (per_feature, method) = match fitted.model.intrinsic_importances(&fitted.test_x, &fitted.test_predictions) {
        Some((per_column, method)) => {
            (groups.iter().map(|g| per_column.get(g.clone()).map_or(0.0, |s| s.iter().sum())).collect(), method)
        }
        None => {
            let model = &fitted.model;
            let rows = crate::drift::profile::sample_rows(
                fitted.test_x.n_rows(),
                crate::models::importance::sample_size(groups.len()),
                seed,
            );
            let x = fitted.test_x.select_rows(&rows);
            let truth = &fitted.test_truth.select(&rows);
            // scikit-learn's default scores: accuracy for classifiers, R² for regressors.
            let score = |x: &Matrix| match (model.predict(x), truth) {
                (Predictions::Classes { proba, n_classes }, SelectedTarget::Classes(y, _)) => {
                    let p = crate::models::argmax_rows(&proba, n_classes);
                    p.iter().zip(y).filter(|(a, b)| a == b).count() as f64 / y.len().max(1) as f64
                }
                (Predictions::Values(v), SelectedTarget::Values(y)) => {
                    crate::metrics::r2(y, &v).ok().flatten().unwrap_or(0.0)
                }
                _ => 0.0,
            };
            let imp = crate::models::importance::permutation_importance(&x, &groups, seed, &score);
            (imp, crate::models::ImportanceMethod::Permutation)
        }
    };
    let mut out: Vec<(String, f64)> =
        fitted.pipeline.features.iter().map(|f| f.name.clone()).zip(per_feature).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (out, method)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels as sorted classes and codes, as `from_frame` makes them.
    fn labels(rows: &[&str]) -> ClassLabels {
        let mut classes: Vec<String> = rows.iter().map(|r| (*r).to_owned()).collect();
        classes.sort();
        classes.dedup();
        let codes = rows.iter().map(|r| classes.iter().position(|c| c == r).unwrap() as u32).collect();
        ClassLabels { classes, codes }
    }

    fn positive(rows: &[&str], pos_label: Option<&str>) -> (String, Vec<u32>) {
        let l = labels(rows).with_positive(pos_label).unwrap();
        (l.classes[1].clone(), l.codes)
    }

    #[test]
    fn named_pairs_take_their_positive_label_whatever_the_counts() {
        assert_eq!(positive(&["yes", "no", "no", "yes", "yes"], None).0, "yes");
        assert_eq!(positive(&["True", "False", "True"], None).0, "True");
        assert_eq!(positive(&["1", "0", "1", "1"], None).0, "1");
    }

    #[test]
    fn otherwise_the_minority_class_is_positive_and_codes_follow() {
        let (class, codes) = positive(&["stayed", "churned", "stayed", "stayed"], None);
        assert_eq!(class, "churned");
        assert_eq!(codes, vec![0, 1, 0, 0]);
        // A tie keeps the class that sorts last.
        assert_eq!(positive(&["a", "b", "a", "b"], None).0, "b");
    }

    #[test]
    fn pos_label_decides_and_must_be_a_class_of_a_binary_target() {
        let (class, codes) = positive(&["no", "yes", "yes"], Some("no"));
        assert_eq!(class, "no");
        assert_eq!(codes, vec![1, 0, 0]);
        assert!(labels(&["no", "yes"]).with_positive(Some("maybe")).is_err());
        assert!(labels(&["a", "b", "c"]).with_positive(Some("a")).is_err());
        // Multiclass targets keep their order.
        assert_eq!(labels(&["c", "a", "b"]).with_positive(None).unwrap().classes, vec!["a", "b", "c"]);
    }
}
