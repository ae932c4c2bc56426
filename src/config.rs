//! `mlctl.toml`: named model specs, so `mlctl train --model NAME` needs no flags. Command-line flags override the
//! file. Unknown keys are errors naming the file, so a typo never silently trains the wrong model.
//!
//! ```toml
//! registry = "s3://team-models/mlctl"   # optional; default: the project's ml_models/
//!
//! [models.skill_assignment]
//! data = "data/skill_assignment.csv"
//! target = "success"
//! algorithm = "random-forest"
//! seed = 42
//! test_size = 0.2
//! cv = 5
//! categorical = ["team_id"]     # declared types win over inference
//! numeric = []
//! date = ["signup_date"]        # ISO dates, encoded as calendar features
//! drop = ["employee_id"]        # not features
//! require_target = false        # true: a row without a target is an error, not dropped
//! na_values = ["unknown", "?"]  # more cell values read as missing (besides "", NA, null, ...)
//!
//! [models.skill_assignment.params]
//! n_trees = 100
//! max_depth = 20
//! max_categories = 100          # a pipeline setting: one-hot levels per column, the infrequent slot included
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the registry is (as `--registry`): a folder, file://PATH or s3://BUCKET/PREFIX.
    pub registry: Option<String>,
    #[serde(default)]
    pub models: BTreeMap<String, ModelSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub data: Option<String>,
    pub target: Option<String>,
    pub task: Option<String>,
    pub algorithm: Option<String>,
    pub seed: Option<u64>,
    pub test_size: Option<f64>,
    pub cv: Option<usize>,
    /// The positive class of a binary target (as `--pos-label`).
    pub pos_label: Option<String>,
    #[serde(default)]
    pub categorical: Vec<String>,
    #[serde(default)]
    pub numeric: Vec<String>,
    #[serde(default)]
    pub date: Vec<String>,
    #[serde(default)]
    pub drop: Vec<String>,
    /// Refuse rows without a target instead of dropping them (as `--require-target`).
    #[serde(default)]
    pub require_target: bool,
    /// Extra cell values read as missing (as `--na-values`).
    #[serde(default)]
    pub na_values: Vec<String>,
    /// Hyperparameters; values may be numbers, strings or booleans and are validated per algorithm.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// `[models.NAME.drift]`: tests, thresholds and the failure rule for `mlctl drift`.
    pub drift: Option<DriftSpec>,
    /// `[models.NAME.promote]`: the metric and margin the promotion gate compares on.
    pub promote: Option<PromoteSpec>,
}

/// ```toml
/// [models.skill_assignment.promote]
/// metric = "roc_auc"        # default f1
/// min_improvement = 0.005   # default 0: the challenger must at least match production
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromoteSpec {
    pub metric: Option<String>,
    pub min_improvement: Option<f64>,
}

/// ```toml
/// [models.skill_assignment.drift]
/// stattest = "psi"          # for every feature (default: chosen by the reference size)
/// threshold = 0.2
/// fail_on = "share=0.5"     # default "any"
/// bonferroni = false        # default true: divide p-value thresholds by the number of p-value tests
/// [models.skill_assignment.drift.features.emp_workload_ratio]
/// stattest = "ks"
/// threshold = 0.01
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftSpec {
    pub stattest: Option<String>,
    pub threshold: Option<f64>,
    pub fail_on: Option<String>,
    /// Bonferroni correction of the p-value thresholds (default true; false as `--no-bonferroni`).
    pub bonferroni: Option<bool>,
    #[serde(default)]
    pub features: BTreeMap<String, DriftFeatureSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftFeatureSpec {
    pub stattest: Option<String>,
    pub threshold: Option<f64>,
}

impl ModelSpec {
    /// The params as `key → text`, the form `--set` uses.
    pub fn params_as_text(&self) -> BTreeMap<String, String> {
        self.params
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }
}

impl Config {
    /// Reads `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    pub fn model(&self, name: &str, path: &Path) -> Result<&ModelSpec> {
        self.models.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.models.keys().map(String::as_str).collect();
            Error::Config(format!(
                "{}: no [models.{name}] section{}; defined: {}",
                path.display(),
                crate::suggest::hint(name, names.iter().copied()),
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs_and_refuses_unknown_keys() {
        let c: Config = toml::from_str(
            "[models.m]\ndata = \"d.csv\"\ntarget = \"y\"\n[models.m.params]\nn_trees = 10\ncriterion = \"entropy\"\n",
        )
        .unwrap();
        let m = &c.models["m"];
        assert_eq!(m.params_as_text()["n_trees"], "10");
        assert_eq!(m.params_as_text()["criterion"], "entropy");
        assert!(toml::from_str::<Config>("[models.m]\ntargt = \"y\"\n").is_err());
        let d: Config = toml::from_str(
            "[models.m.drift]\nstattest = \"psi\"\nfail_on = \"share=0.5\"\n[models.m.drift.features.x]\nthreshold = 0.2\n",
        )
        .unwrap();
        let drift = d.models["m"].drift.as_ref().unwrap();
        assert_eq!(drift.stattest.as_deref(), Some("psi"));
        assert_eq!(drift.features["x"].threshold, Some(0.2));
        assert!(toml::from_str::<Config>("[models.m.drift]\nstatest = \"ks\"\n").is_err());
    }
}
