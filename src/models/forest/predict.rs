//! Fast batch prediction: the forest's trees recompiled, once per fitted or loaded model, into a form made for
//! walking many rows at a time. The stored [`Tree`]s stay the format on disk; this one is derived from them, and
//! from the split ranks stored beside them ([`SplitRanks`]) when the file has them.
//!
//! What makes it fast, each step measured on the reference workload (figures: bench/NOTES.md):
//! - Rows are walked in groups of [`LANES`], in lockstep, one level per round, for as many rounds as the tree
//!   is deep. A single walk is a chain of dependent loads with a hard-to-predict branch per level; sixteen
//!   independent walks interleaved keep the core busy, and the step has no branch. A leaf sends a row back to
//!   itself, so rows that arrive early just wait, which costs less than checking whether all have arrived.
//! - A node is eight bytes of fields (left child, threshold, feature), or four where they fit (every forest of
//!   this engine: [`NarrowNode`]), and a threshold is replaced by its rank among
//!   the distinct thresholds the forest uses on that feature, so that a row, encoded once as the rank of each
//!   of its values (`u16`), is compared in integers. `x > threshold` exactly when `rank(x) > rank(threshold)`,
//!   where `rank(v)` counts the thresholds below `v`, so predictions are unchanged (NaN, below nothing, goes
//!   left as in [`Tree`]).
//! - No bounds check and no per-lane row pointer in the step: node words are checked once, when compiled, to
//!   keep every walk inside them ([`NodeWords`]), and a group's row encodings are one fixed-size array whose
//!   feature index is masked to its width, which the compiler can then prove in bounds. (Rows beyond 256
//!   features take the same code over a plain, bounds-checked slice.)
//! - Leaf outputs are stored per node, so a row's leaf index is directly where its outputs are.
//! - While a chunk walks one tree, the next tree's nodes and outputs are prefetched into L2, a slice per group
//!   ([`Prefetch`]). A large forest does not fit in cache, so every tree's pass over a chunk used to start from
//!   misses, and adding the leaves' outputs was spent mostly waiting on them.
//!
//! Chunks of rows go to threads; within a chunk the loop is tree-major so a tree is fetched into cache once
//! per chunk, and each row still adds its trees' outputs in tree order, so results are bit-identical for any
//! number of threads.

use std::fmt;

use rayon::prelude::*;

use crate::data::matrix::Matrix;
use crate::models::forest::leaf_bits::{self, BitTree};
use crate::models::forest::split_keys::{KeySet, RankTable};
use crate::models::forest::stored_ranks::SplitRanks;
use crate::models::forest::tree::{index_u32, Tree};

/// Rows walked through a tree together.
const LANES: usize = 16;

/// Rows per unit of parallel work, at most. A chunk fetches every tree into cache once, so larger chunks move
/// less (measured: bench/NOTES.md). `mlctl predict` sends batches of 8,192 rows, so that is one chunk per batch.
const MAX_CHUNK_ROWS: usize = 8192;

/// Rows per unit of parallel work, at least: below this, splitting costs more than it gains.
const MIN_CHUNK_ROWS: usize = 1024;

/// The chunk size for `n_rows`: large, but small enough that every thread gets a chunk. Which rows share a chunk
/// does not change any row's result.
fn chunk_rows(n_rows: usize, n_threads: usize) -> usize {
    n_rows.div_ceil(n_threads.max(1)).next_multiple_of(LANES).clamp(MIN_CHUNK_ROWS, MAX_CHUNK_ROWS)
}

/// Features whose row encodings fit a fixed-size, check-free array. Narrower models get a narrower array (the
/// next power of two of at least [`MIN_ROW_WIDTH`] features), so that a chunk's encodings stay small next to the
/// trees in cache.
const ROW_WIDTH: usize = 256;

/// The narrowest fixed-size row encoding.
const MIN_ROW_WIDTH: usize = 8;

/// The rank a leaf compares against: above every row's rank, so a leaf's walk never moves.
const LEAF_RANK: u16 = u16::MAX;

/// Distinct thresholds a feature may have across the forest: ranks must stay below [`LEAF_RANK`]. The engine
/// bins features into at most 255 bins, so it uses at most 254.
const MAX_THRESHOLDS: usize = LEAF_RANK as usize - 1;

/// A forest compiled for prediction.
#[derive(Clone, Default, PartialEq)]
pub(crate) struct CompiledForest {
    n_features: usize,
    /// Outputs per leaf.
    width: usize,
    /// Per feature: the distinct thresholds the trees split it at, ascending.
    thresholds: Vec<Vec<f64>>,
    trees: Trees,
}

/// The trees in the form that predicts them fastest.
#[derive(Clone, PartialEq)]
enum Trees {
    /// Walked level by level: any size.
    Walked(Vec<CompiledTree>),
    /// Bit vectors ([`leaf_bits`]): when every tree has at most [`leaf_bits::MAX_LEAVES`] leaves, as in
    /// gradient boosting; far fewer instructions than the walk (bench/NOTES.md).
    Bits(Vec<BitTree>),
}

impl Default for Trees {
    fn default() -> Self {
        Trees::Walked(Vec::new())
    }
}

#[derive(Clone, PartialEq)]
struct CompiledTree {
    /// Node words.
    words: Words,
    /// The depth of the deepest leaf: the number of rounds that take every row to its leaf.
    depth: usize,
    /// `width` outputs per node, those of splits unused (zero).
    outputs: Vec<f32>,
}

impl fmt::Debug for CompiledForest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Derived from the trees, which are printed already: a summary is enough.
        let form = if matches!(self.trees, Trees::Bits(_)) { "bits" } else { "walked" };
        f.debug_struct("CompiledForest").field("trees", &self.n_trees()).field("form", &form).finish_non_exhaustive()
    }
}

