//! The silhouette score (scikit-learn's `silhouette_score`, Euclidean) and the `k=auto` search it scores.

use rayon::prelude::*;

use super::{check_data, count_distinct_rows, KMeans, KMeansParams};
use crate::data::matrix::Matrix;
use crate::models::neighbors::{BlockedRows, LANES};
use crate::rng::Rng;

/// scikit-learn's `silhouette_score` with the Euclidean metric: the mean over rows of `(b - a) / max(a, b)`,
/// `a` the mean distance to the other rows of the row's cluster and `b` the smallest mean distance to the rows
/// of another cluster; a row alone in its cluster scores 0. With `sample_size = Some(n)` and `n` below the
/// number of rows, computed on `n` rows drawn without replacement with `Rng::new(seed)` (as scikit-learn's
/// `sample_size` and `random_state`); exact otherwise. O(rows²), parallel over rows.
///
/// # Errors
/// `labels` of the wrong length or with a label of `k` or more, non-finite data, or fewer than 2 clusters (or
/// as many clusters as rows) among the rows scored.
pub fn silhouette_score(
    x: &Matrix,
    labels: &[u32],
    k: usize,
    sample_size: Option<usize>,
    seed: u64,
) -> Result<f64, String> {
    if labels.len() != x.n_rows() {
        return Err(format!("the data has {} rows but {} cluster labels", x.n_rows(), labels.len()));
    }
    if let Some((row, label)) = labels.iter().enumerate().find(|&(_, &c)| c as usize >= k) {
        return Err(format!("row {row} has cluster {label}, but there are only {k} clusters"));
    }
    check_data(x)?;
    let rows: Vec<usize> = match sample_size {
        Some(size) if size < x.n_rows() => {
            let mut order: Vec<usize> = (0..x.n_rows()).collect();
            Rng::new(seed).shuffle(&mut order);
            order.truncate(size);
            order
        }
        _ => (0..x.n_rows()).collect(),
    };
    let sample = x.select_rows(&rows);
    let sample_labels: Vec<usize> = rows.iter().map(|&r| labels[r] as usize).collect();
    let mut sizes = vec![0usize; k];
    sample_labels.iter().for_each(|&c| sizes[c] += 1);
    let n_clusters = sizes.iter().filter(|&&s| s > 0).count();
    if n_clusters < 2 || n_clusters >= rows.len() {
        return Err(format!(
            "the silhouette needs from 2 clusters to one fewer than the rows: {n_clusters} clusters among {} rows",
            rows.len()
        ));
    }
    let blocked = BlockedRows::new(sample.as_slice(), sample.n_cols());
    let scores: Vec<f64> = (0..rows.len())
        .into_par_iter()
        .map(|i| silhouette_of(&blocked, sample.row(i), sample_labels[i], &sample_labels, &sizes))
        .collect();
    Ok(scores.iter().sum::<f64>() / rows.len() as f64)
}

/// The silhouette of one row of cluster `own` against all the rows in `blocked`.
pub(super) fn silhouette_of(blocked: &BlockedRows, row: &[f64], own: usize, labels: &[usize], sizes: &[usize]) -> f64 {
    let mut distance_sums = vec![0.0; sizes.len()];
    for block in 0..blocked.n_blocks() {
        let distances = blocked.squared_distances(block, row);
        for (lane, &d) in distances.iter().enumerate().take(blocked.lanes_in(block)) {
            distance_sums[labels[block * LANES + lane]] += d.sqrt();
        }
    }
    if sizes[own] < 2 {
        return 0.0;
    }
    let a = distance_sums[own] / (sizes[own] - 1) as f64;
    let b = (0..sizes.len())
        .filter(|&c| c != own && sizes[c] > 0)
        .map(|c| distance_sums[c] / sizes[c] as f64)
        .fold(f64::INFINITY, f64::min);
    let s = (b - a) / a.max(b);
    // 0 / 0 when the row and both clusters coincide: scikit-learn's nan_to_num makes it 0.
    if s.is_nan() {
        0.0
    } else {
        s
    }
}

/// One row of [`choose_k`]'s table: (k, silhouette, inertia).
pub type KScore = (usize, f64, f64);

/// Rows the silhouette is computed on at most by [`choose_k`].
pub(super) const CHOOSE_K_SAMPLE: usize = 5000;

/// `k=auto`: fits k = `lo..=hi` (capped by the number of rows minus 1 and of distinct rows) with the other
/// params of `base`, scores each by silhouette (on a sample of at most 5,000 rows, the same for every k) and
/// returns the best k (ties: the smaller) with the table of (k, silhouette, inertia).
///
/// # Errors
/// A `lo` below 2 or above the capped `hi`, or any error of [`KMeans::fit`].
pub fn choose_k(x: &Matrix, lo: usize, hi: usize, base: &KMeansParams) -> Result<(usize, Vec<KScore>), String> {
    check_data(x)?;
    let cap = hi.min(x.n_rows().saturating_sub(1));
    let cap = count_distinct_rows(x, cap);
    if lo < 2 || lo > cap {
        return Err(format!(
            "choosing k needs 2 <= lo <= hi with hi below the number of (distinct) rows: lo = {lo}, hi = {hi}, \
             at most {cap} here"
        ));
    }
    let sample = (x.n_rows() > CHOOSE_K_SAMPLE).then_some(CHOOSE_K_SAMPLE);
    let mut table = Vec::with_capacity(cap - lo + 1);
    for k in lo..=cap {
        let model = KMeans::fit(x, &KMeansParams { k, ..*base })?;
        let score = silhouette_score(x, model.labels(), k, sample, base.seed)?;
        table.push((k, score, model.inertia()));
    }
    let best = table.iter().fold(table[0], |best, &row| if row.1 > best.1 { row } else { best });
    Ok((best.0, table))
}
