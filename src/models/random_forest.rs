//! The random-forest classifier on our tree engine, with the reference parameters as defaults (100 trees,
//! max depth 20, min_samples_split 5, min_samples_leaf 2, balanced class weights).

use serde_json::json;

use super::forest::{ClassWeight, Criterion, ForestParams, MaxFeatures, RandomForestClassifier};
use super::params::{check_keys, parse_value, ParamSpec, Settings};
use super::{Algorithm, Estimator, Target, TrainedModel};
use crate::data::matrix::Matrix;
use crate::error::{Error, Result};

const SPECS: &[ParamSpec] = &[
    ParamSpec { key: "n_trees", default: "100", accepts: "a whole number ≥ 1" },
    ParamSpec { key: "max_depth", default: "20", accepts: "a whole number ≥ 1, or none" },
    ParamSpec { key: "min_samples_split", default: "5", accepts: "a whole number ≥ 2" },
    ParamSpec { key: "min_samples_leaf", default: "2", accepts: "a whole number ≥ 1" },
    ParamSpec { key: "max_features", default: "sqrt", accepts: "sqrt, log2, all, or a fraction in (0, 1]" },
    ParamSpec { key: "criterion", default: "gini", accepts: "gini or entropy" },
    ParamSpec { key: "class_weight", default: "balanced", accepts: "balanced or none" },
    ParamSpec { key: "bootstrap", default: "true", accepts: "true or false" },
];
const ALIASES: &[(&str, &str)] = &[("n_estimators", "n_trees")];

pub struct RandomForest {
    params: ForestParams,
}

impl RandomForest {
    pub fn from_settings(settings: &Settings, seed: u64) -> Result<Self> {
        let settings = check_keys("random-forest", settings, SPECS, ALIASES)?;
        let get = |key: &str| settings.get(key).map(String::as_str);
        let accepts = |key: &str| SPECS.iter().find(|s| s.key == key).map_or("", |s| s.accepts);
        let whole = |key: &str, default: usize, min: usize| -> Result<usize> {
            let v = get(key).map_or(Ok(default), |v| parse_value::<usize>(key, v, accepts(key)))?;
            if v < min {
                return Err(Error::Config(format!("hyperparameter {key}={v}: expected {}", accepts(key))));
            }
            Ok(v)
        };
        let max_depth = match get("max_depth") {
            Some(v) if v.eq_ignore_ascii_case("none") => None,
            _ => Some(whole("max_depth", 20, 1)?),
        };
        let max_features = match get("max_features").unwrap_or("sqrt") {
            "sqrt" => MaxFeatures::Sqrt,
            "log2" => MaxFeatures::Log2,
            "all" | "1.0" | "1" => MaxFeatures::All,
            v => {
                let f: f64 = parse_value("max_features", v, accepts("max_features"))?;
                if !(f > 0.0 && f <= 1.0) {
                    return Err(Error::Config(format!(
                        "hyperparameter max_features={v}: expected {}",
                        accepts("max_features")
                    )));
                }
                MaxFeatures::Fraction(f)
            }
        };
        let criterion = match get("criterion").unwrap_or("gini") {
            "gini" => Criterion::Gini,
            "entropy" => Criterion::Entropy,
            v => return Err(Error::Config(format!("hyperparameter criterion={v}: expected {}", accepts("criterion")))),
        };
        let class_weight = match get("class_weight").unwrap_or("balanced") {
            "balanced" => ClassWeight::Balanced,
            "none" => ClassWeight::None,
            v => {
                return Err(Error::Config(format!(
                    "hyperparameter class_weight={v}: expected {}",
                    accepts("class_weight")
                )))
            }
        };
        let bootstrap = get("bootstrap").map_or(Ok(true), |v| parse_value("bootstrap", v, accepts("bootstrap")))?;
        let params = ForestParams {
            n_trees: whole("n_trees", 100, 1)?,
            max_depth,
            min_samples_split: whole("min_samples_split", 5, 2)?,
            min_samples_leaf: whole("min_samples_leaf", 2, 1)?,
            max_features,
            criterion,
            class_weight,
            bootstrap,
            seed,
        };
        Ok(RandomForest { params })
    }
}

impl Estimator for RandomForest {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RandomForest
    }

    fn params(&self) -> serde_json::Value {
        let p = &self.params;
        let max_features = match p.max_features {
            MaxFeatures::Sqrt => json!("sqrt"),
            MaxFeatures::Log2 => json!("log2"),
            MaxFeatures::All => json!("all"),
            MaxFeatures::Fraction(f) => json!(f),
        };
        json!({
            "n_trees": p.n_trees,
            "max_depth": p.max_depth,
            "min_samples_split": p.min_samples_split,
            "min_samples_leaf": p.min_samples_leaf,
            "max_features": max_features,
            "criterion": match p.criterion { Criterion::Gini => "gini", Criterion::Entropy => "entropy" },
            "class_weight": match p.class_weight { ClassWeight::Balanced => "balanced", ClassWeight::None => "none" },
            "bootstrap": p.bootstrap,
        })
    }

    fn fit(&self, x: &Matrix, y: &Target<'_>) -> Result<TrainedModel> {
        let Target::Classes { labels, n_classes } = y;
        RandomForestClassifier::fit(x, labels, *n_classes, &self.params)
            .map(TrainedModel::RandomForestClassifier)
            .map_err(|e| Error::Model(format!("random forest: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_list_the_valid_ones() {
        let mut s = Settings::new();
        s.insert("max_dept".into(), "3".into());
        let err = RandomForest::from_settings(&s, 1).err().unwrap().to_string();
        assert!(err.contains("did you mean \"max_depth\""), "{err}");
        assert!(err.contains("min_samples_leaf (default 2"), "{err}");
    }

    #[test]
    fn values_are_validated_and_aliases_accepted() {
        let mut s = Settings::new();
        s.insert("n_estimators".into(), "7".into());
        s.insert("max_depth".into(), "none".into());
        let rf = RandomForest::from_settings(&s, 1).unwrap();
        assert_eq!(rf.params.n_trees, 7);
        assert_eq!(rf.params.max_depth, None);
        s.insert("min_samples_leaf".into(), "0".into());
        assert!(RandomForest::from_settings(&s, 1).is_err());
    }
}
