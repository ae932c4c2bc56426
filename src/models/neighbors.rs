//! k-nearest neighbours, classification and regression: scikit-learn's `KNeighborsClassifier` and
//! `KNeighborsRegressor` (1.9.1) with the Euclidean metric and brute-force search; `n_neighbors = 5` and
//! `weights = "uniform"` by default.
//!
//! The fitted model is the training set itself. Prediction compares every query row with every training row,
//! in tiles that stay in cache, with the training rows regrouped [`LANES`] at a time so that the distances of
//! one query to a group are summed side by side in vector registers ([`BlockedRows`], which k-means reuses).
//! Each query keeps its k nearest in a bounded max-heap.
//!
//! Where we differ from scikit-learn, deliberately:
//! - Neighbours at equal distance rank by training-row index, the earlier row first, so a tie for the k-th
//!   place keeps the earlier row (scikit-learn leaves that order unspecified).
//! - Distances are summed `(a - b)²` feature by feature, not scikit-learn's `‖a‖² - 2a·b + ‖b‖²`, so they are
//!   exact where scikit-learn's carry rounding: a row's distance to itself is exactly 0 here, which matters
//!   for distance weights.
//! - Classes are the codes `0..n_classes` given at fit, not the labels seen: a class with no training row
//!   always gets probability 0.
//!
//! Rows are predicted in parallel and each row's result depends on that row alone, so predictions are the
//! same for any thread count.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::matrix::Matrix;

/// How the k neighbours of a query are weighed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Weights {
    /// Every neighbour counts the same.
    #[default]
    Uniform,
    /// A neighbour weighs the inverse of its distance; neighbours at distance 0, if any, share all the weight
    /// (as scikit-learn).
    Distance,
}

/// kNN hyperparameters; `Default` is scikit-learn's (`n_neighbors = 5`, uniform weights).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnnParams {
    pub k: usize,
    pub weights: Weights,
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams { k: 5, weights: Weights::Uniform }
    }
}

/// A fitted k-nearest-neighbours classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedClassifier")]
pub struct KnnClassifier {
    n_classes: usize,
    memory: Memory<u32>,
}

/// A fitted k-nearest-neighbours regressor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedRegressor")]
pub struct KnnRegressor {
    memory: Memory<f64>,
}

/// The training set and how to query it: what both models store. Only ever deserialised inside the checked
/// models, whose `TryFrom` validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Memory<T> {
    k: usize,
    weights: Weights,
    n_features: usize,
    /// Training rows, row-major `targets.len() × n_features`.
    rows: Vec<f64>,
    /// One target per training row: a class code or a value.
    targets: Vec<T>,
}

/// What the deserialiser reads before `TryFrom` checks it: a corrupted model file must fail to load rather
/// than make prediction index out of bounds.
#[derive(Deserialize)]
struct UncheckedClassifier {
    n_classes: usize,
    memory: Memory<u32>,
}

#[derive(Deserialize)]
struct UncheckedRegressor {
    memory: Memory<f64>,
}

/// Most classes a classifier accepts: `n_classes` sizes every prediction's output, and nothing else in a decoded
/// model bounds it.
pub const MAX_CLASSES: usize = 1 << 16;

fn check_n_classes(n_classes: usize) -> Result<(), String> {
    if n_classes == 0 || n_classes > MAX_CLASSES {
        return Err(format!("kNN needs from 1 to {MAX_CLASSES} classes, not {n_classes}"));
    }
    Ok(())
}

impl TryFrom<UncheckedClassifier> for KnnClassifier {
    type Error = String;

    fn try_from(raw: UncheckedClassifier) -> Result<Self, String> {
        check_n_classes(raw.n_classes)?;
        raw.memory.check()?;
        if let Some(label) = raw.memory.targets.iter().find(|&&c| c as usize >= raw.n_classes) {
            return Err(format!("a kNN training label is {label}, but the model has {} classes", raw.n_classes));
        }
        Ok(KnnClassifier { n_classes: raw.n_classes, memory: raw.memory })
    }
}

impl TryFrom<UncheckedRegressor> for KnnRegressor {
    type Error = String;

    fn try_from(raw: UncheckedRegressor) -> Result<Self, String> {
        raw.memory.check()?;
        if raw.memory.targets.iter().any(|t| !t.is_finite()) {
            return Err("a kNN regression target is NaN or infinite".to_owned());
        }
        Ok(KnnRegressor { memory: raw.memory })
    }
}