/// A tree's nodes, each one word: the node a walk goes to when the row's rank is not above the node's rank (a
/// split's left child, a leaf itself; the right child is the left one plus 1), the rank and the feature.
#[derive(Clone, PartialEq)]
enum Words {
    /// Any size.
    Wide(NodeWords<WideNode>),
    /// Half the size, so twice the nodes in cache, for trees of at most 2^16 nodes in forests of at most
    /// [`NARROW_FEATURES`] features whose ranks fit a byte (every forest of this engine: 254 thresholds at
    /// most).
    Narrow(NodeWords<NarrowNode>),
}

/// Features a narrow node can name.
const NARROW_FEATURES: usize = 256;

/// Nodes a narrow tree may have.
const NARROW_NODES: usize = 1 << 16;

/// The rank of a narrow leaf: above every row's rank in a forest whose features have at most 254 thresholds.
const NARROW_LEAF_RANK: u8 = u8::MAX;

/// Whether a feature's `thresholds` are few enough for byte ranks below [`NARROW_LEAF_RANK`].
fn byte_ranked(thresholds: &[f64]) -> bool {
    thresholds.len() < usize::from(NARROW_LEAF_RANK)
}

/// A node of any tree: eight bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, align(8))]
struct WideNode {
    next: u32,
    rank: u16,
    feature: u16,
}

/// A narrow node: four bytes. Nodes are fields rather than a packed word, so that the walk loads each with one
/// instruction instead of loading the word and shifting and masking it apart, a shorter step (bench/NOTES.md).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C, align(4))]
struct NarrowNode {
    next: u16,
    rank: u8,
    feature: u8,
}

/// A node word: unpacks into (next node, rank, feature).
trait Word: Copy {
    fn unpack(&self) -> (u32, u16, usize);
}

impl Word for WideNode {
    #[inline]
    fn unpack(&self) -> (u32, u16, usize) {
        (self.next, self.rank, usize::from(self.feature))
    }
}

impl Word for NarrowNode {
    #[inline]
    fn unpack(&self) -> (u32, u16, usize) {
        (u32::from(self.next), u16::from(self.rank), usize::from(self.feature))
    }
}

/// A tree's node words, checked when made so that a walk reads them without a bounds check: a walk starts at
/// word 0 and goes from a word to its `next` or `next + 1`, and every word's `next + 1` is one of the words.
/// A bounds check, or masking the index into a power-of-two table instead, made the step an instruction longer
/// and short of registers, which was measurably slower (bench/NOTES.md).
#[derive(Clone, PartialEq)]
struct NodeWords<W>(Vec<W>);

impl<W: Word> NodeWords<W> {
    /// `words`, if every walk over them stays inside them.
    fn new(words: Vec<W>) -> Option<Self> {
        let n = words.len();
        (n > 0 && words.iter().all(|word| (word.unpack().0 as usize) < n - 1)).then_some(NodeWords(words))
    }

    fn as_slice(&self) -> &[W] {
        &self.0
    }

    /// Writes the leaf each row of `groups` falls into in `leaves`: each group's [`LANES`] rows go down
    /// together, one level per round, for `depth` rounds. Fetches a part of the `next` tree per group.
    fn walk<G: GroupCodes>(&self, depth: usize, groups: &[G], leaves: &mut [u32], next: &Prefetch) {
        let words = self.0.as_slice();
        for (i, (group, group_leaves)) in groups.iter().zip(leaves.chunks_exact_mut(LANES)).enumerate() {
            next.part(i);
            let mut nodes = [0u32; LANES];
            for _ in 0..depth {
                for (lane, node) in nodes.iter_mut().enumerate() {
                    // SAFETY: `node` is 0 or the `next` or `next + 1` of a word, all of them below the number of
                    // words, as `new` checked.
                    let (next, rank, feature) = unsafe { words.get_unchecked(*node as usize) }.unpack();
                    *node = next + u32::from(group.code(lane, feature) > rank);
                }
            }
            group_leaves.copy_from_slice(&nodes);
        }
    }
}

/// The encodings of a group of [`LANES`] rows: the rank of each feature's value.
trait GroupCodes {
    fn code(&self, lane: usize, feature: usize) -> u16;
}

/// Up to `W` (a power of two, at most [`ROW_WIDTH`]) features: fixed-size rows, one group of them contiguous,
/// so that a lane's row is a constant offset from the group's address (no per-lane pointer to keep in a
/// register) and no index needs a bounds check (the lane index is a constant of the unrolled loop; the feature
/// is masked, which changes nothing as every feature is below `W`).
impl<const W: usize> GroupCodes for [[u16; W]; LANES] {
    #[inline]
    fn code(&self, lane: usize, feature: usize) -> u16 {
        self[lane][feature & (W - 1)]
    }
}

/// More features: `LANES` rows of `n_features` codes each, bounds-checked.
struct Strided<'a> {
    codes: &'a [u16],
    n_features: usize,
}

impl GroupCodes for Strided<'_> {
    #[inline]
    fn code(&self, lane: usize, feature: usize) -> u16 {
        self.codes[lane * self.n_features + feature]
    }
}

