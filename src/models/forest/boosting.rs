//! Histogram gradient boosting for classification and regression on the same engine as the forests: the
//! features binned once ([`super::binning`]), trees grown on the bins, stored as [`Tree`]s and predicted by the
//! same compiled walker. The semantics follow scikit-learn 1.9.1's `HistGradientBoostingClassifier` and
//! `HistGradientBoostingRegressor(loss="squared_error")`, with their parameter names and defaults: leaf-wise
//! (best-first) growth up to `max_leaf_nodes` leaves, Newton leaf values `-G / (H + l2_regularization)` shrunk
//! by the learning rate, and early stopping on a seeded validation split of the training rows (stratified for
//! the classifier) when `early_stopping` is on (by default, above 10,000 rows), scoring the loss.
//!
//! The two models differ only in their `Loss`: the classifier's log-loss (binomial for two classes, one tree
//! per iteration; multinomial with one tree per class and iteration otherwise) from the log-odds of the class
//! shares, the regressor's half squared error (gradient `raw - y`, hessian 1) from the mean target, with the
//! identity as link.
//!
//! Differences from scikit-learn: the pipeline imputes missing values before the model, so there is no
//! missing-value bin (NaN would go to the lowest bin, and left); gradients and histograms are f64 rather than
//! f32; leaf values are stored as f32, and the training scores are updated with the stored values so that
//! early stopping sees exactly what prediction will compute; ties between equally good leaves or splits go
//! to the first one, where scikit-learn's heap order decides.
//!
//! Unlike the forest's grower, each tree considers every feature at every node, and the trees are shallow
//! and grown on all rows, so most of the work is histograms of large nodes: here a split builds the histogram
//! of the smaller child only and gets the larger one by subtracting it from the parent's (the trick
//! `grower`'s module docs explain the forest does without).
//!
//! Reproducible bit for bit for any number of threads: the threads split the work by feature (split search)
//! or by row (histograms, gradients, scores), and every sum is taken in a fixed order: by one thread, or over
//! blocks whose size depends only on the row count and whose sums are then added in order.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::binning::BinnedMatrix;
use super::predict::CompiledForest;
use super::tree::{Tree, TreeBuilder};
use super::{check_finite, check_shape, class_weights, ClassWeight, ForestError};
use crate::data::matrix::Matrix;
use crate::rng::Rng;

/// Smallest hessian sum a split may leave on either side (scikit-learn's `min_hessian_to_split`).
const MIN_HESSIAN_TO_SPLIT: f64 = 1e-3;

/// Keeps a Newton step finite when a node's hessians sum to zero (scikit-learn adds the same).
const HESSIAN_FLOOR: f64 = 1e-15;

/// With `EarlyStopping::Auto`, early stopping is on above this many training rows (scikit-learn's rule).
const AUTO_EARLY_STOPPING_ROWS: usize = 10_000;

/// Nodes with fewer rows than this search their splits on one thread: below it, handing out the features
/// costs more than it saves.
const PARALLEL_SEARCH_ROWS: usize = 4096;

/// Whether to stop when the validation loss stops improving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum EarlyStopping {
    /// On when there are more than 10,000 training rows.
    #[default]
    Auto,
    On,
    Off,
}

/// Gradient-boosting hyperparameters; `Default` is scikit-learn's `HistGradientBoostingClassifier` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostingParams {
    /// Shrinkage applied to every leaf value.
    pub learning_rate: f64,
    /// Boosting iterations at most (one tree per iteration, or one per class for more than two classes).
    pub max_iter: usize,
    /// Leaves per tree at most; `None` for no limit.
    pub max_leaf_nodes: Option<usize>,
    /// Deepest a leaf may be (the root is depth 0); `None` for no limit.
    pub max_depth: Option<usize>,
    /// Fewest training rows a leaf may hold.
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values (added to the hessian sums).
    pub l2_regularization: f64,
    /// Bins per feature, at most 255.
    pub max_bins: usize,
    pub early_stopping: EarlyStopping,
    /// Share of the training rows held out to decide early stopping.
    pub validation_fraction: f64,
    /// Stop when none of the last `n_iter_no_change` iterations improved the validation score by more than `tol`.
    pub n_iter_no_change: usize,
    pub tol: f64,
    pub class_weight: ClassWeight,
    pub seed: u64,
}

impl Default for BoostingParams {
    fn default() -> Self {
        BoostingParams {
            learning_rate: 0.1,
            max_iter: 100,
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: 255,
            early_stopping: EarlyStopping::Auto,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-7,
            class_weight: ClassWeight::None,
            seed: 0,
        }
    }
}

impl BoostingParams {
    fn validate(&self) -> Result<(), ForestError> {
        let invalid = |what: &str| Err(ForestError::InvalidParam(what.to_owned()));
        // Comparisons written so that NaN fails them.
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return invalid("learning_rate must be a positive number");
        }
        if self.max_iter == 0 {
            return invalid("max_iter must be at least 1");
        }
        if self.max_leaf_nodes.is_some_and(|n| n < 2) {
            return invalid("max_leaf_nodes must be at least 2 (or unlimited)");
        }
        if self.max_depth == Some(0) {
            return invalid("max_depth must be at least 1 (or unlimited)");
        }
        if self.min_samples_leaf == 0 {
            return invalid("min_samples_leaf must be at least 1");
        }
        if !(self.l2_regularization >= 0.0 && self.l2_regularization.is_finite()) {
            return invalid("l2_regularization must be a number ≥ 0");
        }
        if !(2..=super::MAX_BINS).contains(&self.max_bins) {
            return invalid("max_bins must be between 2 and 255");
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return invalid("validation_fraction must be between 0 and 1 (exclusive)");
        }
        if self.n_iter_no_change == 0 {
            return invalid("n_iter_no_change must be at least 1");
        }
        if !self.tol.is_finite() {
            return invalid("tol must be a finite number");
        }
        Ok(())
    }
}

/// A fitted gradient-boosting classifier.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "Boosted")]
pub struct GradientBoostingClassifier {
    model: Boosted,
}

/// What the artifact stores for a classifier; the compiled trees are rebuilt on loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Boosted {
    n_features: usize,
    n_classes: usize,
    /// The raw score of every row before the first tree, one per score (1 for two classes, else one per class).
    baseline: Vec<f64>,
    /// Iteration-major: iteration `i`'s trees are `trees[i * k..(i + 1) * k]` for `k` scores, tree `j` of an
    /// iteration adding to score `j`. Leaf values include the learning rate.
    trees: Vec<Tree>,
    /// Total split gain per feature, normalised to sum 1 (all zeros if no tree split).
    importances: Vec<f64>,
    /// Per score, its trees compiled for prediction.
    #[serde(skip)]
    compiled: Vec<CompiledForest>,
}

/// A fitted gradient-boosting regressor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "BoostedRegression")]
pub struct GradientBoostingRegressor {
    model: BoostedRegression,
}

/// What the artifact stores for a regressor: [`Boosted`] with one score and no classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct BoostedRegression {
    n_features: usize,
    /// The prediction before the first tree: the training targets' mean.
    baseline: f64,
    /// One per iteration; leaf values include the learning rate.
    trees: Vec<Tree>,
    /// Total split gain per feature, normalised to sum 1 (all zeros if no tree split).
    importances: Vec<f64>,
    #[serde(skip)]
    compiled: Vec<CompiledForest>,
}

impl Serialize for GradientBoostingClassifier {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.model.serialize(serializer)
    }
}

impl Serialize for GradientBoostingRegressor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.model.serialize(serializer)
    }
}

impl TryFrom<Boosted> for GradientBoostingClassifier {
    type Error = String;

    fn try_from(mut model: Boosted) -> Result<Self, String> {
        if model.n_classes < 2 || model.baseline.len() != scores_per_row(model.n_classes) {
            return Err("a boosted classifier needs two classes or more and a baseline per score".to_owned());
        }
        model.compiled = compile_scores(&model.trees, &model.baseline, &model.importances, model.n_features)?;
        Ok(GradientBoostingClassifier { model })
    }
}

impl TryFrom<BoostedRegression> for GradientBoostingRegressor {
    type Error = String;

    fn try_from(mut model: BoostedRegression) -> Result<Self, String> {
        model.compiled = compile_scores(&model.trees, &[model.baseline], &model.importances, model.n_features)?;
        Ok(GradientBoostingRegressor { model })
    }
}

/// Raw scores per row: one for a binary problem (the log-odds of the second class), else one per class.
fn scores_per_row(n_classes: usize) -> usize {
    if n_classes <= 2 {
        1
    } else {
        n_classes
    }
}

/// Checks what the trees' own validation cannot and compiles, per score (`baseline.len()` of them), the
/// trees that add to it.
fn compile_scores(
    trees: &[Tree],
    baseline: &[f64],
    importances: &[f64],
    n_features: usize,
) -> Result<Vec<CompiledForest>, String> {
    let k = baseline.len();
    if k == 0
        || baseline.iter().any(|b| !b.is_finite())
        || trees.is_empty()
        || !trees.len().is_multiple_of(k)
        || importances.len() != n_features
    {
        return Err("a boosted model needs a finite baseline per score, whole iterations of trees and one \
                    importance per feature"
            .to_owned());
    }
    (0..k)
        .map(|score| {
            let trees: Vec<Tree> = trees.iter().skip(score).step_by(k).cloned().collect();
            CompiledForest::new(&trees, n_features, 1)
        })
        .collect()
}

/// The raw scores of every row of `x`, row-major, one per compiled score: its baseline plus its trees' sum.
///
/// # Panics
/// If `x` does not have `n_features` columns.
fn raw_scores(compiled: &[CompiledForest], baseline: &[f64], n_features: usize, x: &Matrix) -> Vec<f64> {
    assert_eq!(x.n_cols(), n_features, "the model was fitted on {n_features} features");
    let k = compiled.len();
    let sums: Vec<Vec<f64>> = compiled.iter().map(|c| c.predict_sum(x)).collect();
    let mut raw = vec![0.0; x.n_rows() * k];
    for (row, scores) in raw.chunks_exact_mut(k).enumerate() {
        for ((r, base), sum) in scores.iter_mut().zip(baseline).zip(&sums) {
            *r = base + sum[row];
        }
    }
    raw
}

