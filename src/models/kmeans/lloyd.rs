//! Lloyd iterations with Hamerly's bounds, the assignment of rows to their nearest centres, and inertia:
//! parallel over fixed chunks of rows, their sums added in chunk order.

use rayon::prelude::*;

use crate::data::matrix::Matrix;
use crate::models::neighbors::{BlockedRows, LANES};

/// Rows per parallel task. Fixed, not derived from the thread count, so that sums come out the same.
pub(super) const CHUNK: usize = 256;

/// One k-means run's outcome.
pub(super) struct Run {
    pub(super) centers: Vec<f64>,
    pub(super) labels: Vec<u32>,
    pub(super) inertia: f64,
    pub(super) n_iter: usize,
}

/// Lloyd iterations from `init` (scikit-learn's `_kmeans_single_lloyd`).
///
/// Rows are assigned with Hamerly's bounds (`assign_bounded`), which skip the rows whose centre provably
/// stays the nearest: the labels, and so everything else, are those of computing every distance.
pub(super) fn lloyd(x: &Matrix, init: Vec<f64>, k: usize, max_iter: usize, tolerance: f64) -> Run {
    let (n, d) = (x.n_rows(), x.n_cols());
    let mut centers = init;
    let mut labels = vec![u32::MAX; n];
    let mut previous = labels.clone();
    let mut bounds = Bounds { upper: vec![f64::INFINITY; n], lower: vec![0.0; n] };
    let mut strict_convergence = false;
    let mut n_iter = 0;
    for iteration in 0..max_iter {
        n_iter = iteration + 1;
        let (sums, counts) = assign_bounded(x, &centers, k, &mut labels, &mut bounds);
        let updated = new_centers(x, &centers, sums, counts, &labels);
        // scikit-learn's center_shift_tot: the squares of the Euclidean moves, summed.
        let moves: Vec<f64> =
            updated.chunks_exact(d).zip(centers.chunks_exact(d)).map(|(a, b)| squared_distance(a, b).sqrt()).collect();
        let shift: f64 = moves.iter().map(|m| m * m).sum();
        bounds.loosen(&labels, &moves);
        centers = updated;
        if labels == previous {
            strict_convergence = true;
            break;
        }
        if shift <= tolerance {
            break;
        }
        previous.copy_from_slice(&labels);
    }
    if !strict_convergence {
        // The labels must be those of the final centres.
        let mut nearest = vec![0.0; n];
        assign(x, &BlockedRows::new(&centers, d), k, &mut labels, &mut nearest);
    }
    let inertia = inertia(x, &centers, &labels);
    Run { centers, labels, inertia, n_iter }
}

pub(super) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

/// Hamerly's per-row bounds on Euclidean (not squared) distances: `upper` is at least the distance from the
/// row to its centre, `lower` at most the distance to any other centre. Both start uninformative.
pub(super) struct Bounds {
    pub(super) upper: Vec<f64>,
    pub(super) lower: Vec<f64>,
}

impl Bounds {
    /// Keeps the bounds true after each centre `j` moved by `moves[j]` (triangle inequality).
    fn loosen(&mut self, labels: &[u32], moves: &[f64]) {
        let (mut largest, mut runner_up, mut largest_at) = (0.0, 0.0, usize::MAX);
        for (j, &m) in moves.iter().enumerate() {
            if m > largest {
                (runner_up, largest, largest_at) = (largest, m, j);
            } else if m > runner_up {
                runner_up = m;
            }
        }
        self.upper.par_iter_mut().zip(self.lower.par_iter_mut()).zip(labels).with_min_len(CHUNK).for_each(
            |((upper, lower), &label)| {
                let own = label as usize;
                *upper += moves.get(own).copied().unwrap_or(f64::INFINITY);
                *lower -= if own == largest_at { runner_up } else { largest };
            },
        );
    }
}

/// Relative margin a bound must clear by before a row is skipped. Computed distances and bounds carry rounding
/// (about 1e-15 relative, growing slowly with the iterations); this is far above it, so a skipped row is one
/// whose nearest centre the full computation would pick too, ties included.
pub(super) const BOUND_SLACK: f64 = 1e-9;

pub(super) fn clearly_below(value: f64, bound: f64) -> bool {
    value < bound && (bound == f64::INFINITY || bound - value > BOUND_SLACK * (bound + value))
}

