//! Confidence-based performance estimation (CBPE, as NannyML defines it) for a binary classifier: with
//! calibrated probabilities p, each row is expected to be a true positive with probability p when predicted
//! positive (a false positive with 1 − p), and a false negative with p when predicted negative (a true negative
//! with 1 − p). Summed over a window, that expected confusion matrix gives estimated accuracy, precision,
//! recall and F1 before any outcome is known. Estimated ROC-AUC is the AUC of the model's scores with each row
//! counted as a positive of weight p and a negative of weight 1 − p.
//!
//! It assumes no concept shift: it sees the model's confidence move with the inputs, never a change in how
//! outcomes depend on them.

use std::collections::BTreeMap;

/// One prediction: the calibrated probability of the positive class, the model's own score (what ROC ranks
/// by), and whether the positive class was predicted.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    pub calibrated: f64,
    pub score: f64,
    pub predicted_positive: bool,
}

/// Estimated metrics of a set of predictions (empty when there are none).
pub fn estimate(rows: &[Scored]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if rows.is_empty() {
        return out;
    }
    let (mut tp, mut fp, mut fn_, mut tn) = (0.0, 0.0, 0.0, 0.0);
    for r in rows {
        let p = r.calibrated.clamp(0.0, 1.0);
        if r.predicted_positive {
            tp += p;
            fp += 1.0 - p;
        } else {
            fn_ += p;
            tn += 1.0 - p;
        }
    }
    let n = rows.len() as f64;
    out.insert("accuracy".to_owned(), (tp + tn) / n);
    if tp + fp > 0.0 {
        out.insert("precision".to_owned(), tp / (tp + fp));
    }
    if tp + fn_ > 0.0 {
        out.insert("recall".to_owned(), tp / (tp + fn_));
    }
    if 2.0 * tp + fp + fn_ > 0.0 {
        out.insert("f1".to_owned(), 2.0 * tp / (2.0 * tp + fp + fn_));
    }
    if let Some(auc) = soft_roc_auc(rows) {
        out.insert("roc_auc".to_owned(), auc);
    }
    out
}

/// The probability that a positive ranks above a negative (ties count half), each row weighing p as a positive
/// and 1 − p as a negative: the weighted Mann–Whitney statistic, O(n log n).
fn soft_roc_auc(rows: &[Scored]) -> Option<f64> {
    let mut sorted: Vec<(f64, f64)> = rows.iter().map(|r| (r.score, r.calibrated.clamp(0.0, 1.0))).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut negatives_below, mut sum, mut total_pos) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < sorted.len() {
        // A group of equal scores.
        let j = i + sorted[i..].iter().take_while(|r| r.0 == sorted[i].0).count();
        let (pos, neg): (f64, f64) = sorted[i..j].iter().fold((0.0, 0.0), |(a, b), r| (a + r.1, b + 1.0 - r.1));
        sum += pos * (negatives_below + 0.5 * neg);
        negatives_below += neg;
        total_pos += pos;
        i = j;
    }
    let denominator = total_pos * negatives_below;
    (denominator > 0.0).then(|| sum / denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(calibrated: &[f64], scores: &[f64], threshold: f64) -> Vec<Scored> {
        calibrated
            .iter()
            .zip(scores)
            .map(|(&c, &s)| Scored { calibrated: c, score: s, predicted_positive: s > threshold })
            .collect()
    }

    /// Certain probabilities (0 or 1) make the estimate the realised confusion matrix, and the soft AUC the
    /// ordinary one.
    #[test]
    fn with_certain_probabilities_the_estimate_is_the_realised_score() {
        let scores = [0.1, 0.4, 0.35, 0.8];
        let truth = [0.0, 0.0, 1.0, 1.0];
        let est = estimate(&rows(&truth, &scores, 0.5));
        assert_eq!(est["accuracy"], 0.75);
        assert_eq!(est["precision"], 1.0);
        assert_eq!(est["recall"], 0.5);
        assert_eq!(est["roc_auc"], 0.75, "sklearn's roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8])");
    }

    /// Values from scripts/cbpe_reference.py (NumPy, an independent implementation), committed in
    /// tests/fixtures/cbpe_reference.json.
    #[test]
    fn matches_the_numpy_reference() {
        let text = include_str!("../../tests/fixtures/cbpe_reference.json");
        let fixture: serde_json::Value = serde_json::from_str(text).unwrap();
        for case in fixture["cases"].as_array().unwrap() {
            let f = |k: &str| -> Vec<f64> { case[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
            let (calibrated, scores) = (f("calibrated"), f("scores"));
            let predicted: Vec<bool> =
                case["predicted_positive"].as_array().unwrap().iter().map(|v| v.as_bool().unwrap()).collect();
            let rows: Vec<Scored> = calibrated
                .iter()
                .zip(&scores)
                .zip(&predicted)
                .map(|((&c, &s), &p)| Scored { calibrated: c, score: s, predicted_positive: p })
                .collect();
            let est = estimate(&rows);
            for (metric, expected) in case["expected"].as_object().unwrap() {
                let got = est[metric];
                assert!((got - expected.as_f64().unwrap()).abs() < 1e-12, "{metric}: {got} vs {expected}");
            }
        }
    }
}
