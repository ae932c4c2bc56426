//! The markdown drift report: verdict, the per-feature table, warnings, and one SVG histogram per feature
//! (reference vs current), written as files beside the markdown and linked from it.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::compare::{DriftReport, FeatureDrift};
use super::svg;
use crate::error::Result;
use crate::fs::write_atomic;

/// Writes `path` and its SVGs (`<stem>-<feature>.svg` beside it). Returns the files written.
pub fn write_markdown(report: &DriftReport, path: &Path) -> Result<Vec<PathBuf>> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "drift".to_owned());
    let mut written = Vec::new();
    let mut md = String::new();
    let _ = writeln!(md, "# Drift report: {}@{}\n", report.model, report.version);
    let verdict = if report.drift_detected { "**Drift detected**" } else { "**No drift**" };
    let _ = writeln!(
        md,
        "{verdict} (rule: {}): {} of {} features drifted ({:.0}%).\n",
        fail_on_text(report),
        report.drifted_features.len(),
        report.features.len(),
        report.share_drifted * 100.0
    );
    let _ = writeln!(
        md,
        "- reference: {} rows sampled from the training data\n- current: {} ({} rows)\n",
        report.reference_rows, report.current_source, report.current_rows
    );
    table(&mut md, &report.features);
    if !report.predictions.is_empty() {
        let _ = writeln!(md, "\n## Predictions\n");
        table(&mut md, &report.predictions);
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(md, "\n## Warnings\n");
        for w in &report.warnings {
            let _ = writeln!(md, "- {w}");
        }
    }
    let _ = writeln!(md, "\n## Histograms\n");
    let _ = writeln!(
        md,
        "Share of rows per bin; numeric bins are the reference deciles plus one bin below its minimum and one above \
         its maximum. A feature with more than {} levels shows the {} whose share changed most and one bar for the rest.\n",
        svg::MAX_BARS + 1,
        svg::MAX_BARS
    );
    for f in report.features.iter().chain(&report.predictions) {
        let file = format!("{stem}-{}.svg", slug(&f.feature));
        let svg_path = dir.join(&file);
        let title = format!("{} — {} {}", f.feature, f.test.as_str(), if f.drifted { "(drifted)" } else { "" });
        write_atomic(&svg_path, svg::histogram(title.trim_end(), &f.histogram).as_bytes())?;
        written.push(svg_path);
        let _ = writeln!(md, "### {}\n\n![{} histogram]({file})\n", f.feature, f.feature);
        if f.column_type == "categorical" {
            level_table(&mut md, &f.histogram);
        }
    }
    write_atomic(path, md.as_bytes())?;
    written.insert(0, path.to_path_buf());
    Ok(written)
}

fn fail_on_text(report: &DriftReport) -> String {
    match report.fail_on {
        super::FailOn::Any => "any feature drifted".to_owned(),
        super::FailOn::Share(x) => format!("share of drifted features ≥ {x}"),
    }
}

fn table(md: &mut String, rows: &[FeatureDrift]) {
    let _ =
        writeln!(md, "| feature | type | test | statistic | p-value | threshold | PSI | missing ref → cur | drifted |");
    let _ = writeln!(md, "|---|---|---|---:|---:|---:|---:|---:|---|");
    for f in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {:.4} ({}) | {:.1}% → {:.1}% | {} |",
            f.feature.replace('|', "\\|"),
            f.column_type,
            f.test.as_str(),
            fmt(f.statistic),
            f.p_value.map_or_else(|| "—".to_owned(), fmt_p),
            fmt_threshold(f.threshold),
            f.psi,
            f.psi_band,
            100.0 * f.missing_rate_reference,
            100.0 * f.missing_rate_current,
            if f.drifted { "**yes**" } else { "no" }
        );
    }
}

/// A level's share must move by more than this (1 percentage point) to be listed.
const LISTED_CHANGE: f64 = 0.01;

/// Every level whose share changed by more than one point, largest change first: the chart shows at most
/// [`svg::MAX_BARS`] levels, this table misses none that moved.
fn level_table(md: &mut String, h: &super::compare::Histogram) {
    let share = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0);
    let mut moved: Vec<(usize, f64)> = (0..h.bins.len())
        .map(|i| (i, share(&h.current, i) - share(&h.reference, i)))
        .filter(|(_, change)| change.abs() > LISTED_CHANGE)
        .collect();
    if moved.is_empty() {
        let _ = writeln!(md, "No level's share changed by more than 1 point.\n");
        return;
    }
    moved.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let _ = writeln!(md, "Levels whose share changed by more than 1 point ({} of {}):\n", moved.len(), h.bins.len());
    let _ = writeln!(md, "| level | reference | current | change |");
    let _ = writeln!(md, "|---|---:|---:|---:|");
    for (i, change) in moved {
        let _ = writeln!(
            md,
            "| {} | {:.1}% | {:.1}% | {:+.1} pt |",
            h.bins[i].replace('|', "\\|"),
            100.0 * share(&h.reference, i),
            100.0 * share(&h.current, i),
            100.0 * change
        );
    }
    let _ = writeln!(md);
}

pub fn fmt(x: f64) -> String {
    if x.is_nan() {
        "n/a".to_owned()
    } else {
        format!("{x:.4}")
    }
}

/// A threshold: up to 4 decimals, trailing zeros dropped (0.05, 0.1, 0.0045 after a Bonferroni division).
pub fn fmt_threshold(x: f64) -> String {
    if x > 0.0 && x < 1e-4 {
        return format!("{x:.2e}");
    }
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

pub fn fmt_p(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.2e}")
    } else {
        format!("{p:.4}")
    }
}

/// A feature name as a file-name part: letters, digits, '-' and '_' kept, the rest '_'.
fn slug(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(fmt_threshold(0.05), "0.05");
        assert_eq!(fmt_threshold(0.1), "0.1");
        assert_eq!(fmt_threshold(0.05 / 11.0), "0.0045");
        assert_eq!(fmt_threshold(1e-6), "1.00e-6");
        assert_eq!(fmt_p(0.5), "0.5000");
        assert_eq!(fmt_p(1.2e-7), "1.20e-7");
        assert_eq!(slug("score P(1)"), "score_P_1_");
    }
}