/// Checks what both models' `fit` require of the data and the params.
fn check_input(x: &Matrix, n_targets: usize, params: &BoostingParams) -> Result<(), ForestError> {
    params.validate()?;
    check_shape(x, n_targets)
}

/// The training rows binned, and, when early stopping is on, the held-out rows binned with the same bins.
struct Prepared {
    binned: BinnedMatrix,
    /// `None` when every row trains.
    train_rows: Option<Vec<usize>>,
    validation: Option<(Vec<usize>, BinnedMatrix)>,
}

/// Decides early stopping, holds out the rows `split(validation_fraction, seed)` picks if it is on, and bins
/// the training rows (fitting the bins on them alone, as scikit-learn does) and the held-out ones.
fn prepare(
    x: &Matrix,
    params: &BoostingParams,
    split: impl FnOnce(f64, u64) -> (Vec<usize>, Vec<usize>),
) -> Result<Prepared, ForestError> {
    let early_stopping = match params.early_stopping {
        EarlyStopping::Auto => x.n_rows() > AUTO_EARLY_STOPPING_ROWS,
        EarlyStopping::On => true,
        EarlyStopping::Off => false,
    };
    if !early_stopping {
        let binned = BinnedMatrix::fit_transform(x, params.max_bins, params.seed);
        return Ok(Prepared { binned, train_rows: None, validation: None });
    }
    let (train, validation) = split(params.validation_fraction, params.seed);
    if validation.is_empty() || train.is_empty() {
        return Err(ForestError::InvalidParam(format!(
            "early stopping needs rows to hold out: validation_fraction {} of {} rows leaves none",
            params.validation_fraction,
            x.n_rows()
        )));
    }
    let binned = BinnedMatrix::fit_transform_rows(x, Some(&train), params.max_bins, params.seed);
    let mappers: Vec<_> = (0..binned.n_features()).map(|f| binned.mapper(f).clone()).collect();
    let binned_validation = BinnedMatrix::transform_rows(&mappers, x, Some(&validation));
    Ok(Prepared { binned, train_rows: Some(train), validation: Some((validation, binned_validation)) })
}

/// `values` at `rows`, or all of them.
fn select<T: Copy>(values: &[T], rows: Option<&[usize]>) -> Vec<T> {
    rows.map_or_else(|| values.to_vec(), |rows| rows.iter().map(|&r| values[r]).collect())
}

impl GradientBoostingClassifier {
    /// Fits the model to rows `x` with class labels `y` in `0..n_classes`.
    ///
    /// # Errors
    /// [`ForestError`] for empty data, a `y` of the wrong length, a label out of range, fewer than two
    /// classes, invalid params, or early stopping asked for on too few rows to hold any out.
    pub fn fit(x: &Matrix, y: &[u32], n_classes: usize, params: &BoostingParams) -> Result<Self, ForestError> {
        check_input(x, y.len(), params)?;
        if let Some((row, &label)) = y.iter().enumerate().find(|&(_, &label)| label as usize >= n_classes) {
            return Err(ForestError::LabelOutOfRange { row, label, n_classes });
        }
        if n_classes < 2 {
            return Err(ForestError::InvalidParam("a classifier needs at least two classes".to_owned()));
        }
        let class_weight = class_weights(y, n_classes, params.class_weight);
        let data = prepare(x, params, |fraction, seed| validation_split(y, n_classes, fraction, seed))?;
        let log_loss = |rows: Option<&[usize]>| {
            let labels = select(y, rows);
            let weights = labels.iter().map(|&c| class_weight[c as usize]).collect();
            LogLoss { labels, weights, n_classes }
        };
        let loss = log_loss(data.train_rows.as_deref());
        let validation =
            data.validation.map(|(rows, binned)| Validation { binned, loss: log_loss(Some(rows.as_slice())) });
        let fitted = boost(&data.binned, &loss, params, validation.as_ref());
        let model = Boosted {
            n_features: x.n_cols(),
            n_classes,
            baseline: fitted.baseline,
            trees: fitted.trees,
            importances: fitted.importances,
            compiled: Vec::new(),
        };
        // Cannot fail: binning gives every feature at most 254 thresholds, and the shapes are ours.
        GradientBoostingClassifier::try_from(model).map_err(|_| ForestError::TooLarge)
    }

    /// Class probabilities, row-major `x.n_rows() × n_classes()`: the logistic function of the raw score for
    /// two classes, the softmax of the raw scores otherwise.
    ///
    /// # Panics
    /// If `x` does not have `n_features()` columns.
    pub fn predict_proba(&self, x: &Matrix) -> Vec<f64> {
        let m = &self.model;
        let raw = raw_scores(&m.compiled, &m.baseline, m.n_features, x);
        let mut out = Vec::with_capacity(x.n_rows() * m.n_classes);
        for scores in raw.chunks_exact(m.compiled.len()) {
            push_probabilities(scores, m.n_classes, &mut out);
        }
        out
    }

    pub fn n_classes(&self) -> usize {
        self.model.n_classes
    }

    pub fn n_features(&self) -> usize {
        self.model.n_features
    }

    /// Iterations fitted (fewer than `max_iter` when early stopping stopped it).
    pub fn n_iter(&self) -> usize {
        self.model.trees.len() / scores_per_row(self.model.n_classes)
    }

    pub fn trees(&self) -> &[Tree] {
        &self.model.trees
    }

    /// Total split gain per feature over all trees, summing to 1 (all zeros if no tree split).
    /// scikit-learn's `HistGradientBoostingClassifier` has no `feature_importances_`; this is `LightGBM`'s
    /// "gain" importance.
    pub fn feature_importances(&self) -> Vec<f64> {
        self.model.importances.clone()
    }
}

impl GradientBoostingRegressor {
    /// Fits the model to rows `x` with real targets `y`, minimising the squared error as scikit-learn's
    /// `HistGradientBoostingRegressor(loss="squared_error")`. `params.class_weight` does not apply; the
    /// validation split for early stopping is a seeded shuffle of all rows (not stratified), holding out
    /// `round(n × validation_fraction)` of them where scikit-learn's `train_test_split` rounds up.
    ///
    /// # Errors
    /// [`ForestError`] for empty data, a `y` of the wrong length, a non-finite target, invalid params, or
    /// early stopping asked for on too few rows to hold any out.
    pub fn fit(x: &Matrix, y: &[f64], params: &BoostingParams) -> Result<Self, ForestError> {
        check_input(x, y.len(), params)?;
        check_finite(y)?;
        // One "class" for all rows makes the stratified split a plain seeded one.
        let data = prepare(x, params, |fraction, seed| validation_split(&vec![0; y.len()], 1, fraction, seed))?;
        let loss = SquaredError { y: select(y, data.train_rows.as_deref()) };
        let validation = data
            .validation
            .map(|(rows, binned)| Validation { binned, loss: SquaredError { y: select(y, Some(&rows)) } });
        let fitted = boost(&data.binned, &loss, params, validation.as_ref());
        let model = BoostedRegression {
            n_features: x.n_cols(),
            baseline: fitted.baseline[0],
            trees: fitted.trees,
            importances: fitted.importances,
            compiled: Vec::new(),
        };
        // Cannot fail: binning gives every feature at most 254 thresholds, and the shapes are ours.
        GradientBoostingRegressor::try_from(model).map_err(|_| ForestError::TooLarge)
    }

    /// The baseline plus every tree's leaf value, per row of `x`.
    ///
    /// # Panics
    /// If `x` does not have `n_features()` columns.
    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        let m = &self.model;
        raw_scores(&m.compiled, &[m.baseline], m.n_features, x)
    }

    pub fn n_features(&self) -> usize {
        self.model.n_features
    }

    /// Iterations fitted (fewer than `max_iter` when early stopping stopped it): one tree each.
    pub fn n_iter(&self) -> usize {
        self.model.trees.len()
    }

    pub fn trees(&self) -> &[Tree] {
        &self.model.trees
    }

    /// Total split gain per feature over all trees, summing to 1 (all zeros if no tree split), as for the
    /// classifier (`LightGBM`'s "gain" importance; scikit-learn's model has none).
    pub fn feature_importances(&self) -> Vec<f64> {
        self.model.importances.clone()
    }
}

