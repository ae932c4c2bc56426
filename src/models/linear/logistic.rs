//! L2-penalised logistic regression as scikit-learn 1.9.1's `LogisticRegression()`: two classes give one
//! coefficient vector and the sigmoid, more give the multinomial softmax over one vector per class; the
//! intercepts are not penalised; optionally `class_weight="balanced"`.
//!
//! The objective is scikit-learn's, scaled as it scales it (which matters for `tol`): the weighted mean of
//! the per-row log-losses plus ‖W‖² / (2·C·Σweights). It is minimised from zero by the same L-BFGS
//! iterations as scipy's L-BFGS-B ([`super::lbfgs`]), stopping when the largest gradient entry is at most
//! `tol` or after `max_iter` iterations, so the coefficients agree with scikit-learn's, not only the optimum.

use serde::{Deserialize, Serialize};

use super::{check_training_data, dot, lbfgs, normalised_magnitudes, sum_over_row_chunks};
use crate::data::matrix::Matrix;

/// Hyperparameters; `Default` is scikit-learn's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogisticParams {
    /// Inverse regularisation strength (larger fits the training data more closely).
    pub c: f64,
    /// Most L-BFGS iterations.
    pub max_iter: usize,
    /// Stop when every gradient entry of the (mean) objective is at most this in magnitude.
    pub tol: f64,
    /// Weigh class `k` by `n / (n_classes · count_k)`, as `class_weight="balanced"`.
    pub balanced: bool,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams { c: 1.0, max_iter: 100, tol: 1e-4, balanced: false }
    }
}

impl LogisticParams {
    fn validate(&self) -> Result<(), String> {
        if !(self.c.is_finite() && self.c > 0.0) {
            return Err(format!("C must be finite and positive, got {}", self.c));
        }
        if self.max_iter == 0 {
            return Err("max_iter must be at least 1".to_owned());
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(format!("tol must be finite and non-negative, got {}", self.tol));
        }
        Ok(())
    }
}

/// A fitted logistic regression: plain data, checked when decoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LogisticData")]
pub struct LogisticRegression {
    n_classes: usize,
    n_features: usize,
    /// Row-major, one row per score (see [`LogisticRegression::coefficients`]).
    coefficients: Vec<f64>,
    intercepts: Vec<f64>,
    n_iter: usize,
    converged: bool,
}

/// What the artifact stores: the fields of [`LogisticRegression`], checked before use.
#[derive(Deserialize)]
struct LogisticData {
    n_classes: usize,
    n_features: usize,
    coefficients: Vec<f64>,
    intercepts: Vec<f64>,
    n_iter: usize,
    converged: bool,
}

impl TryFrom<LogisticData> for LogisticRegression {
    type Error = String;

    fn try_from(data: LogisticData) -> Result<Self, String> {
        let scores = n_scores(data.n_classes);
        let consistent = data.n_classes >= 2
            && data.intercepts.len() == scores
            && scores.checked_mul(data.n_features) == Some(data.coefficients.len())
            && data.coefficients.iter().chain(&data.intercepts).all(|v| v.is_finite());
        if !consistent {
            return Err("a logistic regression needs two classes or more and finite coefficients and intercepts, \
                        one row of n_features coefficients and one intercept per score"
                .to_owned());
        }
        let LogisticData { n_classes, n_features, coefficients, intercepts, n_iter, converged } = data;
        Ok(LogisticRegression { n_classes, n_features, coefficients, intercepts, n_iter, converged })
    }
}

/// Scores (logits) per row: one for two classes (the second class's log-odds), else one per class.
fn n_scores(n_classes: usize) -> usize {
    if n_classes == 2 {
        1
    } else {
        n_classes
    }
}

impl LogisticRegression {
    /// Fits rows `x` to labels `y` in `0..n_classes`; every class must occur in `y`.
    pub fn fit(x: &Matrix, y: &[u32], n_classes: usize, params: &LogisticParams) -> Result<Self, String> {
        check_training_data(x, y.len())?;
        params.validate()?;
        if n_classes < 2 {
            return Err(format!("logistic regression needs at least two classes, got {n_classes}"));
        }
        let counts = class_counts(y, n_classes)?;
        let weights = params.balanced.then(|| balanced_weights(y, &counts));
        let problem = Problem::new(x, y, n_scores(n_classes), weights, params.c);
        let start = vec![0.0; problem.n_params()];
        let minimum = lbfgs::minimize(|w, g| problem.loss_gradient(w, g), start, params.max_iter, params.tol);
        if minimum.x.iter().any(|v| !v.is_finite()) {
            return Err("the fit produced non-finite coefficients; the data may hold extreme values".to_owned());
        }
        let (coefficients, intercepts) = problem.split(&minimum.x);
        Ok(LogisticRegression {
            n_classes,
            n_features: x.n_cols(),
            coefficients,
            intercepts,
            n_iter: minimum.n_iter,
            converged: minimum.converged,
        })
    }

