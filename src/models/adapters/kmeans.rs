//! k-means segmentation with the segmentation seed's settings (k-means++ init, 10 restarts keeping the lowest
//! inertia, at most 300 iterations, tol 1e-4) and `k=auto`: the k of the best silhouette over a range.

use serde_json::json;

use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use crate::models::kmeans::{choose_k, KMeans, KMeansParams};
use crate::models::params::{ParamSpec, Reader, Settings};
use crate::models::{Algorithm, Estimator, Target, Task, TrainedModel};

pub const SPECS: &[ParamSpec] = &[
    ParamSpec {
        key: "k",
        default: "auto",
        accepts: "a whole number ≥ 1, or auto (the best silhouette over k_min..=k_max)",
    },
    ParamSpec { key: "k_min", default: "2", accepts: "a whole number ≥ 2" },
    ParamSpec { key: "k_max", default: "10", accepts: "a whole number ≥ 2" },
    ParamSpec { key: "n_init", default: "10", accepts: "a whole number ≥ 1" },
    ParamSpec { key: "max_iter", default: "300", accepts: "a whole number ≥ 1" },
    ParamSpec { key: "tol", default: "1e-4", accepts: "a number ≥ 0" },
];
const ALIASES: &[(&str, &str)] = &[("n_clusters", "k")];

pub struct Segmentation {
    /// None: `k=auto`.
    k: Option<usize>,
    /// The last `k=auto` choice, as (k, silhouette, inertia) per k tried: shown in the report.
    chosen: std::sync::Mutex<Vec<(usize, f64, f64)>>,
    range: (usize, usize),
    base: KMeansParams,
}

impl Segmentation {
    pub fn from_settings(settings: &Settings, seed: u64) -> Result<Self> {
        let r = Reader::new("k-means", settings, SPECS, ALIASES)?;
        let k = if r.text("k").trim().eq_ignore_ascii_case("auto") { None } else { Some(r.whole("k", 1)?) };
        let range = (r.whole("k_min", 2)?, r.whole("k_max", 2)?);
        if range.0 > range.1 {
            return Err(Error::Config(format!("k_min={} is above k_max={}", range.0, range.1)));
        }
        let base = KMeansParams {
            k: k.unwrap_or(range.0),
            n_init: r.whole("n_init", 1)?,
            max_iter: r.whole("max_iter", 1)?,
            tol: r.number("tol", |t| t >= 0.0 && t.is_finite())?,
            seed,
        };
        Ok(Segmentation { k, chosen: std::sync::Mutex::default(), range, base })
    }
}

impl Estimator for Segmentation {
    fn k_search(&self) -> Vec<crate::models::KScore> {
        let Ok(table) = self.chosen.lock() else { return Vec::new() };
        let best = table.iter().copied().reduce(|b, r| if r.1 > b.1 { r } else { b }).map(|b| b.0);
        table
            .iter()
            .map(|&(k, silhouette, _)| crate::models::KScore { k, silhouette, chosen: Some(k) == best })
            .collect()
    }

    fn fit_notes(&self) -> Vec<String> {
        let Ok(table) = self.chosen.lock() else { return Vec::new() };
        let Some(best) = table.iter().copied().reduce(|b, r| if r.1 > b.1 { r } else { b }) else {
            return Vec::new();
        };
        let tried: Vec<String> = table.iter().map(|(k, s, _)| format!("{k}: {s:.3}")).collect();
        vec![format!("k=auto chose k={} by silhouette (k: silhouette: {})", best.0, tried.join(", "))]
    }

    fn algorithm(&self) -> Algorithm {
        Algorithm::KMeans
    }

    fn task(&self) -> Task {
        Task::Clustering
    }

    fn params(&self) -> serde_json::Value {
        let b = &self.base;
        let mut p = json!({ "n_init": b.n_init, "max_iter": b.max_iter, "tol": b.tol });
        match self.k {
            Some(k) => p["k"] = json!(k),
            None => {
                p["k"] = json!("auto");
                p["k_min"] = json!(self.range.0);
                p["k_max"] = json!(self.range.1);
            }
        }
        p
    }

    fn fit(&self, x: &Matrix, _y: &Target<'_>) -> Result<TrainedModel> {
        let failed = |e: String| Error::Model(format!("k-means: {e}"));
        let k = match self.k {
            Some(k) => k,
            None => {
                let (k, table) = choose_k(x, self.range.0, self.range.1, &self.base).map_err(failed)?;
                if let Ok(mut chosen) = self.chosen.lock() {
                    *chosen = table;
                }
                k
            }
        };
        KMeans::fit(x, &KMeansParams { k, ..self.base }).map(TrainedModel::KMeans).map_err(failed)
    }
}
