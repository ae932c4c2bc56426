//! The gradient-boosting classifier on our tree engine ([`super::forest::boosting`]), with scikit-learn's
//! `HistGradientBoostingClassifier` parameter names and defaults.

use serde_json::json;

use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use crate::models::forest::{
    BoostingParams, ClassWeight, EarlyStopping, ForestError, GradientBoostingClassifier, GradientBoostingRegressor,
};
use crate::models::params::{ParamSpec, Reader, Settings};
use crate::models::{Algorithm, Estimator, Target, Task, TrainedModel};

const SPECS: &[ParamSpec] = &[
    ParamSpec { key: "learning_rate", default: "0.1", accepts: "a number > 0" },
    ParamSpec { key: "max_iter", default: "100", accepts: "a whole number ≥ 1" },
    ParamSpec { key: "max_leaf_nodes", default: "31", accepts: "a whole number ≥ 2, or none" },
    ParamSpec { key: "max_depth", default: "none", accepts: "a whole number ≥ 1, or none" },
    ParamSpec { key: "min_samples_leaf", default: "20", accepts: "a whole number ≥ 1" },
    ParamSpec { key: "l2_regularization", default: "0.0", accepts: "a number ≥ 0" },
    ParamSpec { key: "max_bins", default: "255", accepts: "a whole number from 2 to 255" },
    ParamSpec { key: "early_stopping", default: "auto", accepts: "auto (on above 10,000 rows), true or false" },
    ParamSpec { key: "validation_fraction", default: "0.1", accepts: "a fraction in (0, 1)" },
    ParamSpec { key: "n_iter_no_change", default: "10", accepts: "a whole number ≥ 1" },
    ParamSpec { key: "tol", default: "1e-7", accepts: "a number" },
    ParamSpec { key: "class_weight", default: "none", accepts: "balanced or none" },
];

pub fn specs(task: Task) -> &'static [ParamSpec] {
    match task {
        Task::Classification => SPECS,
        // No class weights in regression.
        _ => &SPECS[..SPECS.len() - 1],
    }
}

pub struct GradientBoosting {
    task: Task,
    params: BoostingParams,
}

impl GradientBoosting {
    pub fn from_settings(task: Task, settings: &Settings, seed: u64) -> Result<Self> {
        let r = Reader::new("gradient-boosting", settings, specs(task), &[])?;
        let early_stopping = match r.choice("early_stopping", &["auto", "true", "false"])? {
            "auto" => EarlyStopping::Auto,
            "true" => EarlyStopping::On,
            _ => EarlyStopping::Off,
        };
        let class_weight = match task {
            Task::Classification if r.choice("class_weight", &["balanced", "none"])? == "balanced" => {
                ClassWeight::Balanced
            }
            _ => ClassWeight::None,
        };
        let max_bins = r.whole("max_bins", 2)?;
        if max_bins > 255 {
            return Err(r.invalid("max_bins"));
        }
        let params = BoostingParams {
            learning_rate: r.number("learning_rate", |v| v > 0.0 && v.is_finite())?,
            max_iter: r.whole("max_iter", 1)?,
            max_leaf_nodes: r.optional_whole("max_leaf_nodes", 2)?,
            max_depth: r.optional_whole("max_depth", 1)?,
            min_samples_leaf: r.whole("min_samples_leaf", 1)?,
            l2_regularization: r.number("l2_regularization", |v| v >= 0.0 && v.is_finite())?,
            max_bins,
            early_stopping,
            validation_fraction: r.number("validation_fraction", |v| v > 0.0 && v < 1.0)?,
            n_iter_no_change: r.whole("n_iter_no_change", 1)?,
            tol: r.number("tol", f64::is_finite)?,
            class_weight,
            seed,
        };
        Ok(GradientBoosting { task, params })
    }
}

impl Estimator for GradientBoosting {
    fn algorithm(&self) -> Algorithm {
        Algorithm::GradientBoosting
    }

    fn task(&self) -> Task {
        self.task
    }

    fn params(&self) -> serde_json::Value {
        let p = &self.params;
        let mut params = json!({
            "learning_rate": p.learning_rate,
            "max_iter": p.max_iter,
            "max_leaf_nodes": p.max_leaf_nodes,
            "max_depth": p.max_depth,
            "min_samples_leaf": p.min_samples_leaf,
            "l2_regularization": p.l2_regularization,
            "max_bins": p.max_bins,
            "early_stopping": match p.early_stopping {
                EarlyStopping::Auto => "auto",
                EarlyStopping::On => "true",
                EarlyStopping::Off => "false",
            },
            "validation_fraction": p.validation_fraction,
            "n_iter_no_change": p.n_iter_no_change,
            "tol": p.tol,
            "class_weight": match p.class_weight { ClassWeight::Balanced => "balanced", ClassWeight::None => "none" },
        });
        if self.task != Task::Classification {
            if let Some(map) = params.as_object_mut() {
                map.remove("class_weight");
            }
        }
        params
    }

    fn fit(&self, x: &Matrix, y: &Target<'_>) -> Result<TrainedModel> {
        let failed = |e: ForestError| Error::Model(format!("gradient boosting: {e}"));
        match y {
            Target::Classes { labels, n_classes } => {
                GradientBoostingClassifier::fit(x, labels, *n_classes, &self.params)
                    .map(TrainedModel::GradientBoostingClassifier)
                    .map_err(failed)
            }
            Target::Values(values) => GradientBoostingRegressor::fit(x, values, &self.params)
                .map(TrainedModel::GradientBoostingRegressor)
                .map_err(failed),
            Target::Unsupervised => Err(Error::Model("gradient boosting needs a target".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_list_the_valid_ones_with_scikit_learn_defaults() {
        let mut s = Settings::new();
        s.insert("learning_rat".into(), "0.3".into());
        let err = GradientBoosting::from_settings(Task::Classification, &s, 1).err().unwrap().to_string();
        assert!(err.contains("did you mean \"learning_rate\""), "{err}");
        assert!(err.contains("max_leaf_nodes (default 31"), "{err}");
        assert!(err.contains("min_samples_leaf (default 20"), "{err}");
    }

    #[test]
    fn defaults_are_scikit_learns_and_values_are_validated() {
        let gb = GradientBoosting::from_settings(Task::Classification, &Settings::new(), 7).unwrap();
        assert_eq!(gb.params, BoostingParams { seed: 7, ..BoostingParams::default() });
        let mut s = Settings::new();
        s.insert("max_leaf_nodes".into(), "none".into());
        s.insert("max_depth".into(), "4".into());
        s.insert("early_stopping".into(), "false".into());
        let gb = GradientBoosting::from_settings(Task::Classification, &s, 1).unwrap();
        assert_eq!((gb.params.max_leaf_nodes, gb.params.max_depth), (None, Some(4)));
        assert_eq!(gb.params.early_stopping, EarlyStopping::Off);
        for (key, value) in [
            ("learning_rate", "0"),
            ("max_leaf_nodes", "1"),
            ("max_bins", "256"),
            ("validation_fraction", "1"),
            ("early_stopping", "yes"),
            ("l2_regularization", "-1"),
        ] {
            let mut s = Settings::new();
            s.insert(key.into(), value.into());
            let err = GradientBoosting::from_settings(Task::Classification, &s, 1).err().map(|e| e.to_string());
            assert!(err.as_deref().is_some_and(|e| e.contains(key)), "{key}={value}: {err:?}");
        }
    }
}
