//! `mlctl drift`: flags and `[models.NAME.drift]` merged into override layers (flags first), `ops::drift`, the
//! per-feature table, and exit 3 when the failure rule says drift.

use std::collections::BTreeMap;
use std::fmt::Write;

use anyhow::{Context, Result};

use mlctl::config::{Config, DriftSpec};
use mlctl::drift::{DriftReport, FailOn, FeatureDrift, Layer, Override, StatTest};
use mlctl::ops::drift::{drift, parse_since, Current, DriftOptions};
use mlctl::prometheus::Sample;
use mlctl::reporter::Reporter;

use super::usage::{model_ref, UsageExt};
use super::{list_flag, parse_delimiter, Ctx, ExitStatus};
use crate::cli::DriftArgs;
use crate::output::printer::Printer;
use crate::output::table;

pub fn run(args: DriftArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let reference = model_ref(&args.model)?;
    let config_path = ctx.project.config_path();
    let config = Config::load(&config_path)?;
    let spec = config.models.get(reference.name.as_str()).and_then(|m| m.drift.clone());
    let toml_layer = spec
        .as_ref()
        .map(layer_from_spec)
        .transpose()
        .with_context(|| format!("in [models.{}.drift] of {}", reference.name, config_path.display()))?;
    let stattests = list_flag::split("--stattest", &args.stattest)?;
    let mut layers = vec![layer_from_flags(&stattests, &list_flag::split("--threshold", &args.threshold)?)?];
    layers.extend(toml_layer);
    let fail_on = match (&args.fail_on, spec.as_ref().and_then(|s| s.fail_on.as_ref())) {
        (Some(rule), _) => FailOn::parse(rule).usage()?,
        (None, Some(rule)) => FailOn::parse(rule).with_context(|| format!("in {}", config_path.display()))?,
        (None, None) => FailOn::Any,
    };
    let current = match &args.data {
        Some(path) => Current::Data(ctx.user_path(path)),
        None => Current::Logs {
            dir: ctx.project.prediction_logs_dir(),
            since: parse_since(&args.since, mlctl::clock::now())?,
            until: None,
            since_text: args.since.clone(),
        },
    };
    let opts = DriftOptions {
        reference,
        current,
        layers,
        fail_on,
        // Flags win over mlctl.toml; corrected unless one of them says not to.
        bonferroni: match (args.bonferroni, args.no_bonferroni) {
            (true, _) => true,
            (_, true) => false,
            _ => spec.as_ref().and_then(|s| s.bonferroni).unwrap_or(true),
        },
        report: args.report.as_deref().map(|p| ctx.user_path(p)),
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
    };
    let report = drift(&opts, &ctx.store()?, printer)?;
    for w in &report.warnings {
        printer.warn(w);
    }
    ctx.write_metrics(&gauges(&report))?;
    printer.result(&report, || human(&report, ctx))?;
    Ok(if report.drift_detected { ExitStatus::CheckFailed } else { ExitStatus::Success })
}

/// `--stattest` / `--threshold` values: `X` for every feature, `FEATURE=X` for one.
fn layer_from_flags(stattests: &[String], thresholds: &[String]) -> Result<Layer> {
    let mut layer = Layer::default();
    for s in stattests {
        let test = |t: &str| StatTest::parse(t.trim()).with_context(|| format!("--stattest {s}")).usage();
        match s.split_once('=') {
            Some((feature, t)) => {
                layer.features.entry(feature.trim().to_owned()).or_default().stattest = Some(test(t)?)
            }
            None => layer.tests.push(test(s)?),
        }
    }
    for s in thresholds {
        let number = |t: &str| -> Result<f64> {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .with_context(|| format!("--threshold {s}: expected a non-negative number, e.g. 0.05 or emp_age=0.2"))
                .usage()
        };
        match s.split_once('=') {
            Some((feature, t)) => {
                layer.features.entry(feature.trim().to_owned()).or_default().threshold = Some(number(t)?)
            }
            None => layer.threshold = Some(number(s)?),
        }
    }
    Ok(layer)
}

