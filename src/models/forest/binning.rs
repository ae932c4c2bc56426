//! Discretisation of feature columns into at most 255 ordered bins, the representation the tree grower
//! searches for splits in.
//!
//! A [`BinMapper`] is fitted per feature: a column with at most 255 distinct values gets one bin per value,
//! otherwise the bins hold roughly equal numbers of training values (quantiles). Bin `b` covers the values
//! `edges[b - 1] < x <= edges[b]`, so a split "bin <= b" found on binned data is the same partition of the
//! training rows as "x <= edges[b]" on the raw values: trees store that f64 threshold and predict on raw rows
//! without re-binning. NaN (which the preprocessing pipeline imputes away, so it should never arrive) goes to
//! bin 0, and tree prediction sends NaN left, so the two views of the data stay consistent.

use crate::data::matrix::Matrix;
use crate::rng::Rng;

/// The most bins a feature can have: bin indices must fit a `u8`.
pub const MAX_BINS: usize = 255;

/// How many rows the edges are computed from at most; larger columns are subsampled (as scikit-learn's
/// `HistGradientBoosting*` does), since 200,000 values already pin down 255 quantiles closely.
pub const BINNING_SUBSAMPLE: usize = 200_000;

/// The bin boundaries of one feature.
#[derive(Debug, Clone, PartialEq)]
pub struct BinMapper {
    /// Upper bound (inclusive) of each bin but the last, strictly increasing.
    edges: Vec<f64>,
}

impl BinMapper {
    /// Fits the edges of a column with at most `max_bins` bins (clamped to `2..=MAX_BINS`).
    ///
    /// Values with one bin each when there are few distinct values; otherwise bins of roughly equal counts,
    /// where a value is never split across two bins (so a heavily repeated value can take several quantiles'
    /// worth of rows and leave fewer bins in total). NaN is ignored.
    pub fn fit(values: &[f64], max_bins: usize) -> Self {
        let max_bins = max_bins.clamp(2, MAX_BINS);
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_unstable_by(f64::total_cmp);

        // Run-length encode: the distinct values and how many times each occurs.
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        for &v in &sorted {
            match distinct.last_mut() {
                // `==` rather than bit equality so that -0.0 and 0.0 share a bin, as they compare equal.
                Some((last, count)) if *last == v => *count += 1,
                _ => distinct.push((v, 1)),
            }
        }

        let mut edges = Vec::new();
        if distinct.len() <= max_bins {
            for pair in distinct.windows(2) {
                edges.push(midpoint(pair[0].0, pair[1].0));
            }
        } else {
            // Greedy quantiles: close a bin after the first distinct value whose cumulative count reaches the
            // next multiple of n / max_bins (compared as cumulative × max_bins against k × n, in integers).
            // Edges only ever fall between distinct values, so no bin is empty.
            let n = sorted.len();
            let mut cumulative = 0;
            let mut next_quantile = 1;
            for pair in distinct.windows(2) {
                cumulative += pair[0].1;
                if cumulative * max_bins >= next_quantile * n {
                    edges.push(midpoint(pair[0].0, pair[1].0));
                    if edges.len() == max_bins - 1 {
                        break;
                    }
                    // A heavy value may have covered several quantiles: move past all of them.
                    while next_quantile * n <= cumulative * max_bins {
                        next_quantile += 1;
                    }
                }
            }
        }
        // Adjacent floats can have a midpoint equal to the lower one, giving a duplicate: keep edges strictly
        // increasing so every bin is a non-empty interval.
        edges.dedup();
        BinMapper { edges }
    }

    /// Number of bins (at least 1: a constant column has a single bin).
    pub fn n_bins(&self) -> usize {
        self.edges.len() + 1
    }

    /// The real-valued threshold equivalent to "bin <= `bin`": `x <= threshold(bin)`.
    /// `bin` must be below `n_bins() - 1` (splitting after the last bin separates nothing).
    pub fn threshold(&self, bin: u8) -> f64 {
        self.edges[usize::from(bin)]
    }

    /// The bin of `x`: the number of edges strictly below it (so NaN, below nothing, gets bin 0).
    pub fn bin(&self, x: f64) -> u8 {
        let bin = self.edges.partition_point(|&edge| edge < x);
        // At most MAX_BINS - 1 edges, so the count fits.
        u8::try_from(bin).unwrap_or(u8::MAX)
    }

    /// The edges, strictly increasing: bin `b` holds `edges[b - 1] < x <= edges[b]`.
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }
}

/// A point between `lo < hi` that `lo` is at or below and `hi` is strictly above, whatever the magnitudes:
/// halving each first cannot overflow, and rounding up onto `hi` falls back to `lo`.
fn midpoint(lo: f64, hi: f64) -> f64 {
    let mid = lo / 2.0 + hi / 2.0;
    if mid >= lo && mid < hi {
        mid
    } else {
        lo
    }
}

