//! The reference profile, built at training time and written as `reference.json` beside `model.bin` (in the
//! same hidden folder, so a version never exists without it): a seeded sample of up to 10,000 rows of the
//! training data, per-feature statistics, and the distribution of the model's own predictions.
//!
//! JSON rather than a binary encoding: it is plain data a person can open with `jq` and diff between versions,
//! like metadata.json; columnar, with categorical columns as codes into a level list, it stays about 1 MB for
//! 10,000 rows × a dozen features. The sample is stored, not only summaries, because KS, Wasserstein and the
//! chi-square test need the reference values themselves and because a user may choose another test later.
//!
//! Predictions are profiled on the held-out test split, not on the rows the model was fitted on: a forest is
//! over-confident on its own training rows, so their scores would make every honest current sample look like
//! drift.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::psi::{quantile_sorted, NumericBins};
use crate::data::frame::{ColumnData, Frame};
use crate::error::{Error, Result};
use crate::pipeline::FittedPipeline;
use crate::rng::Rng;

pub const REFERENCE_FILE: &str = "reference.json";
/// Bumped when the layout changes incompatibly; older files are refused with "retrain".
pub const PROFILE_FORMAT: u32 = 1;
pub const MAX_SAMPLE_ROWS: usize = 10_000;
/// Mixed into the training seed so the sample is independent of the split and the trees.
const SAMPLE_STREAM: u64 = 0x000D_21F7;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    pub format: u32,
    pub seed: u64,
    /// Rows of the training data file.
    pub dataset_rows: usize,
    /// Rows in the stored sample (all of them up to 10,000).
    pub sample_rows: usize,
    pub features: Vec<FeatureProfile>,
    pub predictions: PredictionProfile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureProfile {
    pub name: String,
    /// Share of the sample rows where the feature is missing.
    pub missing_rate: f64,
    #[serde(flatten)]
    pub data: FeatureData,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FeatureData {
    Numeric {
        stats: NumericStats,
        /// PSI and histogram bins on the reference deciles (see psi.rs).
        bins: NumericBins,
        histogram: Vec<u64>,
        /// The sample, row-aligned across features; null = missing.
        values: Vec<Option<f64>>,
    },
    Categorical {
        /// Non-missing count of each level in the sample.
        frequencies: BTreeMap<String, u64>,
        levels: Vec<String>,
        /// Index into `levels` per sample row; null = missing.
        codes: Vec<Option<u32>>,
    },
}

/// JSON has no NaN: serde_json writes it as null, so null reads back as NaN (a sample with no values).
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericStats {
    pub count: usize,
    #[serde(deserialize_with = "nan_if_null")]
    pub mean: f64,
    /// Population standard deviation.
    #[serde(deserialize_with = "nan_if_null")]
    pub std: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub min: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub max: f64,
    /// (q, value) for q = 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99.
    pub quantiles: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionProfile {
    pub rows: usize,
    pub classes: Vec<String>,
    /// Predicted class counts, index = class.
    pub class_counts: Vec<u64>,
    /// What the score is: "P(<positive class>)" for binary models, "max probability" otherwise.
    pub score: String,
    pub bins: NumericBins,
    pub histogram: Vec<u64>,
    pub scores: Vec<f64>,
}

pub use crate::models::score_of;

pub fn score_name(classes: &[String]) -> String {
    if classes.len() == 2 {
        format!("P({})", classes[1])
    } else {
        "max probability".to_owned()
    }
}

/// Up to `max` of `0..n`, chosen with a seeded shuffle, returned in file order.
pub fn sample_rows(n: usize, max: usize, seed: u64) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..n).collect();
    if n > max {
        Rng::derive(seed, SAMPLE_STREAM).shuffle(&mut rows);
        rows.truncate(max);
        rows.sort_unstable();
    }
    rows
}

/// The largest reference.json mlctl reads (README): the sample model's is 0.5 MB; at about 50 bytes per sampled
/// cell, 10,000 rows of 2,000 features fit.
pub const MAX_PROFILE_BYTES: u64 = 1 << 30;

