//! Sums over rows taken in blocks of a fixed size, in parallel, the blocks' sums added in order: the result does
//! not depend on the number of threads. The bottom of the boosting files: the loop, the losses and the grower
//! all sum this way.

use rayon::prelude::*;

/// The sums of the gradients and of the hessians of `pairs`, block by block in parallel, the blocks' sums
/// added in order.
pub(super) fn pair_sums(pairs: &[(f32, f32)]) -> (f64, f64) {
    sum_in_blocks(pairs.len(), |rows| {
        pairs[rows].iter().fold((0.0, 0.0), |(g, h), &(pg, ph)| (g + f64::from(pg), h + f64::from(ph)))
    })
}

/// Two sums over rows `0..n`: `block(rows)` sums each block of [`SCORE_BLOCK_ROWS`] rows, in parallel, and the
/// blocks' sums are added in order, so the result does not depend on the number of threads.
pub(super) fn sum_in_blocks(n: usize, block: impl Fn(std::ops::Range<usize>) -> (f64, f64) + Sync) -> (f64, f64) {
    let sums: Vec<(f64, f64)> = (0..n.div_ceil(SCORE_BLOCK_ROWS))
        .into_par_iter()
        .map(|b| block(b * SCORE_BLOCK_ROWS..((b + 1) * SCORE_BLOCK_ROWS).min(n)))
        .collect();
    sums.iter().fold((0.0, 0.0), |(x, y), &(bx, by)| (x + bx, y + by))
}

/// Rows per block when scores are updated or summed in parallel: a fixed size, so that sums do not depend on
/// the number of threads.
pub(super) const SCORE_BLOCK_ROWS: usize = 1 << 14;