impl<T> Memory<T> {
    /// Checks what prediction relies on: `rows` holds `targets.len()` rows of `n_features` finite values,
    /// and there are at least k of them.
    fn check(&self) -> Result<(), String> {
        let n = self.targets.len();
        if self.n_features == 0 || self.n_features.checked_mul(n) != Some(self.rows.len()) {
            return Err(format!(
                "kNN training rows: {} values for {n} rows of {} features",
                self.rows.len(),
                self.n_features
            ));
        }
        check_k(self.k, n)?;
        if self.rows.iter().any(|v| !v.is_finite()) {
            return Err("a kNN training row holds NaN or an infinite value".to_owned());
        }
        Ok(())
    }
}

fn check_k(k: usize, n_rows: usize) -> Result<(), String> {
    if k == 0 {
        return Err("kNN needs k of at least 1".to_owned());
    }
    if k > n_rows {
        return Err(format!("kNN with k = {k} needs at least {k} training rows, but there are {n_rows}"));
    }
    Ok(())
}

/// Checks the training data shared by both models and copies it into a [`Memory`].
fn memorise<T: Copy>(x: &Matrix, targets: &[T], p: &KnnParams) -> Result<Memory<T>, String> {
    if x.n_rows() == 0 || x.n_cols() == 0 {
        return Err("cannot fit kNN on data with no rows or no features".to_owned());
    }
    if targets.len() != x.n_rows() {
        return Err(format!("the data has {} rows but {} targets", x.n_rows(), targets.len()));
    }
    check_k(p.k, x.n_rows())?;
    if let Some(i) = x.as_slice().iter().position(|v| !v.is_finite()) {
        return Err(format!("row {} column {} is NaN or infinite", i / x.n_cols(), i % x.n_cols()));
    }
    Ok(Memory {
        k: p.k,
        weights: p.weights,
        n_features: x.n_cols(),
        rows: x.as_slice().to_vec(),
        targets: targets.to_vec(),
    })
}

impl KnnClassifier {
    /// Memorises rows `x` with class codes `y` in `0..n_classes`.
    ///
    /// # Errors
    /// Empty data, a `y` of the wrong length, a label out of range, a non-finite value in `x`, a k of 0 or
    /// above the number of rows, or `n_classes` of 0 or above [`MAX_CLASSES`].
    pub fn fit(x: &Matrix, y: &[u32], n_classes: usize, p: &KnnParams) -> Result<Self, String> {
        check_n_classes(n_classes)?;
        if let Some((row, label)) = y.iter().enumerate().find(|&(_, &c)| c as usize >= n_classes) {
            return Err(format!("row {row} has class label {label}, but there are only {n_classes} classes"));
        }
        Ok(KnnClassifier { n_classes, memory: memorise(x, y, p)? })
    }

    /// Class probabilities, row-major `x.n_rows() × n_classes()`: the share of the k neighbours' weight that
    /// falls on each class.
    pub fn predict_proba(&self, x: &Matrix) -> Vec<f64> {
        let n_classes = self.n_classes;
        let mut proba = vec![0.0; x.n_rows() * n_classes];
        if n_classes == 0 {
            return proba;
        }
        let neighbours = self.memory.neighbours(x);
        proba.par_chunks_mut(n_classes).zip(neighbours.par_iter()).for_each(|(out, found)| {
            let weights = self.memory.weights_of(found);
            for (n, w) in found.iter().zip(&weights) {
                out[self.memory.targets[n.index] as usize] += w;
            }
            let total: f64 = out.iter().sum();
            // Only an all-zero row (impossible with finite weights) is left as it is, as scikit-learn.
            if total != 0.0 {
                out.iter_mut().for_each(|p| *p /= total);
            }
        });
        proba
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    pub fn n_features(&self) -> usize {
        self.memory.n_features
    }
}

impl KnnRegressor {
    /// Memorises rows `x` with targets `y`.
    ///
    /// # Errors
    /// Empty data, a `y` of the wrong length, a non-finite value in `x` or `y`, or a k of 0 or above the number
    /// of rows.
    pub fn fit(x: &Matrix, y: &[f64], p: &KnnParams) -> Result<Self, String> {
        if let Some(row) = y.iter().position(|t| !t.is_finite()) {
            return Err(format!("row {row} has a target that is NaN or infinite"));
        }
        Ok(KnnRegressor { memory: memorise(x, y, p)? })
    }

