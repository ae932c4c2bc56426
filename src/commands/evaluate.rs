//! `mlctl evaluate`: metrics table (side by side with production when there is one), sklearn's classification
//! report, confusion matrix, gates. Unmet gates exit 3.

use std::fmt::Write;

use anyhow::Result;

use mlctl::metrics::Metrics;
use mlctl::ops::evaluate::{evaluate, Bound, EvaluateOptions, EvaluateReport, Gate};
use mlctl::prometheus::Sample;
use mlctl::reporter::Reporter;

use super::{list_flag, overlap_policy, parse_delimiter, Ctx, ExitStatus};
use crate::cli::EvaluateArgs;
use crate::output::printer::Printer;
use crate::output::table::{self, fmt_metric};

pub fn run(args: EvaluateArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let mut gates = Vec::new();
    for g in &list_flag::split("--min", &args.min)? {
        gates.push(Gate::parse(g, Bound::Min)?);
    }
    for g in &list_flag::split("--max", &args.max)? {
        gates.push(Gate::parse(g, Bound::Max)?);
    }
    let opts = EvaluateOptions {
        reference: super::usage::model_ref(&args.model)?,
        data: ctx.user_path(&args.data),
        gates,
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
        report: args.report.as_deref().map(|p| ctx.user_path(p)),
        overlap: overlap_policy(args.allow_overlap),
        pos_label: args.pos_label.clone(),
    };
    let report = evaluate(&opts, &ctx.store()?, printer)?;
    for w in &report.warnings {
        printer.warn(w);
    }
    ctx.write_metrics(&gauges(&report))?;
    printer.result(&report, || human(&report, ctx))?;
    Ok(if report.passed { ExitStatus::Success } else { ExitStatus::CheckFailed })
}

fn human(r: &EvaluateReport, ctx: &Ctx) -> String {
    let mut out = String::new();
    let unlabelled = match r.data.rows_without_target {
        0 => String::new(),
        n => format!(" ({n} without a target, left out)"),
    };
    let _ = writeln!(
        out,
        "{}@{} ({}) on {}: {} rows{unlabelled}, sha256 {}\noverlap with training: {}{}\n",
        r.model,
        r.version,
        r.stage,
        ctx.show(std::path::Path::new(&r.data.path)),
        r.data.rows,
        &r.data.sha256[..12],
        r.training_overlap.describe(),
        r.pos_label
            .as_ref()
            .map_or_else(String::new, |p| format!("\npositive class: {p} (precision, recall and F1 are about it)"))
    );
    let mut t = match &r.production {
        Some(p) => table::new(&["metric", &r.version.to_string(), &format!("production {}", p.version), "Δ"]),
        None => table::new(&["metric", &r.version.to_string()]),
    };
    for name in Metrics::names(r.task) {
        let Some(v) = r.metrics.get(name) else { continue };
        let mut row = vec![(*name).to_owned(), fmt_metric(v)];
        if let Some(p) = &r.production {
            row.push(p.metrics.get(name).map_or_else(|| "n/a".to_owned(), fmt_metric));
            row.push(r.deltas.get(*name).map_or_else(String::new, |d| format!("{d:+.4}")));
        }
        t.add_row(row);
    }
    table::align_numbers(&mut t);
    let _ = writeln!(out, "{t}\n");
    match &r.metrics {
        Metrics::Classification(m) => {
            if let Some(text) = &r.classification_report {
                let _ = writeln!(out, "{text}");
            }
            let _ = writeln!(out, "{}", table::confusion_matrix(&r.classes, &m.confusion_matrix));
        }
        Metrics::Clustering(m) => {
            let _ = writeln!(out, "{}", table::segment_sizes(&m.segment_sizes));
        }
        Metrics::Regression(_) => {}
    }

    if !r.gates.is_empty() {
        let _ = writeln!(out, "\nGates: {}", if r.passed { "all met" } else { "NOT MET" });
        for g in &r.gates {
            let op = match g.gate.bound {
                Bound::Min => "≥",
                Bound::Max => "≤",
            };
            let value = g.value.map_or_else(|| "undefined".to_owned(), fmt_metric);
            let mark = if g.passed { "ok  " } else { "FAIL" };
            let metric = match &r.pos_label {
                Some(p) if mlctl::ops::promote::is_binary_metric(&g.gate.metric) => {
                    format!("{} (positive class: {p})", g.gate.metric)
                }
                _ => g.gate.metric.clone(),
            };
            let _ = writeln!(out, "  {mark} {metric} {op} {} (got {value})", g.gate.threshold);
        }
    }
    out
}

fn gauges(r: &EvaluateReport) -> Vec<Sample> {
    let mut out: Vec<Sample> = Metrics::names(r.task)
        .iter()
        .filter_map(|name| {
            let v = r.metrics.get(name)?;
            Some(
                Sample::new("mlctl_evaluation_metric", "Metric of a model version on the evaluation data.", v)
                    .label("model", r.model.clone())
                    .label("version", r.version.to_string())
                    .label("metric", *name),
            )
        })
        .collect();
    out.push(
        Sample::new("mlctl_evaluation_rows", "Rows in the evaluation data.", r.data.rows as f64)
            .label("model", r.model.clone())
            .label("version", r.version.to_string()),
    );
    out.push(
        Sample::new(
            "mlctl_evaluation_gates_passed",
            "1 when every --min/--max gate was met, else 0.",
            f64::from(u8::from(r.passed)),
        )
        .label("model", r.model.clone())
        .label("version", r.version.to_string()),
    );
    out.push(Sample::new(
        "mlctl_evaluation_timestamp_seconds",
        "When the evaluation ran (Unix time).",
        mlctl::clock::now().timestamp() as f64,
    ));
    out
}