impl CompiledForest {
    /// Compiles `trees`, which split on features below `n_features` and have `width` outputs per leaf.
    ///
    /// # Errors
    /// If there are more than 65,535 features or a feature has more than 65,534 distinct thresholds (more than
    /// a `u16` can rank; a forest of this engine has at most 254), a threshold is NaN, or a tree's width or
    /// features do not match.
    pub(crate) fn new(trees: &[Tree], n_features: usize, width: usize) -> Result<Self, String> {
        if u16::try_from(n_features).is_err() {
            return Err(format!("{n_features} features is more than the forest engine supports (65,535)"));
        }
        // The distinct (feature, threshold) pairs: a set per thread, then their union, in parallel as a large
        // forest has over a million splits.
        let keys = trees
            .par_iter()
            .try_fold(KeySet::default, |mut set, tree| {
                add_thresholds(tree, n_features, width, &mut set)?;
                Ok::<_, String>(set)
            })
            .try_reduce(KeySet::default, |a, b| Ok(a.union(b)))?
            .into_sorted();
        let mut thresholds = vec![Vec::<f64>::new(); n_features];
        for key in keys {
            let (feature, threshold) = unpack_key(key);
            // `==`, not bits: -0.0 and 0.0 are the same threshold (the first kept, -0.0, as it sorts first).
            if thresholds[feature].last() != Some(&threshold) {
                thresholds[feature].push(threshold);
            }
        }
        if thresholds.iter().any(|t| t.len() > MAX_THRESHOLDS) {
            return Err("a feature has more distinct split thresholds than the forest engine supports".to_owned());
        }
        // Every split's threshold is one of its feature's, so its rank is its position there: looked up rather
        // than searched for. The key of 0.0 stands for -0.0 too, as `rank` does not tell them apart.
        let entries: Vec<(u128, u16)> = thresholds
            .iter()
            .enumerate()
            .flat_map(|(feature, t)| t.iter().enumerate().map(move |(i, &t)| (rank_key(feature, t), i)))
            .map(|(key, i)| (key, u16::try_from(i).unwrap_or(LEAF_RANK - 1)))
            .collect();
        let ranks = RankTable::new(&entries);
        let rank_of = |_tree: usize, _node: usize, feature: usize, threshold: f64| {
            ranks.get(rank_key(feature, threshold)).unwrap_or_else(|| rank(&thresholds[feature], threshold))
        };
        Self::build(trees, n_features, &thresholds, rank_of).map(|trees| CompiledForest {
            n_features,
            width,
            thresholds,
            trees,
        })
    }

    /// [`Self::new`] with the thresholds and ranks it would find given, as a `model.bin` stores them: checked
    /// rather than found.
    ///
    /// # Errors
    /// As `new`, and if the thresholds are not ascending or a split's rank is not that of its threshold.
    pub(crate) fn with_ranks(
        trees: &[Tree],
        n_features: usize,
        width: usize,
        stored: SplitRanks,
    ) -> Result<Self, String> {
        let SplitRanks { thresholds, ranks } = stored;
        if thresholds.len() != n_features || ranks.len() != trees.len() {
            return Err("the stored split ranks are not one table per feature and per tree".to_owned());
        }
        if u16::try_from(n_features).is_err() {
            return Err(format!("{n_features} features is more than the forest engine supports (65,535)"));
        }
        // Ranks are bytes, below the narrow leaf's; a NaN would break the row encoding's binary search.
        let fits = |t: &Vec<f64>| byte_ranked(t) && !t.iter().any(|v| v.is_nan());
        if !thresholds.iter().all(|t| fits(t) && t.windows(2).all(|pair| pair[0] < pair[1])) {
            return Err("the stored split thresholds are not ascending, or too many".to_owned());
        }
        trees.par_iter().zip(&ranks).try_for_each(|(tree, ranks)| check_ranks(tree, ranks, &thresholds, width))?;
        let rank_of = |tree: usize, node: usize, _: usize, _: f64| u16::from(ranks[tree][node]);
        Self::build(trees, n_features, &thresholds, rank_of).map(|trees| CompiledForest {
            n_features,
            width,
            thresholds,
            trees,
        })
    }

    /// The thresholds and ranks that [`Self::with_ranks`] takes, of this forest compiled from `trees`; `None`
    /// if a feature has more thresholds than a byte can rank (never in a forest of this engine).
    pub(crate) fn split_ranks(&self, trees: &[Tree]) -> Option<SplitRanks> {
        if !self.thresholds.iter().all(|t| byte_ranked(t)) {
            return None;
        }
        let tree_ranks = |tree: &Tree| -> Option<Vec<u8>> {
            (0..tree.n_nodes())
                .map(|node| match tree.split(node) {
                    // The count of thresholds below a threshold of the table is its position there.
                    Some((feature, threshold, _)) => u8::try_from(rank(self.thresholds.get(feature)?, threshold)).ok(),
                    None => Some(0),
                })
                .collect()
        };
        let ranks = trees.iter().map(tree_ranks).collect::<Option<Vec<_>>>()?;
        Some(SplitRanks { thresholds: self.thresholds.clone(), ranks })
    }

    /// The compiled trees, each split's rank given by `rank_of(tree, node, feature, threshold)`.
    fn build(
        trees: &[Tree],
        n_features: usize,
        thresholds: &[Vec<f64>],
        rank_of: impl Fn(usize, usize, usize, f64) -> u16 + Sync,
    ) -> Result<Trees, String> {
        let narrow_ranks = n_features <= NARROW_FEATURES && thresholds.iter().all(|t| byte_ranked(t));
        // Independent per tree, and collected in tree order.
        let bit_trees: Option<Vec<BitTree>> = trees
            .par_iter()
            .enumerate()
            .map(|(i, tree)| BitTree::new(tree, |node, feature, threshold| rank_of(i, node, feature, threshold)))
            .collect();
        Ok(match bit_trees {
            Some(bit_trees) => Trees::Bits(bit_trees),
            None => Trees::Walked(
                trees
                    .par_iter()
                    .enumerate()
                    .map(|(i, tree)| {
                        let rank_of = |node, feature, threshold| rank_of(i, node, feature, threshold);
                        compile_tree(tree, &rank_of, narrow_ranks && tree.n_nodes() <= NARROW_NODES)
                    })
                    .collect::<Result<_, _>>()?,
            ),
        })
    }

    /// The mean of the trees' leaf outputs for every row of `x`, row-major `n_rows × width`.
    pub(crate) fn predict(&self, x: &Matrix) -> Vec<f64> {
        let scale = 1.0 / self.n_trees() as f64;
        self.predict_scaled(x, scale)
    }

    fn n_trees(&self) -> usize {
        match &self.trees {
            Trees::Walked(trees) => trees.len(),
            Trees::Bits(trees) => trees.len(),
        }
    }

    /// The sum of the trees' leaf outputs for every row of `x` (what boosting adds up), row-major.
    pub(crate) fn predict_sum(&self, x: &Matrix) -> Vec<f64> {
        // Multiplying by 1.0 is exact: the sums are left as they are.
        self.predict_scaled(x, 1.0)
    }

