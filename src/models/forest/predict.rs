//! Fast batch prediction: the forest's trees recompiled, once per fitted or loaded model, into a form made for
//! walking many rows at a time. The stored [`Tree`]s stay the format on disk; this one is derived from them.
//!
//! Three things make it fast, each measured on the reference workload (100 trees of depth 20):
//! - Rows are walked in groups of [`LANES`], in lockstep, one level per round. A single walk is a chain of
//!   dependent loads and a hard-to-predict branch per level; sixteen independent walks interleaved keep the
//!   core busy and the step is branch-free.
//! - A node is one `u64` word (left child, threshold, feature), and a threshold is replaced by its rank among
//!   the distinct thresholds the forest uses on that feature, so that a row, encoded once as the rank of each
//!   of its values (`u16`), is compared in integers. `x > threshold` exactly when `rank(x) > rank(threshold)`,
//!   where `rank(v)` counts the thresholds below `v`, so predictions are unchanged (NaN, below nothing, goes
//!   left as in [`Tree`]). A leaf loops to itself with an unreachable rank, so a finished lane just stays put.
//! - No bounds check in the step: node tables are padded to a power-of-two length and seen as fixed-size
//!   arrays, row encodings are `[u16; 256]` arrays, and indices are masked to the array length, which the
//!   compiler can prove in bounds. (Trees beyond 2^20 nodes or rows beyond 256 features take the same code
//!   over plain, bounds-checked slices.)
//!
//! Chunks of rows go to threads; within a chunk the loop is tree-major so a tree is fetched into cache once
//! per chunk, and each row still adds its trees' outputs in tree order, so results are bit-identical for any
//! number of threads.

use std::fmt;

use rayon::prelude::*;

use crate::data::matrix::Matrix;
use crate::models::forest::tree::{index_u32, Tree};

/// Rows walked through a tree together.
const LANES: usize = 16;

/// Rows per unit of parallel work. Larger chunks fetch each tree into cache for more rows; measured, the gain
/// flattens out by about a thousand rows.
const CHUNK_ROWS: usize = 1024;

/// Features whose row encodings fit the fixed-size, check-free array.
const ROW_WIDTH: usize = 256;

/// The rank a leaf compares against: above every row's rank, so a leaf's walk never moves.
const LEAF_RANK: u16 = u16::MAX;

/// Distinct thresholds a feature may have across the forest: ranks must stay below [`LEAF_RANK`]. The engine
/// bins features into at most 255 bins, so it uses at most 254.
const MAX_THRESHOLDS: usize = LEAF_RANK as usize - 1;

/// The trees as packed node words, with what is needed to encode rows for them.
#[derive(Clone, Default, PartialEq)]
pub(crate) struct CompiledForest {
    n_features: usize,
    /// Per feature: the distinct thresholds the trees split it at, ascending.
    thresholds: Vec<Vec<f64>>,
    /// Per tree: node words (see [`pack`]), padded with zeros to a power-of-two length of at least 16.
    trees: Vec<Vec<u64>>,
}

impl fmt::Debug for CompiledForest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Derived from the trees, which are printed already: a summary is enough.
        f.debug_struct("CompiledForest").field("trees", &self.trees.len()).finish_non_exhaustive()
    }
}

/// Packs a node: bits 0–31 the node a walk goes to when the row's rank is not above `rank` (a split's left
/// child, a leaf itself), bits 32–47 `rank`, bits 48–63 the feature; the right child is the left one plus 1.
fn pack(next: u32, rank: u16, feature: u16) -> u64 {
    u64::from(next) | u64::from(rank) << 32 | u64::from(feature) << 48
}

/// The walk's step: the node after `node` for a row whose encoding is `row`.
#[inline]
fn step<T: NodeTable + ?Sized, R: RowCodes + ?Sized>(table: &T, row: &R, node: u32) -> u32 {
    let word = table.word(node);
    #[allow(clippy::cast_possible_truncation)] // Unpacking the fields of `pack`.
    let (next, rank, feature) = (word as u32, (word >> 32) as u16, (word >> 48) as usize);
    next + u32::from(row.code(feature) > rank)
}

