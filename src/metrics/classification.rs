//! Classification metrics computed from labels (confusion matrix, accuracy, balanced accuracy, precision, recall,
//! F1) plus log loss, and `classification_metrics`, the one-call summary that mlctl stores with a trained model and
//! that CI gates look metrics up in by sklearn name. Every label metric is read off the confusion matrix through
//! one per-class count (`ClassCounts`), so the per-class values, every average and the report cannot disagree.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{class_labels, class_name, curves, validate, MetricsError};

/// How per-class precision, recall and F1 are combined into one number (sklearn's `average` argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Average {
    /// The positive class 1 alone; needs exactly two classes (sklearn's default `average="binary"`, `pos_label=1`).
    Binary,
    /// The unweighted mean over all `n_classes` classes, absent ones included.
    Macro,
    /// The mean weighted by each class's support (its count in `y_true`).
    Weighted,
}

/// Precision, recall and F1 of one class or of an average, with the number of true samples they cover.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

/// A value that sklearn computes with a zero division or leaves undefined, and warns about. The metric itself is
/// reported the way sklearn reports it (0.0, a skipped class, or `None`); this says that it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum MetricWarning {
    /// No sample was predicted as `class`: its precision is 0/0, reported as 0.
    PrecisionIllDefined { class: u32 },
    /// `class` has no sample in `y_true`: its recall is 0/0, reported as 0.
    RecallIllDefined { class: u32 },
    /// `class` is neither in `y_true` nor predicted: its F1 is 0/0, reported as 0.
    FScoreIllDefined { class: u32 },
    /// `class` is predicted but absent from `y_true`; balanced accuracy leaves it out of its mean.
    PredictedClassNotInTruth { class: u32 },
    /// Some class is absent from `y_true`, so a one-vs-rest split has a single kind of sample; ROC AUC is `None`.
    RocAucUndefined,
}

impl MetricWarning {
    /// The warning as a sentence, naming classes by `class_names` (falling back to the index).
    pub fn message(&self, class_names: &[String]) -> String {
        let name = |class: &u32| class_name(class_names, *class as usize).into_owned();
        match self {
            Self::PrecisionIllDefined { class } => {
                format!("precision of class {} is ill-defined (never predicted); reported as 0", name(class))
            }
            Self::RecallIllDefined { class } => {
                format!("recall of class {} is ill-defined (absent from the true labels); reported as 0", name(class))
            }
            Self::FScoreIllDefined { class } => {
                format!("F1 of class {} is ill-defined (neither true nor predicted); reported as 0", name(class))
            }
            Self::PredictedClassNotInTruth { class } => format!(
                "class {} is predicted but absent from the true labels; balanced accuracy leaves it out",
                name(class)
            ),
            Self::RocAucUndefined => "ROC AUC is undefined: some class is absent from the true labels".to_owned(),
        }
    }
}

impl fmt::Display for MetricWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(&[]))
    }
}

/// Everything mlctl reports about a classifier on one labelled sample. `precision`, `recall` and `f1` are the
/// headline values: for the positive class 1 when there are two classes, the macro average otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    pub accuracy: f64,
    pub balanced_accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub precision_macro: f64,
    pub recall_macro: f64,
    pub f1_macro: f64,
    pub f1_weighted: f64,
    /// `None` without scores, or when ROC AUC is undefined (see [`MetricWarning::RocAucUndefined`]).
    pub roc_auc: Option<f64>,
    /// `None` without scores.
    pub log_loss: Option<f64>,
    /// Rows are true classes, columns predicted classes.
    pub confusion_matrix: Vec<Vec<u64>>,
    pub report: ClassificationReport,
    pub warnings: Vec<MetricWarning>,
}

/// The names [`ClassificationMetrics::get`] answers to: sklearn's scorer names, except that log loss is positive
/// (sklearn's scorer is `neg_log_loss`) and `roc_auc` is the one-vs-rest macro average for more than two classes.
const CLASSIFICATION_METRIC_NAMES: &[&str] = &[
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "f1_weighted",
    "roc_auc",
    "log_loss",
];