    /// The trees' leaf outputs summed in tree order and multiplied by `scale`, row-major `n_rows × width`.
    fn predict_scaled(&self, x: &Matrix, scale: f64) -> Vec<f64> {
        let width = self.width;
        let mut out = vec![0.0; x.n_rows() * width];
        let chunk_rows = chunk_rows(x.n_rows(), rayon::current_num_threads());
        out.par_chunks_mut(chunk_rows * width).enumerate().for_each(|(chunk, out)| {
            let first_row = chunk * chunk_rows;
            let rows = first_row..first_row + out.len() / width;
            match &self.trees {
                Trees::Walked(trees) => self.add_walked_outputs(trees, x, rows, out),
                Trees::Bits(trees) => self.add_bit_outputs(trees, x, rows, out),
            }
            for v in out.iter_mut() {
                *v *= scale;
            }
        });
        out
    }

    /// Adds the outputs of walked `trees` for `rows` of `x` to `out`.
    fn add_walked_outputs(&self, trees: &[CompiledTree], x: &Matrix, rows: std::ops::Range<usize>, out: &mut [f64]) {
        // Whole groups: the spare lanes of the last one walk an all-zero encoding, and their leaves are
        // ignored.
        let n_groups = rows.len().div_ceil(LANES);
        let mut leaves = vec![0u32; n_groups * LANES];
        let row_width = self.n_features.next_power_of_two().max(MIN_ROW_WIDTH);
        if row_width <= ROW_WIDTH {
            macro_rules! by_width {
                ($($w:literal)*) => {
                    $(if row_width == $w {
                        self.add_fixed_width_outputs::<$w>(trees, x, rows.clone(), &mut leaves, out);
                    })*
                };
            }
            by_width!(8 16 32 64 128 256);
        } else {
            let mut codes = vec![0u16; n_groups * LANES * self.n_features];
            let n_features = self.n_features;
            self.encode_rows(x, rows, |i, feature, code| codes[i * n_features + feature] = code);
            let groups: Vec<Strided<'_>> = codes
                .chunks_exact(LANES * self.n_features)
                .map(|codes| Strided { codes, n_features: self.n_features })
                .collect();
            self.add_outputs(trees, &groups, &mut leaves, out);
        }
    }

    /// Adds the outputs of bit-vector `trees` for `rows` of `x` to `out`: the rows encoded in blocks, feature
    /// by feature, then tree by tree, each tree's leaves found a block at a time.
    fn add_bit_outputs(&self, trees: &[BitTree], x: &Matrix, rows: std::ops::Range<usize>, out: &mut [f64]) {
        use leaf_bits::BLOCK;
        // A forest of leaves only has no features; a block still takes one (unread) column.
        let stride = self.n_features.max(1);
        let n_blocks = rows.len().div_ceil(BLOCK);
        // The spare rows of the last block keep code 0, and their leaves are ignored.
        let mut codes = vec![[0i32; BLOCK]; n_blocks * stride];
        self.encode_rows(x, rows, |i, feature, code| codes[i / BLOCK * stride + feature][i % BLOCK] = i32::from(code));
        let mut leaves = [0u32; BLOCK];
        for tree in trees {
            // One output per leaf (boosting): a fixed-size table, indexed without a bounds check, as every leaf
            // number is below its size: on the reference boosting model, 78 M → 63 M instructions.
            let one_output = <&[f32; leaf_bits::MAX_LEAVES]>::try_from(tree.outputs.as_slice()).ok();
            for (block, out) in codes.chunks_exact(stride).zip(out.chunks_mut(BLOCK * self.width)) {
                tree.leaves(block, &mut leaves);
                match one_output {
                    Some(outputs) => {
                        for (acc, &leaf) in out.iter_mut().zip(&leaves) {
                            *acc += f64::from(outputs[leaf as usize % leaf_bits::MAX_LEAVES]);
                        }
                    }
                    None => add_tree_outputs(self.width, &tree.outputs, &leaves, out),
                }
            }
        }
    }

    /// [`Self::add_outputs`] for `rows` of `x` encoded as fixed-size rows of `W` codes.
    fn add_fixed_width_outputs<const W: usize>(
        &self,
        trees: &[CompiledTree],
        x: &Matrix,
        rows: std::ops::Range<usize>,
        leaves: &mut [u32],
        out: &mut [f64],
    ) {
        let mut codes = vec![[0u16; W]; leaves.len()];
        self.encode_rows(x, rows, |i, feature, code| codes[i][feature] = code);
        self.add_outputs(trees, codes.as_chunks::<LANES>().0, leaves, out);
    }

    /// Calls `put(i, feature, code)` with the rank of each feature's value in each row `rows.start + i` of `x`.
    /// Rows are ranked [`RANK_LANES`] at a time, feature by feature: one binary search waits for each load
    /// before its next step, and searches side by side overlap those waits.
    fn encode_rows(&self, x: &Matrix, rows: std::ops::Range<usize>, mut put: impl FnMut(usize, usize, u16)) {
        let n_rows = rows.len();
        let whole = n_rows - n_rows % RANK_LANES;
        for first in (0..whole).step_by(RANK_LANES) {
            let lanes: [&[f64]; RANK_LANES] = std::array::from_fn(|lane| x.row(rows.start + first + lane));
            for (feature, thresholds) in self.thresholds.iter().enumerate() {
                let values = lanes.map(|row| row[feature]);
                for (lane, code) in ranks(thresholds, &values).into_iter().enumerate() {
                    put(first + lane, feature, code);
                }
            }
        }
        for i in whole..n_rows {
            for (feature, (thresholds, &value)) in self.thresholds.iter().zip(x.row(rows.start + i)).enumerate() {
                put(i, feature, rank(thresholds, value));
            }
        }
    }

