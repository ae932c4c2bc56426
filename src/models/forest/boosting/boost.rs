//! The boosting loop: gradients, one tree per score and iteration, score updates and early stopping, with
//! sums taken in blocks of fixed size so that they do not depend on the number of threads.

use rayon::prelude::*;

use super::grower::BoostGrower;
use super::loss::Loss;
use super::params::BoostingParams;
use super::sums::SCORE_BLOCK_ROWS;
use super::validation::{should_stop, BinnedWalker, Validation};
use crate::models::forest::binning::BinnedMatrix;
use crate::models::forest::tree::Tree;

/// What the boosting loop fits, without the model's shape, which the caller knows.
pub(super) struct Fitted {
    pub(super) baseline: Vec<f64>,
    pub(super) trees: Vec<Tree>,
    pub(super) importances: Vec<f64>,
}

/// The boosting loop: from `loss`'s baseline, `n_scores()` trees per iteration on its gradients until
/// `max_iter` or until early stopping on `validation` says so.
pub(super) fn boost<L: Loss + Sync>(
    binned: &BinnedMatrix,
    loss: &L,
    params: &BoostingParams,
    validation: Option<&Validation<L>>,
) -> Fitted {
    // On a pool thread, the serial steps between two parallel ones run there: a parallel step then hands work
    // to the other threads directly, which stay awake for it meanwhile.
    crate::models::forest::awake::with_threads_awake(|| boost_on_pool(binned, loss, params, validation))
}

pub(super) fn boost_on_pool<L: Loss>(
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
                let first = crate::models::forest::tree::index_u32(block * SCORE_BLOCK_ROWS);
                let end = first.saturating_add(crate::models::forest::tree::index_u32(SCORE_BLOCK_ROWS));
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