    /// The weighted mean target of each row's k neighbours.
    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        let neighbours = self.memory.neighbours(x);
        neighbours
            .par_iter()
            .map(|found| {
                let weights = self.memory.weights_of(found);
                let total: f64 = weights.iter().sum();
                let sum: f64 = found.iter().zip(&weights).map(|(n, w)| self.memory.targets[n.index] * w).sum();
                sum / total
            })
            .collect()
    }

    pub fn n_features(&self) -> usize {
        self.memory.n_features
    }
}

/// One training row found near a query: its squared distance and index.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Neighbour {
    distance_sq: f64,
    index: usize,
}

impl Eq for Neighbour {}

impl Ord for Neighbour {
    /// Nearer first, then the earlier row: the max-heap's top is the neighbour to drop first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance_sq.total_cmp(&other.distance_sq).then(self.index.cmp(&other.index))
    }
}

impl PartialOrd for Neighbour {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Query rows searched together: their heaps and the tile of training rows stay in cache.
const QUERY_TILE: usize = 32;
/// Blocks of training rows ([`LANES`] each) compared with a tile of queries before moving on.
const TRAIN_TILE_BLOCKS: usize = 64;

impl<T: Sync> Memory<T> {
    /// The k nearest training rows of every row of `x`, nearest first (ties: earlier row first).
    fn neighbours(&self, x: &Matrix) -> Vec<Vec<Neighbour>> {
        let train = BlockedRows::new(&self.rows, self.n_features);
        let n_features = self.n_features;
        let queries = x.as_slice();
        let n_queries = x.n_rows();
        (0..n_queries.div_ceil(QUERY_TILE))
            .into_par_iter()
            .flat_map_iter(|tile| {
                let rows = tile * QUERY_TILE..((tile + 1) * QUERY_TILE).min(n_queries);
                let tile_queries: Vec<&[f64]> = rows.map(|r| &queries[r * n_features..(r + 1) * n_features]).collect();
                self.search_tile(&train, &tile_queries)
            })
            .collect()
    }

    fn search_tile(&self, train: &BlockedRows, queries: &[&[f64]]) -> Vec<Vec<Neighbour>> {
        let mut heaps: Vec<BinaryHeap<Neighbour>> =
            queries.iter().map(|_| BinaryHeap::with_capacity(self.k + 1)).collect();
        for first_block in (0..train.n_blocks()).step_by(TRAIN_TILE_BLOCKS) {
            let blocks = first_block..(first_block + TRAIN_TILE_BLOCKS).min(train.n_blocks());
            for (query, heap) in queries.iter().zip(&mut heaps) {
                let mut bound = admission_bound(heap, self.k);
                for block in blocks.clone() {
                    let distances = train.squared_distances(block, query);
                    if !distances.iter().any(|&d| admits(bound, d)) {
                        continue;
                    }
                    for (lane, &distance_sq) in distances.iter().enumerate().take(train.lanes_in(block)) {
                        if admits(bound, distance_sq) {
                            offer(heap, self.k, Neighbour { distance_sq, index: block * LANES + lane });
                            bound = admission_bound(heap, self.k);
                        }
                    }
                }
            }
        }
        heaps.into_iter().map(BinaryHeap::into_sorted_vec).collect()
    }

