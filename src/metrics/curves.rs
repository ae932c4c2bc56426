//! Metrics of a score ranking, as in sklearn's `_ranking.py`: the ROC and precision-recall curves (point lists
//! for plots) and ROC AUC. All three come from one sweep over the distinct scores, highest first, that counts the
//! true and false positives at each threshold; tied scores form a single point, which is what makes AUC correct
//! with ties (a trapezoid across the tie rather than an optimistic or pessimistic staircase).

use std::iter::once;

use super::{class_labels, validate, MetricsError};

/// A ROC curve as `sklearn.metrics.roc_curve` returns it: `fpr[i]` and `tpr[i]` are the rates of samples scoring
/// at least `thresholds[i]`. Thresholds decrease; the first is +inf, for the (0, 0) point.
#[derive(Debug, Clone, PartialEq)]
pub struct RocCurve {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub thresholds: Vec<f64>,
}

/// A precision-recall curve as `sklearn.metrics.precision_recall_curve` returns it: `precision[i]` and
/// `recall[i]` of samples scoring at least `thresholds[i]`, thresholds increasing, then a final point
/// (precision 1, recall 0) that has no threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionRecallCurve {
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    pub thresholds: Vec<f64>,
}

/// Cumulative counts at each distinct score, highest first: entry `i` counts the samples scoring at least
/// `thresholds[i]`.
#[derive(Debug, Clone, PartialEq)]
struct ThresholdCounts {
    thresholds: Vec<f64>,
    true_positives: Vec<u64>,
    false_positives: Vec<u64>,
    positives: u64,
    negatives: u64,
}

impl ThresholdCounts {
    /// Sorts by score (descending, stable like sklearn's argsort) and closes a point after each run of ties.
    fn sweep(y_true: &[u32], y_score: &[f64], pos_label: u32) -> Result<Self, MetricsError> {
        validate::paired(y_true.len(), y_score.len(), "y_score")?;
        validate::finite(y_score, "y_score")?;
        let mut order: Vec<usize> = (0..y_score.len()).collect();
        order.sort_by(|&a, &b| y_score[b].total_cmp(&y_score[a]));

        let mut counts = Self {
            thresholds: Vec::new(),
            true_positives: Vec::new(),
            false_positives: Vec::new(),
            positives: 0,
            negatives: 0,
        };
        for (rank, &sample) in order.iter().enumerate() {
            if y_true[sample] == pos_label {
                counts.positives += 1;
            } else {
                counts.negatives += 1;
            }
            // `!=` rather than total_cmp so that -0.0 and 0.0, which sort next to each other, tie as in numpy.
            let ends_a_tie = order.get(rank + 1).is_none_or(|&next| y_score[next] != y_score[sample]);
            if ends_a_tie {
                counts.thresholds.push(y_score[sample]);
                counts.true_positives.push(counts.positives);
                counts.false_positives.push(counts.negatives);
            }
        }
        Ok(counts)
    }

    /// Keeps the first and last points and every inner point `i` that `is_kept(self, i)` accepts: sklearn's
    /// `drop_intermediate`.
    fn keep_ends_and(self, is_kept: impl Fn(&Self, usize) -> bool) -> Self {
        let last = self.thresholds.len().saturating_sub(1);
        let keep: Vec<bool> = (0..=last).map(|i| i == 0 || i == last || is_kept(&self, i)).collect();
        Self {
            thresholds: kept(&self.thresholds, &keep),
            true_positives: kept(&self.true_positives, &keep),
            false_positives: kept(&self.false_positives, &keep),
            ..self
        }
    }

    /// Keeps only the points where the ROC curve bends (a count's second difference is non-zero): the others are
    /// collinear with their neighbours, never optimal, and do not change the area.
    fn without_collinear_points(self) -> Self {
        let bends = |counts: &[u64], i: usize| counts[i - 1] + counts[i + 1] != 2 * counts[i];
        self.keep_ends_and(|c, i| bends(&c.false_positives, i) || bends(&c.true_positives, i))
    }

    /// Keeps only the first and last point of each run of equal true positives (equal recall): the inner ones sit
    /// on a vertical segment of the precision-recall plot.
    fn without_equal_recall_runs(self) -> Self {
        self.keep_ends_and(|c, i| {
            let tps = &c.true_positives;
            tps[i - 1] != tps[i] || tps[i] != tps[i + 1]
        })
    }
}

/// The values whose `keep` flag is set.
fn kept<T: Copy>(values: &[T], keep: &[bool]) -> Vec<T> {
    values.iter().zip(keep).filter(|(_, &k)| k).map(|(&v, _)| v).collect()
}

fn rates(counts: &[u64], total: u64) -> impl Iterator<Item = f64> + '_ {
    counts.iter().map(move |&count| count as f64 / total as f64)
}

