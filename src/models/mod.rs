//! Models: the [`Estimator`] trait every algorithm implements for training, and [`TrainedModel`], the fitted
//! model as plain data (a serde enum, not a trait object), which is what the artifact stores.

pub mod forest;
mod gradient_boosting;
pub mod params;
mod random_forest;

use serde::{Deserialize, Serialize};

use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use params::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Classification,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Classification => "classification",
        }
    }

    pub fn parse(s: &str) -> Result<Task> {
        match s {
            "classification" => Ok(Task::Classification),
            "regression" | "clustering" => Err(Error::Config(format!(
                "--task {s} is not available yet in this mlctl; it trains classification models"
            ))),
            other => Err(Error::Config(format!("unknown task \"{other}\": expected classification"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    RandomForest,
    GradientBoosting,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::RandomForest, Algorithm::GradientBoosting];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RandomForest => "random-forest",
            Algorithm::GradientBoosting => "gradient-boosting",
        }
    }

    pub fn parse(s: &str) -> Result<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
            Error::Config(format!(
                "unknown algorithm \"{s}\"{}; available: {}",
                crate::suggest::hint(s, names.iter().copied()),
                names.join(", ")
            ))
        })
    }
}

/// What a model is fitted to.
pub enum Target<'a> {
    Classes { labels: &'a [u32], n_classes: usize },
}

/// A configured, not yet fitted model. Fitting returns a different type, the [`TrainedModel`].
pub trait Estimator: Send + Sync {
    fn algorithm(&self) -> Algorithm;
    /// The resolved hyperparameters (defaults filled in), recorded in metadata and compared for version bumps.
    fn params(&self) -> serde_json::Value;
    fn fit(&self, x: &Matrix, y: &Target<'_>) -> Result<TrainedModel>;
}

/// Builds the estimator for `algorithm` from validated settings.
pub fn estimator(algorithm: Algorithm, task: Task, settings: &Settings, seed: u64) -> Result<Box<dyn Estimator>> {
    match (algorithm, task) {
        (Algorithm::RandomForest, Task::Classification) => {
            Ok(Box::new(random_forest::RandomForest::from_settings(settings, seed)?))
        }
        (Algorithm::GradientBoosting, Task::Classification) => {
            Ok(Box::new(gradient_boosting::GradientBoosting::from_settings(settings, seed)?))
        }
    }
}

/// A fitted model, as stored in the artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TrainedModel {
    RandomForestClassifier(forest::RandomForestClassifier),
    /// Added after the random forest: variants are encoded by index, so new ones go at the end and older
    /// artifacts keep decoding.
    GradientBoostingClassifier(forest::GradientBoostingClassifier),
}

impl TrainedModel {
    /// Class probabilities, row-major `n_rows × n_classes`.
    pub fn predict_proba(&self, x: &Matrix) -> Vec<f64> {
        match self {
            TrainedModel::RandomForestClassifier(m) => m.predict_proba(x),
            TrainedModel::GradientBoostingClassifier(m) => m.predict_proba(x),
        }
    }

    pub fn n_features(&self) -> usize {
        match self {
            TrainedModel::RandomForestClassifier(m) => m.n_features(),
            TrainedModel::GradientBoostingClassifier(m) => m.n_features(),
        }
    }

    pub fn n_classes(&self) -> usize {
        match self {
            TrainedModel::RandomForestClassifier(m) => m.n_classes(),
            TrainedModel::GradientBoostingClassifier(m) => m.n_classes(),
        }
    }

    /// Importance per matrix column, summing to 1.
    pub fn feature_importances(&self) -> Vec<f64> {
        match self {
            TrainedModel::RandomForestClassifier(m) => m.feature_importances(),
            TrainedModel::GradientBoostingClassifier(m) => m.feature_importances(),
        }
    }
}

/// The most probable class of each row (ties go to the lower class index, as numpy's argmax).
pub fn argmax_rows(proba: &[f64], n_classes: usize) -> Vec<u32> {
    proba
        .chunks_exact(n_classes)
        .map(|row| {
            let mut best = 0;
            for (k, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = k;
                }
            }
            best as u32
        })
        .collect()
}

/// Everything `model.bin` holds: the fitted pipeline and model, and what is needed to read their output.
/// Deliberately without version, names or timestamps, so the same spec, data and seed give the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub task: Task,
    pub target: String,
    /// Class labels as they appear in the data, index = class code.
    pub classes: Vec<String>,
    pub pipeline: crate::pipeline::FittedPipeline,
    pub model: TrainedModel,
}

impl Bundle {
    /// Checks that the parts fit together (a decoded file could be consistent piece by piece and still not):
    /// the pipeline produces as many columns as the model reads, and the model predicts the listed classes.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let (width, features) = (self.pipeline.n_outputs(), self.model.n_features());
        if width != features {
            return Err(format!("the pipeline makes {width} columns but the model reads {features}"));
        }
        if self.classes.len() != self.model.n_classes() {
            return Err(format!(
                "{} class names for a model of {} classes",
                self.classes.len(),
                self.model.n_classes()
            ));
        }
        Ok(())
    }
}
