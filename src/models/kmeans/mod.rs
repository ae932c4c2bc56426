//! k-means clustering: scikit-learn's `KMeans` (1.9.1) with `init="k-means++"`, `algorithm="lloyd"` and no
//! sample weights; with its `silhouette_score` and a `k=auto` search over k scored by silhouette.
//!
//! The algorithm follows scikit-learn step by step, so that the same initial centres give the same iterations:
//! greedy k-means++ (`2 + ⌊ln k⌋` candidates per centre, the one that lowers the potential most kept), Lloyd
//! iterations that stop on identical labels ("strict convergence") or when the total squared shift of the
//! centres is at most `tol × the mean variance of the features`, a last assignment to the final centres when
//! stopped by the tolerance or `max_iter`, and `n_init` restarts of which the lowest inertia wins (an equal or
//! same-partition inertia keeps the earlier run). The random numbers are ours, not numpy's: run `i` draws from
//! `Rng::derive(seed, i)`, so the initial centres, though drawn by the same rule, are not scikit-learn's.
//!
//! Where we differ from scikit-learn, deliberately:
//! - `k` above the number of distinct rows is an error (scikit-learn warns and returns duplicate centres).
//! - An empty cluster takes the farthest rows from their centres as scikit-learn, the farthest to the lowest
//!   empty cluster, ties by lower row index (scikit-learn's order among those rows is unspecified).
//! - Distances are summed `(a - b)²` feature by feature rather than through `‖a‖² - 2a·b + ‖b‖²`, and the data
//!   is not centred first (scikit-learn centres it for that formula's sake): assignments can differ only for
//!   a row equidistant from two centres to rounding, where ours goes to the lower centre.
//!
//! The Lloyd iterations skip, with Hamerly's distance bounds, the rows whose centre provably stays the nearest
//! (with a margin far above rounding), so they give exactly the labels and centres of computing every distance,
//! only faster once the centres settle. Rows are assigned in parallel in fixed chunks whose sums are added in
//! chunk order, so a model is the same bit for bit for any thread count.

//!
//! The parts: `init` (k-means++), `lloyd` (the iterations and assignments), `silhouette` (the score and the
//! `k=auto` search).

mod init;
mod lloyd;
mod silhouette;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use self::init::kmeans_plus_plus;
use self::lloyd::{assign, lloyd, Run};
pub use self::silhouette::{choose_k, silhouette_score, KScore};
use super::neighbors::BlockedRows;
use crate::data::matrix::Matrix;
use crate::rng::Rng;

/// k-means hyperparameters. `Default` is scikit-learn's `KMeans(n_clusters=8, n_init=10, max_iter=300,
/// tol=1e-4)` with seed 42; `n_init=10` is scikit-learn's value before 1.4, when "auto" (1 run for k-means++)
/// became the default, kept because ten restarts are cheap here and find better optima.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KMeansParams {
    pub k: usize,
    /// Restarts from new k-means++ centres; the lowest inertia is kept.
    pub n_init: usize,
    /// Lloyd iterations per restart at most.
    pub max_iter: usize,
    /// Convergence tolerance, relative to the mean variance of the features.
    pub tol: f64,
    pub seed: u64,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams { k: 8, n_init: 10, max_iter: 300, tol: 1e-4, seed: 42 }
    }
}

impl KMeansParams {
    fn validate(&self) -> Result<(), String> {
        if self.k == 0 {
            return Err("k-means needs k of at least 1".to_owned());
        }
        if self.n_init == 0 {
            return Err("k-means needs n_init of at least 1".to_owned());
        }
        if self.max_iter == 0 {
            return Err("k-means needs max_iter of at least 1".to_owned());
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(format!("k-means tol must be a finite number of at least 0, not {}", self.tol));
        }
        Ok(())
    }
}