    /// Adds every tree's outputs for the encoded row `groups` to `out`, tree by tree; `leaves` is scratch.
    fn add_outputs<G: GroupCodes>(&self, trees: &[CompiledTree], groups: &[G], leaves: &mut [u32], out: &mut [f64]) {
        for (i, tree) in trees.iter().enumerate() {
            let next = Prefetch::new(trees.get(i + 1), groups.len());
            match &tree.words {
                Words::Wide(words) => words.walk(tree.depth, groups, leaves, &next),
                Words::Narrow(words) => words.walk(tree.depth, groups, leaves, &next),
            }
            add_tree_outputs(self.width, &tree.outputs, leaves, out);
        }
    }
}

/// Adds the `width` outputs of each row's leaf (`outputs` holds `width` per leaf number) to the row's values in
/// `out`; `leaves` may be longer than the rows of `out` (its spare entries are ignored).
fn add_tree_outputs(width: usize, outputs: &[f32], leaves: &[u32], out: &mut [f64]) {
    // Known widths get their own loop, unrolled, rather than a short loop per row.
    match width {
        1 => add_leaf_outputs::<1>(outputs, leaves, out),
        2 => add_leaf_outputs::<2>(outputs, leaves, out),
        width => {
            for (row_out, &leaf) in out.chunks_exact_mut(width).zip(leaves) {
                let start = leaf as usize * width;
                for (acc, &value) in row_out.iter_mut().zip(&outputs[start..start + width]) {
                    *acc += f64::from(value);
                }
            }
        }
    }
}

/// Checks that `tree` has `width` outputs per leaf and that each split's stored rank in `ranks` (one per node) is
/// that of its threshold in `thresholds`, its feature's (which also refuses features out of range and NaN).
fn check_ranks(tree: &Tree, ranks: &[u8], thresholds: &[Vec<f64>], width: usize) -> Result<(), String> {
    if tree.width() != width {
        return Err("a tree's leaves do not have the forest's number of outputs".to_owned());
    }
    if ranks.len() != tree.n_nodes() {
        return Err("the stored split ranks are not one per node".to_owned());
    }
    for (node, &rank) in ranks.iter().enumerate() {
        if let Some((feature, threshold, _)) = tree.split(node) {
            let stored = thresholds.get(feature).and_then(|t| t.get(usize::from(rank)));
            // `==`: the table keeps one of -0.0 and 0.0, which compare alike, as `rank` does.
            if stored != Some(&threshold) {
                return Err("a stored split rank is not that of its split's threshold".to_owned());
            }
        }
    }
    Ok(())
}

/// Adds the (feature, threshold) pairs of `tree`'s splits to `keys` as [`pack_key`]s, after checking that its
/// width is `width` and its splits are on features below `n_features` at thresholds that are not NaN.
fn add_thresholds(tree: &Tree, n_features: usize, width: usize, keys: &mut KeySet) -> Result<(), String> {
    if tree.width() != width {
        return Err("a tree's leaves do not have the forest's number of outputs".to_owned());
    }
    for node in 0..tree.n_nodes() {
        if let Some((feature, threshold, _)) = tree.split(node) {
            if threshold.is_nan() {
                return Err("a tree has a NaN threshold".to_owned());
            }
            if feature >= n_features {
                return Err("a tree splits on a feature the forest does not have".to_owned());
            }
            keys.insert(pack_key(feature, threshold));
        }
    }
    Ok(())
}

/// A (feature, threshold) pair as one integer that sorts as the pairs do: by feature, then by threshold in
/// `f64::total_cmp` order (a negative's bits all flipped, a positive's sign bit set). Sorting these is one
/// integer compare per step; a (feature, key) tuple rebuilt by a key closure at every compare cost a large
/// forest's loading a sixth more instructions.
fn pack_key(feature: usize, threshold: f64) -> u128 {
    let bits = threshold.to_bits();
    let ordered = if bits >> 63 == 1 { !bits } else { bits | 1 << 63 };
    (feature as u128) << 64 | u128::from(ordered)
}

/// The pair [`pack_key`] packed.
fn unpack_key(key: u128) -> (usize, f64) {
    // The two halves of `pack_key`.
    let (feature, ordered) = ((key >> 64) as usize, key as u64);
    let bits = if ordered >> 63 == 1 { ordered & !(1 << 63) } else { !ordered };
    (feature, f64::from_bits(bits))
}

/// The key [`rank_of`] a threshold by: [`pack_key`]'s, with -0.0 as 0.0.
fn rank_key(feature: usize, threshold: f64) -> u128 {
    pack_key(feature, if threshold == 0.0 { 0.0 } else { threshold })
}

/// Compiles one tree given the rank of each split's threshold (`rank_of(node, feature, threshold)`), into
/// narrow words if `narrow` (the caller checked that they fit). Narrow words are written directly: a wide table
/// first, then narrowed, cost a large forest's loading 12 MB more memory touched.
///
/// # Errors
/// If a node links outside the tree (a tree of this engine never does).
fn compile_tree(
    tree: &Tree,
    rank_of: &impl Fn(usize, usize, f64) -> u16,
    narrow: bool,
) -> Result<CompiledTree, String> {
    // One spare word (zero, linking to the root) after the nodes, so that even the last node's `next + 1` is a
    // word.
    let n_slots = tree.n_nodes() + 1;
    let mut depth = 0;
    let mut outputs = vec![0.0; tree.n_nodes() * tree.width()];
    let words = if narrow {
        NodeWords::new(tree_words(tree, rank_of, n_slots, &mut depth, &mut outputs, narrow_word)).map(Words::Narrow)
    } else {
        NodeWords::new(tree_words(tree, rank_of, n_slots, &mut depth, &mut outputs, |word| word)).map(Words::Wide)
    };
    let words = words.ok_or_else(|| "a tree links to a node it does not have".to_owned())?;
    Ok(CompiledTree { words, depth, outputs })
}

