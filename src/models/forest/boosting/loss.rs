//! The losses the boosting loop minimises (the classifier's log-loss, the regressor's half squared error) and
//! the link from raw scores to class probabilities.

use rayon::prelude::*;

use super::scores_per_row;
use super::sums::sum_in_blocks;

/// Appends the class probabilities of one row's raw scores.
pub(super) fn push_probabilities(raw: &[f64], n_classes: usize, out: &mut Vec<f64>) {
    if n_classes == 2 {
        let p = sigmoid(raw[0]);
        out.extend([1.0 - p, p]);
    } else {
        let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let start = out.len();
        out.extend(raw.iter().map(|&r| (r - max).exp()));
        let total: f64 = out[start..].iter().sum();
        for p in &mut out[start..] {
            *p /= total;
        }
    }
}

pub(super) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// `ln(1 + e^z)` without overflow.
pub(super) fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// What the boosting loop needs of a loss over a set of rows' targets: the only thing the classifier and the
/// regressor do differently.
pub(super) trait Loss: Sync {
    /// Raw scores per row, hence trees per iteration.
    fn n_scores(&self) -> usize;

    /// The constant raw scores that minimise the loss (scikit-learn's `fit_intercept_only`).
    fn baseline(&self) -> Vec<f64>;

    /// Per score, every row's gradient and hessian of the loss at the raw scores `raw` (row-major,
    /// `n_scores()` per row); `scratch` is a buffer the loss may use.
    fn gradients(&self, raw: &[f64], scratch: &mut Vec<f64>, gradients: &mut [Vec<f64>], hessians: &mut [Vec<f64>]);

    /// The (weighted) mean loss at `raw`: what early stopping scores, as scikit-learn's `scoring="loss"`.
    fn mean_loss(&self, raw: &[f64]) -> f64;
}

/// Binomial or multinomial log-loss with per-row sample weights.
pub(super) struct LogLoss {
    pub(super) labels: Vec<u32>,
    pub(super) weights: Vec<f64>,
    pub(super) n_classes: usize,
}

/// Half the squared error, `(raw - y)² / 2`, scikit-learn's `HalfSquaredError`: gradient `raw - y`, hessian 1.
pub(super) struct SquaredError {
    pub(super) y: Vec<f64>,
}

impl Loss for LogLoss {
    fn n_scores(&self) -> usize {
        scores_per_row(self.n_classes)
    }

    /// The log-odds of the (weighted) share of class 1, or the centred log shares of every class.
    fn baseline(&self) -> Vec<f64> {
        let mut share = vec![0.0; self.n_classes];
        for (&c, &w) in self.labels.iter().zip(&self.weights) {
            share[c as usize] += w;
        }
        let total: f64 = share.iter().sum();
        for s in &mut share {
            *s = (*s / total).clamp(f64::EPSILON, 1.0 - f64::EPSILON);
        }
        if self.n_classes == 2 {
            vec![(share[1] / (1.0 - share[1])).ln()]
        } else {
            let logs: Vec<f64> = share.iter().map(|s| s.ln()).collect();
            let mean = logs.iter().sum::<f64>() / self.n_classes as f64;
            logs.iter().map(|l| l - mean).collect()
        }
    }

    /// Times the sample weights.
    fn gradients(&self, raw: &[f64], scratch: &mut Vec<f64>, gradients: &mut [Vec<f64>], hessians: &mut [Vec<f64>]) {
        let (y, weights, n_classes) = (&self.labels, &self.weights, self.n_classes);
        if n_classes == 2 {
            gradients[0].par_iter_mut().zip(hessians[0].par_iter_mut()).enumerate().for_each(|(row, (g, h))| {
                let p = sigmoid(raw[row]);
                *g = weights[row] * (p - f64::from(y[row]));
                *h = weights[row] * p * (1.0 - p);
            });
            return;
        }
        let probabilities = scratch;
        probabilities.resize(raw.len(), 0.0);
        probabilities.par_chunks_mut(n_classes).enumerate().for_each(|(row, p)| {
            let raw = &raw[row * n_classes..(row + 1) * n_classes];
            let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            for (p, &r) in p.iter_mut().zip(raw) {
                *p = (r - max).exp();
            }
            let total: f64 = p.iter().sum();
            for p in p.iter_mut() {
                *p /= total;
            }
        });
        let probabilities = &*probabilities;
        for (class, (g, h)) in gradients.iter_mut().zip(hessians.iter_mut()).enumerate() {
            g.par_iter_mut().zip(h.par_iter_mut()).enumerate().for_each(|(row, (g, h))| {
                let p = probabilities[row * n_classes + class];
                let target = f64::from(u8::from(y[row] as usize == class));
                *g = weights[row] * (p - target);
                *h = weights[row] * p * (1.0 - p);
            });
        }
    }

    /// Summed by blocks of rows in parallel, the blocks' sums added in order.
    fn mean_loss(&self, raw: &[f64]) -> f64 {
        let k = self.n_scores();
        let (sum, total) = sum_in_blocks(self.labels.len(), |rows| {
            let (mut sum, mut total) = (0.0, 0.0);
            let raw = &raw[rows.start * k..rows.end * k];
            for ((raw, &c), &w) in raw.chunks_exact(k).zip(&self.labels[rows.clone()]).zip(&self.weights[rows]) {
                let loss = if k == 1 {
                    softplus(raw[0]) - f64::from(c) * raw[0]
                } else {
                    let max = raw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    max + raw.iter().map(|&r| (r - max).exp()).sum::<f64>().ln() - raw[c as usize]
                };
                sum += w * loss;
                total += w;
            }
            (sum, total)
        });
        sum / total
    }
}

impl Loss for SquaredError {
    fn n_scores(&self) -> usize {
        1
    }

    /// The mean target.
    fn baseline(&self) -> Vec<f64> {
        // Fewer than 2^31 rows.
        let mean = self.y.iter().sum::<f64>() / self.y.len() as f64;
        vec![mean]
    }

    fn gradients(&self, raw: &[f64], _: &mut Vec<f64>, gradients: &mut [Vec<f64>], hessians: &mut [Vec<f64>]) {
        gradients[0].par_iter_mut().zip(raw.par_iter().zip(&self.y)).for_each(|(g, (&r, &y))| *g = r - y);
        hessians[0].fill(1.0);
    }

    fn mean_loss(&self, raw: &[f64]) -> f64 {
        let n = self.y.len() as f64;
        raw.iter().zip(&self.y).map(|(&r, &y)| 0.5 * (r - y) * (r - y)).sum::<f64>() / n
    }
}
