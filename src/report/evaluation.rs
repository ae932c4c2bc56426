//! `mlctl evaluate --report FILE.md`: the metrics (side by side with production when there is one), the
//! classification report, gates, and pictures people would rather look at than read — ROC and
//! precision-recall curves, the confusion matrix as a heat map, predicted against actual and residuals
//! (regression), feature-importance bars — as SVG files beside
//! the markdown (`<stem>-roc.svg`, …), linked from it. Every file is written atomically.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::charts::{self, Curve};
use super::evaluation_data::{Bound, EvaluateReport};
use crate::error::Result;
use crate::fs::write_atomic;
use crate::metrics::curves::{precision_recall_curve, roc_curve};

/// What the charts need beyond the report: the labels and scores of every row, and importances.
pub struct ChartData<'a> {
    /// Classification only, as the probabilities.
    pub y_true: Option<&'a [u32]>,
    /// Row-major `rows × classes` probabilities.
    pub proba: Option<&'a [f64]>,
    /// Regression only: the target's values and the predictions, row by row.
    pub actual: Option<&'a [f64]>,
    pub predicted: Option<&'a [f64]>,
    /// Importance per input feature, highest first.
    pub importances: &'a [(String, f64)],
}

/// Writes `path` and its SVGs; returns every file written.
pub fn write_markdown(r: &EvaluateReport, data: &ChartData<'_>, path: &Path) -> Result<Vec<PathBuf>> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = path.file_stem().map_or_else(|| "evaluation".to_owned(), |s| s.to_string_lossy().into_owned());
    let mut written = Vec::new();
    let mut svg = |suffix: &str, body: String| -> Result<String> {
        let name = format!("{stem}-{suffix}.svg");
        let file = dir.join(&name);
        write_atomic(&file, body.as_bytes())?;
        written.push(file);
        Ok(name)
    };

    let mut md = String::new();
    let _ = writeln!(md, "# Evaluation: {}@{} ({})\n", r.model, r.version, r.stage);
    let _ = writeln!(md, "- data: `{}` ({} rows, sha256 `{}`)", r.data.path, r.data.rows, short(&r.data.sha256));
    if let Some(p) = &r.production {
        let _ = writeln!(md, "- compared with production {} on the same rows", p.version);
    }
    if !r.gates.is_empty() {
        let verdict = if r.passed { "all met" } else { "**NOT MET**" };
        let _ = writeln!(md, "- gates: {verdict}");
        for g in &r.gates {
            let op = if matches!(g.gate.bound, Bound::Min) { "≥" } else { "≤" };
            let got = g.value.map_or_else(|| "undefined".to_owned(), |v| format!("{v:.4}"));
            let mark = if g.passed { "ok" } else { "**FAIL**" };
            let _ = writeln!(md, "  - {mark} {} {op} {} (got {got})", g.gate.metric, g.gate.threshold);
        }
    }
    md.push('\n');

    md.push_str("## Metrics\n\n");
    match &r.production {
        Some(p) => {
            let _ = writeln!(md, "| metric | {} | production {} | Δ |\n|---|---:|---:|---:|", r.version, p.version);
        }
        None => {
            let _ = writeln!(md, "| metric | {} |\n|---|---:|", r.version);
        }
    }
    for name in crate::metrics::Metrics::names(r.task) {
        let Some(v) = r.metrics.get(name) else { continue };
        let _ = write!(md, "| {name} | {v:.4} |");
        if let Some(p) = &r.production {
            let theirs = p.metrics.get(name).map_or_else(|| "n/a".to_owned(), |x| format!("{x:.4}"));
            let delta = r.deltas.get(*name).map_or_else(String::new, |d| format!("{d:+.4}"));
            let _ = write!(md, " {theirs} | {delta} |");
        }
        md.push('\n');
    }
    md.push('\n');
    if let Some(text) = &r.classification_report {
        let _ = writeln!(md, "```text\n{text}```\n");
    }
    if let crate::metrics::Metrics::Classification(m) = &r.metrics {
        let cm =
            svg("confusion", charts::heat_map("Confusion matrix (shaded by row)", &r.classes, &m.confusion_matrix))?;
        let _ = writeln!(md, "## Confusion matrix\n\n![confusion matrix]({cm})\n");
    }
    if let crate::metrics::Metrics::Clustering(m) = &r.metrics {
        let sizes: Vec<(String, f64)> =
            m.segment_sizes.iter().enumerate().map(|(i, &n)| (format!("segment {i}"), n as f64)).collect();
        let name = svg("segments", charts::bars("Rows per segment", &sizes, charts::ValueLabel::Count))?;
        let _ = writeln!(md, "## Segments\n\n![rows per segment]({name})\n");
    }

    if let (Some(actual), Some(predicted)) = (data.actual, data.predicted) {
        let pairs: Vec<(f64, f64)> = actual.iter().copied().zip(predicted.iter().copied()).collect();
        let name = svg(
            "predicted",
            charts::scatter("Predicted against actual", ("actual", "predicted"), &pairs, charts::Guide::Diagonal),
        )?;
        let _ = writeln!(md, "## Predicted against actual\n\n![predicted against actual]({name})\n");
        let residuals: Vec<(f64, f64)> = pairs.iter().map(|&(a, p)| (p, a - p)).collect();
        let name = svg(
            "residuals",
            charts::scatter("Residuals", ("predicted", "actual − predicted"), &residuals, charts::Guide::Zero),
        )?;
        let _ = writeln!(md, "## Residuals\n\n![residuals against predicted]({name})\n");
    }
    let (roc, pr) = match (data.y_true, data.proba) {
        (Some(y_true), Some(proba)) => curve_series(r, y_true, proba),
        _ => (Vec::new(), Vec::new()),
    };
    if !roc.is_empty() {
        let name = svg("roc", charts::curves("ROC curve", "false positive rate", "true positive rate", &roc, true))?;
        let _ = writeln!(md, "## ROC curve\n\n![ROC curve]({name})\n");
    }
    if !pr.is_empty() {
        let name = svg("pr", charts::curves("Precision-recall curve", "recall", "precision", &pr, false))?;
        let _ = writeln!(md, "## Precision-recall curve\n\n![precision-recall curve]({name})\n");
    }
    if !data.importances.is_empty() {
        let top: Vec<(String, f64)> = data.importances.iter().take(15).cloned().collect();
        let name = svg("importance", charts::bars("Feature importance", &top, charts::ValueLabel::Decimal))?;
        let _ = writeln!(md, "## Feature importance\n\n![feature importance]({name})\n");
    }
    if !r.warnings.is_empty() {
        md.push_str("## Warnings\n\n");
        for w in &r.warnings {
            let _ = writeln!(md, "- {w}");
        }
    }
    write_atomic(path, md.as_bytes())?;
    written.push(path.to_path_buf());
    Ok(written)
}

