//! The stable, branch-free partition of a node's rows and their gradient pairs, in two halves at once for
//! large nodes.

use super::histogram::{prefetch_row, PREFETCH_AHEAD};

/// Nodes with at least this many rows are partitioned in two halves in parallel.
pub(super) const PARALLEL_PARTITION_ROWS: usize = 1 << 14;

/// [`BoostGrower::partition`] of the rows and their gradient pairs, in two halves at once when there are
/// many. `spill` is scratch.
pub(super) fn partition_rows(
    column: &[u8],
    bin: u8,
    rows: &mut [u32],
    pairs: &mut [(f32, f32)],
    spill: &mut Vec<(u32, (f32, f32))>,
) -> usize {
    // Every slot is written before it is read: grown when too short, never cleared.
    if spill.len() < rows.len() + 2 {
        spill.resize(rows.len() + 2, (0, (0.0, 0.0)));
    }
    if rows.len() < PARALLEL_PARTITION_ROWS {
        let left = partition_part(column, bin, rows, pairs, spill);
        let right = rows.len() - left;
        finish_partition(&mut rows[left..], &mut pairs[left..], &spill[..right]);
        return left;
    }
    // The first half's left rows stay at its front and its right rows go to the spill; the second half's right
    // rows go to its back and its left rows to the spill. What lies between is rows already moved out, which
    // the two spills fill: one copy each, at once.
    let n = rows.len();
    let mid = n / 2;
    let (rows_a, rows_b) = rows.split_at_mut(mid);
    let (pairs_a, pairs_b) = pairs.split_at_mut(mid);
    let (spill_a, spill_b) = spill[..n].split_at_mut(mid);
    let (left_a, left_b) = rayon::join(
        || partition_part(column, bin, rows_a, pairs_a, spill_a),
        || partition_part_from_back(column, bin, rows_b, pairs_b, spill_b),
    );
    let (right_a, right_b) = (mid - left_a, n - mid - left_b);
    let (rows_left, rows_right) = rows[left_a..n - right_b].split_at_mut(left_b);
    let (pairs_left, pairs_right) = pairs[left_a..n - right_b].split_at_mut(left_b);
    rayon::join(
        || finish_partition(rows_left, pairs_left, &spill_b[n - mid - left_b..]),
        || finish_partition(rows_right, pairs_right, &spill_a[..right_a]),
    );
    left_a + left_b
}

/// Moves the rows going left (`column[row] <= bin`) to the front of `rows`, in order, and the others to
/// the front of `spill`, in order, their pairs with them; returns how many went left.
///
/// Without a branch: every row is written to both sides and only the side it belongs to moves on, since
/// which way a row goes is as good as random and a mispredicted branch per row cost more than the writes.
pub(super) fn partition_part(
    column: &[u8],
    bin: u8,
    rows: &mut [u32],
    pairs: &mut [(f32, f32)],
    spill: &mut [(u32, (f32, f32))],
) -> usize {
    let (mut left, mut right) = (0, 0);
    for i in 0..rows.len() {
        let (row, pair) = (rows[i], pairs[i]);
        prefetch_row(column, 1, rows, i + PREFETCH_AHEAD);
        let go = column[row as usize] <= bin;
        // `left <= i` and `right <= i`: both writes are in bounds and position `left` was read already.
        rows[left] = row;
        pairs[left] = pair;
        spill[right] = (row, pair);
        left += usize::from(go);
        right += usize::from(!go);
    }
    left
}

/// [`partition_part`] from the back: moves the rows going right to the back of `rows`, in order, and the
/// others to the back of `spill` (as long as `rows`), in order, their pairs with them; returns how many went
/// left.
pub(super) fn partition_part_from_back(
    column: &[u8],
    bin: u8,
    rows: &mut [u32],
    pairs: &mut [(f32, f32)],
    spill: &mut [(u32, (f32, f32))],
) -> usize {
    let n = rows.len();
    let (mut left, mut right) = (0, 0);
    for i in (0..n).rev() {
        let (row, pair) = (rows[i], pairs[i]);
        if let Some(ahead) = i.checked_sub(PREFETCH_AHEAD) {
            prefetch_row(column, 1, rows, ahead);
        }
        let go = column[row as usize] <= bin;
        // `left + i < n` and `right + i < n`: both writes are in bounds and position `n - 1 - right` was read.
        rows[n - 1 - right] = row;
        pairs[n - 1 - right] = pair;
        spill[n - 1 - left] = (row, pair);
        left += usize::from(go);
        right += usize::from(!go);
    }
    left
}

/// Writes the spilled `right` rows and pairs at the front of `rows` and `pairs`.
pub(super) fn finish_partition(rows: &mut [u32], pairs: &mut [(f32, f32)], right: &[(u32, (f32, f32))]) {
    for ((row, pair), &(r, p)) in rows.iter_mut().zip(pairs.iter_mut()).zip(right) {
        *row = r;
        *pair = p;
    }
}
