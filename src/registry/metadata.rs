//! `metadata.json`, written beside each `model.bin`: everything a person or a later command needs to know about
//! a version without decoding the model. Timestamps live here, never in model.bin, so retraining the same spec
//! on the same data gives a byte-identical artifact.

use std::collections::BTreeMap;

use semver::Version;
use serde::{Deserialize, Serialize};

use super::catalog::DatasetRef;
use crate::metrics::Metrics;
use crate::models::ImportanceMethod;
use crate::pipeline::FeatureTransform;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub name: String,
    pub version: Version,
    pub task: String,
    pub algorithm: String,
    pub params: serde_json::Value,
    pub target: String,
    pub classes: Vec<String>,
    /// Binary classifiers: the positive class (class 1), which precision, recall and F1 are about (absent in
    /// metadata written before it was chosen explicitly, when it was the class that sorts last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos_label: Option<String>,
    pub features: Vec<FeatureMeta>,
    /// Columns of the encoded matrix the model sees (one-hot columns as `name=level`).
    pub encoded_features: Vec<String>,
    /// Importance per input feature (one-hot columns summed), highest first.
    pub feature_importances: Vec<(String, f64)>,
    /// How the importances were measured (absent in metadata written before mlctl had several methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance_method: Option<ImportanceMethod>,
    /// Metrics on the held-out test split (on every row for clustering).
    pub metrics: Metrics,
    pub cross_validation: Option<CvSummary>,
    /// Binary classifiers: the calibration map fitted on the test split and its error, for `monitor`'s
    /// estimates (absent for other tasks and in metadata written before mlctl calibrated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::metrics::calibration::Calibration>,
    pub split: SplitMeta,
    pub dataset: DatasetRef,
    /// Rows of the dataset dropped because their target was missing (absent before mlctl dropped them: 0).
    #[serde(default)]
    pub rows_without_target: usize,
    /// Feature columns that looked like identifiers (a distinct text in nearly every row), warned about.
    #[serde(default)]
    pub identifier_like: Vec<String>,
    pub seed: u64,
    pub mlctl_version: String,
    pub created_at: String,
    pub training_seconds: f64,
    pub artifact_sha256: String,
    pub artifact_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMeta {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: String,
    pub missing_in_training: usize,
    /// The fitted preprocessing statistics (median, mean, scale; or levels and most frequent level).
    pub fitted: FeatureTransform,
    /// The levels sharing the infrequent one-hot slot (beyond `max_categories`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrequent: Option<crate::pipeline::Infrequent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitMeta {
    pub method: String,
    pub test_size: f64,
    pub train_rows: usize,
    pub test_rows: usize,
}

/// k-fold cross-validation on the training split: mean and standard deviation of each metric over the folds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvSummary {
    pub folds: usize,
    pub metrics: BTreeMap<String, MeanStd>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

impl MeanStd {
    /// Mean and population standard deviation (numpy's default, what `cross_val_score(...).std()` shows).
    pub fn of(values: &[f64]) -> MeanStd {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        MeanStd { mean, std: var.sqrt() }
    }
}

impl Metadata {
    /// Reads a version's metadata.json, naming the file in every error.
    pub fn read(path: &std::path::Path) -> crate::error::Result<Metadata> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::error::Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| crate::error::Error::Registry(format!("{}: not valid mlctl metadata ({e})", path.display())))
    }
}