/// Appends the class probabilities of one row's raw scores.
fn push_probabilities(raw: &[f64], n_classes: usize, out: &mut Vec<f64>) {
    if n_classes == 2 {
        let p = sigmoid(raw[0]);
        out.extend([1.0 - p, p]);
    } else {
        let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let start = out.len();
        out.extend(raw.iter().map(|&r| (r - max).exp()));
        let total: f64 = out[start..].iter().sum();
        for p in &mut out[start..] {
            *p /= total;
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// What the boosting loop needs of a loss over a set of rows' targets: the only thing the classifier and the
/// regressor do differently.
trait Loss: Sync {
    /// Raw scores per row, hence trees per iteration.
    fn n_scores(&self) -> usize;

    /// The constant raw scores that minimise the loss (scikit-learn's `fit_intercept_only`).
    fn baseline(&self) -> Vec<f64>;

    /// Per score, every row's gradient and hessian of the loss at the raw scores `raw` (row-major,
    /// `n_scores()` per row); `scratch` is a buffer the loss may use.
    fn gradients(&self, raw: &[f64], scratch: &mut Vec<f64>, gradients: &mut [Vec<f64>], hessians: &mut [Vec<f64>]);

    /// The (weighted) mean loss at `raw`: what early stopping scores, as scikit-learn's `scoring="loss"`.
    fn mean_loss(&self, raw: &[f64]) -> f64;
}

/// Binomial or multinomial log-loss with per-row sample weights.
struct LogLoss {
    labels: Vec<u32>,
    weights: Vec<f64>,
    n_classes: usize,
}

/// Half the squared error, `(raw - y)² / 2`, scikit-learn's `HalfSquaredError`: gradient `raw - y`, hessian 1.
struct SquaredError {
    y: Vec<f64>,
}

impl Loss for LogLoss {
    fn n_scores(&self) -> usize {
        scores_per_row(self.n_classes)
    }

    /// The log-odds of the (weighted) share of class 1, or the centred log shares of every class.
    fn baseline(&self) -> Vec<f64> {
        let mut share = vec![0.0; self.n_classes];
        for (&c, &w) in self.labels.iter().zip(&self.weights) {
            share[c as usize] += w;
        }
        let total: f64 = share.iter().sum();
        for s in &mut share {
            *s = (*s / total).clamp(f64::EPSILON, 1.0 - f64::EPSILON);
        }
        if self.n_classes == 2 {
            vec![(share[1] / (1.0 - share[1])).ln()]
        } else {
            let logs: Vec<f64> = share.iter().map(|s| s.ln()).collect();
            #[allow(clippy::cast_precision_loss)]
            let mean = logs.iter().sum::<f64>() / self.n_classes as f64;
            logs.iter().map(|l| l - mean).collect()
        }
    }

    /// Times the sample weights.
    fn gradients(&self, raw: &[f64], scratch: &mut Vec<f64>, gradients: &mut [Vec<f64>], hessians: &mut [Vec<f64>]) {
        let (y, weights, n_classes) = (&self.labels, &self.weights, self.n_classes);
        if n_classes == 2 {
            gradients[0].par_iter_mut().zip(hessians[0].par_iter_mut()).enumerate().for_each(|(row, (g, h))| {
                let p = sigmoid(raw[row]);
                *g = weights[row] * (p - f64::from(y[row]));
                *h = weights[row] * p * (1.0 - p);
            });
            return;
        }
        let probabilities = scratch;
        probabilities.resize(raw.len(), 0.0);
        probabilities.par_chunks_mut(n_classes).enumerate().for_each(|(row, p)| {
            let raw = &raw[row * n_classes..(row + 1) * n_classes];
            let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            for (p, &r) in p.iter_mut().zip(raw) {
                *p = (r - max).exp();
            }
            let total: f64 = p.iter().sum();
            for p in p.iter_mut() {
                *p /= total;
            }
        });
        let probabilities = &*probabilities;
        for (class, (g, h)) in gradients.iter_mut().zip(hessians.iter_mut()).enumerate() {
            g.par_iter_mut().zip(h.par_iter_mut()).enumerate().for_each(|(row, (g, h))| {
                let p = probabilities[row * n_classes + class];
                let target = f64::from(u8::from(y[row] as usize == class));
                *g = weights[row] * (p - target);
                *h = weights[row] * p * (1.0 - p);
            });
        }
    }

    /// Summed by blocks of rows in parallel, the blocks' sums added in order.
    fn mean_loss(&self, raw: &[f64]) -> f64 {
        let k = self.n_scores();
        let (sum, total) = sum_in_blocks(self.labels.len(), |rows| {
            let (mut sum, mut total) = (0.0, 0.0);
            let raw = &raw[rows.start * k..rows.end * k];
            for ((raw, &c), &w) in raw.chunks_exact(k).zip(&self.labels[rows.clone()]).zip(&self.weights[rows]) {
                let loss = if k == 1 {
                    softplus(raw[0]) - f64::from(c) * raw[0]
                } else {
                    let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    max + raw.iter().map(|&r| (r - max).exp()).sum::<f64>().ln() - raw[c as usize]
                };
                sum += w * loss;
                total += w;
            }
            (sum, total)
        });
        sum / total
    }
}

impl Loss for SquaredError {
    fn n_scores(&self) -> usize {
        1
    }

    /// The mean target.
    fn baseline(&self) -> Vec<f64> {
        #[allow(clippy::cast_precision_loss)] // Fewer than 2^31 rows.
        let mean = self.y.iter().sum::<f64>() / self.y.len() as f64;
        vec![mean]
    }

    fn gradients(&self, raw: &[f64], _: &mut Vec<f64>, gradients: &mut [Vec<f64>], hessians: &mut [Vec<f64>]) {
        gradients[0].par_iter_mut().zip(raw.par_iter().zip(&self.y)).for_each(|(g, (&r, &y))| *g = r - y);
        hessians[0].fill(1.0);
    }

    fn mean_loss(&self, raw: &[f64]) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let n = self.y.len() as f64;
        raw.iter().zip(&self.y).map(|(&r, &y)| 0.5 * (r - y) * (r - y)).sum::<f64>() / n
    }
}

/// The held-out rows early stopping scores, binned with the training rows' bins, and their loss.
struct Validation<L> {
    binned: BinnedMatrix,
    loss: L,
}

/// A stratified split of `0..y.len()` into (training rows, validation rows), both ascending: each class gives
/// `round(count × fraction)` of its rows, drawn from a generator of its own (the seed's stream `u64::MAX - 1`,
/// which no tree and not the binning subsample uses), keeping at least one row of the class for training.
fn validation_split(y: &[u32], n_classes: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut by_class = vec![Vec::new(); n_classes];
    for (row, &c) in y.iter().enumerate() {
        by_class[c as usize].push(row);
    }
    let mut rng = Rng::derive(seed, u64::MAX - 1);
    let mut validation = Vec::new();
    for mut rows in by_class {
        rng.shuffle(&mut rows);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
        let n = ((rows.len() as f64 * fraction).round() as usize).min(rows.len().saturating_sub(1));
        validation.extend_from_slice(&rows[..n]);
    }
    validation.sort_unstable();
    let mut is_validation = vec![false; y.len()];
    for &r in &validation {
        is_validation[r] = true;
    }
    let train = (0..y.len()).filter(|&r| !is_validation[r]).collect();
    (train, validation)
}

/// scikit-learn's rule: stop when none of the last `n` scores beats the one before them by more than `tol`.
fn should_stop(scores: &[f64], n: usize, tol: f64) -> bool {
    if scores.len() <= n {
        return false;
    }
    let reference = scores[scores.len() - n - 1];
    !scores[scores.len() - n..].iter().any(|&s| s > reference + tol)
}

/// What the boosting loop fits, without the model's shape, which the caller knows.
struct Fitted {
    baseline: Vec<f64>,
    trees: Vec<Tree>,
    importances: Vec<f64>,
}

/// The boosting loop: from `loss`'s baseline, `n_scores()` trees per iteration on its gradients until
/// `max_iter` or until early stopping on `validation` says so.
fn boost<L: Loss + Sync>(
    binned: &BinnedMatrix,
    loss: &L,
    params: &BoostingParams,
    validation: Option<&Validation<L>>,
) -> Fitted {
    // On a pool thread, the serial steps between two parallel ones run there: a parallel step then hands work
    // to the other threads directly, which stay awake for it meanwhile.
    super::awake::with_threads_awake(|| boost_on_pool(binned, loss, params, validation))
}

fn boost_on_pool<L: Loss>(
    binned: &BinnedMatrix,
    loss: &L,
    params: &BoostingParams,
    validation: Option<&Validation<L>>,
) -> Fitted {
    let n = binned.n_rows();
    let k = loss.n_scores();
    let base = loss.baseline();
    let mut raw: Vec<f64> = base.iter().copied().cycle().take(n * k).collect();
    let mut raw_validation: Vec<f64> =
        validation.map_or_else(Vec::new, |v| base.iter().copied().cycle().take(v.binned.n_rows() * k).collect());
    let mut scores = Vec::new();
    if let Some(v) = validation {
        scores.push(-v.loss.mean_loss(&raw_validation));
    }

    let mut gradients = vec![vec![0.0; n]; k];
    let mut hessians = vec![vec![0.0; n]; k];
    let mut scratch = Vec::new();
    let mut grower = BoostGrower::new(binned, params);
    let mut trees = Vec::new();
    let mut importances = vec![0.0; binned.n_features()];
    for _ in 0..params.max_iter {
        loss.gradients(&raw, &mut scratch, &mut gradients, &mut hessians);
        for score in 0..k {
            let tree = grower.grow(&gradients[score], &hessians[score], &mut importances);
            // The training rows' scores move by the leaf values as stored (f32), as prediction will see them.
            // In parallel over blocks of rows: a leaf's rows are ascending, so each block finds its share of
            // every leaf by binary search.
            let (leaves, rows) = (&grower.leaves, &grower.rows);
            raw.par_chunks_mut(SCORE_BLOCK_ROWS * k).enumerate().for_each(|(block, raw)| {
                let first = super::tree::index_u32(block * SCORE_BLOCK_ROWS);
                let end = first.saturating_add(super::tree::index_u32(SCORE_BLOCK_ROWS));
                for leaf in leaves {
                    let rows = &rows[leaf.start..leaf.end];
                    let rows = &rows[rows.partition_point(|&r| r < first)..rows.partition_point(|&r| r < end)];
                    let value = f64::from(leaf.value);
                    for &row in rows {
                        raw[(row - first) as usize * k + score] += value;
                    }
                }
            });
            if let Some(v) = validation {
                let walker = BinnedWalker::new(&tree, &grower.split_bins);
                raw_validation.par_chunks_mut(SCORE_BLOCK_ROWS * k).enumerate().for_each(|(block, raw)| {
                    for (i, r) in raw.iter_mut().skip(score).step_by(k).enumerate() {
                        *r += walker.value(&v.binned, block * SCORE_BLOCK_ROWS + i);
                    }
                });
            }
            trees.push(tree);
        }
        if let Some(v) = validation {
            scores.push(-v.loss.mean_loss(&raw_validation));
            if should_stop(&scores, params.n_iter_no_change, params.tol) {
                break;
            }
        }
    }
    let total: f64 = importances.iter().sum();
    if total > 0.0 {
        for v in &mut importances {
            *v /= total;
        }
    }
    Fitted { baseline: base, trees, importances }
}

/// The sums of the gradients and of the hessians of `pairs`, block by block in parallel, the blocks' sums
/// added in order.
fn pair_sums(pairs: &[(f32, f32)]) -> (f64, f64) {
    sum_in_blocks(pairs.len(), |rows| {
        pairs[rows].iter().fold((0.0, 0.0), |(g, h), &(pg, ph)| (g + f64::from(pg), h + f64::from(ph)))
    })
}

/// Two sums over rows `0..n`: `block(rows)` sums each block of [`SCORE_BLOCK_ROWS`] rows, in parallel, and the
/// blocks' sums are added in order, so the result does not depend on the number of threads.
fn sum_in_blocks(n: usize, block: impl Fn(std::ops::Range<usize>) -> (f64, f64) + Sync) -> (f64, f64) {
    let sums: Vec<(f64, f64)> = (0..n.div_ceil(SCORE_BLOCK_ROWS))
        .into_par_iter()
        .map(|b| block(b * SCORE_BLOCK_ROWS..((b + 1) * SCORE_BLOCK_ROWS).min(n)))
        .collect();
    sums.iter().fold((0.0, 0.0), |(x, y), &(bx, by)| (x + bx, y + by))
}

/// Rows per block when scores are updated or summed in parallel: a fixed size, so that sums do not depend on
/// the number of threads.
const SCORE_BLOCK_ROWS: usize = 1 << 14;

/// A tree as the validation rows walk it, on their bins: per node, the feature, the bin a split sends left
/// at or below and the left child (0 for a leaf), and the leaf values as f64.
struct BinnedWalker {
    nodes: Vec<(u32, u8, u32)>,
    values: Vec<f64>,
}

impl BinnedWalker {
    /// `split_bins[node]` is the bin split `node` of `tree` sends left at or below.
    fn new(tree: &Tree, split_bins: &[u8]) -> Self {
        let (mut nodes, mut values) = (Vec::with_capacity(tree.n_nodes()), Vec::with_capacity(tree.n_nodes()));
        for (node, &bin) in (0..tree.n_nodes()).zip(split_bins) {
            match tree.split(node) {
                Some((feature, _, left)) => {
                    let (feature, left) = (super::tree::index_u32(feature), super::tree::index_u32(left));
                    nodes.push((feature, bin, left));
                    values.push(0.0);
                }
                None => {
                    nodes.push((0, 0, 0));
                    values.push(f64::from(tree.leaf_values(node)[0]));
                }
            }
        }
        BinnedWalker { nodes, values }
    }

    /// The value of the leaf `row` of `binned` falls into.
    fn value(&self, binned: &BinnedMatrix, row: usize) -> f64 {
        let mut node = 0;
        loop {
            let (feature, bin, left) = self.nodes[node];
            if left == 0 {
                return self.values[node];
            }
            node = left as usize + usize::from(binned.column(feature as usize)[row] > bin);
        }
    }
}

/// Gradient and hessian sums and the row count of one bin.
#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    count: u32,
}

/// One feature's bins in a histogram: room for any bin a `u8` names, so that filling needs no bounds check;
/// only the first `n_bins` of the feature are used.
type FeatureBins = [Bin; 256];

/// A histogram: one [`FeatureBins`] per feature.
type Histogram = Vec<FeatureBins>;

/// A node's rows with their gradient pairs, in the node's row order, as a histogram reads them.
struct NodeRows<'a> {
    /// `None` for the root, which holds every row in order: its bins are read straight, without indices.
    rows: Option<&'a [u32]>,
    /// Gradient and hessian of each of the node's rows, rounded to f32 as scikit-learn keeps them: half the
    /// bytes to stream. Sums are taken in f64.
    pairs: &'a [(f32, f32)],
}

