//! The closed-form fits on centred data: minimum-norm least squares (what `scipy.linalg.lstsq`, and so
//! scikit-learn's `LinearRegression`, returns) and ridge by Cholesky (scikit-learn's `Ridge` solver for dense
//! data without sample weights).
//!
//! Least squares reduces the centred matrix to its triangular factor R with Householder reflections (the
//! target rides along as an extra column, so Qᵀy comes for free), then takes the singular value
//! decomposition of R by one-sided Jacobi rotations. Working on R rather than on XᵀX keeps the accuracy of
//! the singular values that decide the rank: one-hot blocks plus the intercept are exactly collinear, and
//! the solution must give their columns the minimum-norm share, as LAPACK's `gelsd` does.

use rayon::prelude::*;

use super::sum_over_row_chunks;
use crate::data::matrix::Matrix;

/// Rows per block of the parallel passes: fixed, so sums are combined in the same order on any machine.
pub(super) const CHUNK_ROWS: usize = 2048;

/// Most Jacobi sweeps; they converge quadratically, in well under 20 sweeps for any matrix seen here.
const MAX_JACOBI_SWEEPS: usize = 60;

/// The training data less its column means (the intercept is fitted by centring, as scikit-learn does).
pub(super) struct Centred {
    pub n_rows: usize,
    pub n_cols: usize,
    /// Row-major `x − x̄`.
    pub x: Vec<f64>,
    /// `y − ȳ`.
    pub y: Vec<f64>,
    pub x_mean: Vec<f64>,
    pub y_mean: f64,
}

impl Centred {
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.n_cols..(i + 1) * self.n_cols]
    }
}

pub(super) fn centred(x: &Matrix, y: &[f64]) -> Centred {
    let (n_rows, n_cols) = (x.n_rows(), x.n_cols());
    let n = n_rows as f64;
    let x_mean: Vec<f64> = column_sums(x).into_iter().map(|s| s / n).collect();
    let y_mean = y.iter().sum::<f64>() / n;
    let mut centred_x = x.as_slice().to_vec();
    if n_cols > 0 {
        centred_x.par_chunks_mut(n_cols).for_each(|row| row.iter_mut().zip(&x_mean).for_each(|(v, m)| *v -= m));
    }
    let centred_y = y.iter().map(|v| v - y_mean).collect();
    Centred { n_rows, n_cols, x: centred_x, y: centred_y, x_mean, y_mean }
}

fn column_sums(x: &Matrix) -> Vec<f64> {
    sum_over_row_chunks(x.n_rows(), x.n_cols(), |rows, acc| {
        for i in rows {
            acc.iter_mut().zip(x.row(i)).for_each(|(a, v)| *a += v);
        }
    })
}

/// The minimum-norm `w` minimising ‖y − Xw‖ on centred data, singular values below `rcond · σ_max`
/// counting as zero (scipy's `lstsq(cond=rcond)`).
pub(super) fn min_norm_least_squares(data: &Centred, rcond: f64) -> Vec<f64> {
    let p = data.n_cols;
    if p == 0 {
        return Vec::new();
    }
    // With more rows than columns, R (p × p) has the singular values of X at a fraction of the cost.
    let (columns, rhs) = if data.n_rows > p { triangular_factor(data) } else { as_columns(data) };
    let svd = one_sided_jacobi(columns, p);
    let sigma_max = svd.singular_values.iter().copied().fold(0.0, f64::max);
    let mut coefficients = vec![0.0; p];
    for (j, &sigma) in svd.singular_values.iter().enumerate() {
        if sigma <= rcond * sigma_max || sigma == 0.0 {
            continue;
        }
        // B·v_j = σ_j·u_j, so the weight along v_j is u_jᵀc / σ_j = b_jᵀc / σ_j².
        let weight = super::dot(&svd.left[j], &rhs) / (sigma * sigma);
        for (c, v) in coefficients.iter_mut().zip(&svd.right[j]) {
            *c += weight * v;
        }
    }
    coefficients
}