/// Half the distance from each centre to its nearest other centre: a row nearer than that to its centre has
/// no nearer one. Infinite for a single centre.
pub(super) fn half_gaps(centers: &[f64], d: usize) -> Vec<f64> {
    let rows: Vec<&[f64]> = centers.chunks_exact(d).collect();
    (0..rows.len())
        .map(|j| {
            let nearest_sq = (0..rows.len())
                .filter(|&i| i != j)
                .map(|i| squared_distance(rows[j], rows[i]))
                .fold(f64::INFINITY, f64::min);
            0.5 * nearest_sq.sqrt()
        })
        .collect()
}

/// [`assign`]'s job for the Lloyd iterations, with the bounds: sets each row's label to its nearest centre and
/// returns the per-cluster sums and counts, the same numbers as [`assign`] in the same order.
pub(super) fn assign_bounded(
    x: &Matrix,
    centers: &[f64],
    k: usize,
    labels: &mut [u32],
    bounds: &mut Bounds,
) -> (Vec<f64>, Vec<usize>) {
    let d = x.n_cols();
    let blocked = BlockedRows::new(centers, d);
    let gaps = half_gaps(centers, d);
    let partials: Vec<(Vec<f64>, Vec<usize>)> = labels
        .par_chunks_mut(CHUNK)
        .zip(bounds.upper.par_chunks_mut(CHUNK))
        .zip(bounds.lower.par_chunks_mut(CHUNK))
        .enumerate()
        .map(|(chunk, ((labels, upper), lower))| {
            let mut sums = vec![0.0; k * d];
            let mut counts = vec![0; k];
            for (i, ((label, upper), lower)) in labels.iter_mut().zip(upper).zip(lower).enumerate() {
                let row = x.row(chunk * CHUNK + i);
                let c = settle(row, centers, &blocked, &gaps, label, upper, lower);
                counts[c] += 1;
                sums[c * d..(c + 1) * d].iter_mut().zip(row).for_each(|(s, &v)| *s += v);
            }
            (sums, counts)
        })
        .collect();
    reduce(partials, k, d)
}

/// Makes `label` the row's nearest centre, computing as few distances as the bounds allow, and returns it.
pub(super) fn settle(
    row: &[f64],
    centers: &[f64],
    blocked: &BlockedRows,
    gaps: &[f64],
    label: &mut u32,
    upper: &mut f64,
    lower: &mut f64,
) -> usize {
    let own = *label as usize;
    if let Some(&gap) = gaps.get(own) {
        let bound = gap.max(*lower);
        if clearly_below(*upper, bound) {
            return own;
        }
        let d = row.len();
        *upper = squared_distance(row, &centers[own * d..(own + 1) * d]).sqrt();
        if clearly_below(*upper, bound) {
            return own;
        }
    }
    let (best, nearest, second) = two_nearest(blocked, row);
    *label = best as u32;
    *upper = nearest.sqrt();
    *lower = second.sqrt();
    best
}

/// The nearest centre (the lower of equals), its squared distance and the squared distance of the next
/// nearest (infinite for a single centre).
pub(super) fn two_nearest(centers: &BlockedRows, row: &[f64]) -> (usize, f64, f64) {
    let (mut best, mut nearest, mut second) = (0, f64::INFINITY, f64::INFINITY);
    for block in 0..centers.n_blocks() {
        let mut distances = centers.squared_distances(block, row);
        distances[centers.lanes_in(block)..].fill(f64::INFINITY);
        let (lane, d) = argmin_lanes(distances);
        distances[lane] = f64::INFINITY;
        let (_, block_second) = argmin_lanes(distances);
        if d < nearest {
            second = nearest.min(block_second);
            (best, nearest) = (block * LANES + lane, d);
        } else {
            second = second.min(d);
        }
    }
    (best, nearest, second)
}

/// Adds up per-chunk sums and counts in chunk order.
pub(super) fn reduce(partials: Vec<(Vec<f64>, Vec<usize>)>, k: usize, d: usize) -> (Vec<f64>, Vec<usize>) {
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0; k];
    for (part_sums, part_counts) in partials {
        sums.iter_mut().zip(&part_sums).for_each(|(s, p)| *s += p);
        counts.iter_mut().zip(&part_counts).for_each(|(c, p)| *c += p);
    }
    (sums, counts)
}