/// Rows per chunk when a node's histogram is filled in parallel; a node is cut into at most
/// [`MAX_FILL_CHUNKS`]. Both are fixed, so that a histogram's sums do not depend on the number of threads.
const FILL_CHUNK_ROWS: usize = 4096;
const MAX_FILL_CHUNKS: usize = 16;

/// The chunks a node of `n_rows` rows is filled in: how many, and the rows of each (the last one shorter).
fn fill_chunks(n_rows: usize) -> (usize, usize) {
    let chunks = (n_rows / FILL_CHUNK_ROWS).clamp(1, MAX_FILL_CHUNKS);
    (chunks, n_rows.div_ceil(chunks).max(1))
}

/// Fills `hist` (the used bins of each feature, `n_bins` of them, are cleared first) from `node`'s rows,
/// reading their bins from `row_bins`, the bins row by row.
///
/// A large node is cut into chunks of rows filled in parallel: the first into `hist`, the others into
/// `spare` histograms (grown as needed), which the caller adds into `hist` in chunk order with
/// [`add_chunks`]; returns how many spares hold a chunk.
///
/// Row by row, all features at once: a scattered row's bins are one cache line, where a column at a time
/// would miss the cache once per feature and read the node's rows and gradients once per feature.
fn fill_histogram(
    hist: &mut [FeatureBins],
    spare: &mut Vec<Histogram>,
    n_bins: &[usize],
    row_bins: &[u8],
    node: &NodeRows<'_>,
) -> usize {
    let n_rows = node.pairs.len();
    let (chunks, size) = fill_chunks(n_rows);
    let clear = |hist: &mut [FeatureBins]| {
        for (bins, &n) in hist.iter_mut().zip(n_bins) {
            bins[..n].fill(Bin::default());
        }
    };
    if chunks == 1 {
        clear(hist);
        fill_rows(hist, row_bins, node, 0..n_rows);
        return 0;
    }
    while spare.len() < chunks - 1 {
        spare.push(vec![[Bin::default(); 256]; n_bins.len()]);
    }
    let targets: Vec<&mut [FeatureBins]> =
        std::iter::once(hist).chain(spare.iter_mut().map(Vec::as_mut_slice)).take(chunks).collect();
    targets.into_par_iter().enumerate().for_each(|(chunk, hist)| {
        clear(hist);
        fill_rows(hist, row_bins, node, chunk * size..((chunk + 1) * size).min(n_rows));
    });
    chunks - 1
}

/// Adds the spare chunks' bins of one feature into `part`, in chunk order.
fn add_chunks(part: &mut [Bin], feature: usize, spare: &[Histogram]) {
    for chunk in spare {
        for (bin, add) in part.iter_mut().zip(&chunk[feature]) {
            bin.g += add.g;
            bin.h += add.h;
            bin.count += add.count;
        }
    }
}

/// Adds the node's rows at positions `range` to `hist`.
fn fill_rows(hist: &mut [FeatureBins], row_bins: &[u8], node: &NodeRows<'_>, range: std::ops::Range<usize>) {
    let width = hist.len();
    let pairs = &node.pairs[range.clone()];
    match node.rows {
        None => {
            for (bins, &pair) in row_bins[range.start * width..range.end * width].chunks_exact(width).zip(pairs) {
                add_row(hist, bins, pair);
            }
        }
        Some(rows) => {
            for (i, &pair) in range.zip(pairs) {
                prefetch_row(row_bins, width, rows, i + PREFETCH_AHEAD);
                let at = rows[i] as usize * width;
                add_row(hist, &row_bins[at..at + width], pair);
            }
        }
    }
}

/// Adds one row's gradient pair to the bin it falls in of every feature.
#[inline(always)]
fn add_row(hist: &mut [FeatureBins], bins: &[u8], (g, h): (f32, f32)) {
    let (g, h) = (f64::from(g), f64::from(h));
    for (feature, &b) in hist.iter_mut().zip(bins) {
        let bin = &mut feature[usize::from(b)];
        bin.g += g;
        bin.h += h;
        bin.count += 1;
    }
}

/// How many rows ahead a gather of a row is prefetched: enough to cover a miss to L3 at a few nanoseconds
/// a row.
const PREFETCH_AHEAD: usize = 32;

/// Asks the CPU to fetch the `width` bytes at `rows[i] * width` of `bytes` into cache, if `i` is in range. A
/// large node's rows are scattered over data too big for the L2 cache, so without this each gather waits for
/// its load; the hardware prefetcher does not see through the index.
#[inline(always)]
fn prefetch_row(bytes: &[u8], width: usize, rows: &[u32], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = rows.get(i).and_then(|&row| bytes.get(row as usize * width)) {
        // SAFETY: a prefetch is a hint that reads nothing and cannot fault; SSE is baseline on x86_64.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                std::ptr::from_ref(byte).cast::<i8>(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, width, rows, i);
}

/// The best split of a leaf.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    feature: usize,
    /// Rows with bins up to and including this one go left.
    bin: u8,
    gain: f64,
    left_g: f64,
    left_h: f64,
    left_count: usize,
}

/// A leaf of the tree being grown: its rows are `rows[start..end]`.
struct OpenLeaf {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    sum_g: f64,
    sum_h: f64,
    /// The histogram slot, while the leaf may still be split.
    histogram: Option<usize>,
    candidate: Option<Candidate>,
}

/// One feature's share of a split's work: its part of the smaller child's histogram, to fill, and of the
/// parent's, to turn into the larger child's.
struct FeatureJob<'h> {
    feature: usize,
    small: &'h mut [Bin],
    large: Option<&'h mut [Bin]>,
}

/// What a leaf's split search needs of it.
#[derive(Debug, Clone, Copy)]
struct LeafStats {
    n: usize,
    sum_g: f64,
    sum_h: f64,
}

impl LeafStats {
    fn of(leaf: &OpenLeaf) -> Self {
        LeafStats { n: leaf.end - leaf.start, sum_g: leaf.sum_g, sum_h: leaf.sum_h }
    }
}

