//! The monitoring report: markdown with the verdict, a table of the windows and, per judged metric, an SVG
//! trend chart (the realised score per window against the test score) beside it.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::fs::write_atomic;
use crate::ops::monitor::{MonitorReport, WindowReport};
use crate::report::charts::{self, Curve};

/// Writes the report to `path` and its charts beside it; returns every file written.
pub fn write_markdown(r: &MonitorReport, path: &Path) -> Result<Vec<PathBuf>> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let stem = path.file_stem().map_or_else(|| "monitor".to_owned(), |s| s.to_string_lossy().into_owned());
    let mut written = Vec::new();
    let mut md = String::new();
    let _ = writeln!(md, "# Monitoring: {}\n", r.model);
    let _ = writeln!(md, "**{}**\n", r.verdict.as_str());
    for reason in &r.reasons {
        let _ = writeln!(md, "- {reason}");
    }
    let _ = writeln!(md, "\n- period: {} – {}, windows of {}", r.since, r.until, window_text(r.window_seconds));
    let _ = writeln!(md, "- estimation: {}", r.estimation);
    let _ = writeln!(
        md,
        "- {} of {} predictions have an outcome; {} outcomes match no prediction of the period",
        r.join.predictions_with_outcome, r.join.predictions, r.join.outcomes_without_prediction
    );
    let _ = writeln!(
        md,
        "- serving version {} ({}): trained {:.1} days ago\n",
        r.age.version,
        r.age.stage.as_str(),
        r.age.days_since_trained
    );
    let metrics = r.chart_metrics();
    table(&mut md, &r.windows, &metrics);
    for metric in &metrics {
        let name = format!("{stem}-{metric}.svg");
        let file = dir.join(&name);
        write_atomic(&file, trend(r, metric).as_bytes())?;
        written.push(file);
        let _ = writeln!(md, "\n![{metric} per window]({name})");
    }
    if !r.warnings.is_empty() {
        md.push_str("\n## Warnings\n\n");
        for w in &r.warnings {
            let _ = writeln!(md, "- {w}");
        }
    }
    write_atomic(path, md.as_bytes())?;
    written.push(path.to_path_buf());
    Ok(written)
}

fn window_text(seconds: i64) -> String {
    match seconds {
        s if s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s % 3600 == 0 => format!("{} hours", s / 3600),
        s => format!("{} minutes", s / 60),
    }
}

fn table(md: &mut String, windows: &[WindowReport], metrics: &[&str]) {
    let _ = write!(md, "| window | predicted | labelled | version |");
    for m in metrics {
        let _ = write!(md, " {m} | Δ test | estimated |");
    }
    md.push_str("\n|---|---:|---:|---|");
    md.push_str(&"---:|---:|---:|".repeat(metrics.len()));
    md.push('\n');
    for w in windows {
        let version = w.compared_with.as_deref().unwrap_or("");
        let _ = write!(md, "| {} – {} | {} | {} | {version} |", &w.start[..10], &w.end[..10], w.predicted, w.labelled);
        for m in metrics {
            let value = w.metrics.get(*m).map_or_else(String::new, |x| format!("{x:.4}"));
            let change = w.change.get(*m).map_or_else(String::new, |x| format!("{x:+.4}"));
            let estimated = w.estimated.get(*m).map_or_else(String::new, |x| format!("{x:.4}"));
            let _ = write!(md, " {value} | {change} | {estimated} |");
        }
        md.push('\n');
    }
}

/// The realised score per window (windows without labels are left out), the estimate and the test score, on a
/// 0–1 scale.
fn trend(r: &MonitorReport, metric: &str) -> String {
    let n = r.windows.len().max(2) - 1;
    // At most MAX_WINDOWS windows.
    let x = |i: usize| i as f64 / n as f64;
    let realised =
        r.windows.iter().enumerate().filter_map(|(i, w)| w.metrics.get(metric).map(|v| (x(i), *v))).collect();
    let test =
        r.windows.iter().enumerate().filter_map(|(i, w)| w.test_metrics.get(metric).map(|v| (x(i), *v))).collect();
    let estimated =
        r.windows.iter().enumerate().filter_map(|(i, w)| w.estimated.get(metric).map(|v| (x(i), *v))).collect();
    let series = [
        Curve { label: "realised".to_owned(), points: realised },
        Curve { label: "estimated (CBPE)".to_owned(), points: estimated },
        Curve { label: "test score".to_owned(), points: test },
    ];
    let title = format!("{}: {metric} per window", r.model);
    charts::curves(&title, "window (oldest → newest)", metric, &series, false)
}
