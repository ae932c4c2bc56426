//! Growing one tree on binned data: depth-first, with the best split of each node found from per-bin
//! histograms of the node's rows, under a pluggable [`Objective`] (Gini or entropy for classification,
//! variance for regression).
//!
//! Histograms are built per node over the features the node draws (`max_features`), not over all features
//! with the parent-minus-sibling subtraction trick. Subtraction needs the parent's histogram of every feature a
//! child may draw, which with per-node feature sampling means all of them, and it only saves work on nodes
//! much larger than the 256 bins per feature it subtracts. Counted on the reference workload (8,000 rows,
//! 16 features, 100 trees of depth 20): with √16 = 4 features drawn per node, histograms of all features
//! would take 3.5 times the row updates of the direct ones (about 100M against 29M per forest); with all 16
//! drawn (the regression default), subtraction could skip at most 22% of the row updates, and building
//! histograms is a quarter of the fit time, so it would save at most about 5% before paying for keeping a
//! full histogram per pending node. One direct code path is kept; the trick belongs with gradient boosting,
//! whose shallow trees on large data are mostly large nodes.
//!
//! Everything a node's histograms read is contiguous and in the node's row order: each tree gathers its rows'
//! bins (every feature, column-major) and samples (class or target, and draw count) once, and every split
//! partitions all of them, stably, along with the rows. Building a histogram is then a sequential read; the
//! alternative, gathering `column[row]` by row index for every feature drawn at every node, was a cache miss
//! per row once the data outgrew the cache (37% of the fit time on that one load at 300,000 rows), and
//! moving 16 feature bytes per row and level costs much less. Histograms count bootstrap draws, not weights:
//! a bin holds, per class, how many draws of that class fell in it (an integer, exact in f64 whatever the
//! order of the sums), and class weights multiply those counts only when a split is scored.
//!
//! A node costs in proportion to its rows, not to the 256 possible bins: a histogram records the range of
//! bins it touched, and a small node whose rows spread over a wide range sorts its handful of distinct bins
//! instead of scanning and clearing the range.

use crate::models::forest::binning::BinnedMatrix;
use crate::models::forest::tree::{Tree, TreeBuilder};
use crate::rng::Rng;

/// Impurity at or below this is a pure node (scikit-learn's `EPSILON`, the machine epsilon).
const PURE: f64 = f64::EPSILON;

/// Bins per histogram: every `u8`.
const BINS: usize = 256;

/// Nodes with at least this many rows build each histogram as two (see `Grower::build_histogram`); below it,
/// merging them costs more than it saves.
const TWO_HISTOGRAMS_ROWS: usize = 512;

/// Nodes with fewer rows stop moving their bins when they split (see `Grower::pos`): reordering every
/// feature's bins costs more than the histograms of the few features a node draws, and below this size a
/// node's bins (one feature's at most this many bytes) are in cache for reading out of order.
const MOVE_BINS_ROWS: usize = 4096;

/// What a tree optimises: which statistics a histogram bin keeps, the impurity of a set of rows from those
/// statistics, and what a leaf outputs.
pub(crate) trait Objective: Sync {
    /// What one row adds to a histogram, gathered once per tree ([`Objective::sample`]).
    type Sample: Copy + Default;

    /// Statistics kept per bin (and per node).
    fn width(&self) -> usize;

    /// Outputs per leaf.
    fn output_width(&self) -> usize;

    /// The sample of `row`, drawn `draws` times by the bootstrap.
    fn sample(&self, row: usize, draws: u32) -> Self::Sample;

    /// Adds a sample's statistics to `stats`.
    fn add(&self, sample: Self::Sample, stats: &mut [f64]);

    /// The total sample weight in `stats`.
    fn weight(&self, stats: &[f64]) -> f64;

    /// Impurity per unit weight.
    fn impurity(&self, stats: &[f64]) -> f64;

    /// The score of splitting a node whose statistics are `total` into `left` and the rest, if it is higher
    /// than `best`. Scores order candidate splits as `-(weight_left × impurity_left + weight_right ×
    /// impurity_right)` does (higher is better), but are cheaper, leaving out terms that are the same for every
    /// split of the node. A split with a weightless side (all its rows of weight 0) is no split: `None`.
    ///
    /// This is the innermost loop of the search, run for every candidate bin: hence one pass computing the
    /// right side on the fly rather than materialising it, and comparing a ratio to `best` by multiplying
    /// out its denominator, dividing only for a split that does beat it.
    fn score_if_better(&self, left: &[f64], total: &[f64], best: f64) -> Option<f64>;

