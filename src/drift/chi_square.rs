//! Chi-square test of homogeneity on the 2 × k table [reference counts, current counts], as
//! scipy.stats.chi2_contingency computes it (including its Yates continuity correction when dof = 1). A test of
//! two samples, not a goodness-of-fit against the reference proportions: the reference is a sample too, and a
//! category unseen in the reference is a column like any other rather than a division by zero.

use statrs::distribution::{ChiSquared, ContinuousCDF};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chi2Result {
    pub statistic: f64,
    pub pvalue: f64,
    pub dof: usize,
}

/// None when either row is empty. Categories empty in both rows are dropped (they carry no information and
/// scipy refuses a zero expected frequency).
pub fn chi2_contingency(reference: &[u64], current: &[u64]) -> Option<Chi2Result> {
    let pairs: Vec<(f64, f64)> =
        reference.iter().zip(current).filter(|(r, c)| **r + **c > 0).map(|(&r, &c)| (r as f64, c as f64)).collect();
    let n_ref: f64 = pairs.iter().map(|p| p.0).sum();
    let n_cur: f64 = pairs.iter().map(|p| p.1).sum();
    if n_ref == 0.0 || n_cur == 0.0 {
        return None;
    }
    let dof = pairs.len().saturating_sub(1);
    if dof == 0 {
        return Some(Chi2Result { statistic: 0.0, pvalue: 1.0, dof });
    }
    let total = n_ref + n_cur;
    let mut statistic = 0.0;
    for &(r, c) in &pairs {
        let col = r + c;
        for (observed, row_total) in [(r, n_ref), (c, n_cur)] {
            let expected = row_total * col / total;
            let mut diff = observed - expected;
            if dof == 1 {
                // Yates: move each observed count 0.5 towards its expectation, never past it.
                diff = diff.signum() * (diff.abs() - 0.5).max(0.0);
            }
            statistic += diff * diff / expected;
        }
    }
    let pvalue = ChiSquared::new(dof as f64).map_or(f64::NAN, |d| d.sf(statistic));
    Some(Chi2Result { statistic, pvalue, dof })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn matches_scipy_chi2_contingency() {
        let doc: Value = serde_json::from_str(include_str!("../../tests/fixtures/drift/chi2.json")).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let ints =
                |k: &str| -> Vec<u64> { case[k].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect() };
            let r = chi2_contingency(&ints("ref"), &ints("cur")).unwrap();
            let (s, p) = (case["statistic"].as_f64().unwrap(), case["pvalue"].as_f64().unwrap());
            assert!((r.statistic - s).abs() < 1e-9 * s.max(1.0), "{name}: {} vs {s}", r.statistic);
            assert!(
                (r.pvalue - p).abs() < 1e-6 && (r.pvalue - p).abs() <= 1e-6 * p.max(1e-300) + 1e-12,
                "{name}: {} vs {p}",
                r.pvalue
            );
            assert_eq!(r.dof as u64, case["dof"].as_u64().unwrap(), "{name}");
        }
    }
}
