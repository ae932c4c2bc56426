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

//!
//! The parts, one file each: `params` (hyperparameters), `loss` (what is minimised), `validation` (early
//! stopping), `boost` (the loop), `grower` (one tree), `histogram` and `partition` (its inner loops), `sums` (thread-count-free sums).

mod boost;
mod grower;
mod histogram;
mod loss;
mod params;
mod partition;
mod sums;
mod validation;

use serde::{Deserialize, Serialize};

use self::boost::boost;
use self::loss::{push_probabilities, LogLoss, SquaredError};
pub use self::params::{BoostingParams, EarlyStopping};
use self::validation::{validation_split, Validation};
use super::binning::BinnedMatrix;
use super::predict::CompiledForest;
use super::tree::Tree;
use super::{check_finite, check_shape, class_weights, ForestError};
use crate::data::matrix::Matrix;

/// With `EarlyStopping::Auto`, early stopping is on above this many training rows (scikit-learn's rule).
const AUTO_EARLY_STOPPING_ROWS: usize = 10_000;

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

#[cfg(test)]
mod tests {
    use super::grower::{BoostGrower, LeafStats};
    use super::histogram::{add_chunks, fill_chunks, fill_histogram, Bin, Histogram, NodeRows};
    use super::histogram::{FILL_CHUNK_ROWS, MAX_FILL_CHUNKS};
    use super::partition::{partition_rows, PARALLEL_PARTITION_ROWS};
    use super::validation::should_stop;
    use super::*;
    use crate::models::forest::test_data::{diabetes, friedman, r2};
    use crate::rng::Rng;

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
