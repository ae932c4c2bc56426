//! Train/test splits and cross-validation folds, stratified by class and seeded: the same labels and seed give
//! the same indices on every machine.

use crate::error::{Error, Result};
use crate::rng::Rng;

/// Row indices of one split, each list sorted ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Indices of each class, in row order.
fn rows_by_class(labels: &[u32], n_classes: usize) -> Vec<Vec<usize>> {
    let mut by_class = vec![Vec::new(); n_classes];
    for (row, &label) in labels.iter().enumerate() {
        by_class[label as usize].push(row);
    }
    by_class
}

/// A stratified shuffle split: each class contributes round(n_c × test_size) rows (at least one, and at least one
/// left for training) to the test set, so class proportions match in both parts.
pub fn stratified_split(labels: &[u32], n_classes: usize, test_size: f64, seed: u64) -> Result<Split> {
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::Config(format!("--test-size must be between 0 and 1 (exclusive), got {test_size}")));
    }
    let mut rng = Rng::new(seed);
    let mut in_test = vec![false; labels.len()];
    for (class, mut rows) in rows_by_class(labels, n_classes).into_iter().enumerate() {
        if rows.len() < 2 {
            return Err(Error::Config(format!(
                "class #{class} has {} row(s): a stratified split needs at least 2 rows of every class",
                rows.len()
            )));
        }
        rng.shuffle(&mut rows);
        let n_test = ((rows.len() as f64 * test_size).round() as usize).clamp(1, rows.len() - 1);
        for &row in &rows[..n_test] {
            in_test[row] = true;
        }
    }
    // Both lists ascending: read off in row order rather than sorted (a sort was most of a 100k-row split).
    let (test, train) = (0..labels.len()).partition(|&row| in_test[row]);
    Ok(Split { train, test })
}

/// Stratified k-fold: each class's shuffled rows are dealt round-robin to the folds. Fold i tests on its rows
/// and trains on the rest.
pub fn stratified_k_fold(labels: &[u32], n_classes: usize, k: usize, seed: u64) -> Result<Vec<Split>> {
    if k < 2 {
        return Err(Error::Config(format!("--cv needs at least 2 folds, got {k}")));
    }
    let by_class = rows_by_class(labels, n_classes);
    if let Some((class, rows)) = by_class.iter().enumerate().find(|(_, rows)| !rows.is_empty() && rows.len() < k) {
        return Err(Error::Config(format!(
            "class #{class} has {} row(s), fewer than the {k} folds asked for: use a smaller --cv",
            rows.len()
        )));
    }
    let mut rng = Rng::new(seed);
    let mut fold_of = vec![0usize; labels.len()];
    let mut next_fold = 0usize;
    for mut rows in by_class {
        rng.shuffle(&mut rows);
        for row in rows {
            fold_of[row] = next_fold;
            next_fold = (next_fold + 1) % k;
        }
    }
    Ok((0..k)
        .map(|fold| {
            let (test, train): (Vec<usize>, Vec<usize>) = (0..labels.len()).partition(|&r| fold_of[r] == fold);
            Split { train, test }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<u32> {
        (0..100).map(|i| u32::from(i % 3 == 0)).collect()
    }

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let y = labels();
        let s = stratified_split(&y, 2, 0.2, 42).unwrap();
        assert_eq!(s.train.len() + s.test.len(), 100);
        assert_eq!(s.test.len(), 20);
        let pos_test = s.test.iter().filter(|&&r| y[r] == 1).count();
        assert_eq!(pos_test, 7); // round(34 × 0.2)
        assert!(s.test.iter().all(|r| !s.train.contains(r)));
        assert_eq!(s, stratified_split(&y, 2, 0.2, 42).unwrap());
        assert_ne!(s, stratified_split(&y, 2, 0.2, 43).unwrap());
    }

    #[test]
    fn folds_cover_every_row_once() {
        let y = labels();
        let folds = stratified_k_fold(&y, 2, 5, 1).unwrap();
        let mut seen = vec![0; y.len()];
        for f in &folds {
            for &r in &f.test {
                seen[r] += 1;
            }
            assert_eq!(f.train.len() + f.test.len(), y.len());
        }
        assert!(seen.iter().all(|&c| c == 1));
    }

    #[test]
    fn too_small_classes_are_refused() {
        assert!(stratified_split(&[0, 0, 1], 2, 0.2, 1).is_err());
        assert!(stratified_k_fold(&[0, 0, 1, 1], 2, 3, 1).is_err());
    }
}