/// A whole matrix binned: one `BinMapper` per feature and the bins stored column-major, so a node's
/// histogram for one feature reads one contiguous byte column.
#[derive(Debug, Clone, PartialEq)]
pub struct BinnedMatrix {
    n_rows: usize,
    mappers: Vec<BinMapper>,
    /// `n_features` columns of `n_rows` bins each.
    bins: Vec<u8>,
}

impl BinnedMatrix {
    /// Fits one mapper per column of `x` (on at most [`BINNING_SUBSAMPLE`] rows, picked by `seed`) and bins
    /// every row. Columns are processed in parallel; the result does not depend on the thread count.
    pub fn fit_transform(x: &Matrix, max_bins: usize, seed: u64) -> Self {
        Self::fit_transform_rows(x, None, max_bins, seed)
    }

    /// [`Self::fit_transform`] of the rows `rows` of `x` (all when `None`), in that order: the same as of a
    /// matrix of just those rows, without copying them out.
    pub fn fit_transform_rows(x: &Matrix, rows: Option<&[usize]>, max_bins: usize, seed: u64) -> Self {
        use rayon::prelude::*;

        let row = |i: usize| rows.map_or(i, |rows| rows[i]);
        let n_rows = rows.map_or(x.n_rows(), <[usize]>::len);
        let sample = subsample_rows(n_rows, BINNING_SUBSAMPLE, seed);
        let mappers: Vec<BinMapper> = (0..x.n_cols())
            .into_par_iter()
            .map(|col| {
                let values: Vec<f64> = match &sample {
                    Some(sample) => sample.iter().map(|&i| x.get(row(i), col)).collect(),
                    None => (0..n_rows).map(|i| x.get(row(i), col)).collect(),
                };
                BinMapper::fit(&values, max_bins)
            })
            .collect();
        Self::transform_rows(&mappers, x, rows)
    }

    /// Bins `x` with already fitted mappers (one per column).
    ///
    /// # Panics
    /// If `mappers.len()` differs from the number of columns of `x`.
    pub fn transform(mappers: &[BinMapper], x: &Matrix) -> Self {
        Self::transform_rows(mappers, x, None)
    }