/// ROC and PR curves: the positive class for a binary model, one-vs-rest per class otherwise. A class with
/// no positive or no negative row has no ROC curve (as in scikit-learn, its rates are undefined).
fn curve_series(r: &EvaluateReport, y_true: &[u32], proba: &[f64]) -> (Vec<Curve>, Vec<Curve>) {
    let n_classes = r.classes.len();
    let classes: Vec<usize> = if n_classes == 2 { vec![1] } else { (0..n_classes).collect() };
    let mut roc = Vec::new();
    let mut pr = Vec::new();
    for class in classes {
        let scores: Vec<f64> = proba.chunks_exact(n_classes).map(|row| row[class]).collect();
        let label = r.classes.get(class).cloned().unwrap_or_default();
        let pos = class as u32;
        if let Ok(Some(c)) = roc_curve(y_true, &scores, pos, true) {
            let auc = if n_classes == 2 {
                r.metrics.get("roc_auc").map(|a| format!(" (AUC {a:.3})")).unwrap_or_default()
            } else {
                String::new()
            };
            roc.push(Curve { label: format!("{label}{auc}"), points: c.fpr.into_iter().zip(c.tpr).collect() });
        }
        if let Ok(c) = precision_recall_curve(y_true, &scores, pos, true) {
            pr.push(Curve { label, points: c.recall.into_iter().zip(c.precision).collect() });
        }
    }
    (roc, pr)
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