    /// The leaf outputs for the rows summarised by `stats`.
    fn leaf(&self, stats: &[f64], out: &mut Vec<f32>);
}

/// Gini or entropy over class weights; `stats[c]` counts the draws of class `c`, and its weight is that
/// count times `class_weights[c]`.
pub(crate) struct Classification<'a> {
    pub(crate) y: &'a [u32],
    pub(crate) n_classes: usize,
    pub(crate) entropy: bool,
    /// One per class (all 1 without class weights).
    pub(crate) class_weights: &'a [f64],
}

/// A classification row: its class and how many times the bootstrap drew it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ClassSample {
    class: u32,
    draws: u32,
}

impl Classification<'_> {
    /// The weight of each class in `stats`.
    fn weighted<'s>(&'s self, stats: &'s [f64]) -> impl Iterator<Item = f64> + 's {
        stats.iter().zip(self.class_weights).map(|(&n, &w)| n * w)
    }
}

impl Objective for Classification<'_> {
    type Sample = ClassSample;

    fn width(&self) -> usize {
        self.n_classes
    }

    fn output_width(&self) -> usize {
        self.n_classes
    }

    #[inline]
    fn sample(&self, row: usize, draws: u32) -> ClassSample {
        ClassSample { class: self.y[row], draws }
    }

    #[inline]
    fn add(&self, sample: ClassSample, stats: &mut [f64]) {
        stats[sample.class as usize] += f64::from(sample.draws);
    }

    fn weight(&self, stats: &[f64]) -> f64 {
        self.weighted(stats).sum()
    }

    fn impurity(&self, stats: &[f64]) -> f64 {
        let total = self.weight(stats);
        if total <= 0.0 {
            return 0.0;
        }
        if self.entropy {
            -self.weighted(stats).filter(|&w| w > 0.0).map(|w| w / total * (w / total).log2()).sum::<f64>()
        } else {
            1.0 - self.weighted(stats).map(|w| (w / total) * (w / total)).sum::<f64>()
        }
    }

    #[inline]
    fn score_if_better(&self, left: &[f64], total: &[f64], best: f64) -> Option<f64> {
        let (mut weight_left, mut weight_right) = (0.0, 0.0);
        let (mut sum_left, mut sum_right) = (0.0, 0.0);
        let sides = left.iter().zip(total).zip(self.class_weights).map(|((&l, &t), &w)| (l * w, (t - l) * w));
        if self.entropy {
            // w × H = w log w − Σ w_c log w_c, summed over both sides.
            let x_log_x = |w: f64| if w > 0.0 { w * w.log2() } else { 0.0 };
            for (l, r) in sides {
                weight_left += l;
                weight_right += r;
                sum_left += x_log_x(l);
                sum_right += x_log_x(r);
            }
            let score = sum_left + sum_right - x_log_x(weight_left) - x_log_x(weight_right);
            (weight_left > 0.0 && weight_right > 0.0 && score > best).then_some(score)
        } else {
            // w × Gini = w − Σ w_c² / w, and the w terms add up to the node's weight, the same for every split.
            for (l, r) in sides {
                weight_left += l;
                weight_right += r;
                sum_left += l * l;
                sum_right += r * r;
            }
            // sum_left / weight_left + sum_right / weight_right, over a common, positive denominator.
            let numerator = sum_left * weight_right + sum_right * weight_left;
            let denominator = weight_left * weight_right;
            let better = weight_left > 0.0 && weight_right > 0.0 && numerator > best * denominator;
            better.then(|| numerator / denominator)
        }
    }

    fn leaf(&self, stats: &[f64], out: &mut Vec<f32>) {
        let total = self.weight(stats);
        // A class distribution; f32 is plenty for probabilities and halves the model's size.
        out.extend(self.weighted(stats).map(|w| (w / total) as f32));
    }
}

/// Variance of the target; `stats` is `[Σw, Σwy, Σwy²]` with `w` the draw count.
pub(crate) struct Regression<'a> {
    pub(crate) y: &'a [f64],
}

