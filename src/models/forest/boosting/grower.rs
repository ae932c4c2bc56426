//! Grows one boosting tree leaf-wise (best first): the split search per feature over a leaf's histogram and
//! the sibling subtraction that builds only the smaller child's histogram.

use rayon::prelude::*;

use super::histogram::{add_chunks, fill_histogram, Bin, Histogram, NodeRows};
use super::params::BoostingParams;
use super::partition::partition_rows;
use super::sums::pair_sums;
use crate::models::forest::binning::BinnedMatrix;
use crate::models::forest::tree::{Tree, TreeBuilder};

/// Smallest hessian sum a split may leave on either side (scikit-learn's `min_hessian_to_split`).
pub(super) const MIN_HESSIAN_TO_SPLIT: f64 = 1e-3;

/// Keeps a Newton step finite when a node's hessians sum to zero (scikit-learn adds the same).
pub(super) const HESSIAN_FLOOR: f64 = 1e-15;

/// Nodes with fewer rows than this search their splits on one thread: below it, handing out the features
/// costs more than it saves.
pub(super) const PARALLEL_SEARCH_ROWS: usize = 4096;

/// The best split of a leaf.
#[derive(Debug, Clone, Copy)]
pub(super) struct Candidate {
    pub(super) feature: usize,
    /// Rows with bins up to and including this one go left.
    pub(super) bin: u8,
    pub(super) gain: f64,
    pub(super) left_g: f64,
    pub(super) left_h: f64,
    pub(super) left_count: usize,
}

/// A leaf of the tree being grown: its rows are `rows[start..end]`.
pub(super) struct OpenLeaf {
    pub(super) node: usize,
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) depth: usize,
    pub(super) sum_g: f64,
    pub(super) sum_h: f64,
    /// The histogram slot, while the leaf may still be split.
    pub(super) histogram: Option<usize>,
    pub(super) candidate: Option<Candidate>,
}

/// One feature's share of a split's work: its part of the smaller child's histogram, to fill, and of the
/// parent's, to turn into the larger child's.
pub(super) struct FeatureJob<'h> {
    pub(super) feature: usize,
    pub(super) small: &'h mut [Bin],
    pub(super) large: Option<&'h mut [Bin]>,
}

/// What a leaf's split search needs of it.
#[derive(Debug, Clone, Copy)]
pub(super) struct LeafStats {
    pub(super) n: usize,
    pub(super) sum_g: f64,
    pub(super) sum_h: f64,
}

impl LeafStats {
    fn of(leaf: &OpenLeaf) -> Self {
        LeafStats { n: leaf.end - leaf.start, sum_g: leaf.sum_g, sum_h: leaf.sum_h }
    }
}

/// The split of a leaf (`leaf`'s stats, `bins` its histogram of `feature`) with the highest positive gain over
/// the feature's bins, if any leaves `min_samples_leaf` rows and [`MIN_HESSIAN_TO_SPLIT`] hessian on both
/// sides; the first of equals.
pub(super) fn best_in_feature(
    feature: usize,
    bins: &[Bin],
    leaf: LeafStats,
    params: &BoostingParams,
) -> Option<Candidate> {
    let l2 = params.l2_regularization + HESSIAN_FLOOR;
    let min_leaf = params.min_samples_leaf;
    let LeafStats { n, sum_g, sum_h } = leaf;
    let parent_score = sum_g * sum_g / (sum_h + l2);
    let mut best: Option<Candidate> = None;
    let (mut left_g, mut left_h, mut left_count) = (0.0, 0.0, 0usize);
    // Splitting after the last bin separates nothing.
    for (bin, b) in bins.iter().enumerate().take(bins.len().saturating_sub(1)) {
        left_g += b.g;
        left_h += b.h;
        left_count += b.count as usize;
        if left_count < min_leaf {
            continue;
        }
        if n - left_count < min_leaf {
            break;
        }
        let right_h = sum_h - left_h;
        if left_h < MIN_HESSIAN_TO_SPLIT {
            continue;
        }
        if right_h < MIN_HESSIAN_TO_SPLIT {
            break;
        }
        let right_g = sum_g - left_g;
        let gain = left_g * left_g / (left_h + l2) + right_g * right_g / (right_h + l2) - parent_score;
        if gain > 0.0 && best.is_none_or(|c| gain > c.gain) {
            // At most 255 bins, so the index fits.
            let bin = u8::try_from(bin).unwrap_or(u8::MAX);
            best = Some(Candidate { feature, bin, gain, left_g, left_h, left_count });
        }
    }
    best
}