/// The centred `x` as columns, and `y`, for when there are no more rows than columns.
fn as_columns(data: &Centred) -> (Vec<Vec<f64>>, Vec<f64>) {
    let columns = (0..data.n_cols).map(|j| (0..data.n_rows).map(|i| data.x[i * data.n_cols + j]).collect()).collect();
    (columns, data.y.clone())
}

/// Householder QR of `[X | y]` (centred, n > p): R's columns and the first p entries of Qᵀy.
fn triangular_factor(data: &Centred) -> (Vec<Vec<f64>>, Vec<f64>) {
    let (n, p) = (data.n_rows, data.n_cols);
    let width = p + 1;
    let mut a = Vec::with_capacity(n * width);
    for i in 0..n {
        a.extend_from_slice(data.row(i));
        a.push(data.y[i]);
    }
    for k in 0..p {
        householder_step(&mut a, n, width, k);
    }
    let columns = (0..p).map(|j| (0..p).map(|i| if i <= j { a[i * width + j] } else { 0.0 }).collect()).collect();
    let rhs = (0..p).map(|i| a[i * width + p]).collect();
    (columns, rhs)
}

/// Zeroes column `k` below the diagonal with one reflection `I − β·v·vᵀ`, applied to the columns after it.
/// The entries below the diagonal are left as they are: they hold `v` and are never read again as data.
fn householder_step(a: &mut [f64], n: usize, width: usize, k: usize) {
    let below = |a: &[f64]| -> f64 {
        let tail = &a[(k + 1) * width..];
        sum_over_row_chunks(n - k - 1, 1, |rows, acc| {
            for i in rows {
                acc[0] += tail[i * width + k] * tail[i * width + k];
            }
        })[0]
    };
    let a_kk = a[k * width + k];
    let norm = (a_kk * a_kk + below(a)).sqrt();
    if norm == 0.0 {
        return;
    }
    let alpha = if a_kk > 0.0 { -norm } else { norm };
    let v_k = a_kk - alpha;
    // vᵀv / 2 = norm · (norm + |a_kk|): no cancellation.
    let beta = 1.0 / (norm * (norm + a_kk.abs()));
    let rest = width - k - 1;
    let tail = &a[(k + 1) * width..];
    let mut dots = sum_over_row_chunks(n - k - 1, rest, |rows, acc| {
        for i in rows {
            let row = &tail[i * width..(i + 1) * width];
            let v_i = row[k];
            acc.iter_mut().zip(&row[k + 1..]).for_each(|(d, x)| *d += v_i * x);
        }
    });
    let head = &a[k * width + k + 1..(k + 1) * width];
    dots.iter_mut().zip(head).for_each(|(d, x)| *d += v_k * x);
    dots.iter_mut().for_each(|d| *d *= beta);
    {
        let head = &mut a[k * width + k + 1..(k + 1) * width];
        head.iter_mut().zip(&dots).for_each(|(x, d)| *x -= d * v_k);
    }
    a[k * width + k] = alpha;
    a[(k + 1) * width..].par_chunks_mut(width * CHUNK_ROWS).for_each(|block| {
        for row in block.chunks_exact_mut(width) {
            let v_i = row[k];
            row[k + 1..].iter_mut().zip(&dots).for_each(|(x, d)| *x -= d * v_i);
        }
    });
}

/// `B·V = [b₁ … b_p]` with orthogonal columns: `left[j] = b_j = σ_j·u_j`, `right[j] = v_j`.
struct Svd {
    left: Vec<Vec<f64>>,
    right: Vec<Vec<f64>>,
    singular_values: Vec<f64>,
}

