//! Input checks shared by every metric, so each public function validates its arguments in one call and the
//! computations after it can index without further checks. Each check returns the first problem it finds, named by
//! argument and position, so the message tells a user exactly what to fix.

use super::MetricsError;

/// `np.allclose(1, row_sum)` with numpy's default tolerances, the check sklearn's multiclass ROC AUC puts on
/// probability rows: loose enough for rows a model computed in floating point, tight enough to reject scores that
/// are not probabilities at all.
fn sums_to_one(sum: f64) -> bool {
    const ABSOLUTE_TOLERANCE: f64 = 1e-8;
    const RELATIVE_TOLERANCE: f64 = 1e-5;
    (1.0 - sum).abs() <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * sum.abs()
}

/// `other` (named `what`) must hold `n_values` values, and there must be some.
pub(super) fn paired(n_values: usize, other: usize, what: &'static str) -> Result<(), MetricsError> {
    if n_values == 0 {
        return Err(MetricsError::Empty);
    }
    if other != n_values {
        return Err(MetricsError::LengthMismatch { what, expected: n_values, found: other });
    }
    Ok(())
}

/// A classification problem needs at least two classes: with one, every metric is trivially perfect or undefined.
pub(super) fn class_count(n_classes: usize) -> Result<(), MetricsError> {
    if n_classes < 2 {
        return Err(MetricsError::TooFewClasses { n_classes });
    }
    Ok(())
}

/// Every label (of the argument named `what`) is a class index below `n_classes`.
pub(super) fn labels_in_range(labels: &[u32], n_classes: usize, what: &'static str) -> Result<(), MetricsError> {
    match labels.iter().position(|&label| !is_class(label, n_classes)) {
        Some(index) => Err(MetricsError::LabelOutOfRange { what, index, label: labels[index], n_classes }),
        None => Ok(()),
    }
}

fn is_class(label: u32, n_classes: usize) -> bool {
    usize::try_from(label).is_ok_and(|label| label < n_classes)
}

/// True and predicted labels of a classification problem.
pub(super) fn labels(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> Result<(), MetricsError> {
    class_count(n_classes)?;
    paired(y_true.len(), y_pred.len(), "y_pred")?;
    labels_in_range(y_true, n_classes, "y_true")?;
    labels_in_range(y_pred, n_classes, "y_pred")
}

/// True labels and a row-major `n_samples × n_classes` matrix of class probabilities.
pub(super) fn probabilities(y_true: &[u32], scores: &[f64], n_classes: usize) -> Result<(), MetricsError> {
    class_count(n_classes)?;
    // Saturating: an absurd n_classes must give a length error, not an overflow panic.
    paired(y_true.len().saturating_mul(n_classes), scores.len(), "scores")?;
    labels_in_range(y_true, n_classes, "y_true")?;
    for (row, probabilities) in scores.chunks_exact(n_classes).enumerate() {
        probability_row(row, probabilities)?;
    }
    Ok(())
}

fn probability_row(row: usize, probabilities: &[f64]) -> Result<(), MetricsError> {
    // `contains` is false for NaN, so NaN is rejected here too.
    if let Some(class) = probabilities.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(MetricsError::NotAProbability { row, class, value: probabilities[class] });
    }
    let sum: f64 = probabilities.iter().sum();
    if !sums_to_one(sum) {
        return Err(MetricsError::RowNotNormalised { row, sum });
    }
    Ok(())
}

/// Every value (of the argument named `what`) is finite, as sklearn's `assert_all_finite` requires.
pub(super) fn finite(values: &[f64], what: &'static str) -> Result<(), MetricsError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(MetricsError::NotFinite { what, index, value: values[index] }),
        None => Ok(()),
    }
}