/// The ROC curve of `y_score` for detecting `pos_label` among `y_true` (one class against the rest), like
/// `sklearn.metrics.roc_curve`. `drop_intermediate` drops collinear points as sklearn's default does.
///
/// `Ok(None)` when `y_true` has no positive or no negative sample, where sklearn warns and returns NaN rates.
pub fn roc_curve(
    y_true: &[u32],
    y_score: &[f64],
    pos_label: u32,
    drop_intermediate: bool,
) -> Result<Option<RocCurve>, MetricsError> {
    let mut counts = ThresholdCounts::sweep(y_true, y_score, pos_label)?;
    if counts.positives == 0 || counts.negatives == 0 {
        return Ok(None);
    }
    if drop_intermediate {
        counts = counts.without_collinear_points();
    }
    // sklearn starts the curve at (0, 0) with a threshold no score reaches.
    Ok(Some(RocCurve {
        fpr: once(0.0).chain(rates(&counts.false_positives, counts.negatives)).collect(),
        tpr: once(0.0).chain(rates(&counts.true_positives, counts.positives)).collect(),
        thresholds: once(f64::INFINITY).chain(counts.thresholds).collect(),
    }))
}

/// The precision-recall curve of `y_score` for detecting `pos_label` among `y_true`, like
/// `sklearn.metrics.precision_recall_curve` (whose `drop_intermediate` defaults to false). Without any positive
/// sample, recall is 1 at every threshold, as sklearn sets it (with a warning).
pub fn precision_recall_curve(
    y_true: &[u32],
    y_score: &[f64],
    pos_label: u32,
    drop_intermediate: bool,
) -> Result<PrecisionRecallCurve, MetricsError> {
    let mut counts = ThresholdCounts::sweep(y_true, y_score, pos_label)?;
    if drop_intermediate {
        counts = counts.without_equal_recall_runs();
    }
    let pairs = counts.true_positives.iter().zip(&counts.false_positives);
    // Every point counts at least one sample, so tp + fp > 0.
    let precision = pairs.map(|(&tp, &fp)| tp as f64 / (tp + fp) as f64);
    let recall: Vec<f64> = if counts.positives == 0 {
        vec![1.0; counts.thresholds.len()]
    } else {
        rates(&counts.true_positives, counts.positives).collect()
    };
    // sklearn lists the curve by increasing threshold (decreasing recall) and ends it at (recall 0, precision 1).
    Ok(PrecisionRecallCurve {
        precision: precision.rev().chain([1.0]).collect(),
        recall: recall.into_iter().rev().chain([0.0]).collect(),
        thresholds: counts.thresholds.into_iter().rev().collect(),
    })
}

/// ROC AUC from class probabilities (row-major `y_true.len() × n_classes`), like `sklearn.metrics.roc_auc_score`:
/// with two classes, the AUC of class 1's probability; with more, the unweighted mean of each class's
/// one-vs-rest AUC (`multi_class="ovr", average="macro"`).
///
/// `Ok(None)` when some class of `0..n_classes` is absent from `y_true`: a one-vs-rest split then has a single kind
/// of sample and its AUC is undefined. sklearn 1.9 warns and returns NaN there (older versions raised "Only one
/// class present in y_true").
pub fn roc_auc(y_true: &[u32], scores: &[f64], n_classes: usize) -> Result<Option<f64>, MetricsError> {
    validate::probabilities(y_true, scores, n_classes)?;
    let class_auc = |class: u32| {
        let column: Vec<f64> = scores.chunks_exact(n_classes).map(|row| row[class as usize]).collect();
        one_vs_rest_auc(y_true, &column, class)
    };
    if n_classes == 2 {
        return class_auc(1);
    }
    let per_class: Vec<Option<f64>> = class_labels(n_classes).map(class_auc).collect::<Result<_, _>>()?;
    let defined: Option<Vec<f64>> = per_class.into_iter().collect();
    Ok(defined.map(|aucs| aucs.iter().sum::<f64>() / aucs.len() as f64))
}

fn one_vs_rest_auc(y_true: &[u32], y_score: &[f64], pos_label: u32) -> Result<Option<f64>, MetricsError> {
    let curve = roc_curve(y_true, y_score, pos_label, true)?;
    Ok(curve.map(|curve| trapezoid_area(&curve.fpr, &curve.tpr)))
}

