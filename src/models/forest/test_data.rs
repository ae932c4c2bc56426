//! Regression data the tests compare against scikit-learn on: sklearn's diabetes data (a fixture file) and a
//! synthetic Friedman #1 problem generated here bit for bit as `fixtures/gen_regression_reference.py` does
//! (which also prints the reference R² the tests embed).

use crate::data::matrix::Matrix;

/// A train/test split of a regression problem.
pub(crate) struct RegressionData {
    pub(crate) x_train: Matrix,
    pub(crate) y_train: Vec<f64>,
    pub(crate) x_test: Matrix,
    pub(crate) y_test: Vec<f64>,
}

/// sklearn's `load_diabetes`, shuffled (10 features, then the target, per line): the first 342 rows to train,
/// the last 100 to test.
pub(crate) fn diabetes() -> RegressionData {
    diabetes_split(|row| row >= 342)
}

/// Fold `fold` of 5 of the diabetes data: rows `row % 5 == fold` test, the others train.
pub(crate) fn diabetes_fold(fold: usize) -> RegressionData {
    diabetes_split(|row| row % 5 == fold)
}

fn diabetes_split(is_test: impl Fn(usize) -> bool) -> RegressionData {
    let rows: Vec<Vec<f64>> = include_str!("fixtures/diabetes.csv")
        .lines()
        .map(|line| line.split(',').map(|v| v.parse().expect("the fixture holds numbers")).collect())
        .collect();
    let (test, train): (Vec<_>, Vec<_>) = rows.iter().enumerate().partition(|&(row, _)| is_test(row));
    let x = |rows: &[(usize, &Vec<f64>)]| {
        Matrix::from_row_major(rows.len(), 10, rows.iter().flat_map(|(_, r)| r[..10].to_vec()).collect())
    };
    let y = |rows: &[(usize, &Vec<f64>)]| rows.iter().map(|(_, r)| r[10]).collect();
    RegressionData { x_train: x(&train), y_train: y(&train), x_test: x(&test), y_test: y(&test) }
}

/// Friedman #1 (5,000 training and 2,000 test rows, 10 features of which 5 are noise), as the script's
/// `friedman(5000, 1)` and `friedman(2000, 2)`.
pub(crate) fn friedman() -> RegressionData {
    let (x_train, y_train) = friedman_rows(5000, 1);
    let (x_test, y_test) = friedman_rows(2000, 2);
    RegressionData { x_train, y_train, x_test, y_test }
}

fn friedman_rows(n: u64, seed: u64) -> (Matrix, Vec<f64>) {
    let key = |r: u64, j: u64| seed * 1_000_003 + r * 16 + j;
    let mut data = Vec::new();
    let mut y = Vec::new();
    for r in 0..n {
        let x: Vec<f64> = (0..10).map(|j| hash_unit(key(r, j))).collect();
        let noise = (10..13).map(|j| hash_unit(key(r, j))).sum::<f64>() - 1.5;
        y.push(
            10.0 * (std::f64::consts::PI * x[0] * x[1]).sin()
                + 20.0 * (x[2] - 0.5).powi(2)
                + 10.0 * x[3]
                + 5.0 * x[4]
                + 2.0 * noise,
        );
        data.extend(x);
    }
    (Matrix::from_row_major(y.len(), 10, data), y)
}

/// A uniform number in [0, 1) from `i`: the top 53 bits of SplitMix64's output for state `i`.
fn hash_unit(i: u64) -> f64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    // 53 bits are exact.
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The coefficient of determination of `predicted` against `y`.
pub(crate) fn r2(y: &[f64], predicted: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let residual: f64 = y.iter().zip(predicted).map(|(t, p)| (t - p).powi(2)).sum();
    let total: f64 = y.iter().map(|t| (t - mean).powi(2)).sum();
    1.0 - residual / total
}
