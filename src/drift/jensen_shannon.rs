//! Jensen–Shannon distance with base-2 logarithms, as scipy.spatial.distance.jensenshannon(p, q, base=2): the
//! square root of the JS divergence, so it lies in [0, 1] (1 = disjoint supports). Evidently uses the natural
//! log, whose distance tops out at √ln 2 ≈ 0.83; the 0.1 threshold is the same number on a clearer scale.

/// Distance between two distributions given as non-negative weights over the same bins (normalised here, as
/// scipy does). None when either has zero total weight.
pub fn js_distance(p: &[f64], q: &[f64]) -> Option<f64> {
    let sp: f64 = p.iter().sum();
    let sq: f64 = q.iter().sum();
    if sp <= 0.0 || sq <= 0.0 {
        return None;
    }
    let mut divergence = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        if a > 0.0 {
            divergence += a * (a / m).log2();
        }
        if b > 0.0 {
            divergence += b * (b / m).log2();
        }
    }
    Some((divergence / 2.0).max(0.0).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn matches_scipy_jensenshannon_base_2() {
        let doc: Value = serde_json::from_str(include_str!("../../tests/fixtures/drift/jensenshannon.json")).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let floats =
                |k: &str| -> Vec<f64> { case[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
            let d = js_distance(&floats("p"), &floats("q")).unwrap();
            let expected = case["distance"].as_f64().unwrap();
            assert!((d - expected).abs() < 1e-9, "{name}: {d} vs {expected}");
        }
    }
}
