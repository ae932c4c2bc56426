//! Two-sample Kolmogorov–Smirnov test, two-sided, as scipy.stats.ks_2samp(method="auto") computes it.
//!
//! The statistic is counted in integers (|i·n2 − j·n1| over the merged sorted samples), so ties and the rounding
//! scipy applies (D = h / lcm) come out exactly. The p-value is exact when both samples have at most 10,000 values
//! (scipy's rule for "auto"): the probability that a random interleaving of the two samples stays strictly inside
//! the band |i/n1 − j/n2| < D, by dynamic programming over the lattice with step probabilities (every value ≤ 1,
//! so nothing overflows). Above that, the limiting Kolmogorov distribution with en = n1·n2/(n1+n2) from statrs;
//! scipy's auto uses kstwo.sf(D, round(en)) there, which differs by O(1/√en) (tests/fixtures/drift/ks.json holds
//! both).

use statrs::stats_tests::ks_test::{ks_twosample, KSTwoSampleAlternativeMethod};
use statrs::stats_tests::NaNPolicy;

/// Largest sample for which the exact p-value is computed (scipy's MAX_AUTO_N).
pub const MAX_EXACT_N: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    pub statistic: f64,
    pub pvalue: f64,
    pub exact: bool,
}

/// KS test of two samples without NaN. None when either is empty.
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Option<KsResult> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    // Walk both sorted samples; after each distinct value compare the ECDFs: |i/n1 - j/n2| = |i n2 - j n1| / (n1 n2).
    let (mut i, mut j) = (0usize, 0usize);
    let mut max_gap: u128 = 0;
    while i < n1 || j < n2 {
        let x = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < n1 && a[i] <= x {
            i += 1;
        }
        while j < n2 && b[j] <= x {
            j += 1;
        }
        let gap = (i as i128 * n2 as i128 - j as i128 * n1 as i128).unsigned_abs();
        max_gap = max_gap.max(gap);
    }
    let g = gcd(n1, n2) as u128;
    // In units of 1/lcm: h = gap / g, since lcm = n1 n2 / g.
    let h = max_gap / g;
    let lcm = (n1 as u128 / g) * n2 as u128;
    let statistic = h as f64 / lcm as f64;
    if n1.max(n2) <= MAX_EXACT_N {
        let pvalue = if h == 0 { 1.0 } else { exact_outside(n1, n2, max_gap) };
        return Some(KsResult { statistic, pvalue: pvalue.clamp(0.0, 1.0), exact: true });
    }
    Some(KsResult { statistic, pvalue: asymptotic(&a, &b, statistic), exact: false })
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// P(D ≥ observed) for samples of sizes m and n: one minus the probability that a uniformly random lattice path
/// from (0, 0) to (m, n) keeps |i·n − j·m| < `gap` at every point.
fn exact_outside(m: usize, n: usize, gap: u128) -> f64 {
    let inside = |i: usize, j: usize| (i as i128 * n as i128 - j as i128 * m as i128).unsigned_abs() < gap;
    let total = (m + n) as f64;
    // row[j] = probability of reaching (i, j) having stayed inside; a step from (i, j) goes along i with
    // probability (m - i) / (m + n - i - j).
    let mut row = vec![0.0f64; n + 1];
    row[0] = 1.0;
    for j in 1..=n {
        row[j] = if inside(0, j) { row[j - 1] * (n - j + 1) as f64 / (total - (j - 1) as f64) } else { 0.0 };
    }
    for i in 1..=m {
        let from_left = |j: usize, prev: f64| prev * (m - i + 1) as f64 / (total - (i - 1 + j) as f64);
        row[0] = if inside(i, 0) { from_left(0, row[0]) } else { 0.0 };
        for j in 1..=n {
            row[j] = if inside(i, j) {
                from_left(j, row[j]) + row[j - 1] * (n - j + 1) as f64 / (total - (i + j - 1) as f64)
            } else {
                0.0
            };
        }
    }
    1.0 - row[n]
}

/// The limiting Kolmogorov distribution (statrs), for samples too large for the exact computation.
fn asymptotic(a: &[f64], b: &[f64], statistic: f64) -> f64 {
    if statistic <= 0.0 {
        return 1.0;
    }
    let en = (a.len() * b.len()) as f64 / (a.len() + b.len()) as f64;
    // statrs' series converges slowly near zero, where the p-value is 1 to double precision anyway
    // (Kolmogorov's CDF at 0.2 is about 1e-26).
    if statistic * en.sqrt() < 0.2 {
        return 1.0;
    }
    ks_twosample(a.to_vec(), b.to_vec(), KSTwoSampleAlternativeMethod::TwoSidedAsymptotic, NaNPolicy::Error)
        .map_or(f64::NAN, |(_, p)| p.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn matches_scipy_ks_2samp() {
        let doc: Value = serde_json::from_str(include_str!("../../tests/fixtures/drift/ks.json")).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let floats =
                |k: &str| -> Vec<f64> { case[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
            let r = ks_2samp(&floats("ref"), &floats("cur")).unwrap();
            let d = case["statistic"].as_f64().unwrap();
            assert!((r.statistic - d).abs() < 1e-12, "{name}: D {} vs scipy {d}", r.statistic);
            let exact = case["method"] == "exact";
            assert_eq!(r.exact, exact, "{name}");
            let expected =
                if exact { case["pvalue"].as_f64().unwrap() } else { case["kstwobign_pvalue"].as_f64().unwrap() };
            assert!((r.pvalue - expected).abs() < 1e-6, "{name}: p {} vs scipy {expected}", r.pvalue);
            if !exact {
                // Documented gap to scipy's kstwo-based auto p-value.
                assert!((r.pvalue - case["pvalue"].as_f64().unwrap()).abs() < 0.01, "{name}");
            }
        }
    }

    #[test]
    fn identical_and_empty_samples() {
        let x = [1.0, 2.0, 3.0];
        assert_eq!(ks_2samp(&x, &x).unwrap(), KsResult { statistic: 0.0, pvalue: 1.0, exact: true });
        assert!(ks_2samp(&x, &[]).is_none());
    }
}