/// The split of a leaf (`leaf`'s stats, `bins` its histogram of `feature`) with the highest positive gain over
/// the feature's bins, if any leaves `min_samples_leaf` rows and [`MIN_HESSIAN_TO_SPLIT`] hessian on both
/// sides; the first of equals.
fn best_in_feature(feature: usize, bins: &[Bin], leaf: LeafStats, params: &BoostingParams) -> Option<Candidate> {
    let l2 = params.l2_regularization + HESSIAN_FLOOR;
    let min_leaf = params.min_samples_leaf;
    let LeafStats { n, sum_g, sum_h } = leaf;
    let parent_score = sum_g * sum_g / (sum_h + l2);
    let mut best: Option<Candidate> = None;
    let (mut left_g, mut left_h, mut left_count) = (0.0, 0.0, 0usize);
    // Splitting after the last bin separates nothing.
    for (bin, b) in bins.iter().enumerate().take(bins.len().saturating_sub(1)) {
        left_g += b.g;
        left_h += b.h;
        left_count += b.count as usize;
        if left_count < min_leaf {
            continue;
        }
        if n - left_count < min_leaf {
            break;
        }
        let right_h = sum_h - left_h;
        if left_h < MIN_HESSIAN_TO_SPLIT {
            continue;
        }
        if right_h < MIN_HESSIAN_TO_SPLIT {
            break;
        }
        let right_g = sum_g - left_g;
        let gain = left_g * left_g / (left_h + l2) + right_g * right_g / (right_h + l2) - parent_score;
        if gain > 0.0 && best.is_none_or(|c| gain > c.gain) {
            // At most 255 bins, so the index fits.
            let bin = u8::try_from(bin).unwrap_or(u8::MAX);
            best = Some(Candidate { feature, bin, gain, left_g, left_h, left_count });
        }
    }
    best
}

/// A finished leaf: its rows and its value (learning rate included, rounded to f32 as stored).
struct FinalLeaf {
    start: usize,
    end: usize,
    value: f32,
}

/// Grows boosting trees, keeping its buffers from one tree to the next.
struct BoostGrower<'a> {
    binned: &'a BinnedMatrix,
    params: &'a BoostingParams,
    /// The bins of every row, row by row (`n_features` bytes a row), as histograms read them.
    row_bins: Vec<u8>,
    /// How many bins each feature has.
    n_bins: Vec<usize>,
    /// Histogram slots; `free` lists the unused ones.
    histograms: Vec<Histogram>,
    free: Vec<usize>,
    /// Histograms for the chunks of a node filled in parallel (see [`fill_histogram`]).
    spare: Vec<Histogram>,
    /// Every training row, partitioned so that each leaf's rows are contiguous and ascending.
    rows: Vec<u32>,
    spill: Vec<(u32, (f32, f32))>,
    /// The gradient and hessian of the row at each position of `rows`, moved with the rows by every
    /// partition, so that a node's pairs are a contiguous slice rather than gathered from all rows'. (Moving
    /// the features' bins with them too, to read those contiguously as well, cost more than it saved.)
    ordered: Vec<(f32, f32)>,
    /// Whether `rows` is still `0..n` (no partition since the tree began).
    rows_in_order: bool,
    /// Per node of the last tree: the bin a split sends left at or below (0 for leaves).
    split_bins: Vec<u8>,
    /// The last tree's leaves.
    leaves: Vec<FinalLeaf>,
}

impl<'a> BoostGrower<'a> {
    fn new(binned: &'a BinnedMatrix, params: &'a BoostingParams) -> Self {
        let n_bins = (0..binned.n_features()).map(|f| binned.mapper(f).n_bins()).collect();
        BoostGrower {
            binned,
            params,
            row_bins: binned.row_major(),
            n_bins,
            histograms: Vec::new(),
            free: Vec::new(),
            spare: Vec::new(),
            rows: Vec::new(),
            spill: Vec::new(),
            ordered: Vec::new(),
            rows_in_order: false,
            split_bins: Vec::new(),
            leaves: Vec::new(),
        }
    }

    fn take_histogram(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.histograms.push(vec![[Bin::default(); 256]; self.n_bins.len()]);
            self.histograms.len() - 1
        })
    }

    /// Grows one tree on gradients `g` and hessians `h`, adding split gains to `importances`. The leaves and
    /// their rows are left in `self.leaves` and `self.rows` for the caller to update the scores.
    fn grow(&mut self, g: &[f64], h: &[f64], importances: &mut [f64]) -> Tree {
        let n = self.binned.n_rows();
        self.rows.clear();
        self.rows.extend((0..n).map(super::tree::index_u32));
        self.rows_in_order = true;
        self.ordered.resize(n, (0.0, 0.0));
        #[allow(clippy::cast_possible_truncation)] // f32 gradients, as scikit-learn's (see `NodeRows`).
        self.ordered.par_iter_mut().zip(g.par_iter().zip(h)).for_each(|(pair, (&g, &h))| *pair = (g as f32, h as f32));
        self.free = (0..self.histograms.len()).collect();
        self.split_bins.clear();
        self.split_bins.push(0);
        self.leaves.clear();

        let mut tree = TreeBuilder::new(1);
        let (sum_g, sum_h) = pair_sums(&self.ordered);
        let mut open =
            vec![OpenLeaf { node: 0, start: 0, end: n, depth: 0, sum_g, sum_h, histogram: None, candidate: None }];
        if self.splittable(&open[0]) && sum_h >= MIN_HESSIAN_TO_SPLIT {
            let slot = self.take_histogram();
            let root = LeafStats::of(&open[0]);
            open[0].candidate = self.build_and_search(slot, root);
            open[0].histogram = Some(slot);
        }
        let mut n_leaves = 1;
        loop {
            if self.params.max_leaf_nodes.is_some_and(|max| n_leaves >= max) {
                break;
            }
            // The open leaf whose split gains most; the first of equals.
            let mut best: Option<(usize, f64)> = None;
            for (i, leaf) in open.iter().enumerate() {
                if let Some(c) = &leaf.candidate {
                    if best.is_none_or(|(_, gain)| c.gain > gain) {
                        best = Some((i, c.gain));
                    }
                }
            }
            let Some((index, _)) = best else { break };
            let parent = open.swap_remove(index);
            let Some(split) = parent.candidate else { break };
            importances[split.feature] += split.gain;

            let mid = parent.start + self.partition(parent.start, parent.end, split.feature, split.bin);
            debug_assert_eq!(mid - parent.start, split.left_count);
            let threshold = self.binned.mapper(split.feature).threshold(split.bin);
            let left_node = tree.make_split(parent.node, split.feature, threshold);
            self.split_bins[parent.node] = split.bin;
            self.split_bins.extend([0, 0]);
            n_leaves += 1;

            let depth = parent.depth + 1;
            let mut left = OpenLeaf {
                node: left_node,
                start: parent.start,
                end: mid,
                depth,
                sum_g: split.left_g,
                sum_h: split.left_h,
                histogram: None,
                candidate: None,
            };
            let mut right = OpenLeaf {
                node: left_node + 1,
                start: mid,
                end: parent.end,
                depth,
                sum_g: parent.sum_g - split.left_g,
                sum_h: parent.sum_h - split.left_h,
                histogram: None,
                candidate: None,
            };
            let full = self.params.max_leaf_nodes.is_some_and(|max| n_leaves >= max);
            let (split_left, split_right) = (!full && self.splittable(&left), !full && self.splittable(&right));
            let parent_slot = parent.histogram.expect("a leaf with a candidate keeps its histogram");
            if split_left || split_right {
                // The smaller child's histogram is built from its rows; the larger one's is the parent's minus it,
                // computed in place in the parent's slot. Both children's best splits are searched in the same
                // pass over the features.
                let left_smaller = left.end - left.start <= right.end - right.start;
                let (small, large, want_small, want_large) = if left_smaller {
                    (&mut left, &mut right, split_left, split_right)
                } else {
                    (&mut right, &mut left, split_right, split_left)
                };
                let small_slot = self.take_histogram();
                let small_stats = LeafStats::of(small);
                let large_stats = LeafStats::of(large);
                let (small_best, large_best) = self.build_and_search_pair(
                    small_slot,
                    Some(parent_slot),
                    (small_stats, want_small),
                    want_large.then_some(large_stats),
                    small.start..small.end,
                );
                small.histogram = Some(small_slot);
                large.histogram = Some(parent_slot);
                small.candidate = small_best;
                large.candidate = large_best;
            } else {
                self.free.push(parent_slot);
            }
            for child in [&mut left, &mut right] {
                if child.candidate.is_none() {
                    if let Some(slot) = child.histogram.take() {
                        self.free.push(slot);
                    }
                }
            }
            open.push(left);
            open.push(right);
        }

        // Every open leaf becomes a leaf, in node order so the tree's leaf ordinals do not depend on the order
        // leaves were split in.
        open.sort_unstable_by_key(|leaf| leaf.node);
        let l2 = self.params.l2_regularization;
        for leaf in &open {
            let value = -self.params.learning_rate * leaf.sum_g / (leaf.sum_h + l2 + HESSIAN_FLOOR);
            #[allow(clippy::cast_possible_truncation)] // Leaf values are stored as f32, like the forest's.
            let value = value as f32;
            tree.make_leaf(leaf.node, &[value]);
            self.leaves.push(FinalLeaf { start: leaf.start, end: leaf.end, value });
        }
        tree.finish()
    }

    /// Whether a new leaf may be split at all, before looking at its histogram.
    fn splittable(&self, leaf: &OpenLeaf) -> bool {
        let p = self.params;
        p.max_depth.is_none_or(|max| leaf.depth < max) && leaf.end - leaf.start >= 2 * p.min_samples_leaf
    }

    /// The node whose rows are `rows[range]`, as a histogram reads them.
    fn node_rows(&self, range: std::ops::Range<usize>) -> NodeRows<'_> {
        let rows = &self.rows[range.clone()];
        let pairs = &self.ordered[range];
        // Before the first partition, `rows` is every row in order and can be read straight.
        NodeRows { rows: (!self.rows_in_order).then_some(rows), pairs }
    }

    /// Fills the root's histogram `slot` from every row and returns its best split, if `root` asks for one.
    fn build_and_search(&mut self, slot: usize, root: LeafStats) -> Option<Candidate> {
        let n = self.rows.len();
        let (small, _) = self.build_and_search_pair(slot, None, (root, true), None, 0..n);
        small
    }

    /// The work of one split, feature by feature, in parallel over features when the node is large: fills
    /// histogram `small_slot` from the rows `rows[range]`, whose sums are `small_stats`; subtracts it from
    /// `large_slot` if given (the parent's, which becomes the larger child's); and returns the best split of
    /// the smaller child if `search_small`, and of the larger one if its stats are given.
    fn build_and_search_pair(
        &mut self,
        small_slot: usize,
        large_slot: Option<usize>,
        (small_stats, search_small): (LeafStats, bool),
        large: Option<LeafStats>,
        range: std::ops::Range<usize>,
    ) -> (Option<Candidate>, Option<Candidate>) {
        let n_rows = range.len();
        let mut small_hist = std::mem::take(&mut self.histograms[small_slot]);
        let mut large_hist = large_slot.map(|slot| std::mem::take(&mut self.histograms[slot]));
        let mut spare = std::mem::take(&mut self.spare);
        let node = self.node_rows(range);
        let used = fill_histogram(&mut small_hist, &mut spare, &self.n_bins, &self.row_bins, &node);
        let spare_chunks = &spare[..used];
        let small = search_small.then_some(small_stats);
        let (params, n_bins) = (self.params, &self.n_bins);
        let mut large_parts = large_hist.as_mut().map(|hist| hist.iter_mut());
        let jobs: Vec<FeatureJob<'_>> = small_hist
            .iter_mut()
            .zip(n_bins)
            .enumerate()
            .map(|(feature, (bins, &n))| {
                let large = large_parts.as_mut().and_then(Iterator::next).map(|bins| &mut bins[..n]);
                FeatureJob { feature, small: &mut bins[..n], large }
            })
            .collect();
        let job = |FeatureJob { feature, small: part, large: large_part }: FeatureJob<'_>| {
            add_chunks(part, feature, spare_chunks);
            let small_best = small.and_then(|stats| best_in_feature(feature, part, stats, params));
            let large_best = large_part.and_then(|large_part| {
                for (t, s) in large_part.iter_mut().zip(part.iter()) {
                    t.g -= s.g;
                    t.h -= s.h;
                    t.count -= s.count;
                }
                large.and_then(|stats| best_in_feature(feature, large_part, stats, params))
            });
            (small_best, large_best)
        };
        let found: Vec<(Option<Candidate>, Option<Candidate>)> = if n_rows >= PARALLEL_SEARCH_ROWS {
            jobs.into_par_iter().map(job).collect()
        } else {
            jobs.into_iter().map(job).collect()
        };
        self.spare = spare;
        self.histograms[small_slot] = small_hist;
        if let (Some(slot), Some(hist)) = (large_slot, large_hist) {
            self.histograms[slot] = hist;
        }
        // The first of equals, in feature order, as one pass over the features would find.
        let first_best = |a: Option<Candidate>, b: Option<Candidate>| match (a, b) {
            (Some(x), Some(y)) if y.gain > x.gain => Some(y),
            (None, y) => y,
            (x, _) => x,
        };
        found.into_iter().fold((None, None), |(s, l), (fs, fl)| (first_best(s, fs), first_best(l, fl)))
    }

    /// Stable partition of `rows[start..end]` and their gradient pairs: bins at or below `bin` of `feature`
    /// first. Returns the count.
    fn partition(&mut self, start: usize, end: usize, feature: usize, bin: u8) -> usize {
        self.rows_in_order = false;
        let column = self.binned.column(feature);
        partition_rows(column, bin, &mut self.rows[start..end], &mut self.ordered[start..end], &mut self.spill)
    }
}

