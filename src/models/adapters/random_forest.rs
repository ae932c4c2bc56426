//! Random forests and single decision trees, classification and regression, on our tree engine. The forest
//! classifier's defaults are the reference parameters (100 trees, max depth 20, min_samples_split 5,
//! min_samples_leaf 2, balanced class weights); the regressor and the trees take scikit-learn's defaults.

use serde_json::json;

use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use crate::models::forest::{
    ClassWeight, Criterion, ForestParams, MaxFeatures, RandomForestClassifier, RandomForestRegressor,
};
use crate::models::params::{ParamSpec, Reader, Settings};
use crate::models::{Algorithm, Estimator, Target, Task, TrainedModel};

const N_TREES: ParamSpec = ParamSpec { key: "n_trees", default: "100", accepts: "a whole number ≥ 1" };
const BOOTSTRAP: ParamSpec = ParamSpec { key: "bootstrap", default: "true", accepts: "true or false" };
const CRITERION: ParamSpec = ParamSpec { key: "criterion", default: "gini", accepts: "gini or entropy" };
const MAX_FEATURES: &str = "sqrt, log2, all, or a fraction in (0, 1]";
const DEPTH: &str = "a whole number ≥ 1, or none";
const SPLIT: &str = "a whole number ≥ 2";
const LEAF: &str = "a whole number ≥ 1";

const FOREST_CLASSIFIER: &[ParamSpec] = &[
    N_TREES,
    ParamSpec { key: "max_depth", default: "20", accepts: DEPTH },
    ParamSpec { key: "min_samples_split", default: "5", accepts: SPLIT },
    ParamSpec { key: "min_samples_leaf", default: "2", accepts: LEAF },
    ParamSpec { key: "max_features", default: "sqrt", accepts: MAX_FEATURES },
    CRITERION,
    ParamSpec { key: "class_weight", default: "balanced", accepts: "balanced or none" },
    BOOTSTRAP,
];
const FOREST_REGRESSOR: &[ParamSpec] = &[
    N_TREES,
    ParamSpec { key: "max_depth", default: "none", accepts: DEPTH },
    ParamSpec { key: "min_samples_split", default: "2", accepts: SPLIT },
    ParamSpec { key: "min_samples_leaf", default: "1", accepts: LEAF },
    ParamSpec { key: "max_features", default: "all", accepts: MAX_FEATURES },
    BOOTSTRAP,
];
const TREE_CLASSIFIER: &[ParamSpec] = &[
    ParamSpec { key: "max_depth", default: "none", accepts: DEPTH },
    ParamSpec { key: "min_samples_split", default: "2", accepts: SPLIT },
    ParamSpec { key: "min_samples_leaf", default: "1", accepts: LEAF },
    ParamSpec { key: "max_features", default: "all", accepts: MAX_FEATURES },
    CRITERION,
    ParamSpec { key: "class_weight", default: "none", accepts: "balanced or none" },
];
const TREE_REGRESSOR: &[ParamSpec] = &[
    ParamSpec { key: "max_depth", default: "none", accepts: DEPTH },
    ParamSpec { key: "min_samples_split", default: "2", accepts: SPLIT },
    ParamSpec { key: "min_samples_leaf", default: "1", accepts: LEAF },
    ParamSpec { key: "max_features", default: "all", accepts: MAX_FEATURES },
];
const ALIASES: &[(&str, &str)] = &[("n_estimators", "n_trees")];

pub fn specs(algorithm: Algorithm, task: Task) -> &'static [ParamSpec] {
    match (algorithm, task) {
        (Algorithm::DecisionTree, Task::Classification) => TREE_CLASSIFIER,
        (Algorithm::DecisionTree, _) => TREE_REGRESSOR,
        (_, Task::Classification) => FOREST_CLASSIFIER,
        _ => FOREST_REGRESSOR,
    }
}

/// A forest, or a single tree (one tree on every row, no bootstrap).
pub struct Forest {
    algorithm: Algorithm,
    task: Task,
    params: ForestParams,
}

impl Forest {
    pub fn from_settings(algorithm: Algorithm, task: Task, settings: &Settings, seed: u64) -> Result<Self> {
        let specs = specs(algorithm, task);
        let r = Reader::new(algorithm.as_str(), settings, specs, ALIASES)?;
        let has = |key: &str| specs.iter().any(|s| s.key == key);
        let max_features = match r.text("max_features").trim() {
            "sqrt" => MaxFeatures::Sqrt,
            "log2" => MaxFeatures::Log2,
            "all" | "1.0" | "1" => MaxFeatures::All,
            _ => MaxFeatures::Fraction(r.number("max_features", |f| f > 0.0 && f <= 1.0)?),
        };
        let tree = algorithm == Algorithm::DecisionTree;
        let params = ForestParams {
            n_trees: if tree { 1 } else { r.whole("n_trees", 1)? },
            max_depth: r.optional_whole("max_depth", 1)?,
            min_samples_split: r.whole("min_samples_split", 2)?,
            min_samples_leaf: r.whole("min_samples_leaf", 1)?,
            max_features,
            criterion: if has("criterion") && r.choice("criterion", &["gini", "entropy"])? == "entropy" {
                Criterion::Entropy
            } else {
                Criterion::Gini
            },
            class_weight: if has("class_weight") && r.choice("class_weight", &["balanced", "none"])? == "balanced" {
                ClassWeight::Balanced
            } else {
                ClassWeight::None
            },
            bootstrap: !tree && r.flag("bootstrap")?,
            seed,
        };
        Ok(Forest { algorithm, task, params })
    }
}