/// A regression row: its target and its draw count (as f64, ready to multiply).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TargetSample {
    y: f64,
    draws: f64,
}

impl Objective for Regression<'_> {
    type Sample = TargetSample;

    fn width(&self) -> usize {
        3
    }

    fn output_width(&self) -> usize {
        1
    }

    #[inline]
    fn sample(&self, row: usize, draws: u32) -> TargetSample {
        TargetSample { y: self.y[row], draws: f64::from(draws) }
    }

    #[inline]
    fn add(&self, sample: TargetSample, stats: &mut [f64]) {
        let wy = sample.draws * sample.y;
        stats[0] += sample.draws;
        stats[1] += wy;
        stats[2] += wy * sample.y;
    }

    fn weight(&self, stats: &[f64]) -> f64 {
        stats[0]
    }

    fn impurity(&self, stats: &[f64]) -> f64 {
        if stats[0] <= 0.0 {
            return 0.0;
        }
        let mean = stats[1] / stats[0];
        // Rounding can make E[y²] − E[y]² slightly negative for a constant target.
        (stats[2] / stats[0] - mean * mean).max(0.0)
    }

    #[inline]
    fn score_if_better(&self, left: &[f64], total: &[f64], best: f64) -> Option<f64> {
        // w × Var = Σwy² − (Σwy)² / w, and the Σwy² terms add up to the node's, the same for every split:
        // the score is (Σwy)²/w summed over both sides, here over a common, positive denominator.
        let (weight_left, sum_left) = (left[0], left[1]);
        let (weight_right, sum_right) = (total[0] - weight_left, total[1] - sum_left);
        let numerator = sum_left * sum_left * weight_right + sum_right * sum_right * weight_left;
        let denominator = weight_left * weight_right;
        let better = weight_left > 0.0 && weight_right > 0.0 && numerator > best * denominator;
        better.then(|| numerator / denominator)
    }

    fn leaf(&self, stats: &[f64], out: &mut Vec<f32>) {
        out.push((stats[1] / stats[0]) as f32);
    }
}

/// The stopping rules and feature sampling of a tree, resolved to plain numbers.
#[derive(Debug, Clone)]
pub(crate) struct GrowParams {
    pub(crate) max_depth: usize,
    pub(crate) min_samples_split: usize,
    pub(crate) min_samples_leaf: usize,
    /// Features drawn per node, at least 1 and at most the number of features.
    pub(crate) max_features: usize,
}

/// The best split found so far in a node.
struct Split {
    feature: usize,
    /// Rows with bins up to and including this one go left.
    bin: u8,
    score: f64,
    left_count: usize,
}

/// A node waiting to be grown: its rows are `rows[start..end]`.
struct Task {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    /// Whether the node's bins are where its samples are (else they are found through `pos`).
    aligned: bool,
}

/// Grows trees, keeping its scratch buffers from one tree to the next.
pub(crate) struct Grower<'a, O: Objective> {
    binned: &'a BinnedMatrix,
    objective: &'a O,
    params: &'a GrowParams,
    /// Per bin: how many rows of the node fall in it.
    counts: Vec<u32>,
    /// The second histogram of large nodes (see `build_histogram`), all zero between uses.
    counts_2: Vec<u32>,
    stats_2: Vec<f64>,
    /// Per bin: the objective's statistics, `width` each.
    stats: Vec<f64>,
    /// The statistics of the node, of the left side of a candidate, of its right side, of the best left side.
    node_stats: Vec<f64>,
    left_stats: Vec<f64>,
    right_stats: Vec<f64>,
    best_left: Vec<f64>,
    /// The features in the order of the last draw; a node draws by a partial Fisher–Yates shuffle of it.
    features: Vec<usize>,
    /// The distinct bins of a small node.
    touched: Vec<u8>,
    /// The bins of the tree's rows in node order, column-major: feature `f`'s are `bins[f * m..(f + 1) * m]`
    /// for the tree's `m` rows, and a node's rows `start..end` are at `start..end` in every feature.
    bins: Vec<u8>,
    /// The tree's rows' samples, in the same order.
    samples: Vec<O::Sample>,
    /// Per sample: where its bins are (`bins[f * m + pos[i]]`). The identity in nodes whose bins moved with
    /// their rows; below `MOVE_BINS_ROWS` only the samples and these positions are reordered.
    pos: Vec<u32>,
    /// The bins of one feature for an unaligned node, gathered through `pos`.
    gathered: Vec<u8>,
    /// Per row of the node being partitioned: whether it goes left.
    goes_left: Vec<bool>,
    /// Where partitioning puts what goes right before copying it back.
    spill_bins: Vec<u8>,
    spill_samples: Vec<O::Sample>,
    spill_pos: Vec<u32>,
}