/// `tree`'s node words, each made by `form` from the wide one, then zeros up to `n_slots`; sets `depth` to the
/// depth of the deepest leaf and writes each leaf's outputs at its node in `outputs`.
fn tree_words<W: Copy + Default>(
    tree: &Tree,
    rank_of: &impl Fn(usize, usize, f64) -> u16,
    n_slots: usize,
    depth: &mut usize,
    outputs: &mut [f32],
    form: impl Fn(WideNode) -> W,
) -> Vec<W> {
    let width = tree.width();
    let mut words = vec![W::default(); n_slots];
    let mut depths = vec![0u32; tree.n_nodes()];
    for node in 0..tree.n_nodes() {
        words[node] = form(match tree.split(node) {
            Some((feature, threshold, left)) => {
                // Children come after their parent, so in node order a parent's depth is known first.
                depths[left] = depths[node] + 1;
                depths[left + 1] = depths[node] + 1;
                // `CompiledForest::new` checked that features fit a `u16`.
                WideNode {
                    next: index_u32(left),
                    rank: rank_of(node, feature, threshold),
                    feature: u16::try_from(feature).unwrap_or(0),
                }
            }
            None => {
                outputs[node * width..(node + 1) * width].copy_from_slice(tree.leaf_values(node));
                WideNode { next: index_u32(node), rank: LEAF_RANK, feature: 0 }
            }
        });
    }
    *depth = depths.into_iter().max().unwrap_or(0) as usize;
    words
}

/// The narrow form of a wide word whose fields fit (padding, all zero, stays zero).
fn narrow_word(word: WideNode) -> NarrowNode {
    let (next, rank, feature) = word.unpack();
    let rank = if rank == LEAF_RANK { NARROW_LEAF_RANK } else { u8::try_from(rank).unwrap_or(NARROW_LEAF_RANK) };
    NarrowNode { next: u16::try_from(next).unwrap_or(0), rank, feature: u8::try_from(feature).unwrap_or(0) }
}

/// The next tree's nodes and outputs, fetched into cache a part per group while the current tree is walked:
/// otherwise a chunk's walk of each tree starts from cache misses, as the forest is larger than the cache.
struct Prefetch {
    /// (start, bytes) of the node words and of the outputs.
    regions: [(*const u8, usize); 2],
    /// Cache lines of each region to fetch per group.
    lines_per_group: usize,
}

/// Bytes in a cache line.
const CACHE_LINE: usize = 64;

impl Prefetch {
    fn new(tree: Option<&CompiledTree>, n_groups: usize) -> Self {
        let Some(tree) = tree else { return Prefetch { regions: [(std::ptr::null(), 0); 2], lines_per_group: 0 } };
        let words: (*const u8, usize) = match &tree.words {
            Words::Wide(w) => (w.as_slice().as_ptr().cast(), std::mem::size_of_val(w.as_slice())),
            Words::Narrow(w) => (w.as_slice().as_ptr().cast(), std::mem::size_of_val(w.as_slice())),
        };
        let outputs = (tree.outputs.as_ptr().cast(), std::mem::size_of_val(tree.outputs.as_slice()));
        let longest = words.1.max(outputs.1);
        Prefetch { regions: [words, outputs], lines_per_group: longest.div_ceil(CACHE_LINE).div_ceil(n_groups.max(1)) }
    }

    /// Fetches part `i` of each region.
    #[inline]
    fn part(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        for &(start, len) in &self.regions {
            let first = i * self.lines_per_group * CACHE_LINE;
            let end = len.min(first + self.lines_per_group * CACHE_LINE);
            for offset in (first..end).step_by(CACHE_LINE) {
                // Into L2: the walk of the current tree keeps L1 busy. A prefetch never faults, and the address
                // is inside the region anyway.
                // SAFETY: SSE, which `_mm_prefetch` needs, is part of every x86_64 CPU.
                unsafe {
                    std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(
                        start.wrapping_add(offset).cast(),
                    );
                }
            }
        }
    }
}

/// Adds the `W` outputs of each row's leaf (`outputs` holds `W` per node) to the row's `W` values in `out`.
fn add_leaf_outputs<const W: usize>(outputs: &[f32], leaves: &[u32], out: &mut [f64]) {
    let outputs = outputs.as_chunks::<W>().0;
    for (row_out, &leaf) in out.as_chunks_mut::<W>().0.iter_mut().zip(leaves) {
        for (acc, &value) in row_out.iter_mut().zip(&outputs[leaf as usize]) {
            *acc += f64::from(value);
        }
    }
}

/// How many of `thresholds` (ascending) are below `value`; below [`LEAF_RANK`] as there are at most
/// [`MAX_THRESHOLDS`] of them.
fn rank(thresholds: &[f64], value: f64) -> u16 {
    u16::try_from(thresholds.partition_point(|&t| t < value)).unwrap_or(LEAF_RANK - 1)
}

/// Rows ranked side by side by [`CompiledForest::encode_rows`].
const RANK_LANES: usize = 8;

/// [`rank`] of each of `values`: the same branch-free search as `partition_point`'s, its steps taken in
/// lockstep for all the values (their searches are the same length), so that their loads are independent.
fn ranks<const K: usize>(thresholds: &[f64], values: &[f64; K]) -> [u16; K] {
    if thresholds.is_empty() {
        return [0; K];
    }
    let mut base = [0usize; K];
    let mut size = thresholds.len();
    while size > 1 {
        let half = size / 2;
        for (base, &value) in base.iter_mut().zip(values) {
            let mid = *base + half;
            // Which way a search goes is a coin toss: a branch here would be mispredicted half the time.
            *base = std::hint::select_unpredictable(thresholds[mid] < value, mid, *base);
        }
        size -= half;
    }
    std::array::from_fn(|k| {
        let count = base[k] + usize::from(thresholds[base[k]] < values[k]);
        u16::try_from(count).unwrap_or(LEAF_RANK - 1)
    })
}

