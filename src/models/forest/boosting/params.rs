//! The hyperparameters of gradient boosting, scikit-learn's names and defaults, and their validation.

use serde::{Deserialize, Serialize};

use crate::models::forest::{ClassWeight, ForestError};

/// Whether to stop when the validation loss stops improving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum EarlyStopping {
    /// On when there are more than 10,000 training rows.
    #[default]
    Auto,
    On,
    Off,
}

/// Gradient-boosting hyperparameters; `Default` is scikit-learn's `HistGradientBoostingClassifier` defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoostingParams {
    /// Shrinkage applied to every leaf value.
    pub learning_rate: f64,
    /// Boosting iterations at most (one tree per iteration, or one per class for more than two classes).
    pub max_iter: usize,
    /// Leaves per tree at most; `None` for no limit.
    pub max_leaf_nodes: Option<usize>,
    /// Deepest a leaf may be (the root is depth 0); `None` for no limit.
    pub max_depth: Option<usize>,
    /// Fewest training rows a leaf may hold.
    pub min_samples_leaf: usize,
    /// L2 penalty on leaf values (added to the hessian sums).
    pub l2_regularization: f64,
    /// Bins per feature, at most 255.
    pub max_bins: usize,
    pub early_stopping: EarlyStopping,
    /// Share of the training rows held out to decide early stopping.
    pub validation_fraction: f64,
    /// Stop when none of the last `n_iter_no_change` iterations improved the validation score by more than `tol`.
    pub n_iter_no_change: usize,
    pub tol: f64,
    pub class_weight: ClassWeight,
    pub seed: u64,
}

impl Default for BoostingParams {
    fn default() -> Self {
        BoostingParams {
            learning_rate: 0.1,
            max_iter: 100,
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: 255,
            early_stopping: EarlyStopping::Auto,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-7,
            class_weight: ClassWeight::None,
            seed: 0,
        }
    }
}

impl BoostingParams {
    pub(super) fn validate(&self) -> Result<(), ForestError> {
        let invalid = |what: &str| Err(ForestError::InvalidParam(what.to_owned()));
        // Comparisons written so that NaN fails them.
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return invalid("learning_rate must be a positive number");
        }
        if self.max_iter == 0 {
            return invalid("max_iter must be at least 1");
        }
        if self.max_leaf_nodes.is_some_and(|n| n < 2) {
            return invalid("max_leaf_nodes must be at least 2 (or unlimited)");
        }
        if self.max_depth == Some(0) {
            return invalid("max_depth must be at least 1 (or unlimited)");
        }
        if self.min_samples_leaf == 0 {
            return invalid("min_samples_leaf must be at least 1");
        }
        if !(self.l2_regularization >= 0.0 && self.l2_regularization.is_finite()) {
            return invalid("l2_regularization must be a number ≥ 0");
        }
        if !(2..=crate::models::forest::MAX_BINS).contains(&self.max_bins) {
            return invalid("max_bins must be between 2 and 255");
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return invalid("validation_fraction must be between 0 and 1 (exclusive)");
        }
        if self.n_iter_no_change == 0 {
            return invalid("n_iter_no_change must be at least 1");
        }
        if !self.tol.is_finite() {
            return invalid("tol must be a finite number");
        }
        Ok(())
    }
}
