//! `predict --explain`: the key factors of each prediction. For every input feature, the row is predicted again
//! with that feature replaced by its typical training value (what the pipeline imputes for a missing cell: the
//! median or the most frequent level); the change in the prediction's score is the feature's contribution.
//! One model-agnostic rule for every algorithm, in the units of the prediction: the log-odds of the predicted
//! class (which, unlike the probability, still moves when a prediction is near certain), the predicted value, or
//! closeness to the assigned segment's centre.

use serde::Serialize;

use crate::data::frame::{ColumnData, Frame, MISSING_CODE};
use crate::data::matrix::Matrix;
use crate::error::Result;
use crate::models::{Bundle, Predictions};

/// One feature's part in one prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Factor {
    pub feature: String,
    /// The row's value, as text (None when missing).
    pub value: Option<String>,
    /// The score with the row's value minus the score with the typical value: positive pushed the prediction
    /// up (towards the predicted class, in log-odds; a larger value; or closer to the segment's centre).
    pub contribution: f64,
}

/// The `top` factors of each row of `frame` by |contribution|, given the rows' `predictions`.
pub fn key_factors(bundle: &Bundle, frame: &Frame, predictions: &Predictions, top: usize) -> Result<Vec<Vec<Factor>>> {
    let base = row_scores(bundle, None, predictions, predictions);
    let mut per_row: Vec<Vec<Factor>> = vec![Vec::new(); frame.n_rows];
    for feature in &bundle.pipeline.features {
        let Some(column) = frame.column(&feature.name) else { continue };
        let masked = with_missing(frame, &feature.name);
        let (x, _) = bundle.pipeline.transform(&masked, None)?;
        let without = row_scores(bundle, Some(&x), &bundle.predict(&x), predictions);
        for (row, factors) in per_row.iter_mut().enumerate() {
            factors.push(Factor {
                feature: feature.name.clone(),
                value: column.text(row).map(std::borrow::Cow::into_owned),
                contribution: base[row] - without[row],
            });
        }
    }
    for factors in &mut per_row {
        factors.sort_by(|a, b| b.contribution.abs().total_cmp(&a.contribution.abs()).then(a.feature.cmp(&b.feature)));
        factors.truncate(top);
    }
    Ok(per_row)
}

/// The score of each row of `p` (the predictions on `x`, or the original ones when `x` is None), read the way the
/// original prediction `of` is read: the log-odds of the class predicted originally, the value, or minus the
/// distance to the originally assigned segment's centre.
fn row_scores(bundle: &Bundle, x: Option<&Matrix>, p: &Predictions, of: &Predictions) -> Vec<f64> {
    match (p, of) {
        (Predictions::Classes { proba, n_classes }, Predictions::Classes { proba: original, .. }) => {
            let predicted = crate::models::argmax_rows(original, *n_classes);
            let logit = |q: f64| {
                let q = q.clamp(1e-15, 1.0 - 1e-15);
                (q / (1.0 - q)).ln()
            };
            predicted.iter().enumerate().map(|(row, &c)| logit(proba[row * n_classes + c as usize])).collect()
        }
        (Predictions::Segments { distances, .. }, Predictions::Segments { segments: original, .. }) => match x {
            Some(x) => bundle.model.distances_to(x, original).unwrap_or_else(|| distances.clone()),
            None => distances.clone(),
        }
        .into_iter()
        .map(|d| -d)
        .collect(),
        _ => p.scores(),
    }
}

/// `frame` with every cell of `column` missing.
fn with_missing(frame: &Frame, column: &str) -> Frame {
    let mut out = frame.clone();
    if let Some(c) = out.columns.iter_mut().find(|c| c.name == column) {
        match &mut c.data {
            ColumnData::Numeric(v) | ColumnData::Date(v) => v.iter_mut().for_each(|x| *x = f64::NAN),
            ColumnData::Categorical { codes, .. } => codes.iter_mut().for_each(|x| *x = MISSING_CODE),
        }
    }
    out
}

/// Factors as one CSV cell: `feature=value (+0.123); …`.
pub fn as_text(factors: &[Factor]) -> String {
    factors
        .iter()
        .map(|f| format!("{}={} ({:+.4})", f.feature, f.value.as_deref().unwrap_or("missing"), f.contribution))
        .collect::<Vec<_>>()
        .join("; ")
}
