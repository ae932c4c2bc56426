//! Linear models: least squares with no penalty, ridge, lasso and elastic net for regression, logistic
//! regression for classification, with scikit-learn's parameter names and defaults. They read the pipeline's
//! standardised columns, so their coefficients are comparable and serve as importances.

use serde_json::json;

use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use crate::models::linear::{LinearRegressor, LogisticParams, LogisticRegression, Penalty, SolverParams};
use crate::models::params::{ParamSpec, Reader, Settings};
use crate::models::{Algorithm, Estimator, Target, Task, TrainedModel};

const ALPHA: ParamSpec = ParamSpec { key: "alpha", default: "1.0", accepts: "a number ≥ 0" };
const MAX_ITER: ParamSpec = ParamSpec { key: "max_iter", default: "1000", accepts: "a whole number ≥ 1" };
const TOL: ParamSpec = ParamSpec { key: "tol", default: "1e-4", accepts: "a number > 0" };
const LINEAR: &[ParamSpec] = &[];
const RIDGE: &[ParamSpec] = &[ALPHA];
const LASSO: &[ParamSpec] = &[ALPHA, MAX_ITER, TOL];
const ELASTIC_NET: &[ParamSpec] =
    &[ALPHA, ParamSpec { key: "l1_ratio", default: "0.5", accepts: "a number in [0, 1]" }, MAX_ITER, TOL];
const LOGISTIC: &[ParamSpec] = &[
    ParamSpec { key: "C", default: "1.0", accepts: "a number > 0 (inverse regularisation strength)" },
    ParamSpec { key: "max_iter", default: "100", accepts: "a whole number ≥ 1" },
    TOL,
    ParamSpec { key: "class_weight", default: "none", accepts: "balanced or none" },
];

pub fn specs(algorithm: Algorithm) -> &'static [ParamSpec] {
    match algorithm {
        Algorithm::Ridge => RIDGE,
        Algorithm::Lasso => LASSO,
        Algorithm::ElasticNet => ELASTIC_NET,
        Algorithm::LogisticRegression => LOGISTIC,
        _ => LINEAR,
    }
}

/// A regressor: one fitted type, chosen by its penalty.
pub struct Linear {
    algorithm: Algorithm,
    penalty: Penalty,
    solver: SolverParams,
}

impl Linear {
    pub fn from_settings(algorithm: Algorithm, settings: &Settings) -> Result<Self> {
        let specs = specs(algorithm);
        let r = Reader::new(algorithm.as_str(), settings, specs, &[])?;
        let has = |key: &str| specs.iter().any(|s| s.key == key);
        let alpha = if has("alpha") { r.number("alpha", |a| a >= 0.0 && a.is_finite())? } else { 0.0 };
        let penalty = match algorithm {
            Algorithm::Ridge => Penalty::Ridge { alpha },
            Algorithm::Lasso => Penalty::Lasso { alpha },
            Algorithm::ElasticNet => {
                Penalty::ElasticNet { alpha, l1_ratio: r.number("l1_ratio", |v| (0.0..=1.0).contains(&v))? }
            }
            _ => Penalty::None,
        };
        let solver = SolverParams {
            max_iter: if has("max_iter") { r.whole("max_iter", 1)? } else { 1000 },
            tol: if has("tol") { r.number("tol", |t| t > 0.0 && t.is_finite())? } else { 1e-4 },
        };
        Ok(Linear { algorithm, penalty, solver })
    }
}

impl Estimator for Linear {
    fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    fn task(&self) -> Task {
        Task::Regression
    }

    fn params(&self) -> serde_json::Value {
        let iterative = json!({ "max_iter": self.solver.max_iter, "tol": self.solver.tol });
        match self.penalty {
            Penalty::None => json!({}),
            Penalty::Ridge { alpha } => json!({ "alpha": alpha }),
            Penalty::Lasso { alpha } => {
                let mut p = iterative;
                p["alpha"] = json!(alpha);
                p
            }
            Penalty::ElasticNet { alpha, l1_ratio } => {
                let mut p = iterative;
                p["alpha"] = json!(alpha);
                p["l1_ratio"] = json!(l1_ratio);
                p
            }
        }
    }

    fn fit(&self, x: &Matrix, y: &Target<'_>) -> Result<TrainedModel> {
        let Target::Values(values) = y else {
            return Err(Error::Model(format!("{} needs a numeric target", self.algorithm.as_str())));
        };
        LinearRegressor::fit(x, values, self.penalty, &self.solver)
            .map(TrainedModel::LinearRegressor)
            .map_err(|e| Error::Model(format!("{}: {e}", self.algorithm.as_str())))
    }
}

pub struct Logistic {
    params: LogisticParams,
}

impl Logistic {
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        let r = Reader::new("logistic-regression", settings, LOGISTIC, &[])?;
        let params = LogisticParams {
            c: r.number("C", |c| c > 0.0 && c.is_finite())?,
            max_iter: r.whole("max_iter", 1)?,
            tol: r.number("tol", |t| t > 0.0 && t.is_finite())?,
            balanced: r.choice("class_weight", &["balanced", "none"])? == "balanced",
        };
        Ok(Logistic { params })
    }
}

impl Estimator for Logistic {
    fn algorithm(&self) -> Algorithm {
        Algorithm::LogisticRegression
    }

    fn task(&self) -> Task {
        Task::Classification
    }

    fn params(&self) -> serde_json::Value {
        let p = &self.params;
        json!({
            "C": p.c,
            "max_iter": p.max_iter,
            "tol": p.tol,
            "class_weight": if p.balanced { "balanced" } else { "none" },
        })
    }

    fn fit(&self, x: &Matrix, y: &Target<'_>) -> Result<TrainedModel> {
        let Target::Classes { labels, n_classes } = y else {
            return Err(Error::Model("logistic-regression needs class labels".into()));
        };
        LogisticRegression::fit(x, labels, *n_classes, &self.params)
            .map(TrainedModel::LogisticRegression)
            .map_err(|e| Error::Model(format!("logistic-regression: {e}")))
    }
}