    /// The weight of each neighbour (scikit-learn's `_get_weights`).
    fn weights_of(&self, found: &[Neighbour]) -> Vec<f64> {
        match self.weights {
            Weights::Uniform => vec![1.0; found.len()],
            Weights::Distance => {
                if found.iter().any(|n| n.distance_sq == 0.0) {
                    found.iter().map(|n| if n.distance_sq == 0.0 { 1.0 } else { 0.0 }).collect()
                } else {
                    found.iter().map(|n| 1.0 / n.distance_sq.sqrt()).collect()
                }
            }
        }
    }
}

/// The squared distance a row must beat to enter a heap of the `k` nearest, or `None` while it has room:
/// candidates come in row order, so one at the same distance as the current k-th is a later row and loses the
/// tie.
fn admission_bound(heap: &BinaryHeap<Neighbour>, k: usize) -> Option<f64> {
    heap.peek().filter(|_| heap.len() >= k).map(|worst| worst.distance_sq)
}

/// Whether a row at `distance_sq` may enter the heap; a quick filter before [`offer`]. NaN passes (`offer`
/// ranks it after every number).
fn admits(bound: Option<f64>, distance_sq: f64) -> bool {
    bound.is_none_or(|b| distance_sq < b || distance_sq.is_nan())
}

/// Keeps `candidate` if it is among the `k` nearest seen so far. Candidates arrive in row order, so one at
/// the same distance as the current k-th is later and loses the tie.
fn offer(heap: &mut BinaryHeap<Neighbour>, k: usize, candidate: Neighbour) {
    if heap.len() < k {
        heap.push(candidate);
    } else if let Some(mut worst) = heap.peek_mut() {
        if candidate < *worst {
            *worst = candidate;
        }
    }
}

/// Reference rows compared with a query at a time; 8 f64 fill two AVX or four SSE registers.
pub(crate) const LANES: usize = 8;

/// Reference rows (training rows, cluster centres) regrouped for distance computations: block `b` holds rows
/// `b * LANES..` feature-major, so value `f` of its row `l` is at `(b * n_features + f) * LANES + l`. The last
/// block is padded with zeros; [`BlockedRows::lanes_in`] says how many of its lanes are real.
pub(crate) struct BlockedRows {
    n_rows: usize,
    n_features: usize,
    data: Vec<f64>,
}

impl BlockedRows {
    /// Regroups `rows`, row-major with `n_features` values per row.
    pub(crate) fn new(rows: &[f64], n_features: usize) -> Self {
        let n_rows = rows.len().checked_div(n_features).unwrap_or(0);
        let n_blocks = n_rows.div_ceil(LANES);
        let mut data = vec![0.0; n_blocks * n_features * LANES];
        for (r, row) in rows.chunks_exact(n_features.max(1)).enumerate() {
            let (block, lane) = (r / LANES, r % LANES);
            for (f, &v) in row.iter().enumerate() {
                data[(block * n_features + f) * LANES + lane] = v;
            }
        }
        BlockedRows { n_rows, n_features, data }
    }

    pub(crate) fn n_blocks(&self) -> usize {
        self.n_rows.div_ceil(LANES)
    }

    /// Real rows in `block` (fewer than [`LANES`] only in the last one).
    pub(crate) fn lanes_in(&self, block: usize) -> usize {
        (self.n_rows - block * LANES).min(LANES)
    }