/// Nodes with at least this many rows are partitioned in two halves in parallel.
const PARALLEL_PARTITION_ROWS: usize = 1 << 14;

/// [`BoostGrower::partition`] of the rows and their gradient pairs, in two halves at once when there are
/// many. `spill` is scratch.
fn partition_rows(
    column: &[u8],
    bin: u8,
    rows: &mut [u32],
    pairs: &mut [(f32, f32)],
    spill: &mut Vec<(u32, (f32, f32))>,
) -> usize {
    // Every slot is written before it is read: grown when too short, never cleared.
    if spill.len() < rows.len() + 2 {
        spill.resize(rows.len() + 2, (0, (0.0, 0.0)));
    }
    if rows.len() < PARALLEL_PARTITION_ROWS {
        let left = partition_part(column, bin, rows, pairs, spill);
        let right = rows.len() - left;
        finish_partition(&mut rows[left..], &mut pairs[left..], &spill[..right]);
        return left;
    }
    // The first half's left rows stay at its front and its right rows go to the spill; the second half's right
    // rows go to its back and its left rows to the spill. What lies between is rows already moved out, which
    // the two spills fill: one copy each, at once.
    let n = rows.len();
    let mid = n / 2;
    let (rows_a, rows_b) = rows.split_at_mut(mid);
    let (pairs_a, pairs_b) = pairs.split_at_mut(mid);
    let (spill_a, spill_b) = spill[..n].split_at_mut(mid);
    let (left_a, left_b) = rayon::join(
        || partition_part(column, bin, rows_a, pairs_a, spill_a),
        || partition_part_from_back(column, bin, rows_b, pairs_b, spill_b),
    );
    let (right_a, right_b) = (mid - left_a, n - mid - left_b);
    let (rows_left, rows_right) = rows[left_a..n - right_b].split_at_mut(left_b);
    let (pairs_left, pairs_right) = pairs[left_a..n - right_b].split_at_mut(left_b);
    rayon::join(
        || finish_partition(rows_left, pairs_left, &spill_b[n - mid - left_b..]),
        || finish_partition(rows_right, pairs_right, &spill_a[..right_a]),
    );
    left_a + left_b
}

/// Moves the rows going left (`column[row] <= bin`) to the front of `rows`, in order, and the others to
/// the front of `spill`, in order, their pairs with them; returns how many went left.
///
/// Without a branch: every row is written to both sides and only the side it belongs to moves on, since
/// which way a row goes is as good as random and a mispredicted branch per row cost more than the writes.
fn partition_part(
    column: &[u8],
    bin: u8,
    rows: &mut [u32],
    pairs: &mut [(f32, f32)],
    spill: &mut [(u32, (f32, f32))],
) -> usize {
    let (mut left, mut right) = (0, 0);
    for i in 0..rows.len() {
        let (row, pair) = (rows[i], pairs[i]);
        prefetch_row(column, 1, rows, i + PREFETCH_AHEAD);
        let go = column[row as usize] <= bin;
        // `left <= i` and `right <= i`: both writes are in bounds and position `left` was read already.
        rows[left] = row;
        pairs[left] = pair;
        spill[right] = (row, pair);
        left += usize::from(go);
        right += usize::from(!go);
    }
    left
}

/// [`partition_part`] from the back: moves the rows going right to the back of `rows`, in order, and the
/// others to the back of `spill` (as long as `rows`), in order, their pairs with them; returns how many went
/// left.
fn partition_part_from_back(
    column: &[u8],
    bin: u8,
    rows: &mut [u32],
    pairs: &mut [(f32, f32)],
    spill: &mut [(u32, (f32, f32))],
) -> usize {
    let n = rows.len();
    let (mut left, mut right) = (0, 0);
    for i in (0..n).rev() {
        let (row, pair) = (rows[i], pairs[i]);
        if let Some(ahead) = i.checked_sub(PREFETCH_AHEAD) {
            prefetch_row(column, 1, rows, ahead);
        }
        let go = column[row as usize] <= bin;
        // `left + i < n` and `right + i < n`: both writes are in bounds and position `n - 1 - right` was read.
        rows[n - 1 - right] = row;
        pairs[n - 1 - right] = pair;
        spill[n - 1 - left] = (row, pair);
        left += usize::from(go);
        right += usize::from(!go);
    }
    left
}

/// Writes the spilled `right` rows and pairs at the front of `rows` and `pairs`.
fn finish_partition(rows: &mut [u32], pairs: &mut [(f32, f32)], right: &[(u32, (f32, f32))]) {
    for ((row, pair), &(r, p)) in rows.iter_mut().zip(pairs.iter_mut()).zip(right) {
        *row = r;
        *pair = p;
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp, clippy::cast_precision_loss, clippy::cast_possible_truncation)] // Exact values are the point; small numbers.
mod tests {
    use super::*;
    use crate::models::forest::test_data::{diabetes, friedman, r2};

    fn normal_matrix(n: usize, n_features: usize, seed: u64) -> Matrix {
        let mut rng = Rng::new(seed);
        Matrix::from_row_major(n, n_features, (0..n * n_features).map(|_| rng.normal()).collect())
    }

    /// A nonlinear, noisy problem on features 0 and 1 (feature 2 is noise), with `n_classes` score bands.
    fn problem(n: usize, n_classes: u32, seed: u64) -> (Matrix, Vec<u32>) {
        let x = normal_matrix(n, 3, seed);
        let mut rng = Rng::new(seed + 1000);
        let y = (0..n)
            .map(|r| {
                let score = (2.0 * x.get(r, 0)).sin() + x.get(r, 1) * x.get(r, 1) + 0.3 * rng.normal();
                if n_classes == 2 {
                    u32::from(score > 1.0)
                } else {
                    u32::from(score > 0.5) + u32::from(score > 1.5)
                }
            })
            .collect();
        (x, y)
    }

    fn accuracy(model: &GradientBoostingClassifier, x: &Matrix, y: &[u32]) -> f64 {
        let k = model.n_classes();
        let predicted = crate::models::argmax_rows(&model.predict_proba(x), k);
        predicted.iter().zip(y).filter(|(p, t)| p == t).count() as f64 / y.len() as f64
    }

