//! Small trees (at most [`MAX_LEAVES`] leaves, as gradient boosting grows them) evaluated without walking,
//! by QuickScorer's bit vectors (Lucchese et al., SIGIR 2015), on rows already encoded as threshold ranks.
//!
//! The leaves are numbered left to right. A split whose test a row fails (`rank(x) > rank(threshold)`, so the
//! row goes right) rules out every leaf of its left subtree: its mask has those bits clear. A row starts from
//! all ones, ANDs in the mask of every split it fails, on or off its path, and exits at the lowest bit left.
//! (That leaf survives: a split that rules it out would have it in its left subtree and the row going right,
//! so not on its path. Every leaf left of it is ruled out by the split where the two paths part.)
//!
//! So a tree costs the same few operations per split for every row, in a loop with no branch and no
//! dependent load, that the compiler turns into vector instructions over a block of [`BLOCK`] rows stored
//! feature by feature. A walk costs a dependent load and compare per level and per row, so the bit vectors take
//! fewer instructions per row and tree (measured on the reference boosting model: bench/NOTES.md).

use crate::models::forest::tree::Tree;

/// Leaves a tree may have to be evaluated here: one bit each in a `u32`.
pub(crate) const MAX_LEAVES: usize = 32;

/// Rows evaluated together: a block's bit vectors stay in vector registers (eight of AVX2); 64 took fewer
/// instructions than 32 (bench/NOTES.md).
pub(crate) const BLOCK: usize = 64;

/// A block's encoded rows, feature by feature: `codes[feature][row]` is the rank of the row's value among the
/// thresholds of that feature. Signed, so that the compare is one instruction of the baseline vector set.
pub(crate) type BlockCodes = [[i32; BLOCK]];

/// A tree's splits as (feature, rank, mask), and its leaves' outputs left to right.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BitTree {
    splits: Vec<BitSplit>,
    /// `width` outputs per leaf, leaves left to right, then zeros up to [`MAX_LEAVES`] leaves.
    pub(crate) outputs: Vec<f32>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct BitSplit {
    feature: u32,
    /// Rows whose code is above this go right.
    rank: i32,
    /// All ones but the leaves of the left subtree.
    keep: u32,
}

impl BitTree {
    /// `tree` with each split's threshold replaced by `rank_of(node, feature, threshold)`, or `None` if it has more
    /// than [`MAX_LEAVES`] leaves or nodes shared by two parents.
    pub(crate) fn new(tree: &Tree, rank_of: impl Fn(usize, usize, f64) -> u16) -> Option<Self> {
        if tree.n_leaves() > MAX_LEAVES || !is_proper_tree(tree) {
            return None;
        }
        let n = tree.n_nodes();
        // Leaves under each node, children before parents (children come after their parent in node order).
        let mut leaves_under = vec![1u32; n];
        for node in (0..n).rev() {
            if let Some((_, _, left)) = tree.split(node) {
                leaves_under[node] = leaves_under[left] + leaves_under[left + 1];
            }
        }
        // The number of the leftmost leaf under each node, parents before children.
        let mut first_leaf = vec![0u32; n];
        let mut splits = Vec::new();
        // Room for every leaf number, so that a tree of one output per leaf is a fixed-size table.
        let mut outputs = vec![0.0; MAX_LEAVES * tree.width()];
        for node in 0..n {
            match tree.split(node) {
                Some((feature, threshold, left)) => {
                    first_leaf[left] = first_leaf[node];
                    first_leaf[left + 1] = first_leaf[node] + leaves_under[left];
                    let left_leaves = ((1u64 << leaves_under[left]) - 1) << first_leaf[left];
                    // At most 32 leaves: the mask fits.
                    let keep = !(left_leaves as u32);
                    // The forest has at most 65,535 features.
                    splits.push(BitSplit {
                        feature: feature as u32,
                        rank: i32::from(rank_of(node, feature, threshold)),
                        keep,
                    });
                }
                None => {
                    let at = first_leaf[node] as usize * tree.width();
                    outputs[at..at + tree.width()].copy_from_slice(tree.leaf_values(node));
                }
            }
        }
        Some(BitTree { splits, outputs })
    }

