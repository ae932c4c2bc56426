//! Model-evaluation metrics that give the same numbers as scikit-learn: pure functions over slices, no I/O, no
//! state. This file owns the conventions every submodule shares and the one error type they return;
//! `classification` holds the label metrics and the one-call summary stored with a model, `curves` the score
//! threshold metrics (ROC and precision-recall curves, ROC AUC), `report` sklearn's classification report, and
//! `regression` the regression metrics.
//!
//! Conventions:
//! - Class labels are indices `u32` in `0..n_classes`; `n_classes` is passed explicitly, so a class absent from
//!   the data still counts (as sklearn does when given `labels=range(n_classes)`).
//! - Scores are class probabilities, row-major `n_samples × n_classes`, each row summing to 1.
//! - Invalid input (empty, mismatched lengths, a label ≥ `n_classes`, a score that is not a probability) is an
//!   `Err(MetricsError)`, never a panic.
//! - A metric that is mathematically undefined for valid input, where sklearn returns NaN with an
//!   `UndefinedMetricWarning`, is `None`. Zero divisions inside precision, recall and F1 are 0.0, as with
//!   sklearn's default `zero_division="warn"`, and are reported as [`MetricWarning`]s so the CLI can warn.
//!
//! The reference values live in `tests/fixtures/metrics/`, written by `scripts/gen_metric_fixtures.py` with
//! scikit-learn 1.9.1; the unit tests of each submodule assert every value to 1e-9.

pub mod calibration;
pub mod classification;
pub mod clustering;
pub mod curves;
pub mod regression;
pub mod report;
#[cfg(test)]
mod test_support;
mod validate;

pub use classification::{
    accuracy, balanced_accuracy, class_scores, classification_metrics, confusion_matrix, log_loss, precision_recall_f1,
    Average, ClassificationMetrics, MetricWarning, Scores,
};
pub use classification::{classification_report, ClassificationReport};
pub use clustering::{clustering_metrics, ClusteringMetrics};
pub use curves::{precision_recall_curve, roc_auc, roc_curve, PrecisionRecallCurve, RocCurve};
pub use regression::{
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_error, r2, regression_metrics,
    root_mean_squared_error, RegressionMetrics,
};

/// The metrics of one task on one sample: what metadata.json stores and gates look values up in. Serialised as
/// the inner struct alone (untagged), so classification metadata reads as before this enum existed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Metrics {
    Classification(ClassificationMetrics),
    Regression(RegressionMetrics),
    Clustering(ClusteringMetrics),
}

impl Metrics {
    /// A metric by name; `None` for an unknown name or an undefined value.
    pub fn get(&self, name: &str) -> Option<f64> {
        match self {
            Metrics::Classification(m) => m.get(name),
            Metrics::Regression(m) => m.get(name),
            Metrics::Clustering(m) => m.get(name),
        }
    }

    pub fn task(&self) -> crate::models::Task {
        match self {
            Metrics::Classification(_) => crate::models::Task::Classification,
            Metrics::Regression(_) => crate::models::Task::Regression,
            Metrics::Clustering(_) => crate::models::Task::Clustering,
        }
    }

    pub fn as_classification(&self) -> Option<&ClassificationMetrics> {
        match self {
            Metrics::Classification(m) => Some(m),
            _ => None,
        }
    }

    /// Every metric name of `task`.
    pub fn names(task: crate::models::Task) -> &'static [&'static str] {
        match task {
            crate::models::Task::Classification => ClassificationMetrics::names(),
            crate::models::Task::Regression => RegressionMetrics::names(),
            crate::models::Task::Clustering => ClusteringMetrics::names(),
        }
    }

    /// Every metric name of every task, for checking a name before the model (and so its task) is known.
    pub fn all_names() -> Vec<&'static str> {
        crate::models::Task::ALL.iter().flat_map(|t| Metrics::names(*t).iter().copied()).collect()
    }

    /// The metric a task is judged by when none is named: promotion gates and `--compare` use it.
    pub fn primary(task: crate::models::Task) -> &'static str {
        match task {
            crate::models::Task::Classification => "f1",
            crate::models::Task::Regression => "rmse",
            crate::models::Task::Clustering => "silhouette",
        }
    }

    /// The metrics copied into registry.json and MODEL_REGISTRY.md.
    pub fn headline(task: crate::models::Task) -> &'static [&'static str] {
        match task {
            crate::models::Task::Classification => {
                &["accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"]
            }
            crate::models::Task::Regression => &["r2", "rmse", "mae", "mse", "mape"],
            crate::models::Task::Clustering => &["silhouette", "inertia", "calinski_harabasz", "davies_bouldin"],
        }
    }

    /// Whether a larger value is better, for a name of any task (`None` if no task knows it).
    pub fn higher_is_better(name: &str) -> Option<bool> {
        ClassificationMetrics::higher_is_better(name)
            .or_else(|| RegressionMetrics::higher_is_better(name))
            .or_else(|| ClusteringMetrics::higher_is_better(name))
    }

    /// Which task a metric name belongs to, to explain a gate on the wrong kind of model.
    pub fn task_of(name: &str) -> Option<crate::models::Task> {
        crate::models::Task::ALL.into_iter().find(|t| Metrics::names(*t).contains(&name))
    }
}

/// Why a metric could not be computed from the given input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    #[error("no samples: metrics need at least one")]
    Empty,

    #[error("{what} has {found} values, expected {expected}")]
    LengthMismatch { what: &'static str, expected: usize, found: usize },

    #[error("at least 2 classes are needed, got n_classes = {n_classes}")]
    TooFewClasses { n_classes: usize },

    #[error("{what}[{index}] is class {label}, but classes are 0..{n_classes}")]
    LabelOutOfRange { what: &'static str, index: usize, label: u32, n_classes: usize },

    #[error("{what}[{index}] is {value}, not a finite number")]
    NotFinite { what: &'static str, index: usize, value: f64 },

    #[error("scores row {row}, class {class}: {value} is not a probability in [0, 1]")]
    NotAProbability { row: usize, class: usize, value: f64 },

    #[error("scores row {row} sums to {sum}, not 1: scores must be class probabilities")]
    RowNotNormalised { row: usize, sum: f64 },

    #[error("the binary average (positive class 1) needs exactly 2 classes, got {n_classes}")]
    BinaryAverageNeedsTwoClasses { n_classes: usize },
}

/// The class labels `0..n_classes` as `u32`, without a cast that could truncate: labels are `u32`, so no class
/// past `u32::MAX` can hold a sample anyway.
fn class_labels(n_classes: usize) -> impl Iterator<Item = u32> {
    (0..=u32::MAX).take(n_classes)
}

/// The name to show for `class`: its entry in `class_names`, or the index itself when the list is too short
/// (which is also what sklearn prints when it has no names).
fn class_name(class_names: &[String], class: usize) -> std::borrow::Cow<'_, str> {
    match class_names.get(class) {
        Some(name) => name.as_str().into(),
        None => class.to_string().into(),
    }
}
