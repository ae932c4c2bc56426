//! Regression metrics of one output, as sklearn computes them: R², mean absolute error, mean squared error, its
//! root, and mean absolute percentage error; plus `RegressionMetrics`, the summary that CI gates look metrics up in
//! by name.

use serde::{Deserialize, Serialize};

use super::{validate, MetricsError};

/// Everything mlctl reports about a regressor on one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// `None` with fewer than two samples (see [`r2`]).
    pub r2: Option<f64>,
    pub mae: f64,
    pub mse: f64,
    pub rmse: f64,
    pub mape: f64,
}

/// The names [`RegressionMetrics::get`] lists; it also answers to sklearn's function names
/// (`mean_absolute_error`, `root_mean_squared_error`, ...). Errors are positive, where sklearn's scorers are the
/// negated `neg_*`.
const REGRESSION_METRIC_NAMES: &[&str] = &["r2", "mae", "mse", "rmse", "mape"];

impl RegressionMetrics {
    /// A metric by short or sklearn function name; `None` for an unknown name or an undefined R².
    pub fn get(&self, name: &str) -> Option<f64> {
        match canonical_name(name)? {
            "r2" => self.r2,
            "mae" => Some(self.mae),
            "mse" => Some(self.mse),
            "rmse" => Some(self.rmse),
            "mape" => Some(self.mape),
            _ => None,
        }
    }

    /// The short names, one per metric.
    pub fn names() -> &'static [&'static str] {
        REGRESSION_METRIC_NAMES
    }

    /// Whether a larger value of the named metric is better (`None` for an unknown name): only R² is a score,
    /// the rest are errors.
    pub fn higher_is_better(name: &str) -> Option<bool> {
        canonical_name(name).map(|name| name == "r2")
    }
}

fn canonical_name(name: &str) -> Option<&'static str> {
    let canonical = match name {
        "r2" | "r2_score" => "r2",
        "mae" | "mean_absolute_error" => "mae",
        "mse" | "mean_squared_error" => "mse",
        "rmse" | "root_mean_squared_error" => "rmse",
        "mape" | "mean_absolute_percentage_error" => "mape",
        _ => return None,
    };
    Some(canonical)
}

/// Every metric of [`RegressionMetrics`] in one call.
pub fn regression_metrics(y_true: &[f64], y_pred: &[f64]) -> Result<RegressionMetrics, MetricsError> {
    let mse = mean_squared_error(y_true, y_pred)?;
    Ok(RegressionMetrics {
        r2: r2(y_true, y_pred)?,
        mae: mean_absolute_error(y_true, y_pred)?,
        mse,
        rmse: mse.sqrt(),
        mape: mean_absolute_percentage_error(y_true, y_pred)?,
    })
}

/// The coefficient of determination, 1 − Σ(y − ŷ)² / Σ(y − ȳ)², with sklearn's default `force_finite=True`: on a
/// constant `y_true` it is 1.0 for perfect predictions and 0.0 otherwise, instead of NaN or −∞.
///
/// `Ok(None)` with fewer than two samples, where sklearn warns and returns NaN.
pub fn r2(y_true: &[f64], y_pred: &[f64]) -> Result<Option<f64>, MetricsError> {
    validated(y_true, y_pred)?;
    if y_true.len() < 2 {
        return Ok(None);
    }
    let residual: f64 = y_true.iter().zip(y_pred).map(|(t, p)| (t - p).powi(2)).sum();
    Ok(Some(explained_fraction(residual, total_sum_of_squares(y_true))))
}

/// 1 − residual / total, made finite as sklearn's `force_finite` does.
fn explained_fraction(residual: f64, total: f64) -> f64 {
    if residual == 0.0 {
        1.0
    } else if total == 0.0 {
        0.0
    } else {
        1.0 - residual / total
    }
}

/// Σ(y − ȳ)², exactly 0 when every y is equal. sklearn subtracts numpy's mean, which for a constant such as
/// [0.1, 0.1, 0.1] is one ulp off 0.1, so it gets a total of 2e-34 and an R² of −1.3e33 where its own
/// force_finite rule means 0.0; this deliberately gives the 0.0.
fn total_sum_of_squares(y: &[f64]) -> f64 {
    if let [first, rest @ ..] = y {
        if rest.iter().all(|v| v == first) {
            return 0.0;
        }
    }
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    y.iter().map(|v| (v - mean).powi(2)).sum()
}

/// mean |y − ŷ|
pub fn mean_absolute_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    mean_over_pairs(y_true, y_pred, |t, p| (t - p).abs())
}

/// mean (y − ŷ)²
pub fn mean_squared_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    mean_over_pairs(y_true, y_pred, |t, p| (t - p).powi(2))
}

/// √(mean (y − ŷ)²), in the unit of y.
pub fn root_mean_squared_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    Ok(mean_squared_error(y_true, y_pred)?.sqrt())
}