/// A tree's node words, indexed by node.
trait NodeTable {
    fn word(&self, node: u32) -> u64;
}

impl<const N: usize> NodeTable for [u64; N] {
    #[inline]
    fn word(&self, node: u32) -> u64 {
        // N is a power of two and every node index is below it: the mask changes nothing but lets the
        // compiler drop the bounds check.
        self[node as usize & (N - 1)]
    }
}

impl NodeTable for [u64] {
    #[inline]
    fn word(&self, node: u32) -> u64 {
        self[node as usize]
    }
}

/// A row encoded as the rank of each feature's value.
trait RowCodes {
    fn code(&self, feature: usize) -> u16;
}

impl RowCodes for [u16; ROW_WIDTH] {
    #[inline]
    fn code(&self, feature: usize) -> u16 {
        // Only used when there are at most ROW_WIDTH features: the mask changes nothing, as above.
        self[feature & (ROW_WIDTH - 1)]
    }
}

impl RowCodes for [u16] {
    #[inline]
    fn code(&self, feature: usize) -> u16 {
        self[feature]
    }
}

impl CompiledForest {
    /// Compiles `trees`, which split on features below `n_features`.
    ///
    /// # Errors
    /// If there are more than 65,535 features or a feature has more than 65,534 distinct thresholds (more than
    /// a `u16` can rank; a forest of this engine has at most 254), or a threshold is NaN.
    pub(crate) fn new(trees: &[Tree], n_features: usize) -> Result<Self, String> {
        if u16::try_from(n_features).is_err() {
            return Err(format!("{n_features} features is more than the forest engine supports (65,535)"));
        }
        let mut thresholds = vec![Vec::new(); n_features];
        for tree in trees {
            for node in 0..tree.n_nodes() {
                if let Some((feature, threshold, _)) = tree.split(node) {
                    if threshold.is_nan() {
                        return Err("a tree has a NaN threshold".to_owned());
                    }
                    thresholds
                        .get_mut(feature)
                        .ok_or_else(|| "a tree splits on a feature the forest does not have".to_owned())?
                        .push(threshold);
                }
            }
        }
        for values in &mut thresholds {
            values.sort_unstable_by(f64::total_cmp);
            // `==`, not bits: -0.0 and 0.0 are the same threshold.
            #[allow(clippy::float_cmp)]
            values.dedup_by(|a, b| a == b);
            if values.len() > MAX_THRESHOLDS {
                return Err("a feature has more distinct split thresholds than the forest engine supports".to_owned());
            }
        }

        let trees = trees
            .iter()
            .map(|tree| {
                let len = tree.n_nodes().next_power_of_two().max(16);
                let mut words = vec![0u64; len];
                for (node, word) in words.iter_mut().enumerate().take(tree.n_nodes()) {
                    *word = match tree.split(node) {
                        Some((feature, threshold, left)) => {
                            let rank = rank(&thresholds[feature], threshold);
                            pack(index_u32(left), rank, u16::try_from(feature).unwrap_or(u16::MAX))
                        }
                        None => pack(index_u32(node), LEAF_RANK, 0),
                    };
                }
                words
            })
            .collect();
        Ok(CompiledForest { n_features, thresholds, trees })
    }

    /// The mean of the trees' leaf outputs for every row of `x`, row-major `n_rows × width`. `trees` are the
    /// trees this was compiled from (their leaves hold the outputs).
    pub(crate) fn predict(&self, trees: &[Tree], width: usize, x: &Matrix) -> Vec<f64> {
        debug_assert_eq!(trees.len(), self.trees.len());
        let mut out = vec![0.0; x.n_rows() * width];
        #[allow(clippy::cast_precision_loss)]
        let scale = 1.0 / trees.len() as f64;
        out.par_chunks_mut(CHUNK_ROWS * width).enumerate().for_each(|(chunk, out)| {
            let first_row = chunk * CHUNK_ROWS;
            let rows = first_row..first_row + out.len() / width;
            if self.n_features <= ROW_WIDTH {
                let mut codes = vec![[0u16; ROW_WIDTH]; rows.len()];
                for (row, code) in rows.zip(&mut codes) {
                    self.encode(x.row(row), code);
                }
                let codes: Vec<&[u16; ROW_WIDTH]> = codes.iter().collect();
                self.add_outputs(trees, width, &codes, out);
            } else {
                let mut codes = vec![0u16; rows.len() * self.n_features];
                for (row, code) in rows.zip(codes.chunks_exact_mut(self.n_features)) {
                    self.encode(x.row(row), code);
                }
                let codes: Vec<&[u16]> = codes.chunks_exact(self.n_features).collect();
                self.add_outputs(trees, width, &codes, out);
            }
            for v in out.iter_mut() {
                *v *= scale;
            }
        });
        out
    }

