//! k-nearest neighbours (classification and regression) and Gaussian naive Bayes, with scikit-learn's names
//! and defaults. Neither has importances of its own: training measures permutation importance.

use serde_json::json;

use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use crate::models::naive_bayes::GaussianNb;
use crate::models::neighbors::{KnnClassifier, KnnParams, KnnRegressor, Weights};
use crate::models::params::{ParamSpec, Reader, Settings};
use crate::models::{Algorithm, Estimator, Target, Task, TrainedModel};

pub const KNN: &[ParamSpec] = &[
    ParamSpec { key: "n_neighbors", default: "5", accepts: "a whole number ≥ 1" },
    ParamSpec { key: "weights", default: "uniform", accepts: "uniform or distance" },
];
pub const NAIVE_BAYES: &[ParamSpec] = &[ParamSpec { key: "var_smoothing", default: "1e-9", accepts: "a number ≥ 0" }];
const KNN_ALIASES: &[(&str, &str)] = &[("k", "n_neighbors")];

pub struct Knn {
    task: Task,
    params: KnnParams,
}

impl Knn {
    pub fn from_settings(task: Task, settings: &Settings) -> Result<Self> {
        let r = Reader::new("knn", settings, KNN, KNN_ALIASES)?;
        let weights = match r.choice("weights", &["uniform", "distance"])? {
            "distance" => Weights::Distance,
            _ => Weights::Uniform,
        };
        Ok(Knn { task, params: KnnParams { k: r.whole("n_neighbors", 1)?, weights } })
    }
}

impl Estimator for Knn {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Knn
    }

    fn task(&self) -> Task {
        self.task
    }

    fn params(&self) -> serde_json::Value {
        let weights = match self.params.weights {
            Weights::Uniform => "uniform",
            Weights::Distance => "distance",
        };
        json!({ "n_neighbors": self.params.k, "weights": weights })
    }

    fn fit(&self, x: &Matrix, y: &Target<'_>) -> Result<TrainedModel> {
        let failed = |e: String| Error::Model(format!("knn: {e}"));
        match y {
            Target::Classes { labels, n_classes } => {
                KnnClassifier::fit(x, labels, *n_classes, &self.params).map(TrainedModel::KnnClassifier).map_err(failed)
            }
            Target::Values(v) => KnnRegressor::fit(x, v, &self.params).map(TrainedModel::KnnRegressor).map_err(failed),
            Target::Unsupervised => Err(Error::Model("knn needs a target".into())),
        }
    }
}

pub struct NaiveBayes {
    var_smoothing: f64,
}

impl NaiveBayes {
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        let r = Reader::new("naive-bayes", settings, NAIVE_BAYES, &[])?;
        Ok(NaiveBayes { var_smoothing: r.number("var_smoothing", |v| v >= 0.0 && v.is_finite())? })
    }
}

impl Estimator for NaiveBayes {
    fn algorithm(&self) -> Algorithm {
        Algorithm::NaiveBayes
    }

    fn task(&self) -> Task {
        Task::Classification
    }

    fn params(&self) -> serde_json::Value {
        json!({ "var_smoothing": self.var_smoothing })
    }

    fn fit(&self, x: &Matrix, y: &Target<'_>) -> Result<TrainedModel> {
        let Target::Classes { labels, n_classes } = y else {
            return Err(Error::Model("naive-bayes needs class labels".into()));
        };
        GaussianNb::fit(x, labels, *n_classes, self.var_smoothing)
            .map(TrainedModel::GaussianNb)
            .map_err(|e| Error::Model(format!("naive-bayes: {e}")))
    }
}