impl ReferenceProfile {
    /// `test_predictions` are the model's predictions on the held-out test split; `classes` names its classes
    /// or segments (empty for regression) and `score` what the score of a prediction is.
    pub fn build(
        frame: &Frame,
        pipeline: &FittedPipeline,
        classes: &[String],
        test_predictions: &crate::models::Predictions,
        score: String,
        seed: u64,
    ) -> Result<Self> {
        let rows = sample_rows(frame.n_rows, MAX_SAMPLE_ROWS, seed);
        // Features are profiled independently, in parallel; the first error in feature order is reported.
        let features: Vec<Result<FeatureProfile>> = pipeline
            .features
            .par_iter()
            .map(|f| {
                let column = frame
                    .column(&f.name)
                    .ok_or_else(|| Error::data(&frame.source, None, Some(&f.name), "no such column"))?;
                let missing = rows.iter().filter(|&&r| column.is_missing(r)).count();
                let data = match (&column.data, f.column_type()) {
                    (ColumnData::Numeric(v), crate::data::schema::ColumnType::Numeric) => {
                        let values: Vec<Option<f64>> =
                            rows.iter().map(|&r| Some(v[r]).filter(|x| !x.is_nan())).collect();
                        numeric(values)
                    }
                    // Dates as numbers, days since 1970-01-01: their drift is a shift in time.
                    (ColumnData::Date(v), crate::data::schema::ColumnType::Date) => numeric(
                        rows.iter().map(|&r| Some(crate::data::dates::as_days(v[r])).filter(|x| !x.is_nan())).collect(),
                    ),
                    _ => {
                        let cells: Vec<Option<String>> =
                            rows.iter().map(|&r| column.text(r).map(std::borrow::Cow::into_owned)).collect();
                        categorical(&cells)
                    }
                };
                Ok(FeatureProfile {
                    name: f.name.clone(),
                    missing_rate: if rows.is_empty() { 0.0 } else { missing as f64 / rows.len() as f64 },
                    data,
                })
            })
            .collect();
        let features = features.into_iter().collect::<Result<Vec<_>>>()?;
        Ok(ReferenceProfile {
            format: PROFILE_FORMAT,
            seed,
            dataset_rows: frame.n_rows,
            sample_rows: rows.len(),
            features,
            predictions: PredictionProfile::build(classes, test_predictions, score, seed),
        })
    }

    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec(self).map_err(|e| Error::Model(e.to_string()))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Reads `reference.json` of a version; a missing file says how to get one.
    pub fn load(path: &Path, model: &str) -> Result<Self> {
        let bytes = match crate::fs::read_own_file(path, MAX_PROFILE_BYTES)? {
            Some(b) => b,
            None => {
                return Err(Error::artifact(
                    path,
                    format!(
                        "{model} has no reference profile (it was trained before mlctl stored one): retrain it, e.g. \
                         `mlctl train --model NAME`, to get a version drift can compare against"
                    ),
                ))
            }
        };
        let profile: ReferenceProfile = serde_json::from_slice(&bytes)
            .map_err(|e| Error::artifact(path, format!("is not a valid reference profile: {e}")))?;
        if profile.format != PROFILE_FORMAT {
            return Err(Error::artifact(
                path,
                format!("reference profile format {} is not {PROFILE_FORMAT}: retrain the model", profile.format),
            ));
        }
        Ok(profile)
    }
}

fn numeric(values: Vec<Option<f64>>) -> FeatureData {
    let mut present: Vec<f64> = values.iter().flatten().copied().collect();
    present.sort_by(f64::total_cmp);
    let bins = NumericBins::from_sorted(&present);
    let histogram = bins.counts(&present);
    // No values: NaN statistics (written as null), not a made-up zero.
    let n = present.len() as f64;
    let mean = if present.is_empty() { f64::NAN } else { present.iter().sum::<f64>() / n };
    let std = (present.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
    let stats = NumericStats {
        count: present.len(),
        mean,
        std,
        min: present.first().copied().unwrap_or(f64::NAN),
        max: present.last().copied().unwrap_or(f64::NAN),
        quantiles: [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
            .iter()
            .filter(|_| !present.is_empty())
            .map(|&q| (q, quantile_sorted(&present, q)))
            .collect(),
    };
    FeatureData::Numeric { stats, bins, histogram, values }
}

fn categorical(cells: &[Option<String>]) -> FeatureData {
    let mut frequencies: BTreeMap<String, u64> = BTreeMap::new();
    for c in cells.iter().flatten() {
        *frequencies.entry(c.clone()).or_default() += 1;
    }
    let levels: Vec<String> = frequencies.keys().cloned().collect();
    let codes = cells.iter().map(|c| c.as_ref().and_then(|c| levels.binary_search(c).ok()).map(|i| i as u32)).collect();
    FeatureData::Categorical { frequencies, levels, codes }
}

impl PredictionProfile {
    fn build(classes: &[String], predictions: &crate::models::Predictions, score: String, seed: u64) -> Self {
        let labels = predictions.labels();
        let all_scores = predictions.scores();
        let rows = sample_rows(all_scores.len(), MAX_SAMPLE_ROWS, seed ^ 1);
        let mut class_counts = vec![0u64; classes.len()];
        let mut scores = Vec::with_capacity(rows.len());
        for &r in &rows {
            if let Some(count) = labels.as_ref().and_then(|l| class_counts.get_mut(l[r] as usize)) {
                *count += 1;
            }
            scores.push(all_scores[r]);
        }
        let mut sorted = scores.clone();
        sorted.sort_by(f64::total_cmp);
        let bins = NumericBins::from_sorted(&sorted);
        let histogram = bins.counts(&scores);
        PredictionProfile { rows: rows.len(), classes: classes.to_vec(), class_counts, score, bins, histogram, scores }
    }
}

/// Values of a categorical profile column as text, for tests and comparisons.
pub fn categorical_values(levels: &[String], codes: &[Option<u32>]) -> Vec<Option<String>> {
    codes.iter().map(|c| c.and_then(|c| levels.get(c as usize).cloned())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_seeded_capped_and_in_file_order() {
        let a = sample_rows(25_000, 10_000, 42);
        assert_eq!(a.len(), 10_000);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(a, sample_rows(25_000, 10_000, 42));
        assert_ne!(a, sample_rows(25_000, 10_000, 43));
        assert_eq!(sample_rows(5, 10, 1), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_column_without_values_round_trips() {
        let data = numeric(vec![None, None]);
        let FeatureData::Numeric { stats, bins, .. } = &data else { panic!("numeric") };
        assert!(stats.mean.is_nan() && stats.quantiles.is_empty() && bins.edges.is_empty());
        let json = serde_json::to_string(&data).unwrap();
        let back: FeatureData = serde_json::from_str(&json).unwrap();
        let FeatureData::Numeric { stats, .. } = back else { panic!("numeric") };
        assert!(stats.min.is_nan() && stats.count == 0);
    }
}
