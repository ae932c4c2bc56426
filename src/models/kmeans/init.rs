//! Greedy k-means++ initial centres, as scikit-learn's `_kmeans_plusplus`.

use rayon::prelude::*;

use super::lloyd::CHUNK;
use crate::data::matrix::Matrix;
use crate::rng::Rng;

/// Greedy k-means++ (scikit-learn's `_kmeans_plusplus`): the first centre is a uniformly drawn row; each
/// next one is the best of `2 + ⌊ln k⌋` rows drawn with probability proportional to their squared distance to
/// the nearest centre so far, best meaning the lowest resulting potential (sum of those squared distances).
pub(super) fn kmeans_plus_plus(x: &Matrix, k: usize, rng: &mut Rng) -> Vec<f64> {
    let n = x.n_rows();
    // ln k ≥ 0, and small.
    let n_trials = 2 + (k as f64).ln() as usize;
    let first = rng.below(n);
    let mut centers = x.row(first).to_vec();
    let mut closest = squared_distances_to(x, x.row(first), None);
    let mut potential: f64 = closest.iter().sum();
    for _ in 1..k {
        let cumulative: Vec<f64> = closest
            .iter()
            .scan(0.0, |sum, &d| {
                *sum += d;
                Some(*sum)
            })
            .collect();
        let candidates: Vec<usize> = (0..n_trials)
            .map(|_| {
                let target = rng.next_f64() * potential;
                // numpy's searchsorted (side "left"), clipped as scikit-learn for rounding at the end.
                cumulative.partition_point(|&c| c < target).min(n - 1)
            })
            .collect();
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for &candidate in &candidates {
            let distances = squared_distances_to(x, x.row(candidate), Some(&closest));
            let candidate_potential: f64 = distances.iter().sum();
            // The first of equal potentials, as numpy's argmin.
            if best.as_ref().is_none_or(|(p, _, _)| candidate_potential < *p) {
                best = Some((candidate_potential, candidate, distances));
            }
        }
        if let Some((p, row, distances)) = best {
            centers.extend_from_slice(x.row(row));
            closest = distances;
            potential = p;
        }
    }
    centers
}

/// Squared distance of every row of `x` to `point`, or the smaller of that and `floor[row]` if given.
pub(super) fn squared_distances_to(x: &Matrix, point: &[f64], floor: Option<&[f64]>) -> Vec<f64> {
    (0..x.n_rows())
        .into_par_iter()
        .with_min_len(CHUNK)
        .map(|r| {
            let d: f64 = x.row(r).iter().zip(point).map(|(a, b)| (a - b) * (a - b)).sum();
            floor.map_or(d, |f| d.min(f[r]))
        })
        .collect()
}