    /// Squared Euclidean distances from `query` to the rows of `block`, each summed over the features in order
    /// (so a distance is the same number whichever block or lane its row sits in). Padding lanes are garbage.
    pub(crate) fn squared_distances(&self, block: usize, query: &[f64]) -> [f64; LANES] {
        let mut acc = [0.0; LANES];
        let block_data = &self.data[block * self.n_features * LANES..(block + 1) * self.n_features * LANES];
        for (column, &q) in block_data.chunks_exact(LANES).zip(query) {
            for (a, &v) in acc.iter_mut().zip(column) {
                let d = q - v;
                *a += d * d;
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../tests/fixtures/other/neighbors.json");

    fn matrix(v: &Value) -> Matrix {
        let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
        let n_cols = rows[0].len();
        Matrix::from_row_major(rows.len(), n_cols, rows.concat())
    }

    fn floats(v: &Value) -> Vec<f64> {
        serde_json::from_value(v.clone()).unwrap()
    }

    fn weights(name: &str) -> Weights {
        match name {
            "uniform" => Weights::Uniform,
            "distance" => Weights::Distance,
            other => panic!("unknown weights {other}"),
        }
    }

    fn assert_close(actual: &[f64], expected: &[f64], tol: f64, what: &str) {
        assert_eq!(actual.len(), expected.len(), "{what}: lengths");
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!((a - e).abs() <= tol * (1.0 + e.abs()), "{what}[{i}]: {a} vs scikit-learn {e}");
        }
    }

    #[test]
    fn classifier_matches_scikit_learn() {
        let doc: Value = serde_json::from_str(FIXTURE).unwrap();
        let data = &doc["classification"];
        let (x, q) = (matrix(&data["x_train"]), matrix(&data["x_query"]));
        let y: Vec<u32> = serde_json::from_value(data["y_train"].clone()).unwrap();
        let n_classes = data["n_classes"].as_u64().unwrap() as usize;
        for case in data["cases"].as_array().unwrap() {
            let p = KnnParams {
                k: case["k"].as_u64().unwrap() as usize,
                weights: weights(case["weights"].as_str().unwrap()),
            };
            let model = KnnClassifier::fit(&x, &y, n_classes, &p).unwrap();
            let what = format!("proba k={} {:?}", p.k, p.weights);
            assert_close(&model.predict_proba(&q), &floats(&case["proba"]), 1e-12, &what);
        }
    }

    #[test]
    fn regressor_matches_scikit_learn() {
        let doc: Value = serde_json::from_str(FIXTURE).unwrap();
        let data = &doc["regression"];
        let (x, q) = (matrix(&data["x_train"]), matrix(&data["x_query"]));
        let y = floats(&data["y_train"]);
        for case in data["cases"].as_array().unwrap() {
            let p = KnnParams {
                k: case["k"].as_u64().unwrap() as usize,
                weights: weights(case["weights"].as_str().unwrap()),
            };
            let model = KnnRegressor::fit(&x, &y, &p).unwrap();
            let what = format!("predict k={} {:?}", p.k, p.weights);
            assert_close(&model.predict(&q), &floats(&case["predict"]), 1e-12, &what);
        }
    }

    /// Four training points on a line; the query at 1.5 is equidistant from rows 1 and 2.
    fn line() -> (Matrix, Vec<u32>) {
        (Matrix::from_row_major(4, 1, vec![0.0, 1.0, 2.0, 3.0]), vec![0, 1, 2, 3])
    }

    #[test]
    fn ties_keep_the_earlier_training_row() {
        let (x, y) = line();
        let model = KnnClassifier::fit(&x, &y, 4, &KnnParams { k: 1, weights: Weights::Uniform }).unwrap();
        let proba = model.predict_proba(&Matrix::from_row_major(1, 1, vec![1.5]));
        assert_eq!(proba, vec![0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn a_zero_distance_takes_all_the_weight() {
        let (x, y) = line();
        let model = KnnClassifier::fit(&x, &y, 4, &KnnParams { k: 3, weights: Weights::Distance }).unwrap();
        let proba = model.predict_proba(&Matrix::from_row_major(1, 1, vec![2.0]));
        assert_eq!(proba, vec![0.0, 0.0, 1.0, 0.0]);
        let reg =
            KnnRegressor::fit(&x, &[10.0, 20.0, 30.0, 40.0], &KnnParams { k: 2, weights: Weights::Distance }).unwrap();
        assert_eq!(reg.predict(&Matrix::from_row_major(2, 1, vec![2.0, 0.5])), vec![30.0, 15.0]);
    }

    #[test]
    fn a_nan_query_does_not_panic() {
        let (x, y) = line();
        let q = Matrix::from_row_major(2, 1, vec![f64::NAN, 1.0]);
        for weights in [Weights::Uniform, Weights::Distance] {
            let p = KnnParams { k: 2, weights };
            let proba = KnnClassifier::fit(&x, &y, 4, &p).unwrap().predict_proba(&q);
            assert_eq!(proba.len(), 8);
            let reg = KnnRegressor::fit(&x, &[1.0, 2.0, 3.0, 4.0], &p).unwrap().predict(&q);
            assert_eq!(reg.len(), 2);
        }
    }

    #[test]
    fn unseen_classes_get_zero_probability() {
        let (x, _) = line();
        let model = KnnClassifier::fit(&x, &[0, 0, 2, 2], 3, &KnnParams { k: 4, weights: Weights::Uniform }).unwrap();
        assert_eq!(model.predict_proba(&Matrix::from_row_major(1, 1, vec![7.0])), vec![0.5, 0.0, 0.5]);
    }

    #[test]
    fn bad_input_is_an_error() {
        let (x, y) = line();
        let p = KnnParams::default();
        let err = KnnClassifier::fit(&x, &y, 4, &p).unwrap_err();
        assert!(err.contains("k = 5") && err.contains("there are 4"), "{err}");
        assert!(KnnClassifier::fit(&x, &y, 4, &KnnParams { k: 0, ..p }).is_err());
        assert!(KnnClassifier::fit(&x, &y, 3, &KnnParams { k: 1, ..p }).is_err());
        assert!(KnnClassifier::fit(&x, &y[..3], 4, &KnnParams { k: 1, ..p }).is_err());
        assert!(KnnRegressor::fit(&x, &[1.0, 2.0, f64::NAN, 3.0], &KnnParams { k: 1, ..p }).is_err());
        let nan = Matrix::from_row_major(2, 1, vec![0.0, f64::NAN]);
        assert!(KnnRegressor::fit(&nan, &[1.0, 2.0], &KnnParams { k: 1, ..p }).is_err());
        let empty = Matrix::from_row_major(0, 1, vec![]);
        assert!(KnnRegressor::fit(&empty, &[], &KnnParams { k: 1, ..p }).is_err());
    }

    #[test]
    fn round_trips_and_rejects_inconsistent_models() {
        let (x, y) = line();
        let p = KnnParams { k: 2, weights: Weights::Distance };
        let model = KnnClassifier::fit(&x, &y, 4, &p).unwrap();
        let bytes = postcard::to_allocvec(&model).unwrap();
        assert_eq!(postcard::from_bytes::<KnnClassifier>(&bytes).unwrap(), model);

        let mut bad = model.clone();
        bad.memory.rows.pop();
        assert!(postcard::from_bytes::<KnnClassifier>(&postcard::to_allocvec(&bad).unwrap()).is_err());
        let mut bad = model.clone();
        bad.memory.k = 5;
        assert!(postcard::from_bytes::<KnnClassifier>(&postcard::to_allocvec(&bad).unwrap()).is_err());
        let mut bad = model.clone();
        bad.n_classes = 3;
        assert!(postcard::from_bytes::<KnnClassifier>(&postcard::to_allocvec(&bad).unwrap()).is_err());
        let mut bad = model.clone();
        bad.n_classes = usize::MAX;
        assert!(postcard::from_bytes::<KnnClassifier>(&postcard::to_allocvec(&bad).unwrap()).is_err());
        let mut bad = model;
        bad.memory.rows[0] = f64::INFINITY;
        assert!(postcard::from_bytes::<KnnClassifier>(&postcard::to_allocvec(&bad).unwrap()).is_err());

        let reg = KnnRegressor::fit(&x, &[1.0, 2.0, 3.0, 4.0], &p).unwrap();
        let bytes = postcard::to_allocvec(&reg).unwrap();
        assert_eq!(postcard::from_bytes::<KnnRegressor>(&bytes).unwrap(), reg);
        let mut bad = reg;
        bad.memory.targets[1] = f64::NAN;
        assert!(postcard::from_bytes::<KnnRegressor>(&postcard::to_allocvec(&bad).unwrap()).is_err());
        // Truncated bytes must fail, not panic.
        for cut in 0..bytes.len() {
            assert!(postcard::from_bytes::<KnnRegressor>(&bytes[..cut]).is_err());
        }
    }

    #[test]
    fn blocked_distances_are_exact_sums() {
        let rows: Vec<f64> = (0..(2 * LANES + 3) * 3).map(|i| f64::from(i as u32) * 0.37 - 5.0).collect();
        let blocked = BlockedRows::new(&rows, 3);
        let query = [0.5, -1.25, 2.0];
        assert_eq!(blocked.n_blocks(), 3);
        assert_eq!(blocked.lanes_in(2), 3);
        for (r, row) in rows.chunks_exact(3).enumerate() {
            let expected: f64 = row.iter().zip(&query).map(|(a, b)| (b - a) * (b - a)).fold(0.0, |s, d| s + d);
            assert_eq!(blocked.squared_distances(r / LANES, &query)[r % LANES], expected);
        }
    }

    #[test]
    fn same_predictions_for_any_thread_count() {
        let doc: Value = serde_json::from_str(FIXTURE).unwrap();
        let data = &doc["regression"];
        let (x, q) = (matrix(&data["x_train"]), matrix(&data["x_query"]));
        let model = KnnRegressor::fit(&x, &floats(&data["y_train"]), &KnnParams::default()).unwrap();
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let a = one.install(|| model.predict(&q));
        let b = three.install(|| model.predict(&q));
        assert_eq!(a, b);
    }

    /// Speed check, run with `cargo test --release -- --ignored knn_speed`: 20k × 20k × 20.
    #[test]
    #[ignore = "timing, not correctness"]
    #[allow(clippy::print_stderr)] // The timing is what this test is for.
    fn knn_speed() {
        let mut rng = crate::rng::Rng::new(1);
        let n = 20_000;
        let x = Matrix::from_row_major(n, 20, (0..n * 20).map(|_| rng.normal()).collect());
        let q = Matrix::from_row_major(n, 20, (0..n * 20).map(|_| rng.normal()).collect());
        let y: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
        let model = KnnClassifier::fit(&x, &y, 3, &KnnParams::default()).unwrap();
        let start = std::time::Instant::now();
        let proba = model.predict_proba(&q);
        let elapsed = start.elapsed();
        assert_eq!(proba.len(), n * 3);
        assert!(elapsed.as_secs() < 30, "{elapsed:?}");
        eprintln!("20k x 20k x 20 kNN: {elapsed:?}");
    }
}