impl ClassificationMetrics {
    /// A metric by name (see [`Self::names`]); `None` for an unknown name or a metric without a value.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "accuracy" => Some(self.accuracy),
            "balanced_accuracy" => Some(self.balanced_accuracy),
            "precision" => Some(self.precision),
            "recall" => Some(self.recall),
            "f1" => Some(self.f1),
            "precision_macro" => Some(self.precision_macro),
            "recall_macro" => Some(self.recall_macro),
            "f1_macro" => Some(self.f1_macro),
            "f1_weighted" => Some(self.f1_weighted),
            "roc_auc" => self.roc_auc,
            "log_loss" => self.log_loss,
            _ => None,
        }
    }

    /// Every name [`Self::get`] knows.
    pub fn names() -> &'static [&'static str] {
        CLASSIFICATION_METRIC_NAMES
    }

    /// Whether a larger value of the named metric is better (`None` for an unknown name); a CI gate needs this to
    /// know whether a threshold is a minimum or a maximum.
    pub fn higher_is_better(name: &str) -> Option<bool> {
        Self::names().contains(&name).then_some(name != "log_loss")
    }
}

/// Correct, predicted and true counts of one class: all that precision, recall and F1 need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClassCounts {
    pub(crate) true_positives: u64,
    pub(crate) predicted: u64,
    pub(crate) support: u64,
}

impl ClassCounts {
    fn precision(self) -> f64 {
        ratio_or_zero(self.true_positives, self.predicted)
    }

    fn recall(self) -> f64 {
        ratio_or_zero(self.true_positives, self.support)
    }

    /// 2·tp / (2·tp + fp + fn), sklearn's formula since 1.3; fp + fn + 2·tp = predicted + support. Unlike the
    /// harmonic mean of precision and recall, it is 0/0 only when the class is neither true nor predicted.
    fn f1(self) -> f64 {
        ratio_or_zero(2 * self.true_positives, self.predicted + self.support)
    }

    pub(crate) fn scores(self) -> Scores {
        Scores { precision: self.precision(), recall: self.recall(), f1: self.f1(), support: self.support }
    }

    /// The zero divisions among this class's precision, recall and F1.
    fn zero_divisions(self, class: u32) -> impl Iterator<Item = MetricWarning> {
        [
            (self.predicted == 0).then_some(MetricWarning::PrecisionIllDefined { class }),
            (self.support == 0).then_some(MetricWarning::RecallIllDefined { class }),
            (self.predicted == 0 && self.support == 0).then_some(MetricWarning::FScoreIllDefined { class }),
        ]
        .into_iter()
        .flatten()
    }
}

