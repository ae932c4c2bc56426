//! `mlctl monitor`: performance over time and age → OK (exit 0) or RETRAIN DUE (exit 3), as a table per
//! window, JSON, a markdown report and gauges.

use std::fmt::Write;

use anyhow::Result;

use mlctl::ops::drift::{parse_duration, parse_since};
use mlctl::ops::monitor::{monitor, MaxDrop, MonitorOptions, MonitorReport, Verdict};
use mlctl::prometheus::Sample;
use mlctl::reporter::Reporter;

use super::usage::whole_model;
use super::{list_flag, Ctx, ExitStatus};
use crate::cli::MonitorArgs;
use crate::output::printer::Printer;
use crate::output::table::{self, fmt_metric};

pub fn run(args: MonitorArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let opts = MonitorOptions {
        name: whole_model(
            "mlctl monitor",
            &args.model,
            "monitor follows every version of the model that logged predictions",
        )?,
        since: parse_since(&args.since, mlctl::clock::now())?,
        window: parse_duration("--window", &args.window)?,
        max_drops: list_flag::split("--max-drop", &args.max_drop)?
            .iter()
            .map(|t| MaxDrop::parse(t))
            .collect::<mlctl::error::Result<_>>()?,
        max_age: args.max_age.as_deref().map(|t| parse_duration("--max-age", t)).transpose()?,
        min_labels: args.min_labels,
        fail_on: mlctl::drift::FailOn::parse(&args.fail_on)?,
        prediction_logs: ctx.project.prediction_logs_dir(),
        outcome_logs: ctx.project.outcome_logs_dir(),
    };
    let report = monitor(&opts, &ctx.store()?, printer)?;
    if let Some(path) = &args.report {
        mlctl::monitor::report::write_markdown(&report, &ctx.user_path(path))?;
    }
    for w in &report.warnings {
        printer.warn(w);
    }
    ctx.write_metrics(&gauges(&report))?;
    printer.result(&report, || human(&report))?;
    Ok(match report.verdict {
        Verdict::Ok => ExitStatus::Success,
        Verdict::RetrainDue => ExitStatus::CheckFailed,
    })
}

fn human(r: &MonitorReport) -> String {
    let metrics = r.chart_metrics();
    let mut header = vec!["window", "predicted", "labelled", "version"];
    header.extend(metrics.iter().copied());
    let mut t = table::new(&header);
    for w in &r.windows {
        let mut row = vec![
            format!("{} – {}", &w.start[..10], &w.end[..10]),
            w.predicted.to_string(),
            w.labelled.to_string(),
            w.compared_with.clone().unwrap_or_default(),
        ];
        for m in &metrics {
            row.push(if w.metrics.contains_key(*m) || w.judged {
                cell(w.metrics.get(*m), w.change.get(*m), "")
            } else {
                cell(w.estimated.get(*m), w.estimated_change.get(*m), "~")
            });
        }
        t.add_row(row);
    }
    table::align_numbers(&mut t);
    let mut s = format!(
        "{}: predictions since {}, by window; (±) is the change from the test score, ~ an estimate made before \
         the outcomes\nestimation: {}\n",
        r.model, r.since, r.estimation
    );
    let _ = writeln!(s, "{t}");
    let j = &r.join;
    let _ = writeln!(
        s,
        "{} of {} predictions have an outcome; {} recorded outcome(s) match no prediction of the period",
        j.predictions_with_outcome, j.predictions, j.outcomes_without_prediction
    );
    if let Some(w) = r.windows.iter().find(|w| w.drift_share.is_some()) {
        let _ = writeln!(
            s,
            "drift in the window {} – {}: {:.0}% of the features{}{}",
            &w.start[..10],
            &w.end[..10],
            w.drift_share.unwrap_or(0.0) * 100.0,
            if w.drifted_features.is_empty() { "" } else { ": " },
            w.drifted_features.join(", ")
        );
    }
    let _ = write!(
        s,
        "{}@{} ({}) was trained {:.1} days ago",
        r.model,
        r.age.version,
        r.age.stage.as_str(),
        r.age.days_since_trained
    );
    if let Some(d) = r.age.days_in_stage {
        let _ = write!(s, ", in {} for {d:.1} days", r.age.stage.as_str());
    }
    let _ = writeln!(s, "\n\n{}", r.verdict.as_str());
    for reason in &r.reasons {
        let _ = writeln!(s, "  - {reason}");
    }
    s
}

/// A metric with its change from the test score, marked (`~`) when estimated.
fn cell(value: Option<&f64>, change: Option<&f64>, mark: &str) -> String {
    match (value, change) {
        (Some(v), Some(d)) => format!("{mark}{} ({d:+.3})", fmt_metric(*v)),
        (Some(v), None) => format!("{mark}{}", fmt_metric(*v)),
        _ => String::new(),
    }
}

fn gauges(r: &MonitorReport) -> Vec<Sample> {
    let mut out = Vec::new();
    if let Some(w) = r.windows.iter().rev().find(|w| w.labelled > 0) {
        for (metric, v) in &w.metrics {
            out.push(
                Sample::new("mlctl_monitor_metric", "Realised metric of the latest window with outcomes.", *v)
                    .label("model", r.model.clone())
                    .label("metric", metric.clone()),
            );
        }
    }
    if let Some(w) = r.windows.iter().rev().find(|w| !w.estimated.is_empty()) {
        for (metric, v) in &w.estimated {
            out.push(
                Sample::new("mlctl_monitor_estimated_metric", "CBPE estimate of the latest window with one.", *v)
                    .label("model", r.model.clone())
                    .label("metric", metric.clone()),
            );
        }
    }
    let (predicted, labelled) = r.windows.iter().fold((0, 0), |(p, l), w| (p + w.predicted, l + w.labelled));
    #[allow(clippy::cast_precision_loss)] // Row counts.
    let share = if predicted == 0 { 0.0 } else { labelled as f64 / predicted as f64 };
    out.push(
        Sample::new("mlctl_monitor_labelled_ratio", "Share of the period's predictions with an outcome.", share)
            .label("model", r.model.clone()),
    );
    out.push(
        Sample::new(
            "mlctl_monitor_model_age_seconds",
            "Seconds since the serving version was trained.",
            r.age_days * 86_400.0,
        )
        .label("model", r.model.clone())
        .label("version", r.age.version.to_string()),
    );
    out.push(
        Sample::new(
            "mlctl_monitor_retrain_due",
            "1 when monitor's verdict is RETRAIN DUE, else 0.",
            f64::from(u8::from(r.verdict == Verdict::RetrainDue)),
        )
        .label("model", r.model.clone()),
    );
    out.push(Sample::new(
        "mlctl_monitor_timestamp_seconds",
        "When monitor ran (Unix time).",
        mlctl::clock::now().timestamp() as f64,
    ));
    out
}
