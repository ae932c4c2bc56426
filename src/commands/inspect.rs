//! `mlctl list`, `mlctl show`, `mlctl diff`: tables over the registry (read-only; no lock needed, since every
//! write replaces registry.json atomically).

use std::fmt::Write;

use anyhow::Result;

use mlctl::ops::inspect::{diff as diff_versions, list as list_versions, show as show_version, DiffRow, ShowReport};

use super::usage::{model_ref, whole_model};
use super::{Ctx, ExitStatus};
use crate::cli::{DiffArgs, ListArgs, ShowArgs};
use crate::output::printer::Printer;
use crate::output::table::{self, fmt_metric};

/// Metrics shown in `list`, when a version has them.
/// Shown when some listed version has them (classification, regression, clustering).
const LIST_METRICS: &[&str] = &["accuracy", "f1", "roc_auc", "r2", "rmse", "silhouette"];

pub fn list(args: ListArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let name = args
        .name
        .as_deref()
        .map(|n| whole_model("mlctl list", n, "list shows every version of a model (`mlctl show` shows one)"))
        .transpose()?;
    let report = list_versions(&ctx.store()?, name.as_ref())?;
    printer.result(&report, || {
        if report.versions.is_empty() {
            return "No models yet. Train one with `mlctl train DATA.csv --target COLUMN --name NAME`.\n".to_owned();
        }
        let metrics: Vec<&str> = LIST_METRICS
            .iter()
            .copied()
            .filter(|m| report.versions.iter().any(|v| v.metrics.contains_key(*m)))
            .collect();
        let mut header = vec!["model", "version", "stage", "created", "algorithm"];
        header.extend(&metrics);
        header.push("files");
        let mut t = table::new(&header);
        for v in &report.versions {
            let mut row = vec![
                v.model.clone(),
                v.version.to_string(),
                v.stage.to_string(),
                v.created_at.clone(),
                v.algorithm.clone(),
            ];
            row.extend(metrics.iter().map(|m| v.metrics.get(*m).map_or_else(|| "–".to_owned(), |x| fmt_metric(*x))));
            row.push(if v.files_deleted { "deleted".to_owned() } else { "ok".to_owned() });
            t.add_row(row);
        }
        format!("{t}\n")
    })?;
    Ok(ExitStatus::Success)
}

pub fn show(args: ShowArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let report = show_version(&ctx.store()?, &model_ref(&args.model)?)?;
    for w in &report.warnings {
        mlctl::reporter::Reporter::warn(printer, w);
    }
    printer.result(&report, || show_human(&report))?;
    Ok(ExitStatus::Success)
}

/// A feature as `show` lists it: its name and type, and for a date the features derived from it.
fn describe_feature(f: &mlctl::registry::metadata::FeatureMeta) -> String {
    match &f.fitted {
        mlctl::pipeline::FeatureTransform::Date(t) => {
            format!("{} (date → {})", f.name, t.names().collect::<Vec<_>>().join(", "))
        }
        _ => format!("{} ({})", f.name, f.column_type),
    }
}

fn show_human(r: &ShowReport) -> String {
    let rec = &r.record;
    let mut out = String::new();
    let _ = writeln!(out, "{}@{} ({})", r.model, rec.version, rec.stage);
    let _ = writeln!(out, "  created    {}", rec.created_at);
    let _ = writeln!(out, "  task       {} · target {}", rec.spec.task, rec.spec.target.as_deref().unwrap_or("–"));
    let _ = writeln!(out, "  algorithm  {} {}", rec.spec.algorithm, rec.spec.params);
    let _ = writeln!(
        out,
        "  data       {} ({} rows, sha256 {})",
        rec.dataset.path,
        rec.dataset.rows,
        short(&rec.dataset.sha256)
    );
    let files = if rec.files_deleted { " — model files deleted by retention" } else { "" };
    let _ = writeln!(out, "  artifact   sha256 {}{files}", short(&rec.artifact_sha256));
    if let Some(m) = &r.metadata {
        let _ =
            writeln!(out, "  mlctl      {} · seed {} · trained in {:.2}s", m.mlctl_version, m.seed, m.training_seconds);
        let features: Vec<String> = m.features.iter().map(describe_feature).collect();
        let _ = writeln!(out, "  features   {}", features.join(", "));
    }

    let cv = r.metadata.as_ref().and_then(|m| m.cross_validation.as_ref());
    let mut t = match cv {
        Some(cv) => table::new(&["test metric", "value", &format!("{}-fold CV mean ± std", cv.folds)]),
        None => table::new(&["test metric", "value"]),
    };
    for (name, value) in &rec.metrics {
        let mut row = vec![name.clone(), fmt_metric(*value)];
        if let Some(cv) = cv {
            row.push(cv.metrics.get(name).map_or_else(String::new, |s| format!("{:.4} ± {:.4}", s.mean, s.std)));
        }
        t.add_row(row);
    }
    table::align_numbers(&mut t);
    let _ = writeln!(out, "\n{t}");

    if let Some(m) = &r.metadata {
        let top: Vec<String> = m.feature_importances.iter().take(8).map(|(f, v)| format!("{f} {v:.3}")).collect();
        if !top.is_empty() {
            let method = m.importance_method.map_or(String::new(), |k| format!(" ({})", k.describe()));
            let _ = writeln!(out, "\nFeature importance{method}: {}", top.join(", "));
        }
    }

    let mut h = table::new(&["when", "user", "from → to", "reason"]);
    for e in &r.history {
        let from = e.from.map_or("–", |s| s.as_str());
        h.add_row(vec![e.at.clone(), e.user.clone(), format!("{from} → {}", e.to), e.reason.clone()]);
    }
    let _ = writeln!(out, "\nStage history\n{h}");
    out
}

pub fn diff(args: DiffArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let report = diff_versions(&ctx.store()?, &model_ref(&args.a)?, &model_ref(&args.b)?)?;
    printer.result(&report, || {
        let mut out = String::new();
        for (title, rows) in [("params", &report.params), ("metrics", &report.metrics), ("context", &report.context)] {
            if rows.is_empty() {
                continue;
            }
            let mut t = table::new(&[title, &report.a, &report.b, "Δ"]);
            for row in rows {
                t.add_row(diff_cells(row));
            }
            table::align_numbers(&mut t);
            let _ = writeln!(out, "{t}\n");
        }
        out
    })?;
    Ok(ExitStatus::Success)
}

fn diff_cells(row: &DiffRow) -> Vec<String> {
    let cell = |v: &Option<serde_json::Value>| match v {
        None => "–".to_owned(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) if n.is_f64() => n.as_f64().map_or_else(|| n.to_string(), fmt_metric),
        Some(other) => other.to_string(),
    };
    let integers =
        (row.a.as_ref().and_then(serde_json::Value::as_i64), row.b.as_ref().and_then(serde_json::Value::as_i64));
    let delta = match (row.delta, integers) {
        (_, (Some(a), Some(b))) if row.changed => format!("{:+}", b - a),
        (Some(d), _) if row.changed => format!("{d:+.4}"),
        _ if row.changed => "changed".to_owned(),
        _ => String::new(),
    };
    vec![row.key.clone(), cell(&row.a), cell(&row.b), delta]
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