/// num / den, or 0.0 when den is 0: sklearn's default `zero_division="warn"` value.
fn ratio_or_zero(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// The confusion matrix: `matrix[t][p]` counts the samples of true class `t` predicted as `p`.
pub fn confusion_matrix(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Result<Vec<Vec<u64>>, MetricsError> {
    validate::labels(y_true, y_pred, n_classes)?;
    let mut matrix = vec![vec![0; n_classes]; n_classes];
    for (&truth, &prediction) in y_true.iter().zip(y_pred) {
        // In bounds: validate::labels checked every label against n_classes.
        matrix[truth as usize][prediction as usize] += 1;
    }
    Ok(matrix)
}

/// Per-class counts of validated labels: the input of every label metric.
pub(crate) fn class_counts_of(
    y_true: &[u32],
    y_pred: &[u32],
    n_classes: usize,
) -> Result<Vec<ClassCounts>, MetricsError> {
    Ok(class_counts(&confusion_matrix(y_true, y_pred, n_classes)?))
}

/// Per-class counts read off a confusion matrix from [`confusion_matrix`] (square, so indexing is in bounds).
fn class_counts(matrix: &[Vec<u64>]) -> Vec<ClassCounts> {
    (0..matrix.len())
        .map(|class| ClassCounts {
            true_positives: matrix[class][class],
            predicted: matrix.iter().map(|row| row[class]).sum(),
            support: matrix[class].iter().sum(),
        })
        .collect()
}

/// The share of samples predicted correctly.
pub fn accuracy(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Result<f64, MetricsError> {
    Ok(accuracy_of(&class_counts_of(y_true, y_pred, n_classes)?))
}

pub(crate) fn accuracy_of(counts: &[ClassCounts]) -> f64 {
    let correct = counts.iter().map(|c| c.true_positives).sum();
    let total = counts.iter().map(|c| c.support).sum();
    ratio_or_zero(correct, total)
}

/// The mean recall over the classes present in `y_true`. Like sklearn, a class that is predicted but absent from
/// `y_true` is left out of the mean (sklearn warns; [`classification_metrics`] reports
/// [`MetricWarning::PredictedClassNotInTruth`]), and so is a class in neither.
pub fn balanced_accuracy(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Result<f64, MetricsError> {
    Ok(balanced_accuracy_of(&class_counts_of(y_true, y_pred, n_classes)?))
}

fn balanced_accuracy_of(counts: &[ClassCounts]) -> f64 {
    let recalls: Vec<f64> = counts.iter().filter(|c| c.support > 0).map(|c| c.recall()).collect();
    // y_true is not empty, so some class has support; max(1) only rules out a NaN by construction.
    recalls.iter().sum::<f64>() / recalls.len().max(1) as f64
}

/// Precision, recall, F1 and support of every class `0..n_classes`, in class order (sklearn's `average=None`).
/// A zero division gives 0.0.
pub fn class_scores(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Result<Vec<Scores>, MetricsError> {
    let counts = class_counts_of(y_true, y_pred, n_classes)?;
    Ok(counts.into_iter().map(ClassCounts::scores).collect())
}

/// Precision, recall and F1 combined over classes as `average` says. `support` is the number of true samples the
/// average covers: class 1's for [`Average::Binary`], all of them otherwise.
pub fn precision_recall_f1(
    y_true: &[u32],
    y_pred: &[u32],
    n_classes: usize,
    average: Average,
) -> Result<Scores, MetricsError> {
    average_of(&class_scores(y_true, y_pred, n_classes)?, average)
}

pub(crate) fn average_of(per_class: &[Scores], average: Average) -> Result<Scores, MetricsError> {
    match (average, per_class) {
        (Average::Binary, [_, positive]) => Ok(*positive),
        (Average::Binary, _) => Err(MetricsError::BinaryAverageNeedsTwoClasses { n_classes: per_class.len() }),
        (Average::Macro, _) => Ok(macro_average(per_class)),
        (Average::Weighted, _) => Ok(weighted_average(per_class)),
    }
}

pub(crate) fn macro_average(per_class: &[Scores]) -> Scores {
    weighted_mean(per_class, |_| 1.0)
}

pub(crate) fn weighted_average(per_class: &[Scores]) -> Scores {
    weighted_mean(per_class, |class| class.support as f64)
}

/// sum(w·x) / sum(w) for each score, as numpy's `np.average`; 0.0 when the weights sum to 0.
fn weighted_mean(per_class: &[Scores], weight: impl Fn(&Scores) -> f64) -> Scores {
    let total_weight: f64 = per_class.iter().map(&weight).sum();
    let mean_of = |value: fn(&Scores) -> f64| {
        if total_weight == 0.0 {
            return 0.0;
        }
        per_class.iter().map(|class| value(class) * weight(class)).sum::<f64>() / total_weight
    };
    Scores {
        precision: mean_of(|s| s.precision),
        recall: mean_of(|s| s.recall),
        f1: mean_of(|s| s.f1),
        support: per_class.iter().map(|class| class.support).sum(),
    }
}

/// Smallest and largest probability log loss uses: sklearn (≥ 1.5) clips to [eps, 1 − eps] with eps the float64
/// machine epsilon, so a confidently wrong prediction costs −ln(eps) ≈ 36.04 instead of infinity. sklearn 1.9 does
/// not renormalise rows after clipping (it only warns about rows that do not sum to 1), and neither does this.
const LOG_LOSS_MIN_PROBABILITY: f64 = f64::EPSILON;
const LOG_LOSS_MAX_PROBABILITY: f64 = 1.0 - f64::EPSILON;

/// The mean negative natural log of the probability given to each sample's true class (cross-entropy), with
/// sklearn's clipping. `scores` are row-major `y_true.len() × n_classes` probabilities.
pub fn log_loss(y_true: &[u32], scores: &[f64], n_classes: usize) -> Result<f64, MetricsError> {
    validate::probabilities(y_true, scores, n_classes)?;
    let total: f64 = y_true
        .iter()
        .zip(scores.chunks_exact(n_classes))
        .map(|(&truth, row)| -row[truth as usize].clamp(LOG_LOSS_MIN_PROBABILITY, LOG_LOSS_MAX_PROBABILITY).ln())
        .sum();
    Ok(total / y_true.len() as f64)
}

/// Every metric of [`ClassificationMetrics`] in one call. `scores`, when given, are row-major
/// `y_true.len() × n_classes` class probabilities; without them `roc_auc` and `log_loss` are `None`.
pub fn classification_metrics(
    y_true: &[u32],
    y_pred: &[u32],
    scores: Option<&[f64]>,
    n_classes: usize,
) -> Result<ClassificationMetrics, MetricsError> {
    let confusion_matrix = confusion_matrix(y_true, y_pred, n_classes)?;
    let counts = class_counts(&confusion_matrix);
    let report = ClassificationReport::from_counts(&counts);
    let headline = average_of(&report.per_class, headline_average(n_classes))?;
    let (roc_auc, log_loss) = match scores {
        Some(scores) => (curves::roc_auc(y_true, scores, n_classes)?, Some(log_loss(y_true, scores, n_classes)?)),
        None => (None, None),
    };
    let mut warnings = label_metric_warnings(&counts);
    if scores.is_some() && roc_auc.is_none() {
        warnings.push(MetricWarning::RocAucUndefined);
    }
    Ok(ClassificationMetrics {
        accuracy: report.accuracy,
        balanced_accuracy: balanced_accuracy_of(&counts),
        precision: headline.precision,
        recall: headline.recall,
        f1: headline.f1,
        precision_macro: report.macro_avg.precision,
        recall_macro: report.macro_avg.recall,
        f1_macro: report.macro_avg.f1,
        f1_weighted: report.weighted_avg.f1,
        roc_auc,
        log_loss,
        confusion_matrix,
        report,
        warnings,
    })
}

/// What a user means by "the" precision of a classifier: of the positive class for a binary problem (sklearn's
/// default), the macro average otherwise.
fn headline_average(n_classes: usize) -> Average {
    if n_classes == 2 {
        Average::Binary
    } else {
        Average::Macro
    }
}

/// sklearn's warnings about the label metrics, class by class: zero divisions, then classes balanced accuracy skips.
fn label_metric_warnings(counts: &[ClassCounts]) -> Vec<MetricWarning> {
    let labelled = || class_labels(counts.len()).zip(counts.iter().copied());
    let zero_divisions = labelled().flat_map(|(class, c)| c.zero_divisions(class));
    let skipped_by_balanced_accuracy = labelled()
        .filter(|(_, c)| c.support == 0 && c.predicted > 0)
        .map(|(class, _)| MetricWarning::PredictedClassNotInTruth { class });
    zero_divisions.chain(skipped_by_balanced_accuracy).collect()
}

/// The values of sklearn's classification report (its `output_dict=True` form). `macro_avg.support` and
/// `weighted_avg.support` are the number of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// One entry per class, `0..n_classes`.
    pub per_class: Vec<Scores>,
    pub accuracy: f64,
    pub macro_avg: Scores,
    pub weighted_avg: Scores,
}

/// The report of predictions `y_pred` against `y_true` over the classes `0..n_classes`.
pub fn classification_report(
    y_true: &[u32],
    y_pred: &[u32],
    n_classes: usize,
) -> Result<ClassificationReport, MetricsError> {
    let counts = class_counts_of(y_true, y_pred, n_classes)?;
    Ok(ClassificationReport::from_counts(&counts))
}

impl ClassificationReport {
    pub(crate) fn from_counts(counts: &[ClassCounts]) -> Self {
        let per_class: Vec<Scores> = counts.iter().map(|c| c.scores()).collect();
        Self {
            accuracy: accuracy_of(counts),
            macro_avg: macro_average(&per_class),
            weighted_avg: weighted_average(&per_class),
            per_class,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::test_support::{assert_all_close, assert_close, classification_cases, ClassificationCase};

    fn metrics_of(case: &ClassificationCase) -> ClassificationMetrics {
        classification_metrics(&case.y_true, &case.y_pred, case.scores.as_deref(), case.n_classes)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name))
    }

    #[test]
    fn confusion_matrix_matches_sklearn() {
        for case in classification_cases() {
            let matrix = confusion_matrix(&case.y_true, &case.y_pred, case.n_classes).unwrap();
            assert_eq!(matrix, case.expected.confusion_matrix(), "{}", case.name);
        }
    }

    #[test]
    fn accuracies_match_sklearn() {
        for case in classification_cases() {
            let (y_true, y_pred, n) = (&case.y_true, &case.y_pred, case.n_classes);
            let named = |name| case.expected.named(name).unwrap();
            assert_close(accuracy(y_true, y_pred, n).unwrap(), named("accuracy"), &case.name);
            assert_close(balanced_accuracy(y_true, y_pred, n).unwrap(), named("balanced_accuracy"), &case.name);
        }
    }

    #[test]
    fn per_class_scores_match_sklearn() {
        for case in classification_cases() {
            let scores = class_scores(&case.y_true, &case.y_pred, case.n_classes).unwrap();
            let column = |f: fn(&Scores) -> f64| scores.iter().map(f).collect::<Vec<_>>();
            let context = |what| format!("{} {what}", case.name);
            let per_class = |what| case.expected.per_class(what);
            assert_all_close(&column(|s| s.precision), &per_class("precision"), &context("precision"));
            assert_all_close(&column(|s| s.recall), &per_class("recall"), &context("recall"));
            assert_all_close(&column(|s| s.f1), &per_class("f1"), &context("f1"));
            let support: Vec<u64> = scores.iter().map(|s| s.support).collect();
            assert_eq!(support, case.expected.support(), "{}", case.name);
        }
    }

    #[test]
    fn averages_match_sklearn() {
        for case in classification_cases() {
            for (average, name) in [(Average::Macro, "macro"), (Average::Weighted, "weighted")] {
                let scores = precision_recall_f1(&case.y_true, &case.y_pred, case.n_classes, average).unwrap();
                let context = format!("{} {name}", case.name);
                assert_close(scores.precision, case.expected.average(name, "precision"), &context);
                assert_close(scores.recall, case.expected.average(name, "recall"), &context);
                assert_close(scores.f1, case.expected.average(name, "f1"), &context);
            }
        }
    }

    #[test]
    fn binary_average_is_the_positive_class_and_needs_two_classes() {
        for case in classification_cases().iter().filter(|c| c.n_classes == 2) {
            let scores = precision_recall_f1(&case.y_true, &case.y_pred, 2, Average::Binary).unwrap();
            assert_close(scores.precision, case.expected.named("precision").unwrap(), &case.name);
            assert_close(scores.recall, case.expected.named("recall").unwrap(), &case.name);
            assert_close(scores.f1, case.expected.named("f1").unwrap(), &case.name);
        }
        assert_eq!(
            precision_recall_f1(&[0, 1, 2], &[0, 1, 2], 3, Average::Binary),
            Err(MetricsError::BinaryAverageNeedsTwoClasses { n_classes: 3 })
        );
    }

    #[test]
    fn log_loss_matches_sklearn() {
        for case in classification_cases() {
            if let Some(scores) = &case.scores {
                let loss = log_loss(&case.y_true, scores, case.n_classes).unwrap();
                assert_close(loss, case.expected.named("log_loss").unwrap(), &case.name);
            }
        }
    }

    #[test]
    fn log_loss_clips_exact_zero_to_machine_epsilon() {
        // A sure and wrong prediction costs -ln(eps), a sure and right one -ln(1 - eps) = eps.
        assert_eq!(log_loss(&[0], &[0.0, 1.0], 2), Ok(-f64::EPSILON.ln()));
        assert_eq!(log_loss(&[1], &[0.0, 1.0], 2), Ok(-(1.0 - f64::EPSILON).ln()));
    }

    #[test]
    fn every_named_metric_matches_sklearn() {
        for case in classification_cases() {
            let metrics = metrics_of(&case);
            for &name in ClassificationMetrics::names() {
                let context = format!("{} {name}", case.name);
                match (metrics.get(name), case.expected.named(name)) {
                    (Some(actual), Some(expected)) => assert_close(actual, expected, &context),
                    (None, None) => {}
                    (actual, expected) => panic!("{context}: got {actual:?}, sklearn {expected:?}"),
                }
            }
        }
    }

    #[test]
    fn metrics_without_scores_have_no_auc_or_log_loss() {
        let case = classification_cases().into_iter().find(|c| c.scores.is_none()).unwrap();
        let metrics = metrics_of(&case);
        assert_eq!((metrics.roc_auc, metrics.log_loss), (None, None));
        assert!(!metrics.warnings.contains(&MetricWarning::RocAucUndefined));
    }

    #[test]
    fn warnings_flag_what_sklearn_warns_about() {
        for case in classification_cases() {
            let warnings = metrics_of(&case).warnings;
            let flagged = |is: fn(&MetricWarning) -> bool| warnings.iter().any(is);
            let expect = |what: &str, flagged: bool| {
                assert_eq!(flagged, case.expected.sklearn_warned(what), "{} {what}", case.name);
            };
            expect("precision", flagged(|w| matches!(w, MetricWarning::PrecisionIllDefined { .. })));
            expect("recall", flagged(|w| matches!(w, MetricWarning::RecallIllDefined { .. })));
            expect("f_score", flagged(|w| matches!(w, MetricWarning::FScoreIllDefined { .. })));
            expect("balanced_accuracy", flagged(|w| matches!(w, MetricWarning::PredictedClassNotInTruth { .. })));
            if case.scores.is_some() {
                expect("roc_auc", flagged(|w| *w == MetricWarning::RocAucUndefined));
            }
        }
    }

    #[test]
    fn warnings_name_the_classes() {
        // Class 2 is in neither y_true nor y_pred; class 1 is predicted but never true.
        let metrics = classification_metrics(&[0, 0, 0], &[0, 1, 0], None, 3).unwrap();
        assert_eq!(
            metrics.warnings,
            [
                MetricWarning::RecallIllDefined { class: 1 },
                MetricWarning::PrecisionIllDefined { class: 2 },
                MetricWarning::RecallIllDefined { class: 2 },
                MetricWarning::FScoreIllDefined { class: 2 },
                MetricWarning::PredictedClassNotInTruth { class: 1 },
            ]
        );
        let names = ["cat".to_owned(), "dog".to_owned()];
        assert_eq!(
            metrics.warnings[0].message(&names),
            "recall of class dog is ill-defined (absent from the true labels); reported as 0"
        );
        assert_eq!(
            metrics.warnings[1].to_string(),
            "precision of class 2 is ill-defined (never predicted); reported as 0"
        );
    }

    #[test]
    fn every_name_is_gettable_and_has_a_direction() {
        let case = &classification_cases()[0];
        let metrics = metrics_of(case);
        for &name in ClassificationMetrics::names() {
            assert!(metrics.get(name).is_some(), "{name}");
            assert!(ClassificationMetrics::higher_is_better(name).is_some(), "{name}");
        }
        assert_eq!(metrics.get("neg_log_loss"), None);
        assert_eq!(ClassificationMetrics::higher_is_better("log_loss"), Some(false));
        assert_eq!(ClassificationMetrics::higher_is_better("roc_auc"), Some(true));
        assert_eq!(ClassificationMetrics::higher_is_better("r2"), None);
    }

    #[test]
    fn metrics_survive_a_json_round_trip() {
        for case in classification_cases() {
            let metrics = metrics_of(&case);
            let json = serde_json::to_string(&metrics).unwrap();
            let back: ClassificationMetrics = serde_json::from_str(&json).unwrap();
            // Close rather than equal: without its float_roundtrip feature serde_json may parse a float one ulp off.
            for &name in ClassificationMetrics::names() {
                match (back.get(name), metrics.get(name)) {
                    (Some(back), Some(original)) => assert_close(back, original, &case.name),
                    (back, original) => assert_eq!(back, original, "{} {name}", case.name),
                }
            }
            assert_eq!(back.confusion_matrix, metrics.confusion_matrix, "{}", case.name);
            assert_eq!(back.warnings, metrics.warnings, "{}", case.name);
            assert_eq!(back.report.per_class.len(), metrics.report.per_class.len(), "{}", case.name);
        }
    }

    #[test]
    fn invalid_labels_are_errors() {
        assert_eq!(accuracy(&[], &[], 2), Err(MetricsError::Empty));
        assert_eq!(
            accuracy(&[0, 1], &[0], 2),
            Err(MetricsError::LengthMismatch { what: "y_pred", expected: 2, found: 1 })
        );
        assert_eq!(
            confusion_matrix(&[0, 1], &[0, 2], 2),
            Err(MetricsError::LabelOutOfRange { what: "y_pred", index: 1, label: 2, n_classes: 2 })
        );
        assert_eq!(
            classification_metrics(&[0, 7], &[0, 1], None, 2),
            Err(MetricsError::LabelOutOfRange { what: "y_true", index: 1, label: 7, n_classes: 2 })
        );
        assert_eq!(balanced_accuracy(&[0], &[0], 1), Err(MetricsError::TooFewClasses { n_classes: 1 }));
        assert_eq!(class_scores(&[0], &[0], 0), Err(MetricsError::TooFewClasses { n_classes: 0 }));
    }

    #[test]
    fn invalid_scores_are_errors() {
        let y = [0, 1];
        assert_eq!(
            log_loss(&y, &[0.5, 0.5, 1.0], 2),
            Err(MetricsError::LengthMismatch { what: "scores", expected: 4, found: 3 })
        );
        assert_eq!(
            log_loss(&y, &[0.5, 0.5, 1.5, -0.5], 2),
            Err(MetricsError::NotAProbability { row: 1, class: 0, value: 1.5 })
        );
        assert!(matches!(
            log_loss(&y, &[f64::NAN, 1.0, 0.0, 1.0], 2),
            Err(MetricsError::NotAProbability { row: 0, class: 0, .. })
        ));
        assert_eq!(log_loss(&y, &[0.5, 0.5, 0.5, 0.4], 2), Err(MetricsError::RowNotNormalised { row: 1, sum: 0.9 }));
        assert_eq!(log_loss(&[], &[], 2), Err(MetricsError::Empty));
        assert_eq!(
            classification_metrics(&y, &y, Some(&[0.5, 0.5]), 2),
            Err(MetricsError::LengthMismatch { what: "scores", expected: 4, found: 2 })
        );
    }

    #[test]
    fn rows_off_by_float_rounding_are_accepted() {
        let third = 1.0 / 3.0;
        assert!(log_loss(&[0], &[third, third, third], 3).is_ok());
        assert!(log_loss(&[0], &[0.5, 0.500_001], 2).is_ok());
    }
}