    /// Writes the rank of each value of `row` into `codes`.
    fn encode(&self, row: &[f64], codes: &mut [u16]) {
        for ((code, &value), thresholds) in codes.iter_mut().zip(row).zip(&self.thresholds) {
            *code = rank(thresholds, value);
        }
    }

    /// Adds every tree's outputs for the encoded `rows` to `out`, tree by tree.
    fn add_outputs<R: RowCodes + ?Sized>(&self, trees: &[Tree], width: usize, rows: &[&R], out: &mut [f64]) {
        for (tree, words) in trees.iter().zip(&self.trees) {
            // Walk over the fixed-size array of this tree's (power-of-two) length if it is one of the sizes
            // compiled in, over the plain slice otherwise.
            macro_rules! by_size {
                ($($len:literal)*) => {
                    $(if let Ok(table) = <&[u64; $len]>::try_from(words.as_slice()) {
                        add_tree(table, tree, width, rows, out);
                        continue;
                    })*
                };
            }
            by_size!(16 32 64 128 256 512 1024 2048 4096 8192 16384 32768 65536 131_072 262_144 524_288 1_048_576);
            add_tree(words.as_slice(), tree, width, rows, out);
        }
    }
}

/// Adds one tree's outputs for `rows` to `out`, walking [`LANES`] rows at a time.
fn add_tree<T: NodeTable + ?Sized, R: RowCodes + ?Sized>(
    table: &T,
    tree: &Tree,
    width: usize,
    rows: &[&R],
    out: &mut [f64],
) {
    for (group, group_out) in rows.chunks(LANES).zip(out.chunks_mut(LANES * width)) {
        // A short last group repeats its last row in the spare lanes, so the walk keeps its fixed shape.
        let lanes: [&R; LANES] = std::array::from_fn(|lane| group[lane.min(group.len() - 1)]);
        let mut nodes = [0u32; LANES];
        loop {
            let mut moved = 0;
            for (node, row) in nodes.iter_mut().zip(&lanes) {
                let next = step(table, *row, *node);
                moved |= next ^ *node;
                *node = next;
            }
            if moved == 0 {
                break;
            }
        }
        for (row_out, &leaf) in group_out.chunks_exact_mut(width).zip(&nodes) {
            for (acc, &value) in row_out.iter_mut().zip(tree.leaf_values(leaf as usize)) {
                *acc += f64::from(value);
            }
        }
    }
}

/// How many of `thresholds` (ascending) are below `value`; below [`LEAF_RANK`] as there are at most
/// [`MAX_THRESHOLDS`] of them.
fn rank(thresholds: &[f64], value: f64) -> u16 {
    u16::try_from(thresholds.partition_point(|&t| t < value)).unwrap_or(LEAF_RANK - 1)
}

#[cfg(test)]
#[allow(clippy::cast_precision_loss)] // Small test numbers.
mod tests {
    use super::*;
    use crate::models::forest::tree::TreeBuilder;
    use crate::rng::Rng;

    /// A random tree of about `n_splits` splits over `n_features` features with thresholds from a small grid.
    fn random_tree(rng: &mut Rng, n_splits: usize, n_features: usize) -> Tree {
        let mut builder = TreeBuilder::new(2);
        let mut open = vec![0];
        let mut splits = 0;
        while let Some(node) = open.pop() {
            if splits < n_splits {
                let threshold = (rng.below(21) as f64 - 10.0) / 4.0;
                let left = builder.make_split(node, rng.below(n_features), threshold);
                open.extend([left, left + 1]);
                splits += 1;
            } else {
                #[allow(clippy::cast_possible_truncation)]
                let p = rng.next_f64() as f32;
                builder.make_leaf(node, &[p, 1.0 - p]);
            }
        }
        builder.finish()
    }