    /// Row-major `n_rows × n_classes` class probabilities; each row sums to 1.
    pub fn predict_proba(&self, x: &Matrix) -> Vec<f64> {
        let mut out = Vec::with_capacity(x.n_rows() * self.n_classes);
        let mut scores = vec![0.0; self.intercepts.len()];
        for i in 0..x.n_rows() {
            self.scores(x.row(i), &mut scores);
            if self.n_classes == 2 {
                let p = sigmoid(scores[0]);
                out.extend_from_slice(&[1.0 - p, p]);
            } else {
                softmax_in_place(&mut scores);
                out.extend_from_slice(&scores);
            }
        }
        out
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Row-major: 1 × n_features for binary (the positive class's logit), n_classes × n_features for
    /// multiclass.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// One per row of [`LogisticRegression::coefficients`].
    pub fn intercepts(&self) -> &[f64] {
        &self.intercepts
    }

    /// L-BFGS iterations (scikit-learn's `n_iter_`).
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// False when L-BFGS stopped at `max_iter` or its line search failed before the gradient reached `tol`
    /// (where scikit-learn raises a `ConvergenceWarning`); the model is still usable.
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// Per column, the sum over scores of |coefficient|, normalised to sum to 1 (all zeros if all are 0).
    pub fn feature_importances(&self) -> Vec<f64> {
        let mut total = vec![0.0; self.n_features];
        for row in self.coefficient_rows() {
            total.iter_mut().zip(row).for_each(|(t, c)| *t += c.abs());
        }
        normalised_magnitudes(total)
    }

    /// Per column, `coefficient × value` in the score that decides the prediction for `row`: the positive
    /// class's log-odds for two classes, else the predicted (highest-scoring) class's logit.
    pub fn contributions(&self, row: &[f64]) -> Vec<f64> {
        let mut scores = vec![0.0; self.intercepts.len()];
        self.scores(row, &mut scores);
        let predicted = argmax(&scores);
        match self.coefficient_rows().nth(predicted) {
            Some(coefficients) => row.iter().zip(coefficients).map(|(v, c)| v * c).collect(),
            None => vec![0.0; self.n_features],
        }
    }

    fn coefficient_rows(&self) -> impl Iterator<Item = &[f64]> {
        // With no features there are no coefficients, hence no rows.
        self.coefficients.chunks_exact(self.n_features.max(1))
    }

    fn scores(&self, row: &[f64], scores: &mut [f64]) {
        for (k, score) in scores.iter_mut().enumerate() {
            let coefficients = self.coefficients.get(k * self.n_features..(k + 1) * self.n_features).unwrap_or(&[]);
            *score = self.intercepts[k] + dot(row, coefficients);
        }
    }
}

fn class_counts(y: &[u32], n_classes: usize) -> Result<Vec<usize>, String> {
    let mut counts = vec![0usize; n_classes];
    for (i, &label) in y.iter().enumerate() {
        match counts.get_mut(label as usize) {
            Some(count) => *count += 1,
            None => return Err(format!("row {i} has class {label}, outside 0..{n_classes}")),
        }
    }
    if let Some(missing) = counts.iter().position(|&c| c == 0) {
        // Its logit would be pushed to −∞ and the fit would never converge.
        return Err(format!("class {missing} has no training rows; every class must occur in the training data"));
    }
    Ok(counts)
}

/// scikit-learn's `compute_class_weight("balanced")`: `n / (n_classes · count_k)` per row.
fn balanced_weights(y: &[u32], counts: &[usize]) -> Vec<f64> {
    let (n, k) = (y.len() as f64, counts.len() as f64);
    let per_class: Vec<f64> = counts.iter().map(|&c| n / (k * c as f64)).collect();
    y.iter().map(|&label| per_class[label as usize]).collect()
}

/// The objective, with parameters laid out score by score: `n_features` coefficients then the intercept.
struct Problem<'a> {
    x: &'a Matrix,
    y: &'a [u32],
    n_scores: usize,
    /// Per-row weights (`None`: all 1).
    weights: Option<Vec<f64>>,
    weight_sum: f64,
    /// scikit-learn's `l2_reg_strength = 1 / (C · Σweights)`.
    l2: f64,
}

impl<'a> Problem<'a> {
    fn new(x: &'a Matrix, y: &'a [u32], n_scores: usize, weights: Option<Vec<f64>>, c: f64) -> Self {
        let weight_sum = weights.as_ref().map_or(y.len() as f64, |w| w.iter().sum());
        Problem { x, y, n_scores, weights, weight_sum, l2: 1.0 / (c * weight_sum) }
    }