/// A fitted k-means model: the centres, and how well they fit the training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedKMeans")]
pub struct KMeans {
    k: usize,
    n_features: usize,
    /// Row-major `k × n_features`.
    centers: Vec<f64>,
    /// Sum of squared distances of the training rows to their centres.
    inertia: f64,
    /// Lloyd iterations of the winning run.
    n_iter: usize,
    /// The training rows' clusters: only for the caller that fitted the model (they would make the artifact
    /// as large as the data), empty after loading.
    #[serde(skip)]
    labels: Vec<u32>,
}

/// What the deserialiser reads before `TryFrom` checks it: prediction indexes the centres by `k` and
/// `n_features`.
#[derive(Deserialize)]
struct UncheckedKMeans {
    k: usize,
    n_features: usize,
    centers: Vec<f64>,
    inertia: f64,
    n_iter: usize,
}

impl TryFrom<UncheckedKMeans> for KMeans {
    type Error = String;

    fn try_from(raw: UncheckedKMeans) -> Result<Self, String> {
        if raw.k == 0 || raw.n_features == 0 || raw.k.checked_mul(raw.n_features) != Some(raw.centers.len()) {
            return Err(format!(
                "a k-means model needs k × n_features centre values: {} for k = {} and {} features",
                raw.centers.len(),
                raw.k,
                raw.n_features
            ));
        }
        if raw.centers.iter().any(|c| !c.is_finite()) || !(raw.inertia >= 0.0 && raw.inertia.is_finite()) {
            return Err("k-means centres and inertia must be finite (and the inertia at least 0)".to_owned());
        }
        Ok(KMeans {
            k: raw.k,
            n_features: raw.n_features,
            centers: raw.centers,
            inertia: raw.inertia,
            n_iter: raw.n_iter,
            labels: Vec::new(),
        })
    }
}

impl KMeans {
    /// Clusters the rows of `x` into `p.k` clusters.
    ///
    /// # Errors
    /// Empty data, a value in `x` that is NaN or infinite, invalid params, or a k above the number of distinct
    /// rows.
    pub fn fit(x: &Matrix, p: &KMeansParams) -> Result<Self, String> {
        p.validate()?;
        check_data(x)?;
        let distinct = count_distinct_rows(x, p.k);
        if distinct < p.k {
            return Err(format!(
                "k-means with k = {} needs at least {} distinct rows, but the data has {distinct}",
                p.k, p.k
            ));
        }
        let tolerance = absolute_tolerance(x, p.tol);
        let mut best: Option<Run> = None;
        for run in 0..p.n_init {
            let mut rng = Rng::derive(p.seed, run as u64);
            let init = kmeans_plus_plus(x, p.k, &mut rng);
            let candidate = lloyd(x, init, p.k, p.max_iter, tolerance);
            // scikit-learn's rule: only a strictly lower inertia with a different partition replaces the best.
            let better = best
                .as_ref()
                .is_none_or(|b| candidate.inertia < b.inertia && !same_partition(&candidate.labels, &b.labels, p.k));
            if better {
                best = Some(candidate);
            }
        }
        let best = best.ok_or("k-means ran no initialisation")?;
        Ok(KMeans {
            k: p.k,
            n_features: x.n_cols(),
            centers: best.centers,
            inertia: best.inertia,
            n_iter: best.n_iter,
            labels: best.labels,
        })
    }

    /// The nearest centre of each row (ties go to the lower centre).
    pub fn predict(&self, x: &Matrix) -> Vec<u32> {
        let mut labels = vec![0; x.n_rows()];
        let mut nearest = vec![0.0; x.n_rows()];
        assign(x, &BlockedRows::new(&self.centers, self.n_features), self.k, &mut labels, &mut nearest);
        labels
    }

