//! A dense, row-major matrix of f64: what the fitted pipeline hands to a model.

#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    n_rows: usize,
    n_cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// Wraps row-major `data`; its length must be `n_rows * n_cols`.
    pub fn from_row_major(n_rows: usize, n_cols: usize, data: Vec<f64>) -> Self {
        assert_eq!(data.len(), n_rows * n_cols, "matrix data length must be rows × cols");
        Matrix { n_rows, n_cols, data }
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.n_cols..(i + 1) * self.n_cols]
    }

    pub fn get(&self, row: usize, col: usize) -> f64 {
        self.data[row * self.n_cols + col]
    }

    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// One column, copied out (used where a column-major pass is needed, e.g. binning).
    pub fn column(&self, col: usize) -> Vec<f64> {
        (0..self.n_rows).map(|r| self.get(r, col)).collect()
    }

    /// The rows at `indices`, in that order.
    pub fn select_rows(&self, indices: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(indices.len() * self.n_cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Matrix::from_row_major(indices.len(), self.n_cols, data)
    }
}
