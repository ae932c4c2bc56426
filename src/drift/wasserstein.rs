//! Wasserstein-1 (earth mover's) distance between two samples, as scipy.stats.wasserstein_distance: the area
//! between the two empirical CDFs. Drift tests divide it by the reference's population standard deviation
//! (floored at 0.001, as Evidently does), so the 0.1 threshold reads as "a tenth of a standard deviation".

/// None when either sample is empty.
pub fn wasserstein_distance(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let mut all: Vec<f64> = a.iter().chain(&b).copied().collect();
    all.sort_by(f64::total_cmp);
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut total = 0.0;
    for w in all.windows(2) {
        // ECDFs just right of w[0]: the counts of values ≤ w[0].
        while i < a.len() && a[i] <= w[0] {
            i += 1;
        }
        while j < b.len() && b[j] <= w[0] {
            j += 1;
        }
        total += (i as f64 / n1 - j as f64 / n2).abs() * (w[1] - w[0]);
    }
    Some(total)
}

/// Population standard deviation (numpy's default ddof = 0).
pub fn population_std(x: &[f64]) -> f64 {
    let n = x.len().max(1) as f64;
    let mean = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// The distance in reference standard deviations.
pub fn normalised(a: &[f64], b: &[f64]) -> Option<f64> {
    Some(wasserstein_distance(a, b)? / population_std(a).max(0.001))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn matches_scipy_wasserstein_distance() {
        let doc: Value = serde_json::from_str(include_str!("../../tests/fixtures/drift/wasserstein.json")).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let floats =
                |k: &str| -> Vec<f64> { case[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
            let (a, b) = (floats("ref"), floats("cur"));
            let d = wasserstein_distance(&a, &b).unwrap();
            let expected = case["distance"].as_f64().unwrap();
            assert!((d - expected).abs() < 1e-9, "{name}: {d} vs {expected}");
            let nd = normalised(&a, &b).unwrap();
            let expected = case["normalised"].as_f64().unwrap();
            assert!((nd - expected).abs() < 1e-6 * expected.max(1.0), "{name}: {nd} vs {expected}");
        }
    }
}