    /// [`Self::transform`] of the rows `rows` of `x` (all when `None`), in that order.
    ///
    /// # Panics
    /// If `mappers.len()` differs from the number of columns of `x`, or a row is out of range.
    pub fn transform_rows(mappers: &[BinMapper], x: &Matrix, rows: Option<&[usize]>) -> Self {
        use rayon::prelude::*;

        assert_eq!(mappers.len(), x.n_cols(), "one bin mapper per column");
        let n_rows = rows.map_or(x.n_rows(), <[usize]>::len);
        let mut bins = vec![0u8; n_rows * mappers.len()];
        if n_rows > 0 {
            bins.par_chunks_mut(n_rows).zip(mappers).enumerate().for_each(|(col, (out, mapper))| {
                for (i, bin) in out.iter_mut().enumerate() {
                    *bin = mapper.bin(x.get(rows.map_or(i, |rows| rows[i]), col));
                }
            });
        }
        BinnedMatrix { n_rows, mappers: mappers.to_vec(), bins }
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub fn n_features(&self) -> usize {
        self.mappers.len()
    }

    /// The bins of every row for `feature`.
    pub fn column(&self, feature: usize) -> &[u8] {
        &self.bins[feature * self.n_rows..(feature + 1) * self.n_rows]
    }

    /// Every row's bins, row by row: `n_features` bytes a row, in parallel over blocks of rows.
    pub fn row_major(&self) -> Vec<u8> {
        use rayon::prelude::*;

        const BLOCK_ROWS: usize = 1 << 14;
        let width = self.n_features();
        let mut out = vec![0u8; self.n_rows * width];
        if width > 0 {
            out.par_chunks_mut(BLOCK_ROWS * width).enumerate().for_each(|(block, out)| {
                let first = block * BLOCK_ROWS;
                for f in 0..width {
                    let column = &self.column(f)[first..];
                    for (row, &bin) in out.chunks_exact_mut(width).zip(column) {
                        row[f] = bin;
                    }
                }
            });
        }
        out
    }

    pub fn mapper(&self, feature: usize) -> &BinMapper {
        &self.mappers[feature]
    }
}

/// The sorted row indices to fit edges on, or `None` to use every row.
fn subsample_rows(n_rows: usize, limit: usize, seed: u64) -> Option<Vec<usize>> {
    if n_rows <= limit {
        return None;
    }
    // Partial Fisher–Yates: the first `limit` slots end up a uniform sample without replacement. Its own
    // generator stream (index u64::MAX, never a tree's) keeps tree randomness independent of it.
    let mut rng = Rng::derive(seed, u64::MAX);
    let mut rows: Vec<usize> = (0..n_rows).collect();
    for i in 0..limit {
        let j = i + rng.below(n_rows - i);
        rows.swap(i, j);
    }
    rows.truncate(limit);
    rows.sort_unstable();
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each_with_midpoint_edges() {
        let mapper = BinMapper::fit(&[3.0, 1.0, 2.0, 1.0, 3.0, 3.0], 255);
        assert_eq!(mapper.edges(), &[1.5, 2.5]);
        assert_eq!(mapper.n_bins(), 3);
        assert_eq!(mapper.bin(1.0), 0);
        assert_eq!(mapper.bin(1.5), 0, "a value equal to an edge belongs to the bin below it");
        assert_eq!(mapper.bin(2.0), 1);
        assert_eq!(mapper.bin(3.0), 2);
        assert_eq!(mapper.bin(-10.0), 0);
        assert_eq!(mapper.bin(1e9), 2);
        assert_eq!(mapper.bin(f64::NAN), 0, "NaN is documented to go to bin 0");
    }

    #[test]
    fn constant_and_empty_columns_have_a_single_bin() {
        assert_eq!(BinMapper::fit(&[4.0; 10], 255).n_bins(), 1);
        assert_eq!(BinMapper::fit(&[], 255).n_bins(), 1);
        assert_eq!(BinMapper::fit(&[f64::NAN, f64::NAN], 255).n_bins(), 1);
    }

    #[test]
    fn many_distinct_values_give_quantile_bins_of_similar_size() {
        let values: Vec<f64> = (0..10_000).map(|i| f64::from(i).sqrt()).collect();
        let mapper = BinMapper::fit(&values, 255);
        assert_eq!(mapper.n_bins(), 255);
        assert!(mapper.edges().windows(2).all(|w| w[0] < w[1]));
        let mut counts = vec![0usize; mapper.n_bins()];
        for &v in &values {
            counts[usize::from(mapper.bin(v))] += 1;
        }
        let (min, max) = (counts.iter().min().copied(), counts.iter().max().copied());
        // 10,000 / 255 ≈ 39.2 per bin; greedy cut points give 39 or 40, the last bin takes the remainder.
        assert!(min >= Some(35) && max <= Some(45), "bin counts from {min:?} to {max:?}");
    }

    #[test]
    fn a_heavy_value_keeps_its_own_bin_and_bins_are_never_empty() {
        // Half the column is 0.0; the rest is spread out.
        let mut values = vec![0.0; 5_000];
        values.extend((1..=5_000).map(f64::from));
        let mapper = BinMapper::fit(&values, 16);
        assert!(mapper.n_bins() <= 16);
        assert_eq!(mapper.bin(0.0), 0);
        assert_eq!(mapper.bin(1.0), 1, "the heavy value is alone in its bin");
        let mut counts = vec![0usize; mapper.n_bins()];
        for &v in &values {
            counts[usize::from(mapper.bin(v))] += 1;
        }
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
    }

    #[test]
    fn thresholds_reproduce_the_binned_partition_on_raw_values() {
        let mut rng = Rng::new(5);
        let values: Vec<f64> = (0..3_000).map(|_| rng.normal() * 1e-3).collect();
        let mapper = BinMapper::fit(&values, 255);
        for b in 0..mapper.n_bins() - 1 {
            let b = u8::try_from(b).expect("fewer than 256 bins");
            let t = mapper.threshold(b);
            for &v in &values {
                assert_eq!(mapper.bin(v) <= b, v <= t);
            }
        }
    }

    #[test]
    fn midpoint_stays_between_adjacent_floats_and_extremes() {
        let lo = 1.0_f64;
        let hi = f64::from_bits(lo.to_bits() + 1);
        let m = midpoint(lo, hi);
        assert!(m >= lo && m < hi);
        let m = midpoint(-f64::MAX, f64::MAX);
        assert!(m.is_finite());
        assert_eq!(midpoint(1.0, f64::INFINITY), 1.0);
    }

    #[test]
    fn transform_is_column_major_and_matches_mappers() {
        let x = Matrix::from_row_major(3, 2, vec![0.0, 10.0, 1.0, 20.0, 2.0, 10.0]);
        let binned = BinnedMatrix::fit_transform(&x, 255, 0);
        assert_eq!(binned.n_rows(), 3);
        assert_eq!(binned.n_features(), 2);
        assert_eq!(binned.column(0), &[0, 1, 2]);
        assert_eq!(binned.column(1), &[0, 1, 0]);
        assert_eq!(binned.mapper(1).edges(), &[15.0]);
    }

    #[test]
    fn subsampling_is_deterministic_and_without_replacement() {
        let a = subsample_rows(1_000, 100, 9).expect("subsampled");
        assert_eq!(Some(a.clone()), subsample_rows(1_000, 100, 9));
        assert_eq!(a.len(), 100);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(subsample_rows(100, 100, 9), None);
    }
}