/// A finished leaf: its rows and its value (learning rate included, rounded to f32 as stored).
pub(super) struct FinalLeaf {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) value: f32,
}

/// Grows boosting trees, keeping its buffers from one tree to the next.
pub(super) struct BoostGrower<'a> {
    pub(super) binned: &'a BinnedMatrix,
    pub(super) params: &'a BoostingParams,
    /// The bins of every row, row by row (`n_features` bytes a row), as histograms read them.
    pub(super) row_bins: Vec<u8>,
    /// How many bins each feature has.
    pub(super) n_bins: Vec<usize>,
    /// Histogram slots; `free` lists the unused ones.
    pub(super) histograms: Vec<Histogram>,
    pub(super) free: Vec<usize>,
    /// Histograms for the chunks of a node filled in parallel (see [`fill_histogram`]).
    pub(super) spare: Vec<Histogram>,
    /// Every training row, partitioned so that each leaf's rows are contiguous and ascending.
    pub(super) rows: Vec<u32>,
    pub(super) spill: Vec<(u32, (f32, f32))>,
    /// The gradient and hessian of the row at each position of `rows`, moved with the rows by every
    /// partition, so that a node's pairs are a contiguous slice rather than gathered from all rows'. (Moving
    /// the features' bins with them too, to read those contiguously as well, cost more than it saved.)
    pub(super) ordered: Vec<(f32, f32)>,
    /// Whether `rows` is still `0..n` (no partition since the tree began).
    pub(super) rows_in_order: bool,
    /// Per node of the last tree: the bin a split sends left at or below (0 for leaves).
    pub(super) split_bins: Vec<u8>,
    /// The last tree's leaves.
    pub(super) leaves: Vec<FinalLeaf>,
}

impl<'a> BoostGrower<'a> {
    pub(super) fn new(binned: &'a BinnedMatrix, params: &'a BoostingParams) -> Self {
        let n_bins = (0..binned.n_features()).map(|f| binned.mapper(f).n_bins()).collect();
        BoostGrower {
            binned,
            params,
            row_bins: binned.row_major(),
            n_bins,
            histograms: Vec::new(),
            free: Vec::new(),
            spare: Vec::new(),
            rows: Vec::new(),
            spill: Vec::new(),
            ordered: Vec::new(),
            rows_in_order: false,
            split_bins: Vec::new(),
            leaves: Vec::new(),
        }
    }

