//! Gaussian naive Bayes: scikit-learn's `GaussianNB` (1.9.1) without sample weights or given priors.
//!
//! Each class models every feature as an independent normal with the class's mean and (population) variance;
//! `epsilon = var_smoothing × the largest variance of a feature over the whole training set` is added to every
//! variance so that a feature constant within a class does not divide by zero. Priors are the class
//! frequencies. Probabilities are computed in log space and normalised with log-sum-exp, as scikit-learn's
//! `predict_log_proba`, so a row far from every class still gets finite, normalised probabilities.
//!
//! Where we differ from scikit-learn, deliberately:
//! - Classes are the codes `0..n_classes` given at fit. A class with no training row has prior 0 and so
//!   probability 0 (its mean is 0 and variance `epsilon`, never used).
//! - If every feature is constant over the training set, scikit-learn's `epsilon` is 0 and its probabilities
//!   NaN; here `epsilon` is then `var_smoothing` itself, which gives every row the class priors (the features
//!   cannot tell the classes apart; far from the constant the priors are only approached, as the huge
//!   log-likelihoods lose precision).
//! - `var_smoothing` must be positive (scikit-learn accepts 0), so that every variance is.

use serde::{Deserialize, Serialize};

use crate::data::matrix::Matrix;

/// scikit-learn's default `var_smoothing`.
pub const DEFAULT_VAR_SMOOTHING: f64 = 1e-9;

/// A fitted Gaussian naive Bayes classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedNb")]
pub struct GaussianNb {
    n_classes: usize,
    n_features: usize,
    /// Class frequencies in the training set, summing to 1.
    priors: Vec<f64>,
    /// Per class and feature, row-major `n_classes × n_features`.
    means: Vec<f64>,
    /// Per class and feature, `epsilon` included: every one finite and positive.
    variances: Vec<f64>,
}

/// What the deserialiser reads before `TryFrom` checks it: prediction indexes by these lengths and divides by
/// the variances.
#[derive(Deserialize)]
struct UncheckedNb {
    n_classes: usize,
    n_features: usize,
    priors: Vec<f64>,
    means: Vec<f64>,
    variances: Vec<f64>,
}

impl TryFrom<UncheckedNb> for GaussianNb {
    type Error = String;

    fn try_from(raw: UncheckedNb) -> Result<Self, String> {
        let cells = raw.n_classes.checked_mul(raw.n_features);
        if raw.n_classes == 0
            || raw.n_features == 0
            || raw.priors.len() != raw.n_classes
            || cells != Some(raw.means.len())
            || cells != Some(raw.variances.len())
        {
            return Err(
                "a naive Bayes model needs a prior per class and a mean and variance per class and feature".to_owned()
            );
        }
        if raw.priors.iter().any(|p| !(0.0..=1.0).contains(p)) || !raw.priors.iter().any(|&p| p > 0.0) {
            return Err("naive Bayes priors must be in [0, 1], and one of them positive".to_owned());
        }
        if raw.means.iter().any(|m| !m.is_finite()) || raw.variances.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err("naive Bayes means must be finite and variances finite and positive".to_owned());
        }
        Ok(GaussianNb {
            n_classes: raw.n_classes,
            n_features: raw.n_features,
            priors: raw.priors,
            means: raw.means,
            variances: raw.variances,
        })
    }
}