    /// The centres, row-major `k × n_features`.
    pub fn centers(&self) -> &[f64] {
        &self.centers
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Sum of squared distances of the training rows to their nearest centre.
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Lloyd iterations the kept run took.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// The training rows' clusters; empty for a model loaded from an artifact (they are not stored).
    pub fn labels(&self) -> &[u32] {
        &self.labels
    }

    /// Between-cluster sum of squares per feature / total sum of squares per feature, normalised to sum to 1:
    /// how much each feature separates the segments. The cluster means are those of `x` by `labels`; rows
    /// past the shorter of the two, or with a label of `k` or more, are left out. A feature constant over the
    /// rows scores 0; all zeros if no feature separates anything.
    pub fn feature_importances(&self, x: &Matrix, labels: &[u32]) -> Vec<f64> {
        let d = self.n_features;
        let rows: Vec<(usize, usize)> = labels
            .iter()
            .enumerate()
            .take(x.n_rows())
            .filter(|&(_, &c)| (c as usize) < self.k)
            .map(|(r, &c)| (r, c as usize))
            .collect();
        let mut counts = vec![0usize; self.k];
        let mut sums = vec![0.0; self.k * d];
        let mut total = vec![0.0; d];
        for &(r, c) in &rows {
            counts[c] += 1;
            for (f, &v) in x.row(r).iter().take(d).enumerate() {
                sums[c * d + f] += v;
                total[f] += v;
            }
        }
        let n = rows.len().max(1) as f64;
        let grand_mean: Vec<f64> = total.iter().map(|t| t / n).collect();
        let mut total_ss = vec![0.0; d];
        for &(r, _) in &rows {
            for (f, &v) in x.row(r).iter().take(d).enumerate() {
                total_ss[f] += (v - grand_mean[f]).powi(2);
            }
        }
        let ratios: Vec<f64> = (0..d)
            .map(|f| {
                let between: f64 = (0..self.k)
                    .filter(|&c| counts[c] > 0)
                    .map(|c| counts[c] as f64 * (sums[c * d + f] / counts[c] as f64 - grand_mean[f]).powi(2))
                    .sum();
                if total_ss[f] > 0.0 {
                    between / total_ss[f]
                } else {
                    0.0
                }
            })
            .collect();
        normalised(ratios)
    }

    /// Euclidean distance from `row` to each centre (for explaining an assignment).
    pub fn distances(&self, row: &[f64]) -> Vec<f64> {
        self.centers
            .chunks_exact(self.n_features)
            .map(|c| c.iter().zip(row).map(|(a, b)| (b - a) * (b - a)).sum::<f64>().sqrt())
            .collect()
    }
}

/// Scales `values` to sum to 1, or leaves them as they are (all zeros) if they sum to 0.
fn normalised(mut values: Vec<f64>) -> Vec<f64> {
    let sum: f64 = values.iter().sum();
    if sum > 0.0 {
        values.iter_mut().for_each(|v| *v /= sum);
    }
    values
}

fn check_data(x: &Matrix) -> Result<(), String> {
    if x.n_rows() == 0 || x.n_cols() == 0 {
        return Err("cannot cluster data with no rows or no features".to_owned());
    }
    if let Some(i) = x.as_slice().iter().position(|v| !v.is_finite()) {
        return Err(format!("row {} column {} is NaN or infinite", i / x.n_cols(), i % x.n_cols()));
    }
    Ok(())
}

/// The number of distinct rows of `x`, counted up to `limit` (where counting stops: it is all `fit` needs).
/// `-0.0` and `0.0` are the same value.
fn count_distinct_rows(x: &Matrix, limit: usize) -> usize {
    let mut seen: HashSet<Vec<u64>> = HashSet::new();
    for r in 0..x.n_rows() {
        if seen.len() >= limit {
            break;
        }
        seen.insert(x.row(r).iter().map(|&v| (v + 0.0).to_bits()).collect());
    }
    seen.len()
}

/// scikit-learn's `_tolerance`: `tol` times the mean over features of their (population) variance.
fn absolute_tolerance(x: &Matrix, tol: f64) -> f64 {
    if tol == 0.0 {
        return 0.0;
    }
    let n = x.n_rows() as f64;
    let mean_variance = (0..x.n_cols())
        .map(|f| {
            let column = x.column(f);
            let mean = column.iter().sum::<f64>() / n;
            column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n
        })
        .sum::<f64>()
        / x.n_cols() as f64;
    tol * mean_variance
}

/// Whether two labellings are the same partition up to renaming the clusters (scikit-learn's
/// `_is_same_clustering`: one direction of the mapping, as there).
fn same_partition(a: &[u32], b: &[u32], k: usize) -> bool {
    let mut mapping = vec![u32::MAX; k];
    for (&la, &lb) in a.iter().zip(b) {
        let slot = &mut mapping[la as usize];
        if *slot == u32::MAX {
            *slot = lb;
        } else if *slot != lb {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::lloyd::{inertia, new_centers, squared_distance};
    use super::*;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/other/kmeans.json");

    fn fixture() -> Value {
        serde_json::from_str(FIXTURE).unwrap()
    }

    fn matrix(v: &Value) -> Matrix {
        let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
        let n_cols = rows[0].len();
        Matrix::from_row_major(rows.len(), n_cols, rows.concat())
    }

    fn labels(v: &Value) -> Vec<u32> {
        serde_json::from_value(v.clone()).unwrap()
    }

    fn floats(v: &Value) -> Vec<f64> {
        serde_json::from_value(v.clone()).unwrap()
    }

    /// Same partition both ways round (a bijection between the labels).
    fn same_clusters(a: &[u32], b: &[u32], k: usize) -> bool {
        same_partition(a, b, k) && same_partition(b, a, k)
    }

    fn relative_gap(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn blobs_give_scikit_learns_partition_and_inertia() {
        let doc = fixture();
        let blobs = &doc["blobs"];
        let x = matrix(&blobs["x"]);
        let model = KMeans::fit(&x, &KMeansParams { k: 4, ..KMeansParams::default() }).unwrap();
        assert!(same_clusters(model.labels(), &labels(&blobs["labels"]), 4));
        let expected = blobs["inertia"].as_f64().unwrap();
        assert!(relative_gap(model.inertia(), expected) < 1e-6, "{} vs {expected}", model.inertia());
        assert_eq!(model.predict(&x), model.labels());
    }

    #[test]
    fn iris_inertia_is_within_one_percent_of_scikit_learns() {
        let doc = fixture();
        let x = matrix(&doc["iris"]["x"]);
        for (k, fit) in doc["iris"]["fits"].as_object().unwrap() {
            let k: usize = k.parse().unwrap();
            let model = KMeans::fit(&x, &KMeansParams { k, ..KMeansParams::default() }).unwrap();
            let expected = fit["inertia"].as_f64().unwrap();
            assert!(relative_gap(model.inertia(), expected) < 0.01, "k = {k}: {} vs {expected}", model.inertia());
        }
    }

    #[test]
    fn lloyd_iterations_match_scikit_learn_from_the_same_start() {
        let doc = fixture();
        let x = matrix(&doc["iris"]["x"]);
        for case in doc["lloyd"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let init = floats(&case["init"]);
            let k = init.len() / x.n_cols();
            let max_iter = case["max_iter"].as_u64().unwrap() as usize;
            let tolerance = absolute_tolerance(&x, case["tol"].as_f64().unwrap());
            let run = lloyd(&x, init, k, max_iter, tolerance);
            assert_eq!(run.n_iter, case["n_iter"].as_u64().unwrap() as usize, "{name}: n_iter");
            assert_eq!(run.labels, labels(&case["labels"]), "{name}: labels");
            let expected = case["inertia"].as_f64().unwrap();
            assert!(relative_gap(run.inertia, expected) < 1e-12, "{name}: inertia {} vs {expected}", run.inertia);
            for (a, e) in run.centers.iter().zip(&floats(&case["centers"])) {
                assert!((a - e).abs() < 1e-12, "{name}: centre {a} vs {e}");
            }
        }
    }

    /// Lloyd computing every distance: what the bounded `lloyd` must reproduce exactly.
    fn plain_lloyd(x: &Matrix, init: Vec<f64>, k: usize, max_iter: usize, tolerance: f64) -> Run {
        let (n, d) = (x.n_rows(), x.n_cols());
        let (mut centers, mut labels, mut nearest) = (init, vec![u32::MAX; n], vec![0.0; n]);
        let mut previous = labels.clone();
        let mut n_iter = 0;
        let mut strict = false;
        for iteration in 0..max_iter {
            n_iter = iteration + 1;
            let (sums, counts) = assign(x, &BlockedRows::new(&centers, d), k, &mut labels, &mut nearest);
            let updated = new_centers(x, &centers, sums, counts, &labels);
            let shift: f64 = updated
                .chunks_exact(d)
                .zip(centers.chunks_exact(d))
                .map(|(a, b)| squared_distance(a, b).sqrt().powi(2))
                .sum();
            centers = updated;
            if labels == previous {
                strict = true;
                break;
            }
            if shift <= tolerance {
                break;
            }
            previous.copy_from_slice(&labels);
        }
        if !strict {
            assign(x, &BlockedRows::new(&centers, d), k, &mut labels, &mut nearest);
        }
        let inertia = inertia(x, &centers, &labels);
        Run { centers, labels, inertia, n_iter }
    }

    #[test]
    fn bounds_change_nothing() {
        let mut rng = Rng::new(21);
        let x = Matrix::from_row_major(2000, 3, (0..6000).map(|_| rng.normal()).collect());
        for (k, tol, far) in [(1, 1e-4, false), (3, 1e-4, false), (9, 0.0, false), (12, 1e-4, true), (20, 1e-6, true)] {
            let mut init = kmeans_plus_plus(&x, k, &mut Rng::new(k as u64));
            if far {
                // Two centres no row is nearest to: empty clusters to relocate.
                init[..6].copy_from_slice(&[50.0, 50.0, 50.0, -50.0, 50.0, 50.0]);
            }
            let tolerance = absolute_tolerance(&x, tol);
            let bounded = lloyd(&x, init.clone(), k, 300, tolerance);
            let plain = plain_lloyd(&x, init, k, 300, tolerance);
            assert_eq!(bounded.n_iter, plain.n_iter, "k = {k}");
            assert_eq!(bounded.labels, plain.labels, "k = {k}");
            assert_eq!(bounded.centers, plain.centers, "k = {k}");
            assert_eq!(bounded.inertia, plain.inertia, "k = {k}");
        }
    }

    #[test]
    fn silhouette_matches_scikit_learn() {
        let doc = fixture();
        for case in doc["silhouette"].as_array().unwrap() {
            let x = match case["data"].as_str().unwrap() {
                "iris" => matrix(&doc["iris"]["x"]),
                _ => matrix(&doc["blobs"]["x"]),
            };
            let k = case["k"].as_u64().unwrap() as usize;
            let score = silhouette_score(&x, &labels(&case["labels"]), k, None, 0).unwrap();
            let expected = case["score"].as_f64().unwrap();
            assert!((score - expected).abs() < 1e-9, "{score} vs {expected}");
            // A sample as large as the data is the exact score.
            assert_eq!(silhouette_score(&x, &labels(&case["labels"]), k, Some(x.n_rows()), 7).unwrap(), score);
        }
    }

    #[test]
    fn sampled_silhouette_is_close_and_seeded() {
        let doc = fixture();
        let x = matrix(&doc["iris"]["x"]);
        let case = &doc["silhouette"][0];
        let y = labels(&case["labels"]);
        let a = silhouette_score(&x, &y, 3, Some(100), 1).unwrap();
        assert_eq!(a, silhouette_score(&x, &y, 3, Some(100), 1).unwrap());
        assert_ne!(a, silhouette_score(&x, &y, 3, Some(100), 2).unwrap());
        assert!((a - case["score"].as_f64().unwrap()).abs() < 0.1);
    }

    #[test]
    fn silhouette_rejects_what_it_cannot_score() {
        let x = Matrix::from_row_major(3, 1, vec![0.0, 1.0, 2.0]);
        assert!(silhouette_score(&x, &[0, 0, 0], 1, None, 0).is_err());
        assert!(silhouette_score(&x, &[0, 1, 2], 3, None, 0).is_err());
        assert!(silhouette_score(&x, &[0, 1], 2, None, 0).is_err());
        assert!(silhouette_score(&x, &[0, 1, 5], 2, None, 0).is_err());
        assert!(silhouette_score(&x, &[0, 0, 1], 2, Some(1), 0).is_err());
        assert!(silhouette_score(&x, &[0, 0, 1], 2, None, 0).is_ok());
    }

    /// Three tight, well-apart groups in 2-D: the silhouette must pick k = 3.
    fn three_groups() -> Matrix {
        let mut rng = Rng::new(5);
        let centres = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)];
        let data: Vec<f64> = (0..90)
            .flat_map(|i| {
                let (cx, cy) = centres[i % 3];
                [cx + 0.5 * rng.normal(), cy + 0.5 * rng.normal()]
            })
            .collect();
        Matrix::from_row_major(90, 2, data)
    }

    #[test]
    fn choose_k_finds_the_groups() {
        let x = three_groups();
        let base = KMeansParams { n_init: 3, ..KMeansParams::default() };
        let (k, table) = choose_k(&x, 2, 10, &base).unwrap();
        assert_eq!(k, 3);
        assert_eq!(table.iter().map(|r| r.0).collect::<Vec<_>>(), (2..=10).collect::<Vec<_>>());
        assert!(table.windows(2).all(|w| w[1].2 <= w[0].2), "inertia falls with k: {table:?}");
        let small = Matrix::from_row_major(4, 1, vec![0.0, 1.0, 5.0, 6.0]);
        assert_eq!(choose_k(&small, 2, 10, &base).unwrap().1.len(), 2); // capped at rows - 1
        assert!(choose_k(&small, 1, 3, &base).is_err());
        assert!(choose_k(&small, 4, 10, &base).is_err());
    }

    #[test]
    fn importances_favour_the_separating_feature() {
        let x = three_groups();
        // A third, pure-noise column.
        let mut rng = Rng::new(9);
        let data: Vec<f64> = (0..90).flat_map(|r| [x.get(r, 0), x.get(r, 1), rng.normal()]).collect();
        let x = Matrix::from_row_major(90, 3, data);
        let model = KMeans::fit(&x, &KMeansParams { k: 3, ..KMeansParams::default() }).unwrap();
        let importances = model.feature_importances(&x, model.labels());
        assert!((importances.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(importances[2] < 0.01 && importances[0] > 0.4 && importances[1] > 0.4, "{importances:?}");
        // Out-of-range labels are left out rather than indexed.
        assert_eq!(model.feature_importances(&x, &[7; 90]), vec![0.0; 3]);
    }

    #[test]
    fn distances_and_predict_agree() {
        let x = three_groups();
        let model = KMeans::fit(&x, &KMeansParams { k: 3, n_init: 2, ..KMeansParams::default() }).unwrap();
        let predicted = model.predict(&x);
        for (r, &label) in predicted.iter().enumerate() {
            let d = model.distances(x.row(r));
            let nearest = (0..3).fold(0, |b, c| if d[c] < d[b] { c } else { b });
            assert_eq!(label as usize, nearest);
        }
        // Equidistant: the lower centre.
        let line = Matrix::from_row_major(2, 1, vec![0.0, 2.0]);
        let two = KMeans::fit(&line, &KMeansParams { k: 2, ..KMeansParams::default() }).unwrap();
        assert_eq!(two.predict(&Matrix::from_row_major(1, 1, vec![1.0])), vec![0]);
    }

    #[test]
    fn duplicates_limit_k() {
        let x = Matrix::from_row_major(5, 1, vec![1.0, 1.0, -0.0, 0.0, 1.0]);
        let err = KMeans::fit(&x, &KMeansParams { k: 3, ..KMeansParams::default() }).unwrap_err();
        assert!(err.contains("k = 3") && err.contains("has 2"), "{err}");
        let model = KMeans::fit(&x, &KMeansParams { k: 2, ..KMeansParams::default() }).unwrap();
        assert_eq!(model.inertia(), 0.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        let x = Matrix::from_row_major(3, 1, vec![0.0, 1.0, 2.0]);
        let p = KMeansParams { k: 2, ..KMeansParams::default() };
        assert!(KMeans::fit(&x, &KMeansParams { k: 0, ..p }).is_err());
        assert!(KMeans::fit(&x, &KMeansParams { n_init: 0, ..p }).is_err());
        assert!(KMeans::fit(&x, &KMeansParams { max_iter: 0, ..p }).is_err());
        assert!(KMeans::fit(&x, &KMeansParams { tol: -1.0, ..p }).is_err());
        assert!(KMeans::fit(&x, &KMeansParams { tol: f64::NAN, ..p }).is_err());
        assert!(KMeans::fit(&Matrix::from_row_major(0, 1, vec![]), &p).is_err());
        assert!(KMeans::fit(&Matrix::from_row_major(2, 1, vec![0.0, f64::INFINITY]), &p).is_err());
    }

    #[test]
    fn same_model_for_any_thread_count() {
        let mut rng = Rng::new(11);
        let x = Matrix::from_row_major(3000, 4, (0..12_000).map(|_| rng.normal()).collect());
        let p = KMeansParams { k: 5, n_init: 3, ..KMeansParams::default() };
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let a = one.install(|| KMeans::fit(&x, &p)).unwrap();
        let b = three.install(|| KMeans::fit(&x, &p)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.labels().len(), 3000);
    }

    #[test]
    fn round_trips_without_labels_and_rejects_inconsistent_models() {
        let x = three_groups();
        let model = KMeans::fit(&x, &KMeansParams { k: 3, n_init: 1, ..KMeansParams::default() }).unwrap();
        let bytes = postcard::to_allocvec(&model).unwrap();
        let loaded: KMeans = postcard::from_bytes(&bytes).unwrap();
        assert!(loaded.labels().is_empty());
        assert_eq!(KMeans { labels: model.labels.clone(), ..loaded.clone() }, model);
        assert_eq!(loaded.predict(&x), model.labels());
        let corruptions: [fn(&mut KMeans); 5] = [
            |m| m.k = 4,
            |m| m.n_features = 0,
            |m| m.centers[2] = f64::NAN,
            |m| m.inertia = -1.0,
            |m| m.centers.truncate(5),
        ];
        for corrupt in corruptions {
            let mut bad = model.clone();
            corrupt(&mut bad);
            assert!(postcard::from_bytes::<KMeans>(&postcard::to_allocvec(&bad).unwrap()).is_err(), "{bad:?}");
        }
        for cut in 0..bytes.len() {
            assert!(postcard::from_bytes::<KMeans>(&bytes[..cut]).is_err());
        }
    }

    /// Speed check, run with `cargo test --release -- --ignored kmeans_speed --nocapture`: k = 8, n_init 10,
    /// 100k rows × 12 columns (eight Gaussian groups, and pure noise).
    #[test]
    #[ignore = "timing, not correctness"]
    #[allow(clippy::print_stderr)] // The timing is what this test is for.
    fn kmeans_speed() {
        let mut rng = Rng::new(3);
        let (n, d) = (100_000, 12);
        let centres: Vec<f64> = (0..8 * d).map(|_| 3.0 * rng.normal()).collect();
        let grouped: Vec<f64> =
            (0..n).flat_map(|r| (0..d).map(|f| centres[(r % 8) * d + f] + rng.normal()).collect::<Vec<_>>()).collect();
        let noise: Vec<f64> = (0..n * d).map(|_| rng.normal()).collect();
        for (name, data) in [("groups", grouped), ("noise", noise)] {
            let x = Matrix::from_row_major(n, d, data);
            let start = std::time::Instant::now();
            let model = KMeans::fit(&x, &KMeansParams::default()).unwrap();
            let elapsed = start.elapsed();
            eprintln!("k-means {name} 100k x 12, k 8, n_init 10: {elapsed:?}, {} iterations", model.n_iter());
        }
    }
}