    #[test]
    fn binary_and_multiclass_models_learn_and_give_distributions() {
        for n_classes in [2, 3] {
            let (x, y) = problem(2000, n_classes, 1);
            let (x_test, y_test) = problem(1000, n_classes, 2);
            let model =
                GradientBoostingClassifier::fit(&x, &y, n_classes as usize, &BoostingParams::default()).expect("fits");
            assert_eq!(model.n_iter(), 100, "2,000 rows: no early stopping by default");
            assert_eq!(model.trees().len(), 100 * scores_per_row(n_classes as usize));
            let proba = model.predict_proba(&x_test);
            for row in proba.chunks_exact(n_classes as usize) {
                assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{row:?}");
            }
            let majority = (0..n_classes).map(|c| y_test.iter().filter(|&&t| t == c).count()).max().unwrap_or(0);
            let acc = accuracy(&model, &x_test, &y_test);
            assert!(acc > majority as f64 / 1000.0 + 0.15, "{n_classes} classes: accuracy {acc}");
            let importances = model.feature_importances();
            assert!((importances.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            assert!(importances[2] < importances[0] && importances[2] < importances[1], "{importances:?}");
        }
    }

    #[test]
    fn results_are_bit_identical_for_any_thread_count() -> Result<(), Box<dyn std::error::Error>> {
        // Enough rows for the parallel histograms, with early stopping on.
        let (x, y) = problem(12_000, 2, 3);
        let params =
            BoostingParams { max_iter: 30, early_stopping: EarlyStopping::On, seed: 5, ..BoostingParams::default() };
        let run = |threads: usize| -> Result<(Vec<u8>, Vec<u64>), Box<dyn std::error::Error>> {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
            let (model, proba) = pool.install(|| {
                let model = GradientBoostingClassifier::fit(&x, &y, 2, &params)?;
                let proba = model.predict_proba(&normal_matrix(3000, 3, 4));
                Ok::<_, ForestError>((model, proba))
            })?;
            Ok((postcard::to_stdvec(&model)?, proba.iter().map(|p| p.to_bits()).collect()))
        };
        assert_eq!(run(1)?, run(2)?);
        assert_eq!(run(1)?, run(3)?);
        Ok(())
    }

    #[test]
    fn early_stopping_stops_on_noise() {
        let x = normal_matrix(3000, 3, 6);
        let mut rng = Rng::new(7);
        let y: Vec<u32> = (0..3000).map(|_| u32::from(rng.chance(0.5))).collect();
        let params = BoostingParams { early_stopping: EarlyStopping::On, ..BoostingParams::default() };
        let model = GradientBoostingClassifier::fit(&x, &y, 2, &params).expect("fits");
        assert!(model.n_iter() < 40, "stopped after {} iterations", model.n_iter());
    }

    #[test]
    fn trees_respect_max_leaf_nodes_depth_and_min_samples_leaf() {
        let (x, y) = problem(3000, 2, 8);
        let params = BoostingParams { max_iter: 5, max_leaf_nodes: Some(7), ..BoostingParams::default() };
        let model = GradientBoostingClassifier::fit(&x, &y, 2, &params).expect("fits");
        assert!(model.trees().iter().all(|t| t.n_leaves() == 7), "noisy data fills every tree");
        let params = BoostingParams { max_iter: 5, max_leaf_nodes: None, max_depth: Some(2), ..params };
        let model = GradientBoostingClassifier::fit(&x, &y, 2, &params).expect("fits");
        assert!(model.trees().iter().all(|t| t.n_leaves() <= 4 && t.n_leaves() > 1));

        let params = BoostingParams { max_iter: 3, min_samples_leaf: 400, max_leaf_nodes: None, ..params };
        let model = GradientBoostingClassifier::fit(&x, &y, 2, &params).expect("fits");
        for tree in model.trees() {
            let mut per_leaf = vec![0usize; tree.n_nodes()];
            for r in 0..x.n_rows() {
                per_leaf[tree.leaf_of(x.row(r))] += 1;
            }
            assert!((0..tree.n_nodes()).filter(|&n| tree.is_leaf(n)).all(|n| per_leaf[n] >= 400), "{per_leaf:?}");
        }
    }

    /// A node's histogram, in one chunk or several (added up by `add_chunks`), for the root (rows read
    /// straight) and for a node of scattered rows, against a plain per-row sum; features of 2 to 255 bins.
    #[test]
    fn histograms_match_a_plain_sum() {
        let n_bins = [2usize, 10, 64, 65, 255, 2];
        let mut rng = Rng::new(3);
        for n in [3000, 5 * FILL_CHUNK_ROWS + 123] {
            let pairs: Vec<(f32, f32)> = (0..n).map(|_| (rng.normal() as f32, rng.next_f64() as f32)).collect();
            let row_bins: Vec<u8> =
                (0..n * n_bins.len()).map(|i| u8::try_from(rng.below(n_bins[i % n_bins.len()])).unwrap_or(0)).collect();
            let scattered: Vec<u32> = (0..n as u32).filter(|r| r % 3 != 1).collect();
            for rows in [None, Some(scattered.as_slice())] {
                let node_pairs: Vec<(f32, f32)> = match rows {
                    None => pairs.clone(),
                    Some(rows) => rows.iter().map(|&r| pairs[r as usize]).collect(),
                };
                let mut expected: Histogram = vec![[Bin::default(); 256]; n_bins.len()];
                for (i, &(g, h)) in node_pairs.iter().enumerate() {
                    let row = rows.map_or(i, |rows| rows[i] as usize);
                    for (f, bins) in expected.iter_mut().enumerate() {
                        let bin = &mut bins[usize::from(row_bins[row * n_bins.len() + f])];
                        bin.g += f64::from(g);
                        bin.h += f64::from(h);
                        bin.count += 1;
                    }
                }
                let node = NodeRows { rows, pairs: &node_pairs };
                let mut hist: Histogram = vec![[Bin { g: 9.0, h: 9.0, count: 9 }; 256]; n_bins.len()];
                let mut spare = Vec::new();
                let used = fill_histogram(&mut hist, &mut spare, &n_bins, &row_bins, &node);
                assert_eq!(used + 1, fill_chunks(node_pairs.len()).0, "{n} rows");
                for (f, (bins, want)) in hist.iter_mut().zip(&expected).enumerate() {
                    let part = &mut bins[..n_bins[f]];
                    add_chunks(part, f, &spare[..used]);
                    for (bin, (a, b)) in part.iter().zip(want).enumerate() {
                        assert_eq!(a.count, b.count, "{n} rows, feature {f}, bin {bin}");
                        assert!((a.g - b.g).abs() < 1e-9 && (a.h - b.h).abs() < 1e-9, "feature {f}, bin {bin}");
                    }
                }
            }
        }
    }

    #[test]
    fn chunks_cover_a_node_and_depend_only_on_its_size() {
        for n in [0, 1, FILL_CHUNK_ROWS - 1, FILL_CHUNK_ROWS, 3 * FILL_CHUNK_ROWS + 7, 1_000_003] {
            let (chunks, size) = fill_chunks(n);
            assert!((1..=MAX_FILL_CHUNKS).contains(&chunks));
            assert!(chunks * size >= n && (chunks - 1) * size < n.max(1), "{n} rows: {chunks} chunks of {size}");
        }
    }

    #[test]
    fn a_large_node_is_partitioned_as_one_stably() {
        // Above PARALLEL_PARTITION_ROWS the halves are partitioned apart and put together.
        // The front half goes forward, the back half from the back; split bins 0 and 3 send every row of the
        // second column one way.
        let n = PARALLEL_PARTITION_ROWS + 1001;
        let mut rng = Rng::new(5);
        let mixed: Vec<u8> = (0..n).map(|_| u8::try_from(rng.below(4)).unwrap_or(0)).collect();
        let no_zeros: Vec<u8> = mixed.iter().map(|&b| b.max(1)).collect();
        for (column, bin) in [(&mixed, 1), (&mixed, 0), (&no_zeros, 0), (&no_zeros, 3)] {
            let mut rows: Vec<u32> = (0..n as u32).collect();
            let mut pairs: Vec<(f32, f32)> = (0..n).map(|r| (r as f32, 1.0)).collect();
            let left = partition_rows(column, bin, &mut rows, &mut pairs, &mut Vec::new());
            let expected: Vec<u32> = (0..n as u32)
                .filter(|&r| column[r as usize] <= bin)
                .chain((0..n as u32).filter(|&r| column[r as usize] > bin))
                .collect();
            assert_eq!(left, column.iter().filter(|&&b| b <= bin).count());
            assert_eq!(rows, expected, "split at bin {bin}");
            assert!(rows.iter().zip(&pairs).all(|(&r, &(g, _))| g == r as f32), "pairs move with their rows");
        }
    }

    #[test]
    fn the_subtracted_histogram_equals_the_built_one() {
        let (x, _) = problem(5000, 2, 9);
        let binned = BinnedMatrix::fit_transform(&x, 255, 0);
        let params = BoostingParams::default();
        let mut grower = BoostGrower::new(&binned, &params);
        let mut rng = Rng::new(10);
        let g: Vec<f64> = (0..5000).map(|_| rng.normal()).collect();
        let h: Vec<f64> = (0..5000).map(|_| rng.next_f64()).collect();
        grower.rows = (0..5000).collect();
        grower.ordered = g.iter().zip(&h).map(|(&g, &h)| (g as f32, h as f32)).collect();
        let mid = grower.partition(0, 5000, 0, 100);
        let (parent, small, large) = (grower.take_histogram(), grower.take_histogram(), grower.take_histogram());
        let sums = |pairs: &[(f32, f32)]| LeafStats {
            n: pairs.len(),
            sum_g: pairs.iter().map(|p| f64::from(p.0)).sum(),
            sum_h: pairs.iter().map(|p| f64::from(p.1)).sum(),
        };
        let (left, right) = (sums(&grower.ordered[..mid]), sums(&grower.ordered[mid..]));
        let all = sums(&grower.ordered);
        grower.build_and_search_pair(parent, None, (all, false), None, 0..5000);
        let (from_built, _) = grower.build_and_search_pair(large, None, (right, true), None, mid..5000);
        let (small_best, from_subtracted) =
            grower.build_and_search_pair(small, Some(parent), (left, true), Some(right), 0..mid);
        for ((a, b), &n) in grower.histograms[parent].iter().zip(&grower.histograms[large]).zip(&grower.n_bins) {
            for (a, b) in a[..n].iter().zip(&b[..n]) {
                assert_eq!(a.count, b.count);
                assert!((a.g - b.g).abs() < 1e-9 && (a.h - b.h).abs() < 1e-9);
            }
        }
        let (built, subtracted) = (from_built.expect("a split"), from_subtracted.expect("a split"));
        assert_eq!(
            (built.feature, built.bin, built.left_count),
            (subtracted.feature, subtracted.bin, subtracted.left_count)
        );
        assert!(small_best.is_some());
    }

    #[test]
    fn serialisation_round_trips_and_rejects_inconsistent_models() -> Result<(), Box<dyn std::error::Error>> {
        let (x, y) = problem(500, 3, 11);
        let params = BoostingParams { max_iter: 4, ..BoostingParams::default() };
        let model = GradientBoostingClassifier::fit(&x, &y, 3, &params)?;
        let bytes = postcard::to_stdvec(&model)?;
        let loaded: GradientBoostingClassifier = postcard::from_bytes(&bytes)?;
        assert_eq!(loaded, model);
        assert_eq!(loaded.predict_proba(&x), model.predict_proba(&x));
        let json = serde_json::to_value(&model)?;
        let mut bad = json.clone();
        bad["baseline"].as_array_mut().map(Vec::pop);
        assert!(serde_json::from_value::<GradientBoostingClassifier>(bad).is_err(), "a score without a baseline");
        let mut bad = json;
        bad["trees"].as_array_mut().map(Vec::pop);
        assert!(serde_json::from_value::<GradientBoostingClassifier>(bad).is_err(), "a partial iteration");
        Ok(())
    }

    #[test]
    fn bad_input_is_an_error() {
        let (x, y) = problem(50, 2, 12);
        let p = BoostingParams::default();
        let fit = |y: &[u32], n_classes: usize, p: &BoostingParams| {
            GradientBoostingClassifier::fit(&x, y, n_classes, p).err()
        };
        assert_eq!(fit(&y[1..], 2, &p), Some(ForestError::LengthMismatch { rows: 50, targets: 49 }));
        assert!(matches!(fit(&[0; 50], 1, &p), Some(ForestError::InvalidParam(_))));
        for invalid in [
            BoostingParams { learning_rate: f64::NAN, ..BoostingParams::default() },
            BoostingParams { max_iter: 0, ..BoostingParams::default() },
            BoostingParams { max_leaf_nodes: Some(1), ..BoostingParams::default() },
            BoostingParams { validation_fraction: 0.0, ..BoostingParams::default() },
        ] {
            assert!(matches!(fit(&y, 2, &invalid), Some(ForestError::InvalidParam(_))), "{invalid:?}");
        }
        let tiny = Matrix::from_row_major(4, 1, vec![1.0, 2.0, 3.0, 4.0]);
        let params = BoostingParams { early_stopping: EarlyStopping::On, validation_fraction: 0.01, ..p };
        let error = GradientBoostingClassifier::fit(&tiny, &[0, 0, 1, 1], 2, &params).err();
        assert!(matches!(error, Some(ForestError::InvalidParam(_))), "{error:?}");
    }

    #[test]
    fn validation_split_is_stratified_and_seeded() {
        let y: Vec<u32> = (0..1000).map(|i| u32::from(i % 4 == 0)).collect();
        let (train, validation) = validation_split(&y, 2, 0.1, 3);
        assert_eq!((train.len(), validation.len()), (900, 100));
        assert_eq!(validation.iter().filter(|&&r| y[r] == 1).count(), 25);
        assert_eq!(validation_split(&y, 2, 0.1, 3).1, validation);
        assert_ne!(validation_split(&y, 2, 0.1, 4).1, validation);
    }

    /// `HistGradientBoostingRegressor(early_stopping=False)`'s test R² from
    /// `fixtures/gen_regression_reference.py` (scikit-learn 1.9.1).
    #[test]
    fn regression_r2_matches_scikit_learn() {
        let params = BoostingParams { early_stopping: EarlyStopping::Off, ..BoostingParams::default() };
        for (name, data, sklearn_r2) in [("diabetes", diabetes(), 0.365_709), ("friedman", friedman(), 0.942_603)] {
            let model = GradientBoostingRegressor::fit(&data.x_train, &data.y_train, &params).expect("fits");
            assert_eq!(model.n_iter(), 100);
            let ours = r2(&data.y_test, &model.predict(&data.x_test));
            assert!((ours - sklearn_r2).abs() < 0.01, "{name}: R² {ours} against scikit-learn's {sklearn_r2}");
        }
    }

    #[test]
    fn the_regressor_starts_from_the_mean_and_stops_early_on_noise() {
        // A constant target: the baseline is exact and no split gains anything.
        let x = normal_matrix(200, 2, 20);
        let model = GradientBoostingRegressor::fit(&x, &[2.5; 200], &BoostingParams::default()).expect("fits");
        assert!(model.predict(&x).iter().all(|&p| p == 2.5));
        assert_eq!(model.feature_importances(), vec![0.0, 0.0]);

        let mut rng = Rng::new(21);
        let noise: Vec<f64> = (0..3000).map(|_| rng.normal()).collect();
        let params = BoostingParams { early_stopping: EarlyStopping::On, ..BoostingParams::default() };
        let model = GradientBoostingRegressor::fit(&normal_matrix(3000, 3, 22), &noise, &params).expect("fits");
        assert!(model.n_iter() < 40, "stopped after {} iterations", model.n_iter());
        assert_eq!(model.trees().len(), model.n_iter());
    }

    #[test]
    fn the_regressor_is_bit_identical_for_any_thread_count() -> Result<(), Box<dyn std::error::Error>> {
        let data = friedman();
        let params = BoostingParams { max_iter: 20, early_stopping: EarlyStopping::On, ..BoostingParams::default() };
        let run = |threads: usize| -> Result<(Vec<u8>, Vec<u64>), Box<dyn std::error::Error>> {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
            let model = pool.install(|| GradientBoostingRegressor::fit(&data.x_train, &data.y_train, &params))?;
            let predicted = pool.install(|| model.predict(&data.x_test));
            Ok((postcard::to_stdvec(&model)?, predicted.iter().map(|p| p.to_bits()).collect()))
        };
        assert_eq!(run(1)?, run(2)?);
        Ok(())
    }

    #[test]
    fn the_regressor_round_trips_and_rejects_inconsistent_models() -> Result<(), Box<dyn std::error::Error>> {
        let data = diabetes();
        let params = BoostingParams { max_iter: 5, ..BoostingParams::default() };
        let model = GradientBoostingRegressor::fit(&data.x_train, &data.y_train, &params)?;
        let bytes = postcard::to_stdvec(&model)?;
        let loaded: GradientBoostingRegressor = postcard::from_bytes(&bytes)?;
        assert_eq!(loaded, model);
        assert_eq!(loaded.predict(&data.x_test), model.predict(&data.x_test));
        assert_eq!(loaded.n_features(), 10);
        let json = serde_json::to_value(&model)?;
        let mut bad = json.clone();
        bad["baseline"] = f64::NAN.into(); // serde_json writes NaN as null, which is no number either.
        assert!(serde_json::from_value::<GradientBoostingRegressor>(bad).is_err(), "no baseline");
        let mut bad = json.clone();
        bad["importances"].as_array_mut().map(Vec::pop);
        assert!(serde_json::from_value::<GradientBoostingRegressor>(bad).is_err(), "an importance missing");
        let mut bad = json;
        bad["trees"] = serde_json::Value::Array(Vec::new());
        assert!(serde_json::from_value::<GradientBoostingRegressor>(bad).is_err(), "no trees");
        // A regressor is not a classifier, nor the other way round.
        assert!(postcard::from_bytes::<GradientBoostingClassifier>(&bytes).is_err());
        Ok(())
    }

    #[test]
    fn bad_regression_input_is_an_error() {
        let x = normal_matrix(30, 2, 23);
        let p = BoostingParams::default();
        let mut y = vec![1.0; 30];
        assert_eq!(
            GradientBoostingRegressor::fit(&x, &y[1..], &p).err(),
            Some(ForestError::LengthMismatch { rows: 30, targets: 29 })
        );
        y[7] = f64::INFINITY;
        assert_eq!(GradientBoostingRegressor::fit(&x, &y, &p).err(), Some(ForestError::NonFiniteTarget { row: 7 }));
        let empty = Matrix::from_row_major(0, 2, vec![]);
        assert_eq!(GradientBoostingRegressor::fit(&empty, &[], &p).err(), Some(ForestError::EmptyData));
        let invalid = BoostingParams { max_bins: 1, ..BoostingParams::default() };
        assert!(matches!(GradientBoostingRegressor::fit(&x, &[1.0; 30], &invalid), Err(ForestError::InvalidParam(_))));
    }

    #[test]
    fn should_stop_follows_scikit_learn() {
        // Scores are negative losses: higher is better.
        assert!(!should_stop(&[-1.0, -0.9], 2, 0.0), "too few scores");
        assert!(should_stop(&[-1.0, -0.9, -0.95, -0.9], 2, 0.0), "no score beats -0.9 after it");
        assert!(!should_stop(&[-1.0, -0.9, -0.95, -0.89], 2, 0.0));
        assert!(should_stop(&[-1.0, -0.9, -0.95, -0.89], 2, 0.05), "by less than tol");
    }
}
