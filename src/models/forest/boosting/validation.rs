//! Early stopping: the held-out rows (a stratified seeded split), the rule that stops, and the walk of a new
//! tree over the held-out rows' bins.

use crate::models::forest::binning::BinnedMatrix;
use crate::models::forest::tree::Tree;
use crate::rng::Rng;

/// The held-out rows early stopping scores, binned with the training rows' bins, and their loss.
pub(super) struct Validation<L> {
    pub(super) binned: BinnedMatrix,
    pub(super) loss: L,
}

/// A stratified split of `0..y.len()` into (training rows, validation rows), both ascending: each class gives
/// `round(count × fraction)` of its rows, drawn from a generator of its own (the seed's stream `u64::MAX - 1`,
/// which no tree and not the binning subsample uses), keeping at least one row of the class for training.
pub(super) fn validation_split(y: &[u32], n_classes: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut by_class = vec![Vec::new(); n_classes];
    for (row, &c) in y.iter().enumerate() {
        by_class[c as usize].push(row);
    }
    let mut rng = Rng::derive(seed, u64::MAX - 1);
    let mut validation = Vec::new();
    for mut rows in by_class {
        rng.shuffle(&mut rows);
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
pub(super) fn should_stop(scores: &[f64], n: usize, tol: f64) -> bool {
    if scores.len() <= n {
        return false;
    }
    let reference = scores[scores.len() - n - 1];
    !scores[scores.len() - n..].iter().any(|&s| s > reference + tol)
}

/// A tree as the validation rows walk it, on their bins: per node, the feature, the bin a split sends left
/// at or below and the left child (0 for a leaf), and the leaf values as f64.
pub(super) struct BinnedWalker {
    pub(super) nodes: Vec<(u32, u8, u32)>,
    pub(super) values: Vec<f64>,
}

impl BinnedWalker {
    /// `split_bins[node]` is the bin split `node` of `tree` sends left at or below.
    pub(super) fn new(tree: &Tree, split_bins: &[u8]) -> Self {
        let (mut nodes, mut values) = (Vec::with_capacity(tree.n_nodes()), Vec::with_capacity(tree.n_nodes()));
        for (node, &bin) in (0..tree.n_nodes()).zip(split_bins) {
            match tree.split(node) {
                Some((feature, _, left)) => {
                    let (feature, left) =
                        (crate::models::forest::tree::index_u32(feature), crate::models::forest::tree::index_u32(left));
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
    pub(super) fn value(&self, binned: &BinnedMatrix, row: usize) -> f64 {
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