#[cfg(test)]
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
    fn chunks_are_large_but_shared_by_the_threads() {
        assert_eq!(chunk_rows(100_000, 2), MAX_CHUNK_ROWS);
        assert_eq!(chunk_rows(8192, 2), 4096);
        assert_eq!(chunk_rows(5000, 2), 2512, "a multiple of the lanes");
        assert_eq!(chunk_rows(100, 2), MIN_CHUNK_ROWS);
        assert_eq!(chunk_rows(100_000, 0), MAX_CHUNK_ROWS);
    }

    #[test]
    fn compiled_prediction_equals_walking_each_tree() {
        let mut rng = Rng::new(1);
        // Tree sizes on both sides of the 16-node minimum table, and several chunks of rows with a short last group.
        for n_features in [3, 300] {
            let trees: Vec<Tree> = (0..7).map(|i| random_tree(&mut rng, 3 + 40 * i, n_features)).collect();
            let x = rows(&mut rng, 2 * MAX_CHUNK_ROWS + 5, n_features);
            let compiled = CompiledForest::new(&trees, n_features, 2).expect("compiles");
            assert_eq!(compiled.predict(&x), reference(&trees, &x), "{n_features} features");
        }
    }

    #[test]
    fn small_trees_predict_by_bit_vectors_as_by_walking() {
        let mut rng = Rng::new(5);
        for n_features in [1, 3, 300] {
            // 1 to 32 leaves: all bit-vector trees.
            let trees: Vec<Tree> =
                (0..9).map(|i| random_tree(&mut rng, [0, 1, 4, 10, 20, 25, 30, 31, 31][i], n_features)).collect();
            let x = rows(&mut rng, 2 * MAX_CHUNK_ROWS + 5, n_features);
            let compiled = CompiledForest::new(&trees, n_features, 2).expect("compiles");
            assert!(matches!(compiled.trees, Trees::Bits(_)), "{n_features} features");
            assert_eq!(compiled.predict(&x), reference(&trees, &x), "{n_features} features");
        }
    }

    #[test]
    fn one_output_bit_vector_trees_sum_as_walked() {
        let mut rng = Rng::new(6);
        // The two-output trees, keeping each leaf's first output: the width of boosting.
        let trees: Vec<Tree> = (0..6)
            .map(|i| {
                let two = random_tree(&mut rng, 5 * i + 1, 4);
                let json = serde_json::to_value(&two).expect("serialises");
                let mut one = json.clone();
                one["width"] = 1.into();
                let values = json["values"].as_array().expect("values");
                one["values"] = values.iter().step_by(2).cloned().collect();
                serde_json::from_value(one).expect("a valid one-output tree")
            })
            .collect();
        let x = rows(&mut rng, MAX_CHUNK_ROWS + 70, 4);
        let compiled = CompiledForest::new(&trees, 4, 1).expect("compiles");
        assert!(matches!(compiled.trees, Trees::Bits(_)));
        let expected: Vec<f64> = (0..x.n_rows())
            .map(|r| trees.iter().map(|t| f64::from(t.leaf_values(t.leaf_of(x.row(r)))[0])).sum())
            .collect();
        assert_eq!(compiled.predict_sum(&x), expected);
    }

    #[test]
    fn wide_and_narrow_words_walk_alike() {
        let mut rng = Rng::new(2);
        let trees = vec![random_tree(&mut rng, 100, 4)];
        let compiled = CompiledForest::new(&trees, 4, 2).expect("compiles");
        let x = rows(&mut rng, 6 * LANES, 4);
        let mut codes = vec![[0u16; ROW_WIDTH]; 6 * LANES];
        compiled.encode_rows(&x, 0..6 * LANES, |r, feature, code| codes[r][feature] = code);
        let groups = codes.as_chunks::<LANES>().0;
        let Trees::Walked(compiled_trees) = &compiled.trees else { panic!("101 splits are walked") };
        let CompiledTree { words, depth, .. } = &compiled_trees[0];
        let Words::Narrow(narrow) = words else { panic!("a small tree on 4 features is narrow") };
        let rank_of = |_: usize, feature: usize, threshold: f64| rank(&compiled.thresholds[feature], threshold);
        let wide = match compile_tree(&trees[0], &rank_of, false).expect("compiles").words {
            Words::Wide(wide) => wide,
            Words::Narrow(_) => panic!("asked for wide words"),
        };
        let expected: Vec<u32> = (0..6 * LANES).map(|r| index_u32(trees[0].leaf_of(x.row(r)))).collect();
        let mut walks = vec![vec![0; 6 * LANES]; 2];
        // Fetching a tree ahead changes nothing but what is in cache.
        let fetch = Prefetch::new(Some(&compiled_trees[0]), groups.len());
        wide.walk(*depth, groups, &mut walks[0], &fetch);
        narrow.walk(*depth, groups, &mut walks[1], &fetch);
        for walked in &walks {
            assert_eq!(walked, &expected);
        }
    }

    #[test]
    fn node_words_that_a_walk_could_leave_are_refused() {
        let word = |next| NarrowNode { next, rank: 0, feature: 0 };
        assert!(NodeWords::new(vec![word(1), word(0), word(0)]).is_some(), "1 and its right, 2, are words");
        assert!(NodeWords::new(vec![word(1), word(0)]).is_none(), "the right of 1 is past the end");
        assert!(NodeWords::new(vec![word(0)]).is_none(), "a lone word's right is past the end");
        assert!(NodeWords::<NarrowNode>::new(Vec::new()).is_none(), "a walk starts at word 0");
    }

    #[test]
    fn packed_keys_sort_like_the_pairs_and_unpack_exactly() {
        let values = [f64::NEG_INFINITY, -2.5, -f64::MIN_POSITIVE, -0.0, 0.0, 1e-300, 1.0, 3.5, f64::MAX];
        let mut pairs: Vec<(usize, f64)> = (0..3).flat_map(|f| values.iter().map(move |&v| (f, v))).collect();
        pairs.reverse();
        let mut keys: Vec<u128> = pairs.iter().map(|&(f, v)| pack_key(f, v)).collect();
        keys.sort_unstable();
        let back: Vec<(usize, u64)> = keys.into_iter().map(unpack_key).map(|(f, v)| (f, v.to_bits())).collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        assert_eq!(back, pairs.iter().map(|&(f, v)| (f, v.to_bits())).collect::<Vec<_>>());
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
    fn side_by_side_ranks_are_each_values_rank() {
        let mut rng = Rng::new(5);
        for n in [0, 1, 2, 3, 7, 8, 9, 100, 254] {
            let thresholds: Vec<f64> = (0..n).map(|i| i as f64 / 4.0 - 5.0).collect();
            for _ in 0..50 {
                // Values on, between and beyond the thresholds, and NaN.
                let values: [f64; RANK_LANES] = std::array::from_fn(|_| match rng.below(10) {
                    0 => f64::NAN,
                    1 => thresholds.get(rng.below(n.max(1))).copied().unwrap_or(0.0),
                    _ => (rng.next_f64() - 0.5) * 80.0,
                });
                let expected = values.map(|v| rank(&thresholds, v));
                assert_eq!(ranks(&thresholds, &values), expected, "{n} thresholds, values {values:?}");
            }
        }
    }

    #[test]
    fn rows_encode_alike_in_lanes_and_in_the_remainder() {
        let mut rng = Rng::new(6);
        let trees: Vec<Tree> = (0..5).map(|_| random_tree(&mut rng, 60, 3)).collect();
        let compiled = CompiledForest::new(&trees, 3, 2).expect("compiles");
        let x = rows(&mut rng, 3 * RANK_LANES + 5, 3);
        let mut codes = vec![[u16::MAX; 3]; x.n_rows()];
        compiled.encode_rows(&x, 2..x.n_rows(), |i, feature, code| codes[i][feature] = code);
        for (i, code) in codes.iter().take(x.n_rows() - 2).enumerate() {
            let expected: Vec<u16> = x.row(i + 2).iter().zip(&compiled.thresholds).map(|(&v, t)| rank(t, v)).collect();
            assert_eq!(code.as_slice(), expected.as_slice(), "row {}", i + 2);
        }
        assert_eq!(codes[x.n_rows() - 1], [u16::MAX; 3], "rows past the range are not written");
    }

    /// A tree of one split on feature 0 at `threshold`, with one output per leaf.
    fn stump(threshold: f64) -> Tree {
        let mut builder = TreeBuilder::new(1);
        let left = builder.make_split(0, 0, threshold);
        builder.make_leaf(left, &[0.0]);
        builder.make_leaf(left + 1, &[1.0]);
        builder.finish()
    }

    #[test]
    fn inconsistent_trees_do_not_compile() {
        assert!(CompiledForest::new(&[stump(0.5)], 1, 1).is_ok());
        assert!(CompiledForest::new(&[stump(f64::NAN)], 1, 1).is_err(), "a NaN threshold");
        assert!(CompiledForest::new(&[stump(0.5)], 1, 2).is_err(), "the wrong width");
        assert!(CompiledForest::new(&[stump(0.5)], 0, 1).is_err(), "a feature out of range");
        assert!(CompiledForest::new(&[], 70_000, 1).is_err(), "too many features");
        let many: Vec<Tree> = (0..70_000).map(|i| stump(f64::from(i))).collect();
        assert!(CompiledForest::new(&many, 1, 1).is_err(), "too many thresholds for u16 ranks");
    }

    #[test]
    fn stored_split_ranks_compile_to_the_forest_that_finding_them_does() {
        let mut rng = Rng::new(9);
        for (n_features, n_splits) in [(3, 60), (300, 60), (3, 10)] {
            // Walked trees (narrow, then wide as 300 features do not fit a narrow node) and bit-vector trees.
            let trees: Vec<Tree> = (0..5).map(|_| random_tree(&mut rng, n_splits, n_features)).collect();
            let found = CompiledForest::new(&trees, n_features, 2).expect("compiles");
            let stored = found.split_ranks(&trees).expect("a grid of 21 thresholds fits byte ranks");
            let given = CompiledForest::with_ranks(&trees, n_features, 2, stored).expect("consistent");
            assert!(given == found, "{n_features} features, {n_splits} splits");
        }
    }

    #[test]
    fn stored_split_ranks_that_do_not_fit_the_trees_are_refused() {
        let trees = [stump(0.5), stump(2.0)];
        let good = SplitRanks { thresholds: vec![vec![0.5, 2.0]], ranks: vec![vec![0, 0, 0], vec![1, 0, 0]] };
        let with = |ranks: SplitRanks| CompiledForest::with_ranks(&trees, 1, 1, ranks);
        assert!(with(good.clone()).is_ok());
        let mut swapped = good.clone();
        swapped.ranks.swap(0, 1);
        assert!(with(swapped).is_err(), "a rank pointing at another threshold");
        let mut past = good.clone();
        past.ranks[1][0] = 2;
        assert!(with(past).is_err(), "a rank past the table");
        let mut unsorted = good.clone();
        unsorted.thresholds[0].reverse();
        unsorted.ranks = vec![vec![1, 0, 0], vec![0, 0, 0]];
        assert!(with(unsorted).is_err(), "thresholds out of order");
        let mut short = good.clone();
        short.ranks[0].pop();
        assert!(with(short).is_err(), "a rank missing");
        let mut one_tree = good.clone();
        one_tree.ranks.pop();
        assert!(with(one_tree).is_err(), "a tree without ranks");
        assert!(CompiledForest::with_ranks(&trees, 1, 2, good.clone()).is_err(), "the wrong width");
        assert!(CompiledForest::with_ranks(&trees, 2, 1, good.clone()).is_err(), "a table per feature");
        let wide = SplitRanks { thresholds: vec![(0..255).map(f64::from).collect()], ranks: vec![vec![0; 3]; 2] };
        assert!(with(wide).is_err(), "more thresholds than byte ranks");
        let mut nan = good.clone();
        nan.thresholds[0].push(f64::NAN);
        assert!(with(nan).is_err(), "a NaN threshold");
    }
}
