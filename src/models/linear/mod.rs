//! Linear models: least squares with no, L2, L1 or elastic-net penalty ([`LinearRegressor`]) and logistic
//! regression ([`LogisticRegression`]), fitted on the scaled numeric matrix the pipeline produces.
//!
//! Semantics, defaults and stopping rules follow scikit-learn 1.9.1 (`LinearRegression`, `Ridge`, `Lasso`,
//! `ElasticNet`, `LogisticRegression`), solver for solver where the result depends on the solver:
//! least squares is a minimum-norm fit like `scipy.linalg.lstsq` (so collinear one-hot blocks are fine),
//! ridge a Cholesky solve, lasso and elastic net scikit-learn's cyclic coordinate descent with its screening
//! and duality-gap rule, logistic regression the iterations of scipy's L-BFGS-B. Every fit is
//! deterministic: the same data and parameters give the same bits for any number of threads.

mod coordinate_descent;
mod lbfgs;
mod least_squares;
mod logistic;
#[cfg(test)]
mod tests;

use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::matrix::Matrix;
use coordinate_descent::{enet_coordinate_descent, ColumnMajor};
use least_squares::{centred, min_norm_least_squares, ridge_cholesky, CHUNK_ROWS};

pub use logistic::{LogisticParams, LogisticRegression};

/// Which least-squares regressor [`LinearRegressor::fit`] fits; the objectives are scikit-learn's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Penalty {
    /// `LinearRegression`: ordinary least squares, ‖y − Xw − b‖².
    None,
    /// `Ridge(alpha=1.0)`: ‖y − Xw − b‖² + alpha‖w‖².
    Ridge { alpha: f64 },
    /// `Lasso(alpha=1.0)`: (1/2n)‖y − Xw − b‖² + alpha‖w‖₁.
    Lasso { alpha: f64 },
    /// `ElasticNet(alpha=1.0, l1_ratio=0.5)`:
    /// (1/2n)‖y − Xw − b‖² + alpha·l1_ratio‖w‖₁ + ½alpha(1 − l1_ratio)‖w‖².
    ElasticNet { alpha: f64, l1_ratio: f64 },
}

impl Penalty {
    /// scikit-learn's `Ridge()` default.
    pub const RIDGE_DEFAULT: Penalty = Penalty::Ridge { alpha: 1.0 };
    /// scikit-learn's `Lasso()` default.
    pub const LASSO_DEFAULT: Penalty = Penalty::Lasso { alpha: 1.0 };
    /// scikit-learn's `ElasticNet()` default.
    pub const ELASTIC_NET_DEFAULT: Penalty = Penalty::ElasticNet { alpha: 1.0, l1_ratio: 0.5 };

    fn validate(self) -> Result<(), String> {
        let alpha = match self {
            Penalty::None => return Ok(()),
            Penalty::Ridge { alpha } | Penalty::Lasso { alpha } => alpha,
            Penalty::ElasticNet { alpha, l1_ratio } => {
                // Written so that NaN fails too.
                if !(0.0..=1.0).contains(&l1_ratio) {
                    return Err(format!("l1_ratio must be in [0, 1], got {l1_ratio}"));
                }
                alpha
            }
        };
        if !(alpha.is_finite() && alpha >= 0.0) {
            return Err(format!("alpha must be finite and non-negative, got {alpha}"));
        }
        Ok(())
    }
}

/// Coordinate-descent settings (lasso and elastic net); scikit-learn's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SolverParams {
    /// Most passes over the coordinates.
    pub max_iter: usize,
    /// Stop when the duality gap is at most `tol · ‖y − ȳ‖²`, as scikit-learn scales it.
    pub tol: f64,
}

impl Default for SolverParams {
    fn default() -> Self {
        SolverParams { max_iter: 1000, tol: 1e-4 }
    }
}

impl SolverParams {
    fn validate(self) -> Result<(), String> {
        if self.max_iter == 0 {
            return Err("max_iter must be at least 1".to_owned());
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(format!("tol must be finite and non-negative, got {}", self.tol));
        }
        Ok(())
    }
}

/// `LinearRegression`'s `tol`, used as `cond` of `lstsq`: singular values below this fraction of the largest
/// are treated as zero, which is what makes exactly collinear columns share their weight (minimum norm).
const OLS_RCOND: f64 = 1e-6;

/// A fitted least-squares regressor (any [`Penalty`]): plain data, checked when decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LinearRegressorData")]
pub struct LinearRegressor {
    coefficients: Vec<f64>,
    intercept: f64,
    n_iter: usize,
    converged: bool,
}

/// What the artifact stores: the same fields as [`LinearRegressor`], checked before use.
#[derive(Deserialize)]
struct LinearRegressorData {
    coefficients: Vec<f64>,
    intercept: f64,
    n_iter: usize,
    converged: bool,
}

impl TryFrom<LinearRegressorData> for LinearRegressor {
    type Error = String;

    fn try_from(data: LinearRegressorData) -> Result<Self, String> {
        if !data.intercept.is_finite() || data.coefficients.iter().any(|c| !c.is_finite()) {
            return Err("a linear regressor needs finite coefficients and intercept".to_owned());
        }
        let LinearRegressorData { coefficients, intercept, n_iter, converged } = data;
        Ok(LinearRegressor { coefficients, intercept, n_iter, converged })
    }
}