    /// Writes the leaf (numbered left to right) of each row of a block into `leaves`.
    ///
    /// # Panics
    /// If a split's feature is not a row of `codes` (the forest checked every feature when compiling).
    #[inline]
    pub(crate) fn leaves(&self, codes: &BlockCodes, leaves: &mut [u32; BLOCK]) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, as just checked (a cached flag).
            return unsafe { self.leaves_avx2(codes, leaves) };
        }
        self.leaves_portable(codes, leaves);
    }

    /// [`Self::leaves`] compiled for AVX2: eight rows per vector instead of the baseline's four.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn leaves_avx2(&self, codes: &BlockCodes, leaves: &mut [u32; BLOCK]) {
        self.leaves_portable(codes, leaves);
    }

    /// [`Self::leaves`] in plain Rust, inlined into each caller to be compiled for its instruction set.
    #[inline(always)]
    fn leaves_portable(&self, codes: &BlockCodes, leaves: &mut [u32; BLOCK]) {
        let mut bits = [u32::MAX; BLOCK];
        for split in &self.splits {
            let column = &codes[split.feature as usize];
            for (bits, &code) in bits.iter_mut().zip(column) {
                // All ones where the row fails the test (`rank - code` is negative: codes and ranks are below
                // 2^16, so it cannot overflow), in shifts and bitwise operations that the compiler turns into
                // vector instructions; a compare to a bool does not vectorise as well.
                // The bits are the point.
                let fails = ((split.rank - code) >> 31) as u32;
                *bits &= split.keep | !fails;
            }
        }
        for (leaf, bits) in leaves.iter_mut().zip(bits) {
            *leaf = bits.trailing_zeros();
        }
    }
}

/// Whether every node but the root has exactly one parent. A loaded tree is only checked to have children after
/// their parents, which keeps every walk finite but lets two splits share a child: a walk does not mind, but
/// leaves numbered left to right need a tree.
fn is_proper_tree(tree: &Tree) -> bool {
    let mut parents = vec![0u8; tree.n_nodes()];
    for node in 0..tree.n_nodes() {
        if let Some((_, _, left)) = tree.split(node) {
            for child in [left, left + 1] {
                parents[child] = parents[child].saturating_add(1);
            }
        }
    }
    parents.iter().skip(1).all(|&p| p == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::forest::tree::TreeBuilder;
    use crate::rng::Rng;

    /// A random tree of `n_leaves` leaves over `n_features` features, thresholds on the integers 0..10 and the
    /// leaf outputs their own node number, grown by splitting a random open node (unbalanced trees).
    fn random_tree(rng: &mut Rng, n_leaves: usize, n_features: usize) -> Tree {
        let mut builder = TreeBuilder::new(1);
        let mut open = vec![0];
        while open.len() < n_leaves {
            let node = open.swap_remove(rng.below(open.len()));
            let left = builder.make_split(node, rng.below(n_features), rng.below(10) as f64);
            open.extend([left, left + 1]);
        }
        for node in open {
            builder.make_leaf(node, &[node as f32]);
        }
        builder.finish()
    }

    #[test]
    fn every_row_exits_at_the_leaf_its_walk_reaches() {
        let mut rng = Rng::new(3);
        let n_features = 3;
        for n_leaves in [1, 2, 5, 17, 31, 32] {
            for _ in 0..20 {
                let tree = random_tree(&mut rng, n_leaves, n_features);
                // Thresholds are integers, so the rank of integer x among thresholds 0..10 is x clamped.
                let bit_tree = BitTree::new(&tree, |_, _, threshold| threshold as u16).expect("at most 32 leaves");
                let rows: Vec<[i32; 3]> = (0..BLOCK).map(|_| [0; 3].map(|_| rng.below(11) as i32)).collect();
                let mut codes = vec![[0i32; BLOCK]; n_features];
                for (r, row) in rows.iter().enumerate() {
                    for f in 0..n_features {
                        codes[f][r] = row[f];
                    }
                }
                let mut leaves = [0; BLOCK];
                bit_tree.leaves(&codes, &mut leaves);
                for (row, &leaf) in rows.iter().zip(&leaves) {
                    // A code c stands for a value in (c - 1, c]: above thresholds below c, equal to c.
                    let values: Vec<f64> = row.iter().map(|&c| f64::from(c)).collect();
                    let walked = tree.leaf_values(tree.leaf_of(&values));
                    assert_eq!(&bit_tree.outputs[leaf as usize..leaf as usize + 1], walked, "{n_leaves} leaves");
                }
            }
        }
    }

    #[test]
    fn trees_of_more_than_32_leaves_or_shared_nodes_are_left_to_the_walk() {
        let mut rng = Rng::new(4);
        assert!(BitTree::new(&random_tree(&mut rng, 33, 2), |_, _, _| 0).is_none());
        // Nodes 1 and 2 both split into 3 and 4: children after parents, as a loaded tree is checked, but no tree.
        let json = serde_json::json!({
            "feature": [0, 0, 0, 0, 1], "threshold": [0.0, 1.0, 2.0, 0.0, 0.0], "left": [1, 3, 3, 0, 0],
            "width": 1, "values": [0.0, 1.0],
        });
        let shared: Tree = serde_json::from_value(json).expect("passes the loader's checks");
        assert!(BitTree::new(&shared, |_, _, _| 0).is_none());
        assert!(BitTree::new(&random_tree(&mut rng, 32, 2), |_, _, _| 0).is_some());
    }
}
