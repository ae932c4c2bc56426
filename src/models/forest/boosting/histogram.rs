//! Gradient histograms of a node: filled row by row, in fixed chunks in parallel for large nodes, with the
//! rows' bins prefetched when they are scattered.

use rayon::prelude::*;

/// Gradient and hessian sums and the row count of one bin.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Bin {
    pub(super) g: f64,
    pub(super) h: f64,
    pub(super) count: u32,
}

/// One feature's bins in a histogram: room for any bin a `u8` names, so that filling needs no bounds check;
/// only the first `n_bins` of the feature are used.
pub(super) type FeatureBins = [Bin; 256];

/// A histogram: one [`FeatureBins`] per feature.
pub(super) type Histogram = Vec<FeatureBins>;

/// A node's rows with their gradient pairs, in the node's row order, as a histogram reads them.
pub(super) struct NodeRows<'a> {
    /// `None` for the root, which holds every row in order: its bins are read straight, without indices.
    pub(super) rows: Option<&'a [u32]>,
    /// Gradient and hessian of each of the node's rows, rounded to f32 as scikit-learn keeps them: half the
    /// bytes to stream. Sums are taken in f64.
    pub(super) pairs: &'a [(f32, f32)],
}

/// Rows per chunk when a node's histogram is filled in parallel; a node is cut into at most
/// [`MAX_FILL_CHUNKS`]. Both are fixed, so that a histogram's sums do not depend on the number of threads.
pub(super) const FILL_CHUNK_ROWS: usize = 4096;
pub(super) const MAX_FILL_CHUNKS: usize = 16;

/// The chunks a node of `n_rows` rows is filled in: how many, and the rows of each (the last one shorter).
pub(super) fn fill_chunks(n_rows: usize) -> (usize, usize) {
    let chunks = (n_rows / FILL_CHUNK_ROWS).clamp(1, MAX_FILL_CHUNKS);
    (chunks, n_rows.div_ceil(chunks).max(1))
}

/// Fills `hist` (the used bins of each feature, `n_bins` of them, are cleared first) from `node`'s rows,
/// reading their bins from `row_bins`, the bins row by row.
///
/// A large node is cut into chunks of rows filled in parallel: the first into `hist`, the others into
/// `spare` histograms (grown as needed), which the caller adds into `hist` in chunk order with
/// [`add_chunks`]; returns how many spares hold a chunk.
///
/// Row by row, all features at once: a scattered row's bins are one cache line, where a column at a time
/// would miss the cache once per feature and read the node's rows and gradients once per feature.
pub(super) fn fill_histogram(
    hist: &mut [FeatureBins],
    spare: &mut Vec<Histogram>,
    n_bins: &[usize],
    row_bins: &[u8],
    node: &NodeRows<'_>,
) -> usize {
    let n_rows = node.pairs.len();
    let (chunks, size) = fill_chunks(n_rows);
    let clear = |hist: &mut [FeatureBins]| {
        for (bins, &n) in hist.iter_mut().zip(n_bins) {
            bins[..n].fill(Bin::default());
        }
    };
    if chunks == 1 {
        clear(hist);
        fill_rows(hist, row_bins, node, 0..n_rows);
        return 0;
    }
    while spare.len() < chunks - 1 {
        spare.push(vec![[Bin::default(); 256]; n_bins.len()]);
    }
    let targets: Vec<&mut [FeatureBins]> =
        std::iter::once(hist).chain(spare.iter_mut().map(Vec::as_mut_slice)).take(chunks).collect();
    targets.into_par_iter().enumerate().for_each(|(chunk, hist)| {
        clear(hist);
        fill_rows(hist, row_bins, node, chunk * size..((chunk + 1) * size).min(n_rows));
    });
    chunks - 1
}

/// Adds the spare chunks' bins of one feature into `part`, in chunk order.
pub(super) fn add_chunks(part: &mut [Bin], feature: usize, spare: &[Histogram]) {
    for chunk in spare {
        for (bin, add) in part.iter_mut().zip(&chunk[feature]) {
            bin.g += add.g;
            bin.h += add.h;
            bin.count += add.count;
        }
    }
}

/// Adds the node's rows at positions `range` to `hist`.
pub(super) fn fill_rows(hist: &mut [FeatureBins], row_bins: &[u8], node: &NodeRows<'_>, range: std::ops::Range<usize>) {
    let width = hist.len();
    let pairs = &node.pairs[range.clone()];
    match node.rows {
        None => {
            for (bins, &pair) in row_bins[range.start * width..range.end * width].chunks_exact(width).zip(pairs) {
                add_row(hist, bins, pair);
            }
        }
        Some(rows) => {
            for (i, &pair) in range.zip(pairs) {
                prefetch_row(row_bins, width, rows, i + PREFETCH_AHEAD);
                let at = rows[i] as usize * width;
                add_row(hist, &row_bins[at..at + width], pair);
            }
        }
    }
}

/// Adds one row's gradient pair to the bin it falls in of every feature.
#[inline(always)]
pub(super) fn add_row(hist: &mut [FeatureBins], bins: &[u8], (g, h): (f32, f32)) {
    let (g, h) = (f64::from(g), f64::from(h));
    for (feature, &b) in hist.iter_mut().zip(bins) {
        let bin = &mut feature[usize::from(b)];
        bin.g += g;
        bin.h += h;
        bin.count += 1;
    }
}

/// How many rows ahead a gather of a row is prefetched: enough to cover a miss to L3 at a few nanoseconds
/// a row.
pub(super) const PREFETCH_AHEAD: usize = 32;

/// Asks the CPU to fetch the `width` bytes at `rows[i] * width` of `bytes` into cache, if `i` is in range. A
/// large node's rows are scattered over data too big for the L2 cache, so without this each gather waits for
/// its load; the hardware prefetcher does not see through the index.
#[inline(always)]
pub(super) fn prefetch_row(bytes: &[u8], width: usize, rows: &[u32], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(byte) = rows.get(i).and_then(|&row| bytes.get(row as usize * width)) {
        // SAFETY: a prefetch is a hint that reads nothing and cannot fault; SSE is baseline on x86_64.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                std::ptr::from_ref(byte).cast::<i8>(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (bytes, width, rows, i);
}