impl<'a, O: Objective> Grower<'a, O> {
    pub(crate) fn new(binned: &'a BinnedMatrix, objective: &'a O, params: &'a GrowParams) -> Self {
        let width = objective.width();
        Grower {
            binned,
            objective,
            params,
            counts: vec![0; BINS],
            stats: vec![0.0; BINS * width],
            counts_2: vec![0; BINS],
            stats_2: vec![0.0; BINS * width],
            node_stats: vec![0.0; width],
            left_stats: vec![0.0; width],
            right_stats: vec![0.0; width],
            best_left: vec![0.0; width],
            features: (0..binned.n_features()).collect(),
            touched: Vec::new(),
            bins: Vec::new(),
            samples: Vec::new(),
            pos: Vec::new(),
            gathered: Vec::new(),
            goes_left: Vec::new(),
            spill_bins: Vec::new(),
            spill_samples: Vec::new(),
            spill_pos: Vec::new(),
        }
    }

    /// Grows a tree on `rows` (distinct row indices into the binned matrix), each drawn `draws[row]` times,
    /// adding each split's weighted impurity decrease to `importances[feature]`.
    ///
    /// `min_samples_split` and `min_samples_leaf` count the distinct rows, whatever their weights, as
    /// scikit-learn does: a row drawn three times by the bootstrap is one sample of weight three.
    pub(crate) fn grow(&mut self, rows: &[u32], draws: &[u32], rng: &mut Rng, importances: &mut [f64]) -> Tree {
        // The draw order left by the previous tree must not leak into this one: which trees a thread grew
        // before depends on scheduling, and results must not.
        self.features.iter_mut().enumerate().for_each(|(i, f)| *f = i);
        let mut tree = TreeBuilder::new(self.objective.output_width());
        let mut leaf_values = Vec::with_capacity(self.objective.output_width());
        let o = self.objective;
        self.samples.clear();
        self.samples.extend(rows.iter().map(|&row| o.sample(row as usize, draws[row as usize])));
        self.bins.clear();
        for feature in 0..self.binned.n_features() {
            let column = self.binned.column(feature);
            self.bins.extend(rows.iter().map(|&row| column[row as usize]));
        }
        self.pos.clear();
        self.pos.extend(0..rows.len() as u32);
        let mut stack = vec![Task { node: 0, start: 0, end: rows.len(), depth: 0, aligned: true }];
        while let Some(task) = stack.pop() {
            let n = task.end - task.start;
            self.node_stats.fill(0.0);
            for &sample in &self.samples[task.start..task.end] {
                o.add(sample, &mut self.node_stats);
            }
            let impurity = self.objective.impurity(&self.node_stats);
            let p = self.params;
            let must_stop =
                task.depth >= p.max_depth || n < p.min_samples_split || n < 2 * p.min_samples_leaf || impurity <= PURE;
            let split = if must_stop { None } else { self.best_split(&task, rng) };
            let Some(split) = split else {
                leaf_values.clear();
                self.objective.leaf(&self.node_stats, &mut leaf_values);
                tree.make_leaf(task.node, &leaf_values);
                continue;
            };

            // Children that must be leaves read only their samples: their bins need not move.
            let may_split =
                |n: usize| task.depth + 1 < p.max_depth && n >= p.min_samples_split.max(2 * p.min_samples_leaf);
            let children_split = may_split(split.left_count) || may_split(n - split.left_count);
            let moves = match (children_split, task.aligned && n >= MOVE_BINS_ROWS) {
                (false, _) => Moves::Samples,
                (true, true) => Moves::Bins,
                (true, false) => Moves::Positions,
            };
            let left_count = self.partition(&task, split.feature, split.bin, moves);
            let aligned = moves == Moves::Bins;
            debug_assert_eq!(left_count, split.left_count);

            for ((r, &t), &l) in self.right_stats.iter_mut().zip(&self.node_stats).zip(&self.best_left) {
                *r = t - l;
            }
            importances[split.feature] += o.weight(&self.node_stats) * impurity
                - o.weight(&self.best_left) * o.impurity(&self.best_left)
                - o.weight(&self.right_stats) * o.impurity(&self.right_stats);

            let threshold = self.binned.mapper(split.feature).threshold(split.bin);
            let left = tree.make_split(task.node, split.feature, threshold);
            let mid = task.start + left_count;
            // Right pushed first so the left subtree is grown first, as scikit-learn's depth-first builder does.
            stack.push(Task { node: left + 1, start: mid, end: task.end, depth: task.depth + 1, aligned });
            stack.push(Task { node: left, start: task.start, end: mid, depth: task.depth + 1, aligned });
        }
        tree.finish()
    }