fn layer_from_spec(spec: &DriftSpec) -> Result<Layer> {
    let test = |t: &Option<String>| t.as_deref().map(StatTest::parse).transpose();
    let mut features = BTreeMap::new();
    for (name, f) in &spec.features {
        features.insert(name.clone(), Override { stattest: test(&f.stattest)?, threshold: f.threshold });
    }
    Ok(Layer { tests: test(&spec.stattest)?.into_iter().collect(), threshold: spec.threshold, features })
}

fn human(r: &DriftReport, ctx: &Ctx) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}@{}: {} current rows ({}) against {} reference rows\n",
        r.model,
        r.version,
        r.current_rows,
        ctx.show(std::path::Path::new(&r.current_source)),
        r.reference_rows
    );
    let _ = writeln!(out, "{}\n", rows_table(&r.features));
    let _ = writeln!(
        out,
        "Drifted features: {} of {} (share {:.2}){}",
        r.drifted_features.len(),
        r.features.len(),
        r.share_drifted,
        if r.drifted_features.is_empty() { String::new() } else { format!(": {}", r.drifted_features.join(", ")) }
    );
    if !r.predictions.is_empty() {
        let _ = writeln!(
            out,
            "\nPredictions{}\n{}",
            if r.prediction_drift { " (drifted)" } else { "" },
            rows_table(&r.predictions)
        );
    }
    let rule = match r.fail_on {
        FailOn::Any => "any feature drifted".to_owned(),
        FailOn::Share(x) => format!("share of drifted features ≥ {x}"),
    };
    let verdict = if r.drift_detected { "DRIFT DETECTED" } else { "No drift" };
    let _ = writeln!(out, "\n{verdict} (rule: {rule})");
    if let Some(path) = &r.report {
        let _ = writeln!(out, "Report: {}", ctx.show(std::path::Path::new(path)));
    }
    out
}

fn rows_table(rows: &[FeatureDrift]) -> comfy_table::Table {
    let mut t = table::new(&["feature", "type", "test", "statistic", "p-value", "threshold", "PSI", "drifted"]);
    for f in rows {
        t.add_row(vec![
            f.feature.clone(),
            f.column_type.to_owned(),
            f.test.as_str().to_owned(),
            mlctl::drift::report::fmt(f.statistic),
            f.p_value.map_or_else(|| "—".to_owned(), mlctl::drift::report::fmt_p),
            mlctl::drift::report::fmt_threshold(f.threshold),
            format!("{:.4}", f.psi),
            if f.drifted { "DRIFT".to_owned() } else { "no".to_owned() },
        ]);
    }
    table::align_numbers(&mut t);
    if let Some(col) = t.column_mut(1) {
        col.set_cell_alignment(comfy_table::CellAlignment::Left);
    }
    if let Some(col) = t.column_mut(2) {
        col.set_cell_alignment(comfy_table::CellAlignment::Left);
    }
    t
}

/// Prometheus gauges for a cron job's textfile collector: the verdict, the share, and per feature the
/// statistic, PSI and whether it drifted.
fn gauges(r: &DriftReport) -> Vec<Sample> {
    let base = |name: &str, help: &'static str, v: f64| {
        Sample::new(name, help, v).label("model", r.model.clone()).label("version", r.version.to_string())
    };
    let mut out = vec![
        base(
            "mlctl_drift_detected",
            "1 when the failure rule found drift, else 0.",
            f64::from(u8::from(r.drift_detected)),
        ),
        base("mlctl_drift_share_drifted", "Share of features that drifted.", r.share_drifted),
        base("mlctl_drift_current_rows", "Rows of current data compared.", r.current_rows as f64),
        base(
            "mlctl_drift_timestamp_seconds",
            "When the drift check ran (Unix time).",
            mlctl::clock::now().timestamp() as f64,
        ),
    ];
    for f in r.features.iter().chain(&r.predictions) {
        let per = |name: &str, help: &'static str, v: f64| base(name, help, v).label("feature", f.feature.clone());
        out.push(
            per("mlctl_drift_statistic", "The drift test's statistic (a distance or a p-value).", f.statistic)
                .label("test", f.test.as_str()),
        );
        out.push(per("mlctl_drift_psi", "Population stability index against the reference.", f.psi));
        out.push(per(
            "mlctl_drift_feature_drifted",
            "1 when the feature drifted, else 0.",
            f64::from(u8::from(f.drifted)),
        ));
    }
    out
}