    /// The mean of the trees' outputs by the plain one-row walk.
    fn reference(trees: &[Tree], x: &Matrix) -> Vec<f64> {
        let mut out = Vec::new();
        for r in 0..x.n_rows() {
            let mut sum = [0.0; 2];
            for tree in trees {
                let leaf = tree.leaf_values(tree.leaf_of(x.row(r)));
                sum[0] += f64::from(leaf[0]);
                sum[1] += f64::from(leaf[1]);
            }
            out.extend(sum.map(|s| s * (1.0 / trees.len() as f64)));
        }
        out
    }

    /// Rows on the threshold grid (ties with thresholds matter), off it, and NaN.
    fn rows(rng: &mut Rng, n: usize, n_features: usize) -> Matrix {
        let data = (0..n * n_features)
            .map(|_| match rng.below(10) {
                0 => f64::NAN,
                1..=4 => (rng.below(25) as f64 - 12.0) / 4.0,
                _ => rng.normal() * 2.0,
            })
            .collect();
        Matrix::from_row_major(n, n_features, data)
    }

    #[test]
    fn compiled_prediction_equals_walking_each_tree() {
        let mut rng = Rng::new(1);
        // Tree sizes on both sides of the 16-node minimum table, and several chunks of rows with a short last group.
        for n_features in [3, 300] {
            let trees: Vec<Tree> = (0..7).map(|i| random_tree(&mut rng, 3 + 40 * i, n_features)).collect();
            let x = rows(&mut rng, 2 * CHUNK_ROWS + 5, n_features);
            let compiled = CompiledForest::new(&trees, n_features).expect("compiles");
            assert_eq!(compiled.predict(&trees, 2, &x), reference(&trees, &x), "{n_features} features");
        }
    }

    #[test]
    fn the_slice_table_walks_like_the_fixed_one() {
        let mut rng = Rng::new(2);
        let trees = vec![random_tree(&mut rng, 100, 4)];
        let compiled = CompiledForest::new(&trees, 4).expect("compiles");
        let x = rows(&mut rng, 100, 4);
        let mut codes = vec![[0u16; ROW_WIDTH]; 100];
        for (r, code) in codes.iter_mut().enumerate() {
            compiled.encode(x.row(r), code);
        }
        let codes: Vec<&[u16; ROW_WIDTH]> = codes.iter().collect();
        let words = &compiled.trees[0];
        let table = <&[u64; 256]>::try_from(words.as_slice()).expect("101 splits pad to 256 nodes");
        let (mut fixed, mut slice) = (vec![0.0; 200], vec![0.0; 200]);
        add_tree(table, &trees[0], 2, &codes, &mut fixed);
        add_tree(words.as_slice(), &trees[0], 2, &codes, &mut slice);
        assert_eq!(fixed, slice);
    }

    #[test]
    fn ranks_compare_like_the_thresholds() {
        let thresholds = [-1.0, 0.0, 2.5];
        assert_eq!(rank(&thresholds, -3.0), 0);
        assert_eq!(rank(&thresholds, -1.0), 0, "a value equal to a threshold goes left of it");
        assert_eq!(rank(&thresholds, -0.0), 1, "-0.0 is 0.0");
        assert_eq!(rank(&thresholds, 1.0), 2);
        assert_eq!(rank(&thresholds, f64::INFINITY), 3);
        assert_eq!(rank(&thresholds, f64::NAN), 0, "NaN goes left");
    }

    #[test]
    fn too_many_features_or_thresholds_do_not_compile() {
        let mut builder = TreeBuilder::new(1);
        let left = builder.make_split(0, 0, f64::NAN);
        builder.make_leaf(left, &[0.0]);
        builder.make_leaf(left + 1, &[1.0]);
        let nan_tree = builder.finish();
        assert!(CompiledForest::new(&[nan_tree], 1).is_err());
        assert!(CompiledForest::new(&[], 70_000).is_err());
    }
}