    /// The best split of the node's `rows` over `max_features` features drawn at random.
    ///
    /// Features that turn out constant in the node do not count towards `max_features` and drawing goes on,
    /// as in scikit-learn: a node is only made a leaf for want of a split when every feature is constant
    /// (or no split leaves `min_samples_leaf` rows on both sides).
    /// The node's rows are `start..end` of the tree's.
    fn best_split(&mut self, task: &Task, rng: &mut Rng) -> Option<Split> {
        let (start, end) = (task.start, task.end);
        let n = end - start;
        let n_features = self.features.len();
        let mut best: Option<Split> = None;
        let mut informative = 0;
        let mut drawn = 0;
        while informative < self.params.max_features && drawn < n_features {
            let pick = drawn + rng.below(n_features - drawn);
            self.features.swap(drawn, pick);
            let feature = self.features[drawn];
            drawn += 1;

            let bins = self.node_bins(feature, task);
            let (lo, hi) = self.build_histogram(bins, start, end);
            if lo == hi {
                self.clear_range(lo, hi);
                continue;
            }
            informative += 1;
            // Scanning the touched range costs its width; a node with far fewer rows than that sorts its
            // distinct bins instead.
            let sparse = usize::from(hi - lo) > 4 * n;
            if sparse {
                self.touched.clear();
                let bins = self.node_bins(feature, task);
                let node_bins = match &bins {
                    NodeBins::InPlace(range) => &self.bins[range.clone()],
                    NodeBins::Gathered => &self.gathered[..],
                };
                self.touched.extend_from_slice(node_bins);
                self.touched.sort_unstable();
                self.touched.dedup();
            }
            let candidate = if sparse {
                let touched = std::mem::take(&mut self.touched);
                let found = self.scan(feature, n, touched.iter().copied(), best.as_ref());
                for &bin in &touched {
                    self.clear_range(bin, bin);
                }
                self.touched = touched;
                found
            } else {
                let found = self.scan(feature, n, lo..=hi, best.as_ref());
                self.clear_range(lo, hi);
                found
            };
            if candidate.is_some() {
                best = candidate;
            }
        }
        best
    }

    /// Where in `bins` the bins of `feature` for the node's rows `start..end` are.
    fn segment(&self, feature: usize, start: usize, end: usize) -> std::ops::Range<usize> {
        let m = self.samples.len();
        feature * m + start..feature * m + end
    }

    /// Where the node's bins of `feature` are: in place, or gathered into `self.gathered` through `pos`.
    fn node_bins(&mut self, feature: usize, task: &Task) -> NodeBins {
        let segment = self.segment(feature, task.start, task.end);
        if task.aligned {
            return NodeBins::InPlace(segment);
        }
        let column = &self.bins[self.segment(feature, 0, self.samples.len())];
        self.gathered.clear();
        self.gathered.extend(self.pos[task.start..task.end].iter().map(|&p| column[p as usize]));
        NodeBins::Gathered
    }