    pub(super) fn take_histogram(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.histograms.push(vec![[Bin::default(); 256]; self.n_bins.len()]);
            self.histograms.len() - 1
        })
    }

    /// Grows one tree on gradients `g` and hessians `h`, adding split gains to `importances`. The leaves and
    /// their rows are left in `self.leaves` and `self.rows` for the caller to update the scores.
    pub(super) fn grow(&mut self, g: &[f64], h: &[f64], importances: &mut [f64]) -> Tree {
        let n = self.binned.n_rows();
        self.rows.clear();
        self.rows.extend((0..n).map(crate::models::forest::tree::index_u32));
        self.rows_in_order = true;
        self.ordered.resize(n, (0.0, 0.0));
        // f32 gradients, as scikit-learn's (see `NodeRows`).
        self.ordered.par_iter_mut().zip(g.par_iter().zip(h)).for_each(|(pair, (&g, &h))| *pair = (g as f32, h as f32));
        self.free = (0..self.histograms.len()).collect();
        self.split_bins.clear();
        self.split_bins.push(0);
        self.leaves.clear();

        let mut tree = TreeBuilder::new(1);
        let (sum_g, sum_h) = pair_sums(&self.ordered);
        let mut open =
            vec![OpenLeaf { node: 0, start: 0, end: n, depth: 0, sum_g, sum_h, histogram: None, candidate: None }];
        if self.splittable(&open[0]) && sum_h >= MIN_HESSIAN_TO_SPLIT {
            let slot = self.take_histogram();
            let root = LeafStats::of(&open[0]);
            open[0].candidate = self.build_and_search(slot, root);
            open[0].histogram = Some(slot);
        }
        let mut n_leaves = 1;
        loop {
            if self.params.max_leaf_nodes.is_some_and(|max| n_leaves >= max) {
                break;
            }
            // The open leaf whose split gains most; the first of equals.
            let mut best: Option<(usize, f64)> = None;
            for (i, leaf) in open.iter().enumerate() {
                if let Some(c) = &leaf.candidate {
                    if best.is_none_or(|(_, gain)| c.gain > gain) {
                        best = Some((i, c.gain));
                    }
                }
            }
            let Some((index, _)) = best else { break };
            let parent = open.swap_remove(index);
            let Some(split) = parent.candidate else { break };
            importances[split.feature] += split.gain;

            let mid = parent.start + self.partition(parent.start, parent.end, split.feature, split.bin);
            debug_assert_eq!(mid - parent.start, split.left_count);
            let threshold = self.binned.mapper(split.feature).threshold(split.bin);
            let left_node = tree.make_split(parent.node, split.feature, threshold);
            self.split_bins[parent.node] = split.bin;
            self.split_bins.extend([0, 0]);
            n_leaves += 1;

            let depth = parent.depth + 1;
            let mut left = OpenLeaf {
                node: left_node,
                start: parent.start,
                end: mid,
                depth,
                sum_g: split.left_g,
                sum_h: split.left_h,
                histogram: None,
                candidate: None,
            };
            let mut right = OpenLeaf {
                node: left_node + 1,
                start: mid,
                end: parent.end,
                depth,
                sum_g: parent.sum_g - split.left_g,
                sum_h: parent.sum_h - split.left_h,
                histogram: None,
                candidate: None,
            };
            let full = self.params.max_leaf_nodes.is_some_and(|max| n_leaves >= max);
            let (split_left, split_right) = (!full && self.splittable(&left), !full && self.splittable(&right));
            let parent_slot = parent.histogram.expect("a leaf with a candidate keeps its histogram");
            if split_left || split_right {
                // The smaller child's histogram is built from its rows; the larger one's is the parent's minus it,
                // computed in place in the parent's slot. Both children's best splits are searched in the same
                // pass over the features.
                let left_smaller = left.end - left.start <= right.end - right.start;
                let (small, large, want_small, want_large) = if left_smaller {
                    (&mut left, &mut right, split_left, split_right)
                } else {
                    (&mut right, &mut left, split_right, split_left)
                };
                let small_slot = self.take_histogram();
                let small_stats = LeafStats::of(small);
                let large_stats = LeafStats::of(large);
                let (small_best, large_best) = self.build_and_search_pair(
                    small_slot,
                    Some(parent_slot),
                    (small_stats, want_small),
                    want_large.then_some(large_stats),
                    small.start..small.end,
                );
                small.histogram = Some(small_slot);
                large.histogram = Some(parent_slot);
                small.candidate = small_best;
                large.candidate = large_best;
            } else {
                self.free.push(parent_slot);
            }
            for child in [&mut left, &mut right] {
                if child.candidate.is_none() {
                    if let Some(slot) = child.histogram.take() {
                        self.free.push(slot);
                    }
                }
            }
            open.push(left);
            open.push(right);
        }

        // Every open leaf becomes a leaf, in node order so the tree's leaf ordinals do not depend on the order
        // leaves were split in.
        open.sort_unstable_by_key(|leaf| leaf.node);
        let l2 = self.params.l2_regularization;
        for leaf in &open {
            let value = -self.params.learning_rate * leaf.sum_g / (leaf.sum_h + l2 + HESSIAN_FLOOR);
            // Leaf values are stored as f32, like the forest's.
            let value = value as f32;
            tree.make_leaf(leaf.node, &[value]);
            self.leaves.push(FinalLeaf { start: leaf.start, end: leaf.end, value });
        }
        tree.finish()
    }

    /// Whether a new leaf may be split at all, before looking at its histogram.
    fn splittable(&self, leaf: &OpenLeaf) -> bool {
        let p = self.params;
        p.max_depth.is_none_or(|max| leaf.depth < max) && leaf.end - leaf.start >= 2 * p.min_samples_leaf
    }

    /// The node whose rows are `rows[range]`, as a histogram reads them.
    fn node_rows(&self, range: std::ops::Range<usize>) -> NodeRows<'_> {
        let rows = &self.rows[range.clone()];
        let pairs = &self.ordered[range];
        // Before the first partition, `rows` is every row in order and can be read straight.
        NodeRows { rows: (!self.rows_in_order).then_some(rows), pairs }
    }

    /// Fills the root's histogram `slot` from every row and returns its best split, if `root` asks for one.
    fn build_and_search(&mut self, slot: usize, root: LeafStats) -> Option<Candidate> {
        let n = self.rows.len();
        let (small, _) = self.build_and_search_pair(slot, None, (root, true), None, 0..n);
        small
    }

    /// The work of one split, feature by feature, in parallel over features when the node is large: fills
    /// histogram `small_slot` from the rows `rows[range]`, whose sums are `small_stats`; subtracts it from
    /// `large_slot` if given (the parent's, which becomes the larger child's); and returns the best split of
    /// the smaller child if `search_small`, and of the larger one if its stats are given.
    pub(super) fn build_and_search_pair(
        &mut self,
        small_slot: usize,
        large_slot: Option<usize>,
        (small_stats, search_small): (LeafStats, bool),
        large: Option<LeafStats>,
        range: std::ops::Range<usize>,
    ) -> (Option<Candidate>, Option<Candidate>) {
        let n_rows = range.len();
        let mut small_hist = std::mem::take(&mut self.histograms[small_slot]);
        let mut large_hist = large_slot.map(|slot| std::mem::take(&mut self.histograms[slot]));
        let mut spare = std::mem::take(&mut self.spare);
        let node = self.node_rows(range);
        let used = fill_histogram(&mut small_hist, &mut spare, &self.n_bins, &self.row_bins, &node);
        let spare_chunks = &spare[..used];
        let small = search_small.then_some(small_stats);
        let (params, n_bins) = (self.params, &self.n_bins);
        let mut large_parts = large_hist.as_mut().map(|hist| hist.iter_mut());
        let jobs: Vec<FeatureJob<'_>> = small_hist
            .iter_mut()
            .zip(n_bins)
            .enumerate()
            .map(|(feature, (bins, &n))| {
                let large = large_parts.as_mut().and_then(Iterator::next).map(|bins| &mut bins[..n]);
                FeatureJob { feature, small: &mut bins[..n], large }
            })
            .collect();
        let job = |FeatureJob { feature, small: part, large: large_part }: FeatureJob<'_>| {
            add_chunks(part, feature, spare_chunks);
            let small_best = small.and_then(|stats| best_in_feature(feature, part, stats, params));
            let large_best = large_part.and_then(|large_part| {
                for (t, s) in large_part.iter_mut().zip(part.iter()) {
                    t.g -= s.g;
                    t.h -= s.h;
                    t.count -= s.count;
                }
                large.and_then(|stats| best_in_feature(feature, large_part, stats, params))
            });
            (small_best, large_best)
        };
        let found: Vec<(Option<Candidate>, Option<Candidate>)> = if n_rows >= PARALLEL_SEARCH_ROWS {
            jobs.into_par_iter().map(job).collect()
        } else {
            jobs.into_iter().map(job).collect()
        };
        self.spare = spare;
        self.histograms[small_slot] = small_hist;
        if let (Some(slot), Some(hist)) = (large_slot, large_hist) {
            self.histograms[slot] = hist;
        }
        // The first of equals, in feature order, as one pass over the features would find.
        let first_best = |a: Option<Candidate>, b: Option<Candidate>| match (a, b) {
            (Some(x), Some(y)) if y.gain > x.gain => Some(y),
            (None, y) => y,
            (x, _) => x,
        };
        found.into_iter().fold((None, None), |(s, l), (fs, fl)| (first_best(s, fs), first_best(l, fl)))
    }

    /// Stable partition of `rows[start..end]` and their gradient pairs: bins at or below `bin` of `feature`
    /// first. Returns the count.
    pub(super) fn partition(&mut self, start: usize, end: usize, feature: usize, bin: u8) -> usize {
        self.rows_in_order = false;
        let column = self.binned.column(feature);
        partition_rows(column, bin, &mut self.rows[start..end], &mut self.ordered[start..end], &mut self.spill)
    }
}
