//! Clustering metrics as scikit-learn computes them: inertia (the k-means objective), the Calinski–Harabasz and
//! Davies–Bouldin indices, segment sizes; the silhouette comes from the caller
//! (`models::kmeans::silhouette_score`: it is O(n²) and sampled), so this file stays arithmetic over rows and labels.

use serde::{Deserialize, Serialize};

use super::MetricsError;

/// Everything mlctl reports about a segmentation of one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusteringMetrics {
    /// Sum of squared distances of rows to their segment's centre (the model's centres).
    pub inertia: f64,
    /// Mean silhouette coefficient; `None` when undefined (one segment, or fewer than 2 rows).
    pub silhouette: Option<f64>,
    /// The size of the seeded sample the silhouette was computed on; None when it used every row.
    pub silhouette_sample: Option<usize>,
    pub calinski_harabasz: Option<f64>,
    pub davies_bouldin: Option<f64>,
    pub n_segments: usize,
    /// Rows per segment, index = segment.
    pub segment_sizes: Vec<u64>,
}

const CLUSTERING_METRIC_NAMES: &[&str] = &["inertia", "silhouette", "calinski_harabasz", "davies_bouldin"];

impl ClusteringMetrics {
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "inertia" => Some(self.inertia),
            "silhouette" | "silhouette_score" => self.silhouette,
            "calinski_harabasz" | "calinski_harabasz_score" => self.calinski_harabasz,
            "davies_bouldin" | "davies_bouldin_score" => self.davies_bouldin,
            _ => None,
        }
    }

    pub fn names() -> &'static [&'static str] {
        CLUSTERING_METRIC_NAMES
    }

    /// Inertia and Davies–Bouldin are better lower; silhouette and Calinski–Harabasz higher.
    pub fn higher_is_better(name: &str) -> Option<bool> {
        Self::names().contains(&name).then_some(matches!(name, "silhouette" | "calinski_harabasz"))
    }
}

/// Rows of `x` (row-major, `n_cols` wide) with their segment `labels` in `0..k`, the squared distances to the
/// model's centres, and the silhouette computed by the caller.
pub fn clustering_metrics(
    x: &[f64],
    n_cols: usize,
    labels: &[u32],
    k: usize,
    squared_distances: &[f64],
    silhouette: Option<(f64, Option<usize>)>,
) -> Result<ClusteringMetrics, MetricsError> {
    if labels.is_empty() {
        return Err(MetricsError::Empty);
    }
    if x.len() != labels.len() * n_cols {
        return Err(MetricsError::LengthMismatch { what: "x", expected: labels.len() * n_cols, found: x.len() });
    }
    if squared_distances.len() != labels.len() {
        return Err(MetricsError::LengthMismatch {
            what: "distances",
            expected: labels.len(),
            found: squared_distances.len(),
        });
    }
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= k) {
        return Err(MetricsError::LabelOutOfRange { what: "labels", index, label, n_classes: k });
    }
    let mut sizes = vec![0u64; k];
    for &l in labels {
        sizes[l as usize] += 1;
    }
    let (ch, db) = scatter_indices(x, n_cols, labels, k, &sizes);
    Ok(ClusteringMetrics {
        inertia: squared_distances.iter().sum(),
        silhouette: silhouette.map(|s| s.0),
        silhouette_sample: silhouette.and_then(|s| s.1),
        calinski_harabasz: ch,
        davies_bouldin: db,
        n_segments: k,
        segment_sizes: sizes,
    })
}

/// Calinski–Harabasz and Davies–Bouldin, from the centroids of the labelled rows (as sklearn computes them, not
/// the model's centres); both `None` unless 2 ≤ occupied segments < rows, where sklearn raises.
fn scatter_indices(x: &[f64], d: usize, labels: &[u32], k: usize, sizes: &[u64]) -> (Option<f64>, Option<f64>) {
    let n = labels.len();
    let occupied = sizes.iter().filter(|&&s| s > 0).count();
    if occupied < 2 || occupied >= n || d == 0 {
        return (None, None);
    }
    let mut centroids = vec![0.0; k * d];
    let mut mean = vec![0.0; d];
    for (row, &l) in x.chunks_exact(d).zip(labels) {
        for j in 0..d {
            centroids[l as usize * d + j] += row[j];
            mean[j] += row[j];
        }
    }
    for c in 0..k {
        if sizes[c] > 0 {
            for j in 0..d {
                centroids[c * d + j] /= sizes[c] as f64;
            }
        }
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let sq = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum::<f64>();
    let centre = |c: usize| &centroids[c * d..(c + 1) * d];
    // Within-segment dispersion (squared, for CH) and mean distance to the centroid (for DB).
    let mut within = 0.0;
    let mut spread = vec![0.0; k];
    for (row, &l) in x.chunks_exact(d).zip(labels) {
        let s = sq(row, centre(l as usize));
        within += s;
        spread[l as usize] += s.sqrt();
    }
    let between: f64 = (0..k).filter(|&c| sizes[c] > 0).map(|c| sizes[c] as f64 * sq(centre(c), &mean)).sum();
    let ch = if within == 0.0 { 1.0 } else { between * (n - occupied) as f64 / (within * (occupied - 1) as f64) };
    let live: Vec<usize> = (0..k).filter(|&c| sizes[c] > 0).collect();
    let s: Vec<f64> = live.iter().map(|&c| spread[c] / sizes[c] as f64).collect();
    let mut db = 0.0;
    for (i, &a) in live.iter().enumerate() {
        let mut worst: f64 = 0.0;
        for (j, &b) in live.iter().enumerate() {
            if i != j {
                let dist = sq(centre(a), centre(b)).sqrt();
                let ratio = if dist == 0.0 { 0.0 } else { (s[i] + s[j]) / dist };
                worst = worst.max(ratio);
            }
        }
        db += worst;
    }
    (Some(ch), Some(db / live.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from scikit-learn 1.9.1:
    /// ```python
    /// X = [[0,0],[0,1],[1,0],[5,5],[5,6],[6,5],[9,0]]; y = [0,0,0,1,1,1,2]
    /// calinski_harabasz_score(X, y), davies_bouldin_score(X, y)
    /// ```
    #[test]
    fn scatter_indices_match_scikit_learn() {
        let x = [0., 0., 0., 1., 1., 0., 5., 5., 5., 6., 6., 5., 9., 0.];
        let y = [0, 0, 0, 1, 1, 1, 2];
        let m = clustering_metrics(&x, 2, &y, 3, &[0.0; 7], None).unwrap();
        assert!((m.calinski_harabasz.unwrap() - 85.85714285714285).abs() < 1e-9, "{m:?}");
        assert!((m.davies_bouldin.unwrap() - 0.15701145925595564).abs() < 1e-9, "{m:?}");
        assert_eq!(m.segment_sizes, vec![3, 3, 1]);
        assert_eq!(ClusteringMetrics::higher_is_better("inertia"), Some(false));
    }

    #[test]
    fn one_segment_leaves_the_indices_undefined() {
        let m = clustering_metrics(&[0., 1., 2.], 1, &[0, 0, 0], 1, &[1.0, 0.0, 1.0], None).unwrap();
        assert_eq!((m.calinski_harabasz, m.davies_bouldin, m.inertia), (None, None, 2.0));
        assert!(clustering_metrics(&[0., 1.], 1, &[0, 3], 2, &[0.0, 0.0], None).is_err());
    }
}