/// Hestenes' one-sided Jacobi: rotates pairs of columns until all are orthogonal to working precision.
/// It finds small singular values to high relative accuracy, which is what the rank decision needs.
fn one_sided_jacobi(mut columns: Vec<Vec<f64>>, p: usize) -> Svd {
    let mut right: Vec<Vec<f64>> = (0..p).map(|j| (0..p).map(|i| if i == j { 1.0 } else { 0.0 }).collect()).collect();
    for _ in 0..MAX_JACOBI_SWEEPS {
        let mut rotated = false;
        for i in 0..p {
            for j in i + 1..p {
                if let Some((cos, sin)) = jacobi_rotation(&columns[i], &columns[j]) {
                    rotate_pair(&mut columns, i, j, cos, sin);
                    rotate_pair(&mut right, i, j, cos, sin);
                    rotated = true;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let singular_values = columns.iter().map(|c| super::dot(c, c).sqrt()).collect();
    Svd { left: columns, right, singular_values }
}

/// The rotation that makes columns `a` and `b` orthogonal, or `None` if they already are.
fn jacobi_rotation(a: &[f64], b: &[f64]) -> Option<(f64, f64)> {
    let (aa, bb, ab) = (super::dot(a, a), super::dot(b, b), super::dot(a, b));
    if ab == 0.0 || ab.abs() <= f64::EPSILON * (aa * bb).sqrt() {
        return None;
    }
    let zeta = (bb - aa) / (2.0 * ab);
    let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
    let cos = 1.0 / (1.0 + t * t).sqrt();
    Some((cos, cos * t))
}

fn rotate_pair(columns: &mut [Vec<f64>], i: usize, j: usize, cos: f64, sin: f64) {
    let (left, right) = columns.split_at_mut(j);
    for (x, y) in left[i].iter_mut().zip(right[0].iter_mut()) {
        let (xi, yj) = (*x, *y);
        *x = cos * xi - sin * yj;
        *y = sin * xi + cos * yj;
    }
}

/// Ridge weights `(XᵀX + αI)⁻¹Xᵀy` on centred data, by Cholesky (positive definite for α > 0).
pub(super) fn ridge_cholesky(data: &Centred, alpha: f64) -> Result<Vec<f64>, String> {
    let p = data.n_cols;
    let sums = sum_over_row_chunks(data.n_rows, p * p + p, |rows, acc| {
        let (gram, xty) = acc.split_at_mut(p * p);
        for i in rows {
            let row = data.row(i);
            for (a, &x_a) in row.iter().enumerate() {
                gram[a * p + a..(a + 1) * p].iter_mut().zip(&row[a..]).for_each(|(g, x_b)| *g += x_a * x_b);
                xty[a] += x_a * data.y[i];
            }
        }
    });
    let (upper, xty) = sums.split_at(p * p);
    let mut system: Vec<f64> = (0..p * p).map(|k| upper[(k / p).min(k % p) * p + (k / p).max(k % p)]).collect();
    (0..p).for_each(|a| system[a * p + a] += alpha);
    cholesky_solve(system, xty.to_vec())
        .ok_or_else(|| format!("the ridge system is not positive definite (alpha = {alpha}); use a larger alpha"))
}

/// Solves `A·w = b` for symmetric positive definite `A` (row-major p × p); `None` if a pivot is not positive.
fn cholesky_solve(mut a: Vec<f64>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let p = b.len();
    // In place: the lower triangle of `a` becomes L with A = L·Lᵀ.
    for j in 0..p {
        let pivot = a[j * p + j] - (0..j).map(|k| a[j * p + k] * a[j * p + k]).sum::<f64>();
        if !(pivot > 0.0 && pivot.is_finite()) {
            return None;
        }
        let l_jj = pivot.sqrt();
        a[j * p + j] = l_jj;
        for i in j + 1..p {
            let s = a[i * p + j] - (0..j).map(|k| a[i * p + k] * a[j * p + k]).sum::<f64>();
            a[i * p + j] = s / l_jj;
        }
    }
    for i in 0..p {
        b[i] = (b[i] - (0..i).map(|k| a[i * p + k] * b[k]).sum::<f64>()) / a[i * p + i];
    }
    for i in (0..p).rev() {
        b[i] = (b[i] - (i + 1..p).map(|k| a[k * p + i] * b[k]).sum::<f64>()) / a[i * p + i];
    }
    Some(b)
}