/// The area under the polyline through (x[i], y[i]), as `np.trapezoid(y, x)`; `x` is non-decreasing.
fn trapezoid_area(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2).zip(y.windows(2)).map(|(x, y)| (x[1] - x[0]) * (y[1] + y[0]) / 2.0).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::test_support::{assert_all_close, assert_close, classification_cases, ClassificationCase};

    fn column(case: &ClassificationCase, class: u32) -> Vec<f64> {
        let scores = case.scores.as_ref().expect("a case with scores");
        scores.chunks_exact(case.n_classes).map(|row| row[class as usize]).collect()
    }

    #[test]
    fn roc_auc_matches_sklearn() {
        for case in classification_cases() {
            if let Some(scores) = &case.scores {
                let actual = roc_auc(&case.y_true, scores, case.n_classes).unwrap();
                match (actual, case.expected.named("roc_auc")) {
                    (Some(actual), Some(expected)) => assert_close(actual, expected, &case.name),
                    (None, None) => {}
                    (actual, expected) => {
                        panic!("{}: got {actual:?}, sklearn {expected:?}", case.name)
                    }
                }
            }
        }
    }

    #[test]
    fn roc_curves_match_sklearn() {
        for case in classification_cases() {
            for expected in case.expected.curves() {
                let label = expected.pos_label();
                for drop in [true, false] {
                    let context = format!("{} class {label} drop_intermediate={drop}", case.name);
                    let actual = roc_curve(&case.y_true, &column(&case, label), label, drop).unwrap();
                    match (actual, expected.roc(drop)) {
                        (Some(actual), Some((fpr, tpr, thresholds))) => {
                            assert_all_close(&actual.fpr, &fpr, &format!("{context} fpr"));
                            assert_all_close(&actual.tpr, &tpr, &format!("{context} tpr"));
                            assert_all_close(&actual.thresholds, &thresholds, &format!("{context} thresholds"));
                        }
                        (None, None) => {}
                        (actual, expected) => {
                            panic!("{context}: got {actual:?}, sklearn {expected:?}")
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn precision_recall_curves_match_sklearn() {
        for case in classification_cases() {
            for expected in case.expected.curves() {
                let label = expected.pos_label();
                for drop in [true, false] {
                    let context = format!("{} class {label} drop_intermediate={drop}", case.name);
                    let actual = precision_recall_curve(&case.y_true, &column(&case, label), label, drop).unwrap();
                    let (precision, recall, thresholds) = expected.precision_recall(drop);
                    assert_all_close(&actual.precision, &precision, &format!("{context} precision"));
                    assert_all_close(&actual.recall, &recall, &format!("{context} recall"));
                    assert_all_close(&actual.thresholds, &thresholds, &format!("{context} thresholds"));
                }
            }
        }
    }

    #[test]
    fn tied_scores_make_one_point_and_a_diagonal_segment() {
        // One positive and one negative share a score: the curve goes diagonally across the tie (AUC 0.5 there).
        let curve = roc_curve(&[1, 0, 1, 0], &[0.9, 0.5, 0.5, 0.1], 1, false).unwrap().unwrap();
        assert_eq!(curve.fpr, [0.0, 0.0, 0.5, 1.0]);
        assert_eq!(curve.tpr, [0.0, 0.5, 1.0, 1.0]);
        assert_eq!(curve.thresholds, [f64::INFINITY, 0.9, 0.5, 0.1]);
        assert_eq!(roc_auc(&[1, 0, 1, 0], &[0.1, 0.9, 0.5, 0.5, 0.5, 0.5, 0.9, 0.1], 2), Ok(Some(0.875)));
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        let curve = roc_curve(&[1, 0], &[0.0, -0.0], 1, false).unwrap().unwrap();
        assert_eq!(curve.fpr, [0.0, 1.0]);
        assert_eq!(curve.tpr, [0.0, 1.0]);
    }

    #[test]
    fn curves_of_a_single_class() {
        assert_eq!(roc_curve(&[0, 0], &[0.2, 0.4], 1, true), Ok(None));
        assert_eq!(roc_curve(&[1, 1], &[0.2, 0.4], 1, true), Ok(None));
        let curve = precision_recall_curve(&[0, 0], &[0.2, 0.4], 1, false).unwrap();
        assert_eq!(curve.recall, [1.0, 1.0, 0.0]);
        assert_eq!(curve.precision, [0.0, 0.0, 1.0]);
        assert_eq!(curve.thresholds, [0.2, 0.4]);
    }

    #[test]
    fn invalid_curve_inputs_are_errors() {
        assert_eq!(roc_curve(&[], &[], 1, true), Err(MetricsError::Empty));
        assert_eq!(
            precision_recall_curve(&[0, 1], &[0.5], 1, false),
            Err(MetricsError::LengthMismatch { what: "y_score", expected: 2, found: 1 })
        );
        assert_eq!(
            roc_curve(&[0, 1], &[0.5, f64::INFINITY], 1, true),
            Err(MetricsError::NotFinite { what: "y_score", index: 1, value: f64::INFINITY })
        );
        assert_eq!(
            roc_auc(&[0, 3], &[0.5, 0.5, 0.5, 0.5], 2),
            Err(MetricsError::LabelOutOfRange { what: "y_true", index: 1, label: 3, n_classes: 2 })
        );
        assert_eq!(roc_auc(&[0, 1, 2], &[0.5; 9], 3), Err(MetricsError::RowNotNormalised { row: 0, sum: 1.5 }));
    }
}