    /// Fills the histogram with the node's rows `start..end` for one feature (its bins as `node_bins` says);
    /// returns the lowest and highest bin touched.
    ///
    /// Large nodes alternate rows between two histograms, merged at the end: consecutive rows often share a
    /// bin (always, on a two-valued feature), and each update then waits for the previous one's store.
    fn build_histogram(&mut self, node_bins: NodeBins, start: usize, end: usize) -> (u8, u8) {
        let width = self.objective.width();
        let o = self.objective;
        let (mut lo, mut hi) = (u8::MAX, 0u8);
        let bins = match &node_bins {
            NodeBins::InPlace(range) => &self.bins[range.clone()],
            NodeBins::Gathered => &self.gathered[..],
        };
        let samples = &self.samples[start..end];
        let mut add = |counts: &mut [u32], stats: &mut [f64], bin: u8, sample: O::Sample| {
            lo = lo.min(bin);
            hi = hi.max(bin);
            let b = usize::from(bin);
            counts[b] += 1;
            o.add(sample, &mut stats[b * width..(b + 1) * width]);
        };
        if bins.len() < TWO_HISTOGRAMS_ROWS {
            for (&bin, &sample) in bins.iter().zip(samples) {
                add(&mut self.counts, &mut self.stats, bin, sample);
            }
            return (lo, hi);
        }
        let (pairs, rest) = bins.as_chunks::<2>();
        let (sample_pairs, sample_rest) = samples.as_chunks::<2>();
        for (&[a, b], &[sa, sb]) in pairs.iter().zip(sample_pairs) {
            add(&mut self.counts, &mut self.stats, a, sa);
            add(&mut self.counts_2, &mut self.stats_2, b, sb);
        }
        for (&bin, &sample) in rest.iter().zip(sample_rest) {
            add(&mut self.counts, &mut self.stats, bin, sample);
        }
        let (l, h) = (usize::from(lo), usize::from(hi));
        for (c, c2) in self.counts[l..=h].iter_mut().zip(&mut self.counts_2[l..=h]) {
            *c += std::mem::take(c2);
        }
        for (s, s2) in
            self.stats[l * width..(h + 1) * width].iter_mut().zip(&mut self.stats_2[l * width..(h + 1) * width])
        {
            *s += std::mem::take(s2);
        }
        (lo, hi)
    }

    /// Zeroes the bins `lo..=hi`, leaving the histogram all-zero for the next feature.
    fn clear_range(&mut self, lo: u8, hi: u8) {
        let (lo, hi) = (usize::from(lo), usize::from(hi));
        let width = self.objective.width();
        self.counts[lo..=hi].fill(0);
        self.stats[lo * width..(hi + 1) * width].fill(0.0);
    }

    /// Evaluates the split after every non-empty bin of `bins` (ascending) but the last, returning the best
    /// if it beats `best`; its left statistics are then in `best_left`.
    fn scan(
        &mut self,
        feature: usize,
        n: usize,
        bins: impl Iterator<Item = u8>,
        best: Option<&Split>,
    ) -> Option<Split> {
        let width = self.objective.width();
        let min_leaf = self.params.min_samples_leaf;
        let mut best_score = best.map_or(f64::NEG_INFINITY, |s| s.score);
        let mut found = None;
        let left = &mut self.left_stats;
        left.fill(0.0);
        let mut left_count = 0;
        let mut previous: Option<u8> = None;
        for bin in bins {
            let b = usize::from(bin);
            let count = self.counts[b] as usize;
            if count == 0 {
                continue;
            }
            if let Some(split_bin) = previous {
                // Candidate: bins up to `split_bin` left, the rest (this bin onward) right.
                if n - left_count < min_leaf {
                    break;
                }
                if left_count >= min_leaf {
                    if let Some(score) = self.objective.score_if_better(left, &self.node_stats, best_score) {
                        best_score = score;
                        self.best_left.copy_from_slice(left);
                        found = Some(Split { feature, bin: split_bin, score, left_count });
                    }
                }
            }
            for (l, &s) in left.iter_mut().zip(&self.stats[b * width..(b + 1) * width]) {
                *l += s;
            }
            left_count += count;
            previous = Some(bin);
        }
        found
    }