impl LinearRegressor {
    /// Fits `y ≈ x·w + b` with the intercept `b` never penalised.
    ///
    /// `Ridge { alpha: 0.0 }` is fitted as ordinary least squares (scikit-learn's Cholesky would fail on a
    /// singular system and fall back to a least-squares solve); the coordinate-descent penalties accept
    /// `alpha = 0` as scikit-learn does, though least squares is the better tool for it.
    pub fn fit(x: &Matrix, y: &[f64], penalty: Penalty, solver: &SolverParams) -> Result<Self, String> {
        check_training_data(x, y.len())?;
        if y.iter().any(|v| !v.is_finite()) {
            return Err("the target has a missing or infinite value".to_owned());
        }
        penalty.validate()?;
        let data = centred(x, y);
        let (coefficients, n_iter, converged) = match penalty {
            Penalty::None | Penalty::Ridge { alpha: 0.0 } => (min_norm_least_squares(&data, OLS_RCOND), 0, true),
            Penalty::Ridge { alpha } => (ridge_cholesky(&data, alpha)?, 0, true),
            Penalty::Lasso { alpha } => coordinate_descent(&data, alpha, 1.0, solver)?,
            Penalty::ElasticNet { alpha, l1_ratio } => coordinate_descent(&data, alpha, l1_ratio, solver)?,
        };
        let intercept = data.y_mean - dot(&data.x_mean, &coefficients);
        if !intercept.is_finite() || coefficients.iter().any(|c| !c.is_finite()) {
            return Err("the fit produced non-finite coefficients; the data may hold extreme values".to_owned());
        }
        Ok(LinearRegressor { coefficients, intercept, n_iter, converged })
    }

    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        (0..x.n_rows()).map(|i| self.intercept + dot(x.row(i), &self.coefficients)).collect()
    }

    /// One weight per column of the training matrix.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    pub fn n_features(&self) -> usize {
        self.coefficients.len()
    }

    /// Coordinate-descent passes (scikit-learn's `n_iter_`); 0 for the closed-form fits.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// False when coordinate descent stopped at `max_iter` with the duality gap above tolerance (where
    /// scikit-learn raises a `ConvergenceWarning`); the model is still usable.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// |coefficient| per column, normalised to sum to 1 (all zeros when every coefficient is 0).
    pub fn feature_importances(&self) -> Vec<f64> {
        normalised_magnitudes(self.coefficients.iter().map(|c| c.abs()).collect())
    }

    /// Each column's share `coefficient × value` of the prediction for `row` (the rest is the intercept).
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        row.iter().zip(&self.coefficients).map(|(v, c)| v * c).collect()
    }
}

/// scikit-learn's scaling: the data term is summed (not averaged), so both penalties are multiplied by n.
fn coordinate_descent(
    data: &least_squares::Centred,
    alpha: f64,
    l1_ratio: f64,
    solver: &SolverParams,
) -> Result<(Vec<f64>, usize, bool), String> {
    solver.validate()?;
    let n = data.n_rows as f64;
    let columns = ColumnMajor::from_centred(data);
    let fit = enet_coordinate_descent(&columns, &data.y, alpha * l1_ratio * n, alpha * (1.0 - l1_ratio) * n, solver);
    Ok((fit.coefficients, fit.n_iter, fit.converged))
}

/// What every fit checks of `x` before looking at the target.
fn check_training_data(x: &Matrix, n_targets: usize) -> Result<(), String> {
    if x.n_rows() == 0 {
        return Err("cannot fit a linear model on zero rows".to_owned());
    }
    if x.n_rows() != n_targets {
        return Err(format!("x has {} rows but the target has {} values", x.n_rows(), n_targets));
    }
    if let Some(position) = x.as_slice().iter().position(|v| !v.is_finite()) {
        let n_cols = x.n_cols().max(1);
        return Err(format!(
            "x has a missing or infinite value at row {}, column {}",
            position / n_cols,
            position % n_cols
        ));
    }
    Ok(())
}

/// Sums `width` accumulators over rows `0..n_rows`: blocks of [`CHUNK_ROWS`] rows run in parallel and are
/// added in block order, so the result is the same bits for any number of threads.
fn sum_over_row_chunks<F>(n_rows: usize, width: usize, accumulate: F) -> Vec<f64>
where
    F: Fn(Range<usize>, &mut [f64]) + Sync,
{
    let partials: Vec<Vec<f64>> = (0..n_rows.div_ceil(CHUNK_ROWS))
        .into_par_iter()
        .map(|block| {
            let mut acc = vec![0.0; width];
            accumulate(block * CHUNK_ROWS..((block + 1) * CHUNK_ROWS).min(n_rows), &mut acc);
            acc
        })
        .collect();
    let mut total = vec![0.0; width];
    for partial in partials {
        total.iter_mut().zip(partial).for_each(|(t, p)| *t += p);
    }
    total
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `values` (non-negative) scaled to sum to 1, or left all zeros.
fn normalised_magnitudes(mut values: Vec<f64>) -> Vec<f64> {
    let total: f64 = values.iter().sum();
    if total > 0.0 {
        values.iter_mut().for_each(|v| *v /= total);
    }
    values
}