impl Estimator for Forest {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn task(&self) -> Task {
        self.task
    }

    fn params(&self) -> serde_json::Value {
        let p = &self.params;
        let max_features = match p.max_features {
            MaxFeatures::Sqrt => json!("sqrt"),
            MaxFeatures::Log2 => json!("log2"),
            MaxFeatures::All => json!("all"),
            MaxFeatures::Fraction(f) => json!(f),
        };
        let mut out = serde_json::Map::new();
        for spec in specs(self.algorithm, self.task) {
            let value = match spec.key {
                "n_trees" => json!(p.n_trees),
                "max_depth" => json!(p.max_depth),
                "min_samples_split" => json!(p.min_samples_split),
                "min_samples_leaf" => json!(p.min_samples_leaf),
                "max_features" => max_features.clone(),
                "criterion" => json!(match p.criterion {
                    Criterion::Gini => "gini",
                    Criterion::Entropy => "entropy",
                }),
                "class_weight" => json!(match p.class_weight {
                    ClassWeight::Balanced => "balanced",
                    ClassWeight::None => "none",
                }),
                _ => json!(p.bootstrap),
            };
            out.insert(spec.key.to_owned(), value);
        }
        serde_json::Value::Object(out)
    }

    fn fit(&self, x: &Matrix, y: &Target<'_>) -> Result<TrainedModel> {
        let name = self.algorithm.as_str();
        let failed = |e: crate::models::forest::ForestError| Error::Model(format!("{name}: {e}"));
        let tree = self.algorithm == Algorithm::DecisionTree;
        match y {
            Target::Classes { labels, n_classes } => {
                let m = RandomForestClassifier::fit(x, labels, *n_classes, &self.params).map_err(failed)?;
                Ok(if tree { TrainedModel::DecisionTreeClassifier(m) } else { TrainedModel::RandomForestClassifier(m) })
            }
            Target::Values(values) => {
                let m = RandomForestRegressor::fit(x, values, &self.params).map_err(failed)?;
                Ok(if tree { TrainedModel::DecisionTreeRegressor(m) } else { TrainedModel::RandomForestRegressor(m) })
            }
            Target::Unsupervised => Err(Error::Model(format!("{name} needs a target"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_list_the_valid_ones() {
        let mut s = Settings::new();
        s.insert("max_dept".into(), "3".into());
        let err =
            Forest::from_settings(Algorithm::RandomForest, Task::Classification, &s, 1).err().unwrap().to_string();
        assert!(err.contains("did you mean \"max_depth\""), "{err}");
        assert!(err.contains("min_samples_leaf (default 2"), "{err}");
    }

    #[test]
    fn values_are_validated_and_aliases_accepted() {
        let mut s = Settings::new();
        s.insert("n_estimators".into(), "7".into());
        s.insert("max_depth".into(), "none".into());
        let rf = Forest::from_settings(Algorithm::RandomForest, Task::Classification, &s, 1).unwrap();
        assert_eq!(rf.params.n_trees, 7);
        assert_eq!(rf.params.max_depth, None);
        s.insert("min_samples_leaf".into(), "0".into());
        assert!(Forest::from_settings(Algorithm::RandomForest, Task::Classification, &s, 1).is_err());
    }

    #[test]
    fn the_reference_parameters_are_the_forest_classifier_defaults() {
        let rf = Forest::from_settings(Algorithm::RandomForest, Task::Classification, &Settings::new(), 1).unwrap();
        let p = rf.params();
        assert_eq!(p["max_depth"], 20);
        assert_eq!(p["class_weight"], "balanced");
        let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 8);
    }

    #[test]
    fn trees_and_regressors_take_scikit_learn_defaults() {
        let dt = Forest::from_settings(Algorithm::DecisionTree, Task::Regression, &Settings::new(), 1).unwrap();
        assert_eq!((dt.params.n_trees, dt.params.bootstrap, dt.params.max_depth), (1, false, None));
        assert_eq!(dt.params.max_features, MaxFeatures::All);
        let mut s = Settings::new();
        s.insert("criterion".into(), "gini".into());
        let err = Forest::from_settings(Algorithm::RandomForest, Task::Regression, &s, 1).err().unwrap().to_string();
        assert!(err.contains("unknown hyperparameter \"criterion\""), "{err}");
    }
}