/// Sets each row's label to its nearest centre (ties: the lower centre) and `nearest` to the squared distance;
/// returns the per-cluster sums of the rows (`k × n_features`) and counts. Chunks are reduced in order.
pub(super) fn assign(
    x: &Matrix,
    centers: &BlockedRows,
    k: usize,
    labels: &mut [u32],
    nearest: &mut [f64],
) -> (Vec<f64>, Vec<usize>) {
    let d = x.n_cols();
    let partials: Vec<(Vec<f64>, Vec<usize>)> = labels
        .par_chunks_mut(CHUNK)
        .zip(nearest.par_chunks_mut(CHUNK))
        .enumerate()
        .map(|(chunk, (labels, nearest))| {
            let mut sums = vec![0.0; k * d];
            let mut counts = vec![0; k];
            for (i, (label, best)) in labels.iter_mut().zip(nearest.iter_mut()).enumerate() {
                let row = x.row(chunk * CHUNK + i);
                let (c, distance_sq) = nearest_center(centers, row);
                *label = c as u32;
                *best = distance_sq;
                counts[c] += 1;
                for (s, &v) in sums[c * d..(c + 1) * d].iter_mut().zip(row) {
                    *s += v;
                }
            }
            (sums, counts)
        })
        .collect();
    reduce(partials, k, d)
}

/// The index of the nearest centre (the lower one of equals) and its squared distance. A row with NaN goes to
/// centre 0.
pub(super) fn nearest_center(centers: &BlockedRows, row: &[f64]) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for block in 0..centers.n_blocks() {
        let mut distances = centers.squared_distances(block, row);
        distances[centers.lanes_in(block)..].fill(f64::INFINITY);
        let (lane, d) = argmin_lanes(distances);
        if d < best.1 {
            best = (block * LANES + lane, d);
        }
    }
    best
}

/// The lane of the smallest value (the lower lane of equals) and that value, by a tournament of adjacent pairs
/// with no data-dependent branch: which centre is nearest is unpredictable, and branching on it cost more
/// than the distances.
pub(super) fn argmin_lanes(mut values: [f64; LANES]) -> (usize, f64) {
    let mut lanes: [usize; LANES] = std::array::from_fn(|i| i);
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            // Every lane on the right of a pair is above every lane on its left: the left keeps ties.
            let right_wins = values[2 * i + 1] < values[2 * i];
            lanes[i] = if right_wins { lanes[2 * i + 1] } else { lanes[2 * i] };
            values[i] = if right_wins { values[2 * i + 1] } else { values[2 * i] };
        }
    }
    (lanes[0], values[0])
}

/// The means of the clusters from their `sums` and `counts`, after moving empty clusters to the rows farthest
/// from their centres `old` (scikit-learn's `_relocate_empty_clusters_dense` and `_average_centers`).
pub(super) fn new_centers(
    x: &Matrix,
    old: &[f64],
    mut sums: Vec<f64>,
    mut counts: Vec<usize>,
    labels: &[u32],
) -> Vec<f64> {
    let d = x.n_cols();
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    if !empty.is_empty() {
        let distance_sq = |r: usize| {
            let c = labels[r] as usize;
            squared_distance(x.row(r), &old[c * d..(c + 1) * d])
        };
        let nearest: Vec<f64> = (0..x.n_rows()).into_par_iter().with_min_len(CHUNK).map(distance_sq).collect();
        // All rows on their centres: more clusters than distinct rows, and nothing to relocate to.
        if nearest.iter().any(|&dist| dist > 0.0) {
            let mut far: Vec<usize> = (0..x.n_rows()).collect();
            far.sort_by(|&a, &b| nearest[b].total_cmp(&nearest[a]).then(a.cmp(&b)));
            for (&cluster, &row) in empty.iter().zip(&far) {
                let old = labels[row] as usize;
                for (f, &v) in x.row(row).iter().enumerate() {
                    sums[old * d + f] -= v;
                    sums[cluster * d + f] = v;
                }
                counts[cluster] = 1;
                counts[old] -= 1;
            }
        }
    }
    let largest = (0..counts.len()).fold(0, |best, c| if counts[c] > counts[best] { c } else { best });
    let mut centers = sums;
    for (c, &count) in counts.iter().enumerate() {
        if count > 0 {
            centers[c * d..(c + 1) * d].iter_mut().for_each(|v| *v /= count as f64);
        }
    }
    // A cluster emptied by the relocation sits on the largest one, as scikit-learn.
    for (c, &count) in counts.iter().enumerate() {
        if count == 0 {
            let copy: Vec<f64> = centers[largest * d..(largest + 1) * d].to_vec();
            centers[c * d..(c + 1) * d].copy_from_slice(&copy);
        }
    }
    centers
}

/// Sum of squared distances of the rows to their centres, chunk by chunk in order.
pub(super) fn inertia(x: &Matrix, centers: &[f64], labels: &[u32]) -> f64 {
    let d = x.n_cols();
    let partials: Vec<f64> = labels
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(chunk, labels)| {
            labels
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    let center = &centers[c as usize * d..(c as usize + 1) * d];
                    x.row(chunk * CHUNK + i).iter().zip(center).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()
                })
                .sum()
        })
        .collect();
    partials.iter().sum()
}
