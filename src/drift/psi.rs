//! Population Stability Index on bins taken from the reference: numeric features on the reference deciles with
//! an overflow bin below its minimum and one above its maximum (so values the reference never reached count,
//! NannyML's "leftover" bin); categorical features on the reference's categories plus one bin for unseen ones.
//! Proportions below 0.0001 are raised to it, as Evidently does, so an empty bin gives a large but finite term.
//! Bands: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25 major shift.

use serde::{Deserialize, Serialize};

const EPS: f64 = 1e-4;

/// Numeric bins: de-duplicated reference quantiles at 0, 0.1, …, 1 (numpy's default linear interpolation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericBins {
    pub edges: Vec<f64>,
}

impl NumericBins {
    /// From the sorted, non-empty reference values.
    pub fn from_sorted(sorted: &[f64]) -> Self {
        if sorted.is_empty() {
            return NumericBins { edges: Vec::new() };
        }
        let mut edges: Vec<f64> = (0..=10).map(|k| quantile_sorted(sorted, f64::from(k) / 10.0)).collect();
        edges.dedup();
        NumericBins { edges }
    }

    /// Number of bins: the regular ones plus the two overflow bins (first and last).
    pub fn len(&self) -> usize {
        self.edges.len().saturating_sub(1).max(1) + 2
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Bin index: 0 below the reference minimum, len-1 above its maximum; regular bins are right-closed.
    pub fn index(&self, x: f64) -> usize {
        let (Some(&lo), Some(&hi)) = (self.edges.first(), self.edges.last()) else { return 0 };
        if x < lo {
            0
        } else if x > hi {
            self.len() - 1
        } else {
            let inner = self.edges.get(1..self.edges.len() - 1).unwrap_or(&[]);
            1 + inner.partition_point(|&e| e < x)
        }
    }

    pub fn counts(&self, values: &[f64]) -> Vec<u64> {
        let mut out = vec![0u64; self.len()];
        for &x in values {
            out[self.index(x)] += 1;
        }
        out
    }

    /// Human labels of the bins, for tables and charts.
    pub fn labels(&self) -> Vec<String> {
        let (Some(lo), Some(hi)) = (self.edges.first(), self.edges.last()) else { return Vec::new() };
        let mut out = vec![format!("< {}", short(*lo))];
        if self.edges.len() == 1 {
            out.push(format!("= {}", short(*lo)));
        } else {
            for (k, w) in self.edges.windows(2).enumerate() {
                let open = if k == 0 { "[" } else { "(" };
                out.push(format!("{open}{}, {}]", short(w[0]), short(w[1])));
            }
        }
        out.push(format!("> {}", short(*hi)));
        out
    }
}

fn short(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// numpy.quantile's default ("linear", type 7) on sorted values.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let t = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    // numpy's lerp: exact at both ends, and equal neighbours give exactly that value.
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// PSI from bin counts of the reference and the current sample (same bins). None when either is empty.
pub fn psi(reference: &[u64], current: &[u64]) -> Option<f64> {
    let nr: u64 = reference.iter().sum();
    let nc: u64 = current.iter().sum();
    if nr == 0 || nc == 0 {
        return None;
    }
    Some(
        reference
            .iter()
            .zip(current)
            .map(|(&r, &c)| {
                let r = (r as f64 / nr as f64).max(EPS);
                let c = (c as f64 / nc as f64).max(EPS);
                (c - r) * (c / r).ln()
            })
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn matches_the_numpy_specification() {
        let doc: Value = serde_json::from_str(include_str!("../../tests/fixtures/drift/psi.json")).unwrap();
        for case in doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let floats =
                |k: &str| -> Vec<f64> { case[k].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
            let mut reference = floats("ref");
            reference.sort_by(f64::total_cmp);
            let bins = NumericBins::from_sorted(&reference);
            let edges = floats("edges");
            assert_eq!(bins.edges.len(), edges.len(), "{name}");
            for (a, b) in bins.edges.iter().zip(&edges) {
                assert!((a - b).abs() < 1e-12, "{name}: edge {a} vs {b}");
            }
            let value = psi(&bins.counts(&reference), &bins.counts(&floats("cur"))).unwrap();
            let expected = case["psi"].as_f64().unwrap();
            assert!((value - expected).abs() < 1e-9, "{name}: {value} vs {expected}");
        }
    }

    #[test]
    fn overflow_bins_and_labels() {
        let bins = NumericBins { edges: vec![0.0, 1.0, 2.0] };
        assert_eq!(bins.len(), 4);
        assert_eq!(
            [bins.index(-1.0), bins.index(0.0), bins.index(1.0), bins.index(1.5), bins.index(3.0)],
            [0, 1, 1, 2, 3]
        );
        assert_eq!(bins.labels(), ["< 0", "[0, 1]", "(1, 2]", "> 2"]);
    }
}