    /// Reorders the node's rows `start..end` — their samples, and as `moves` says their bins of every feature
    /// or their bins' positions — so those whose bin of `feature` is at most `bin` come first, each side
    /// keeping its order; returns how many went left.
    fn partition(&mut self, task: &Task, feature: usize, bin: u8, moves: Moves) -> usize {
        let (start, end) = (task.start, task.end);
        let node_bins = self.node_bins(feature, task);
        let bins = match &node_bins {
            NodeBins::InPlace(range) => &self.bins[range.clone()],
            NodeBins::Gathered => &self.gathered[..],
        };
        self.goes_left.clear();
        self.goes_left.extend(bins.iter().map(|&b| b <= bin));
        match moves {
            Moves::Bins => {
                for f in 0..self.binned.n_features() {
                    let segment = self.segment(f, start, end);
                    stable_partition(&mut self.bins[segment], &self.goes_left, &mut self.spill_bins);
                }
            }
            Moves::Positions => {
                stable_partition(&mut self.pos[start..end], &self.goes_left, &mut self.spill_pos);
            }
            Moves::Samples => {}
        }
        stable_partition(&mut self.samples[start..end], &self.goes_left, &mut self.spill_samples)
    }
}

/// What a split reorders besides the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moves {
    /// Every feature's bins: the children stay aligned.
    Bins,
    /// The bins' positions only: the children read their bins through `pos`.
    Positions,
    /// Nothing else: both children are leaves, which read only their samples.
    Samples,
}

/// Where a node's bins of one feature are.
enum NodeBins {
    InPlace(std::ops::Range<usize>),
    Gathered,
}

