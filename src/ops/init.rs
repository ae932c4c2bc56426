//! `mlctl init`: scaffolds a project that runs as it is — mlctl.toml with a commented model spec, data/,
//! ml_models/, logs/, and a Makefile whose data/train/evaluate targets work in sequence from an empty folder (the
//! data step writes sample data and splits off a holdout), plus a retrain target and a weekly cron line —
//! without ever overwriting a file.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{IoContext, Result};
use crate::fs::write_atomic;

#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    pub project: PathBuf,
    pub created: Vec<String>,
    /// Files that already existed and were left as they are.
    pub kept: Vec<String>,
}

const CONFIG: &str = r#"# mlctl project configuration. `mlctl train --model NAME` trains [models.NAME]; flags override it.
# `make data` fills data/ with sample data (the Makefile's data step); for your own data, change that step and
# the target below.

[models.my_model]
data = "data/train.csv"          # a CSV with a header row (`make data` writes it with `mlctl split`)
target = "success"               # the column to predict (none, with algorithm = "k-means", segments the rows)
algorithm = "random-forest"      # classification: random-forest, gradient-boosting, decision-tree,
                                 #   logistic-regression, knn, naive-bayes; regression: the same trees, knn,
                                 #   linear, ridge, lasso, elastic-net; clustering: k-means
# task = "regression"            # inferred from the target unless given
seed = 42
test_size = 0.2
# cv = 5                         # k-fold cross-validation on the training split
# categorical = ["team_id"]      # declared types win over inference
# date = ["signup_date"]         # ISO dates, encoded as calendar features (inferred when every value is one)
# drop = ["employee_id"]         # ids and other non-features

[models.my_model.params]
n_trees = 100
max_depth = 20
min_samples_split = 5
min_samples_leaf = 2
class_weight = "balanced"
"#;

/// The targets run in order from an empty folder: `make data train evaluate` (or `make all`).
const MAKEFILE: &str = r#"# Targets for this mlctl project, in order: make data, make train, make evaluate (all three: make all).
# Every variable below can be overridden on the command line, e.g. make evaluate MIN_F1=0.8
MLCTL   ?= mlctl
MODEL   ?= my_model
DATASET ?= data/dataset.csv
# TRAIN is the file mlctl.toml's [models.my_model] trains on (its data = ...); HOLDOUT is never trained on.
TRAIN   ?= data/train.csv
HOLDOUT ?= data/holdout.csv
MIN_F1  ?= 0.75

.PHONY: all data train evaluate retrain

all: data train evaluate

# The data step: sample data to start with. For your own data, replace the export with yours, e.g.
#   $(MLCTL) export --from sqlite:data/app.db --query "SELECT ..." -o $(DATASET)
# and name your target column in --stratify and in mlctl.toml.
data:
	$(MLCTL) export --sample skill-assignment --rows 5000 --seed 42 -o $(DATASET)
	$(MLCTL) split $(DATASET) --test-size 0.2 --stratify success -o $(TRAIN) --holdout $(HOLDOUT)

train:
	$(MLCTL) train --model $(MODEL)

# Exit 3 when the model misses the gate.
evaluate:
	$(MLCTL) evaluate $(MODEL) --data $(HOLDOUT) --min f1=$(MIN_F1)

# Weekly retraining from cron (crontab -e), plain log lines and exit codes:
# 0 6 * * 1  cd /path/to/project && make retrain >> logs/retrain.log 2>&1
retrain: data train evaluate
"#;

pub fn init(root: &Path) -> Result<InitReport> {
    std::fs::create_dir_all(root).at(root)?;
    let mut report = InitReport { project: root.to_path_buf(), created: Vec::new(), kept: Vec::new() };
    for dir in ["data", "ml_models", "logs"] {
        let path = root.join(dir);
        if path.exists() {
            report.kept.push(format!("{dir}/"));
        } else {
            std::fs::create_dir_all(&path).at(&path)?;
            report.created.push(format!("{dir}/"));
        }
    }
    for (name, text) in [("mlctl.toml", CONFIG), ("Makefile", MAKEFILE)] {
        let path = root.join(name);
        if path.exists() {
            report.kept.push(name.to_owned());
        } else {
            write_atomic(&path, text.as_bytes())?;
            report.created.push(name.to_owned());
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaffolds_once_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let first = init(dir.path()).unwrap();
        assert_eq!(first.created.len(), 5);
        std::fs::write(dir.path().join("mlctl.toml"), "# mine").unwrap();
        let second = init(dir.path()).unwrap();
        assert!(second.created.is_empty());
        assert_eq!(std::fs::read_to_string(dir.path().join("mlctl.toml")).unwrap(), "# mine");
        let config: crate::config::Config = toml::from_str(CONFIG).unwrap();
        assert!(config.models.contains_key("my_model"));
    }
}
