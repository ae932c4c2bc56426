//! The gradient-boosting classifier on our tree engine ([`super::forest::boosting`]), with scikit-learn's
//! `HistGradientBoostingClassifier` parameter names and defaults.

use serde_json::json;

use super::forest::{BoostingParams, ClassWeight, EarlyStopping, GradientBoostingClassifier};
use super::params::{check_keys, parse_value, ParamSpec, Settings};
use super::{Algorithm, Estimator, Target, TrainedModel};
use crate::data::matrix::Matrix;
use crate::error::{Error, Result};

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

pub struct GradientBoosting {
    params: BoostingParams,
}

impl GradientBoosting {
    pub fn from_settings(settings: &Settings, seed: u64) -> Result<Self> {
        let settings = check_keys("gradient-boosting", settings, SPECS, &[])?;
        let get = |key: &str| settings.get(key).map(String::as_str);
        let accepts = |key: &str| SPECS.iter().find(|s| s.key == key).map_or("", |s| s.accepts);
        let bad =
            |key: &str, value: &str| Error::Config(format!("hyperparameter {key}={value}: expected {}", accepts(key)));
        let whole = |key: &str, default: usize, min: usize| -> Result<usize> {
            let v = get(key).map_or(Ok(default), |v| parse_value::<usize>(key, v, accepts(key)))?;
            if v < min {
                return Err(bad(key, &v.to_string()));
            }
            Ok(v)
        };
        let optional = |key: &str, default: Option<usize>, min: usize| -> Result<Option<usize>> {
            match get(key) {
                Some(v) if v.eq_ignore_ascii_case("none") => Ok(None),
                Some(_) => whole(key, 0, min).map(Some),
                None => Ok(default),
            }
        };
        let number = |key: &str, default: f64, ok: fn(f64) -> bool| -> Result<f64> {
            let v = get(key).map_or(Ok(default), |v| parse_value::<f64>(key, v, accepts(key)))?;
            if !ok(v) {
                return Err(bad(key, &v.to_string()));
            }
            Ok(v)
        };
        let early_stopping = match get("early_stopping").unwrap_or("auto") {
            "auto" => EarlyStopping::Auto,
            "true" => EarlyStopping::On,
            "false" => EarlyStopping::Off,
            v => return Err(bad("early_stopping", v)),
        };
        let class_weight = match get("class_weight").unwrap_or("none") {
            "balanced" => ClassWeight::Balanced,
            "none" => ClassWeight::None,
            v => return Err(bad("class_weight", v)),
        };
        let max_bins = whole("max_bins", 255, 2)?;
        if max_bins > 255 {
            return Err(bad("max_bins", &max_bins.to_string()));
        }
        let params = BoostingParams {
            learning_rate: number("learning_rate", 0.1, |v| v > 0.0 && v.is_finite())?,
            max_iter: whole("max_iter", 100, 1)?,
            max_leaf_nodes: optional("max_leaf_nodes", Some(31), 2)?,
            max_depth: optional("max_depth", None, 1)?,
            min_samples_leaf: whole("min_samples_leaf", 20, 1)?,
            l2_regularization: number("l2_regularization", 0.0, |v| v >= 0.0 && v.is_finite())?,
            max_bins,
            early_stopping,
            validation_fraction: number("validation_fraction", 0.1, |v| v > 0.0 && v < 1.0)?,
            n_iter_no_change: whole("n_iter_no_change", 10, 1)?,
            tol: number("tol", 1e-7, f64::is_finite)?,
            class_weight,
            seed,
        };
        Ok(GradientBoosting { params })
    }
}

impl Estimator for GradientBoosting {
    fn algorithm(&self) -> Algorithm {
        Algorithm::GradientBoosting
    }

    fn params(&self) -> serde_json::Value {
        let p = &self.params;
        json!({
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
        })
    }

    fn fit(&self, x: &Matrix, y: &Target<'_>) -> Result<TrainedModel> {
        let Target::Classes { labels, n_classes } = y;
        GradientBoostingClassifier::fit(x, labels, *n_classes, &self.params)
            .map(TrainedModel::GradientBoostingClassifier)
            .map_err(|e| Error::Model(format!("gradient boosting: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_list_the_valid_ones_with_scikit_learn_defaults() {
        let mut s = Settings::new();
        s.insert("learning_rat".into(), "0.3".into());
        let err = GradientBoosting::from_settings(&s, 1).err().unwrap().to_string();
        assert!(err.contains("did you mean \"learning_rate\""), "{err}");
        assert!(err.contains("max_leaf_nodes (default 31"), "{err}");
        assert!(err.contains("min_samples_leaf (default 20"), "{err}");
    }

    #[test]
    fn defaults_are_scikit_learns_and_values_are_validated() {
        let gb = GradientBoosting::from_settings(&Settings::new(), 7).unwrap();
        assert_eq!(gb.params, BoostingParams { seed: 7, ..BoostingParams::default() });
        let mut s = Settings::new();
        s.insert("max_leaf_nodes".into(), "none".into());
        s.insert("max_depth".into(), "4".into());
        s.insert("early_stopping".into(), "false".into());
        let gb = GradientBoosting::from_settings(&s, 1).unwrap();
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
            let err = GradientBoosting::from_settings(&s, 1).err().map(|e| e.to_string());
            assert!(err.as_deref().is_some_and(|e| e.contains(key)), "{key}={value}: {err:?}");
        }
    }
}