    fn stride(&self) -> usize {
        self.x.n_cols() + 1
    }

    fn n_params(&self) -> usize {
        self.n_scores * self.stride()
    }

    /// Coefficients (row-major, a row per score) and intercepts out of the parameter vector.
    fn split(&self, params: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let p = self.x.n_cols();
        let mut coefficients = Vec::with_capacity(self.n_scores * p);
        let mut intercepts = Vec::with_capacity(self.n_scores);
        for block in params.chunks_exact(self.stride()) {
            coefficients.extend_from_slice(&block[..p]);
            intercepts.push(block[p]);
        }
        (coefficients, intercepts)
    }

    /// The mean weighted log-loss plus the L2 term; writes its gradient into `grad`.
    fn loss_gradient(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let (p, stride, k) = (self.x.n_cols(), self.stride(), self.n_scores);
        // Slot 0 holds the loss, the rest the gradient.
        let sums = sum_over_row_chunks(self.x.n_rows(), 1 + params.len(), |rows, acc| {
            let (loss, gradient) = acc.split_at_mut(1);
            let mut scores = vec![0.0; k];
            for i in rows {
                let row = self.x.row(i);
                for (s, block) in scores.iter_mut().zip(params.chunks_exact(stride)) {
                    *s = block[p] + dot(row, &block[..p]);
                }
                let weight = self.weights.as_ref().map_or(1.0, |w| w[i]);
                loss[0] += weight * pointwise_loss_gradient(&mut scores, self.y[i]);
                for (s, block) in scores.iter().zip(gradient.chunks_exact_mut(stride)) {
                    let g = weight * s;
                    block[..p].iter_mut().zip(row).for_each(|(b, x)| *b += g * x);
                    block[p] += g;
                }
            }
        });
        let mut loss = sums[0] / self.weight_sum;
        grad.iter_mut().zip(&sums[1..]).for_each(|(g, s)| *g = s / self.weight_sum);
        for (block, gradient) in params.chunks_exact(stride).zip(grad.chunks_exact_mut(stride)) {
            let coefficients = &block[..p];
            loss += 0.5 * self.l2 * dot(coefficients, coefficients);
            gradient[..p].iter_mut().zip(coefficients).for_each(|(g, c)| *g += self.l2 * c);
        }
        loss
    }
}

/// The log-loss of one row given its scores, which it overwrites with d loss / d score.
/// One score: the binomial loss of the positive class's log-odds; more: the multinomial (softmax) loss.
fn pointwise_loss_gradient(scores: &mut [f64], label: u32) -> f64 {
    if let [raw] = scores {
        let y = f64::from(u8::from(label == 1));
        let loss = softplus(*raw) - y * *raw;
        *raw = sigmoid(*raw) - y;
        return loss;
    }
    let label = label as usize;
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum_exp: f64 = scores.iter().map(|s| (s - max).exp()).sum();
    let loss = max + sum_exp.ln() - scores[label];
    for (k, s) in scores.iter_mut().enumerate() {
        *s = (*s - max).exp() / sum_exp - f64::from(u8::from(k == label));
    }
    loss
}

/// ln(1 + eˣ) without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

fn softmax_in_place(scores: &mut [f64]) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    scores.iter_mut().for_each(|s| *s = (*s - max).exp());
    let sum: f64 = scores.iter().sum();
    scores.iter_mut().for_each(|s| *s /= sum);
}

/// Index of the largest value, the first on ties (as numpy's `argmax`); 0 for one score.
fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}