/// Moves the `values` whose `goes_left` is true to the front and the others after them, each in their order;
/// returns how many went left. `spill` is scratch.
///
/// Without a branch on `goes_left`, which is as unpredictable as the data: every value is written to both
/// places and only the side it belongs to moves on. Writing at `left <= i` never overwrites a value not yet
/// read.
fn stable_partition<T: Copy + Default>(values: &mut [T], goes_left: &[bool], spill: &mut Vec<T>) -> usize {
    if spill.len() < values.len() {
        spill.resize(values.len(), T::default());
    }
    let (mut left, mut right) = (0, 0);
    for (i, &goes) in goes_left.iter().enumerate().take(values.len()) {
        let value = values[i];
        values[left] = value;
        spill[right] = value;
        left += usize::from(goes);
        right += usize::from(!goes);
    }
    values[left..].copy_from_slice(&spill[..right]);
    left
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::matrix::Matrix;

    fn params(max_features: usize) -> GrowParams {
        GrowParams { max_depth: usize::MAX, min_samples_split: 2, min_samples_leaf: 1, max_features }
    }

    #[test]
    fn splits_between_the_classes_at_the_midpoint() {
        let x = Matrix::from_row_major(4, 1, vec![1.0, 2.0, 3.0, 4.0]);
        let binned = BinnedMatrix::fit_transform(&x, 255, 0);
        let y = [0, 0, 1, 1];
        let objective = Classification { y: &y, n_classes: 2, entropy: false, class_weights: &[1.0, 1.0] };
        let params = params(1);
        let mut grower = Grower::new(&binned, &objective, &params);
        let mut importances = vec![0.0];
        let tree = grower.grow(&[0, 1, 2, 3], &[1; 4], &mut Rng::new(0), &mut importances);
        assert_eq!(tree.n_leaves(), 2);
        assert_eq!(tree.split(0), Some((0, 2.5, 1)));
        assert_eq!(tree.leaf_values(1), &[1.0, 0.0]);
        assert_eq!(tree.leaf_values(2), &[0.0, 1.0]);
        // Gini 0.5 on weight 4, children pure.
        assert_eq!(importances, vec![2.0]);
    }

    #[test]
    fn weights_move_the_leaf_distribution_and_the_split() {
        // Row 2 (class 1) weighs 3: that decides the split and shows in the leaf's distribution.
        let x = Matrix::from_row_major(4, 1, vec![1.0, 2.0, 3.0, 4.0]);
        let binned = BinnedMatrix::fit_transform(&x, 255, 0);
        let y = [0, 1, 1, 0];
        let objective = Classification { y: &y, n_classes: 2, entropy: false, class_weights: &[1.0, 1.0] };
        let params = GrowParams { max_depth: 1, ..params(1) };
        let mut grower = Grower::new(&binned, &objective, &params);
        let tree = grower.grow(&[0, 1, 2, 3], &[1, 1, 3, 1], &mut Rng::new(0), &mut [0.0]);
        // Gini scores: x <= 1: 1 + (1² + 4²)/5 = 4.4; x <= 2: (1² + 1²)/2 + (1² + 3²)/4 = 3.5; x <= 3: 4.4 again.
        // The first of the tied best wins.
        assert_eq!(tree.split(0), Some((0, 1.5, 1)));
        assert_eq!(tree.leaf_values(2), &[0.2, 0.8]);
    }

    #[test]
    fn impurities_and_scores() {
        let gini = Classification { y: &[], n_classes: 2, entropy: false, class_weights: &[1.0, 1.0] };
        let entropy = Classification { y: &[], n_classes: 2, entropy: true, class_weights: &[1.0, 1.0] };
        assert_eq!(gini.impurity(&[2.0, 2.0]), 0.5);
        assert_eq!(entropy.impurity(&[2.0, 2.0]), 1.0);
        assert_eq!(gini.impurity(&[3.0, 0.0]), 0.0);
        assert_eq!(entropy.impurity(&[3.0, 0.0]), 0.0);
        // The scores order splits as minus the weighted child impurity does: splits of a node [4, 4].
        let total = [4.0, 4.0];
        let lefts = [[3.0, 1.0], [4.0, 0.0], [2.0, 2.0], [1.0, 0.0], [3.0, 3.0]];
        for objective in [&gini, &entropy] {
            let weighted = |l: &[f64; 2]| {
                let r = [total[0] - l[0], total[1] - l[1]];
                -(objective.weight(l) * objective.impurity(l) + objective.weight(&r) * objective.impurity(&r))
            };
            for a in &lefts {
                for b in &lefts {
                    let score = |l: &[f64; 2]| objective.score_if_better(l, &total, f64::NEG_INFINITY);
                    let (score_a, score_b) = (score(a).expect("both sides weigh"), score(b).expect("and here"));
                    assert_eq!(score_a.total_cmp(&score_b), weighted(a).total_cmp(&weighted(b)), "{a:?} {b:?}");
                    assert_eq!(objective.score_if_better(a, &total, score_b).is_some(), score_a > score_b);
                }
            }
            assert_eq!(objective.score_if_better(&[0.0, 0.0], &total, f64::NEG_INFINITY), None);
            assert_eq!(objective.score_if_better(&total, &total, f64::NEG_INFINITY), None);
        }
        let regression = Regression { y: &[] };
        // y = 1, 3 with unit weights: mean 2, variance 1.
        assert_eq!(regression.impurity(&[2.0, 4.0, 10.0]), 1.0);
    }

    #[test]
    fn constant_features_do_not_use_up_max_features() {
        // Feature 0 is constant; with max_features 1 a node that drew it must go on to feature 1.
        let x = Matrix::from_row_major(4, 2, vec![5.0, 1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 4.0]);
        let binned = BinnedMatrix::fit_transform(&x, 255, 0);
        let y = [0, 0, 1, 1];
        let objective = Classification { y: &y, n_classes: 2, entropy: false, class_weights: &[1.0, 1.0] };
        let params = params(1);
        for seed in 0..8 {
            let mut grower = Grower::new(&binned, &objective, &params);
            let tree = grower.grow(&[0, 1, 2, 3], &[1; 4], &mut Rng::new(seed), &mut [0.0; 2]);
            assert_eq!(tree.split(0), Some((1, 2.5, 1)), "seed {seed}");
        }
    }

    #[test]
    fn small_nodes_with_spread_bins_find_the_same_split_as_a_scan() {
        // 5 rows over a 255-bin feature: the sparse path (sorted distinct bins) is taken.
        let values: Vec<f64> = (0..1000).map(f64::from).collect();
        let x = Matrix::from_row_major(1000, 1, values);
        let binned = BinnedMatrix::fit_transform(&x, 255, 0);
        let mut y = vec![0u32; 1000];
        for row in [500, 900] {
            y[row] = 1;
        }
        let objective = Classification { y: &y, n_classes: 2, entropy: false, class_weights: &[1.0, 1.0] };
        let params = params(1);
        let mut grower = Grower::new(&binned, &objective, &params);
        let tree = grower.grow(&[3, 100, 500, 900, 999], &[1; 1000], &mut Rng::new(0), &mut [0.0]);
        let (_, threshold, _) = tree.split(0).expect("splits");
        assert!((100.0..500.0).contains(&threshold), "{threshold}");
        let (_, threshold, _) = tree.split(2).expect("splits again");
        assert!((900.0..999.0).contains(&threshold), "{threshold}");
    }
}
