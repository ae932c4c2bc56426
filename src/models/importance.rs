//! Permutation importance, the fallback for models without importances of their own (k-nearest neighbours,
//! naive Bayes): how much a score drops when one feature's values are shuffled across rows, breaking its link
//! with the target. As scikit-learn's `permutation_importance` with `n_repeats=5`: the mean drop over repeats.
//! A one-hot encoded feature is shuffled as a whole (its columns move together), so importances are per input
//! feature, not per encoded column.

use std::ops::Range;

use crate::data::matrix::Matrix;
use crate::rng::Rng;

/// Repeats per feature, as scikit-learn's default.
pub const N_REPEATS: usize = 5;
/// Rows predicted in all (features × repeats × sampled rows) at most: a kNN prediction costs a pass over every
/// training row, so this keeps a 100k-row kNN model's importances to seconds.
pub const PREDICTION_BUDGET: usize = 20_000;

/// The sample of rows to score for `n_groups` features: what the budget allows, between 200 and 2,000.
pub fn sample_size(n_groups: usize) -> usize {
    (PREDICTION_BUDGET / (n_groups.max(1) * N_REPEATS)).clamp(200, 2_000)
}

/// The mean drop of `score` (higher is better) per group of columns of `x` when that group's rows are
/// shuffled, `N_REPEATS` times each, seeded by `seed`.
pub fn permutation_importance(
    x: &Matrix,
    groups: &[Range<usize>],
    seed: u64,
    score: &dyn Fn(&Matrix) -> f64,
) -> Vec<f64> {
    let baseline = score(x);
    let (n, d) = (x.n_rows(), x.n_cols());
    groups
        .iter()
        .enumerate()
        .map(|(g, cols)| {
            let mut rng = Rng::derive(seed, g as u64);
            let mut drop = 0.0;
            for _ in 0..N_REPEATS {
                let mut order: Vec<usize> = (0..n).collect();
                rng.shuffle(&mut order);
                let mut data = x.as_slice().to_vec();
                for (to, &from) in order.iter().enumerate() {
                    for c in cols.clone() {
                        data[to * d + c] = x.get(from, c);
                    }
                }
                drop += baseline - score(&Matrix::from_row_major(n, d, data));
            }
            drop / N_REPEATS as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_feature_the_score_reads_matters() {
        // The score is the negated squared error of predicting y = 2·x0 from column 0; column 1 is noise.
        let mut data = Vec::new();
        for i in 0..200 {
            data.push(f64::from(i));
            data.push(f64::from((i * 7919) % 13));
        }
        let x = Matrix::from_row_major(200, 2, data);
        let y: Vec<f64> = (0..200).map(|i| 2.0 * f64::from(i)).collect();
        let score = |m: &Matrix| -(0..m.n_rows()).map(|r| (2.0 * m.get(r, 0) - y[r]).powi(2)).sum::<f64>();
        let imp = permutation_importance(&x, &[0..1, 1..2], 3, &score);
        assert!(imp[0] > 1000.0, "{imp:?}");
        assert_eq!(imp[1], 0.0);
        assert_eq!(imp, permutation_importance(&x, &[0..1, 1..2], 3, &score));
    }
}