impl GaussianNb {
    /// Fits one normal per class and feature to rows `x` with class codes `y` in `0..n_classes`.
    ///
    /// # Errors
    /// Empty data, a `y` of the wrong length, a label out of range, a value in `x` that is NaN or infinite, a
    /// `var_smoothing` that is not a positive number, or variances too small to represent.
    pub fn fit(x: &Matrix, y: &[u32], n_classes: usize, var_smoothing: f64) -> Result<Self, String> {
        check_data(x, y, n_classes)?;
        if !(var_smoothing > 0.0 && var_smoothing.is_finite()) {
            return Err(format!("var_smoothing must be a positive number, not {var_smoothing}"));
        }
        let n_features = x.n_cols();
        let largest_variance = (0..n_features).map(|f| variance(&x.column(f))).fold(0.0, f64::max);
        let epsilon = var_smoothing * if largest_variance > 0.0 { largest_variance } else { 1.0 };

        let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_classes];
        for (row, &c) in y.iter().enumerate() {
            members[c as usize].push(row);
        }
        let mut means = Vec::with_capacity(n_classes * n_features);
        let mut variances = Vec::with_capacity(n_classes * n_features);
        for rows in &members {
            let class_rows = x.select_rows(rows);
            for f in 0..n_features {
                let column = class_rows.column(f);
                means.push(if column.is_empty() { 0.0 } else { mean(&column) });
                variances.push(if column.is_empty() { 0.0 } else { variance(&column) } + epsilon);
            }
        }
        if variances.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err("the feature variances are too small or too large to model".to_owned());
        }
        let n = y.len() as f64;
        let priors = members.iter().map(|rows| rows.len() as f64 / n).collect();
        Ok(GaussianNb { n_classes, n_features, priors, means, variances })
    }

    /// Class probabilities, row-major `x.n_rows() × n_classes()`.
    pub fn predict_proba(&self, x: &Matrix) -> Vec<f64> {
        let mut out = Vec::with_capacity(x.n_rows() * self.n_classes);
        let log_priors: Vec<f64> = self.priors.iter().map(|p| p.ln()).collect();
        let log_normalisers: Vec<f64> = self
            .variances
            .chunks_exact(self.n_features)
            .map(|vars| -0.5 * vars.iter().map(|v| (2.0 * std::f64::consts::PI * v).ln()).sum::<f64>())
            .collect();
        for r in 0..x.n_rows() {
            let row = x.row(r);
            let joint: Vec<f64> = (0..self.n_classes)
                .map(|c| log_priors[c] + log_normalisers[c] - 0.5 * self.mahalanobis_sq(c, row))
                .collect();
            let total = log_sum_exp(&joint);
            out.extend(joint.iter().map(|j| (j - total).exp()));
        }
        out
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// `Σ_f (x_f - mean_cf)² / var_cf`: how far `row` is from class `c` in its standard deviations.
    fn mahalanobis_sq(&self, c: usize, row: &[f64]) -> f64 {
        let cells = c * self.n_features..(c + 1) * self.n_features;
        row.iter()
            .zip(&self.means[cells.clone()])
            .zip(&self.variances[cells])
            .map(|((x, m), v)| (x - m).powi(2) / v)
            .sum()
    }
}