/// mean |y − ŷ| / max(|y|, eps) with eps the float64 machine epsilon, sklearn's guard against dividing by a zero
/// y: the result is a fraction (0.1 is 10 %), and a zero y with a wrong prediction makes it enormous but finite.
pub fn mean_absolute_percentage_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    mean_over_pairs(y_true, y_pred, |t, p| (t - p).abs() / t.abs().max(f64::EPSILON))
}

fn mean_over_pairs(y_true: &[f64], y_pred: &[f64], term: impl Fn(f64, f64) -> f64) -> Result<f64, MetricsError> {
    validated(y_true, y_pred)?;
    let total: f64 = y_true.iter().zip(y_pred).map(|(&t, &p)| term(t, p)).sum();
    Ok(total / y_true.len() as f64)
}

fn validated(y_true: &[f64], y_pred: &[f64]) -> Result<(), MetricsError> {
    validate::paired(y_true.len(), y_pred.len(), "y_pred")?;
    validate::finite(y_true, "y_true")?;
    validate::finite(y_pred, "y_pred")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::test_support::{assert_close, regression_cases};

    #[test]
    fn every_metric_matches_sklearn() {
        for case in regression_cases() {
            let metrics = regression_metrics(&case.y_true, &case.y_pred).unwrap();
            for &name in RegressionMetrics::names() {
                let context = format!("{} {name}", case.name);
                match (metrics.get(name), case.expected(name)) {
                    (Some(actual), Some(expected)) => assert_close(actual, expected, &context),
                    (None, None) => {}
                    (actual, expected) => panic!("{context}: got {actual:?}, sklearn {expected:?}"),
                }
            }
        }
    }

    #[test]
    fn single_functions_agree_with_the_summary() {
        for case in regression_cases() {
            let (t, p) = (&case.y_true, &case.y_pred);
            let metrics = regression_metrics(t, p).unwrap();
            assert_eq!(r2(t, p).unwrap(), metrics.r2);
            assert_eq!(mean_absolute_error(t, p).unwrap(), metrics.mae);
            assert_eq!(root_mean_squared_error(t, p).unwrap(), metrics.rmse);
            assert_eq!(mean_absolute_percentage_error(t, p).unwrap(), metrics.mape);
        }
    }

    #[test]
    fn constant_y_true_scores_zero_even_when_numpy_mean_is_inexact() {
        // sklearn returns -1.298e33 here (see total_sum_of_squares); force_finite's intent is 0.0.
        assert_eq!(r2(&[0.1, 0.1, 0.1], &[0.2, 0.1, 0.1]), Ok(Some(0.0)));
        assert_eq!(r2(&[0.1, 0.1, 0.1], &[0.1, 0.1, 0.1]), Ok(Some(1.0)));
    }

    #[test]
    fn names_and_aliases() {
        let metrics = regression_metrics(&[1.0, 2.0, 4.0], &[1.5, 2.0, 3.0]).unwrap();
        assert_eq!(metrics.get("root_mean_squared_error"), Some(metrics.rmse));
        assert_eq!(metrics.get("mean_absolute_percentage_error"), Some(metrics.mape));
        assert_eq!(metrics.get("r2_score"), metrics.r2);
        assert_eq!(metrics.get("neg_mean_squared_error"), None);
        for &name in RegressionMetrics::names() {
            assert!(metrics.get(name).is_some(), "{name}");
        }
        assert_eq!(RegressionMetrics::higher_is_better("r2"), Some(true));
        assert_eq!(RegressionMetrics::higher_is_better("mean_squared_error"), Some(false));
        assert_eq!(RegressionMetrics::higher_is_better("accuracy"), None);
    }

    #[test]
    fn metrics_survive_a_json_round_trip() {
        for case in regression_cases() {
            let metrics = regression_metrics(&case.y_true, &case.y_pred).unwrap();
            let back: RegressionMetrics = serde_json::from_str(&serde_json::to_string(&metrics).unwrap()).unwrap();
            // Close rather than equal: without its float_roundtrip feature serde_json may parse a float one ulp off.
            for &name in RegressionMetrics::names() {
                match (back.get(name), metrics.get(name)) {
                    (Some(back), Some(original)) => assert_close(back, original, &case.name),
                    (back, original) => assert_eq!(back, original, "{} {name}", case.name),
                }
            }
        }
    }

    #[test]
    fn invalid_input_is_an_error() {
        assert_eq!(regression_metrics(&[], &[]), Err(MetricsError::Empty));
        assert_eq!(
            mean_squared_error(&[1.0, 2.0], &[1.0]),
            Err(MetricsError::LengthMismatch { what: "y_pred", expected: 2, found: 1 })
        );
        assert!(matches!(
            r2(&[1.0, f64::NAN], &[1.0, 2.0]),
            Err(MetricsError::NotFinite { what: "y_true", index: 1, .. })
        ));
        assert_eq!(
            mean_absolute_error(&[1.0, 2.0], &[1.0, f64::NEG_INFINITY]),
            Err(MetricsError::NotFinite { what: "y_pred", index: 1, value: f64::NEG_INFINITY })
        );
    }
}
