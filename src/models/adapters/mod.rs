//! Adapters between settings and algorithms: each validates its `--set` keys, builds the algorithm's parameters
//! and wraps the fitted model in a [`TrainedModel`] variant.

mod gradient_boosting;
mod kmeans;
mod linear;
mod neighbors;
mod random_forest;

use super::params::{ParamSpec, Settings};
use super::{Algorithm, Estimator, Task};
use crate::error::Result;

pub fn build(algorithm: Algorithm, task: Task, settings: &Settings, seed: u64) -> Result<Box<dyn Estimator>> {
    Ok(match algorithm {
        Algorithm::RandomForest | Algorithm::DecisionTree => {
            Box::new(random_forest::Forest::from_settings(algorithm, task, settings, seed)?)
        }
        Algorithm::GradientBoosting => {
            Box::new(gradient_boosting::GradientBoosting::from_settings(task, settings, seed)?)
        }
        Algorithm::Linear | Algorithm::Ridge | Algorithm::Lasso | Algorithm::ElasticNet => {
            Box::new(linear::Linear::from_settings(algorithm, settings)?)
        }
        Algorithm::LogisticRegression => Box::new(linear::Logistic::from_settings(settings)?),
        Algorithm::Knn => Box::new(neighbors::Knn::from_settings(task, settings)?),
        Algorithm::NaiveBayes => Box::new(neighbors::NaiveBayes::from_settings(settings)?),
        Algorithm::KMeans => Box::new(kmeans::Segmentation::from_settings(settings, seed)?),
    })
}

pub fn specs(algorithm: Algorithm, task: Task) -> &'static [ParamSpec] {
    match algorithm {
        Algorithm::RandomForest | Algorithm::DecisionTree => random_forest::specs(algorithm, task),
        Algorithm::GradientBoosting => gradient_boosting::specs(task),
        Algorithm::Linear
        | Algorithm::Ridge
        | Algorithm::Lasso
        | Algorithm::ElasticNet
        | Algorithm::LogisticRegression => linear::specs(algorithm),
        Algorithm::Knn => neighbors::KNN,
        Algorithm::NaiveBayes => neighbors::NAIVE_BAYES,
        Algorithm::KMeans => kmeans::SPECS,
    }
}