fn check_data(x: &Matrix, y: &[u32], n_classes: usize) -> Result<(), String> {
    if x.n_rows() == 0 || x.n_cols() == 0 {
        return Err("cannot fit naive Bayes on data with no rows or no features".to_owned());
    }
    if y.len() != x.n_rows() {
        return Err(format!("the data has {} rows but {} targets", x.n_rows(), y.len()));
    }
    if let Some((row, label)) = y.iter().enumerate().find(|&(_, &c)| c as usize >= n_classes) {
        return Err(format!("row {row} has class label {label}, but there are only {n_classes} classes"));
    }
    if let Some(i) = x.as_slice().iter().position(|v| !v.is_finite()) {
        return Err(format!("row {} column {} is NaN or infinite", i / x.n_cols(), i % x.n_cols()));
    }
    Ok(())
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Population variance (numpy's `var`, ddof 0), two-pass for accuracy.
fn variance(values: &[f64]) -> f64 {
    let m = mean(values);
    values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64
}

/// `ln Σ exp(a_i)` without overflow; `-inf` terms contribute nothing. NaN if any term is NaN.
fn log_sum_exp(terms: &[f64]) -> f64 {
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../tests/fixtures/other/naive_bayes.json");

    fn matrix(v: &Value) -> Matrix {
        let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
        let n_cols = rows[0].len();
        Matrix::from_row_major(rows.len(), n_cols, rows.concat())
    }

    #[test]
    fn matches_scikit_learn() {
        let doc: Value = serde_json::from_str(FIXTURE).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let (x, q) = (matrix(&case["x_train"]), matrix(&case["x_query"]));
            let y: Vec<u32> = serde_json::from_value(case["y_train"].clone()).unwrap();
            let n_classes = case["n_classes"].as_u64().unwrap() as usize;
            let smoothing = case["var_smoothing"].as_f64().unwrap();
            let model = GaussianNb::fit(&x, &y, n_classes, smoothing).unwrap();
            let expected: Vec<f64> = serde_json::from_value(case["proba"].clone()).unwrap();
            let actual = model.predict_proba(&q);
            assert_eq!(actual.len(), expected.len());
            for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
                assert!((a - e).abs() <= 1e-9, "{name} proba[{i}]: {a} vs scikit-learn {e}");
            }
            let means: Vec<f64> = serde_json::from_value(case["theta"].clone()).unwrap();
            let vars: Vec<f64> = serde_json::from_value(case["var"].clone()).unwrap();
            for (a, e) in model.means.iter().zip(&means).chain(model.variances.iter().zip(&vars)) {
                assert!((a - e).abs() <= 1e-12 * (1.0 + e.abs()), "{name}: {a} vs {e}");
            }
        }
    }

    #[test]
    fn far_rows_still_get_normalised_probabilities() {
        let x = Matrix::from_row_major(4, 1, vec![0.0, 0.1, 1.0, 1.1]);
        let model = GaussianNb::fit(&x, &[0, 0, 1, 1], 2, DEFAULT_VAR_SMOOTHING).unwrap();
        let proba = model.predict_proba(&Matrix::from_row_major(2, 1, vec![1e6, -1e6]));
        assert_eq!(proba, vec![0.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn absent_classes_and_constant_features() {
        let x = Matrix::from_row_major(3, 2, vec![1.0, 5.0, 1.0, 5.0, 1.0, 5.0]);
        let model = GaussianNb::fit(&x, &[0, 2, 2], 3, DEFAULT_VAR_SMOOTHING).unwrap();
        let proba = model.predict_proba(&Matrix::from_row_major(2, 2, vec![1.0, 5.0, 1.00002, 4.99999]));
        for row in proba.chunks(3) {
            assert!((row[0] - 1.0 / 3.0).abs() < 1e-12 && row[1] == 0.0 && (row[2] - 2.0 / 3.0).abs() < 1e-12);
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        let x = Matrix::from_row_major(2, 1, vec![0.0, 1.0]);
        assert!(GaussianNb::fit(&x, &[0, 2], 2, 1e-9).is_err());
        assert!(GaussianNb::fit(&x, &[0], 2, 1e-9).is_err());
        assert!(GaussianNb::fit(&x, &[0, 1], 2, 0.0).is_err());
        assert!(GaussianNb::fit(&x, &[0, 1], 2, f64::NAN).is_err());
        let nan = Matrix::from_row_major(2, 1, vec![0.0, f64::NAN]);
        assert!(GaussianNb::fit(&nan, &[0, 1], 2, 1e-9).is_err());
        assert!(GaussianNb::fit(&Matrix::from_row_major(0, 1, vec![]), &[], 2, 1e-9).is_err());
    }

    #[test]
    fn round_trips_and_rejects_inconsistent_models() {
        let x = Matrix::from_row_major(4, 2, vec![0.0, 1.0, 0.5, 1.5, 3.0, -1.0, 3.5, -2.0]);
        let model = GaussianNb::fit(&x, &[0, 0, 1, 1], 2, DEFAULT_VAR_SMOOTHING).unwrap();
        let bytes = postcard::to_allocvec(&model).unwrap();
        assert_eq!(postcard::from_bytes::<GaussianNb>(&bytes).unwrap(), model);
        let corruptions: [fn(&mut GaussianNb); 5] = [
            |m| m.n_features = 3,
            |m| m.priors.truncate(1),
            |m| m.variances[1] = 0.0,
            |m| m.means[0] = f64::NAN,
            |m| m.priors = vec![0.0, 0.0],
        ];
        for corrupt in corruptions {
            let mut bad = model.clone();
            corrupt(&mut bad);
            assert!(postcard::from_bytes::<GaussianNb>(&postcard::to_allocvec(&bad).unwrap()).is_err(), "{bad:?}");
        }
        for cut in 0..bytes.len() {
            assert!(postcard::from_bytes::<GaussianNb>(&bytes[..cut]).is_err());
        }
    }
}
