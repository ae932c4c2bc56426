//! `mlctl predict`: predictions to stdout (or atomically to -o FILE, with a summary on stdout).

use std::fmt::Write;

use anyhow::Result;

use mlctl::ops::predict::{predict, Input, OutputFormat, PredictOptions, PredictReport};
use mlctl::prometheus::Sample;
use mlctl::registry::ModelRef;

use super::{parse_delimiter, Ctx, ExitStatus};
use crate::cli::PredictArgs;
use crate::output::printer::Printer;

pub fn run(args: PredictArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let input =
        if args.input == "-" { Input::Stdin } else { Input::File(ctx.user_path(std::path::Path::new(&args.input))) };
    let opts = PredictOptions {
        reference: serving_reference(&args.model, ctx)?,
        input,
        output: args.output.as_deref().map(|p| ctx.user_path(p)),
        // --json promises one JSON document on stdout: predictions as a JSON array when they go there.
        format: match args.format.as_deref() {
            Some(f) => Some(OutputFormat::parse(f)?),
            None if printer.json && args.output.is_none() => Some(OutputFormat::Json),
            None => None,
        },
        threshold: args.threshold,
        log_dir: (!args.no_log).then(|| ctx.project.prediction_logs_dir()),
        batch_rows: args.batch_size,
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
        explain: args.explain,
        id_column: args.id_column,
    };
    let to_stdout = opts.output.is_none();
    if to_stdout && crate::output::printer::stdout_is_closed() {
        return Err(crate::output::printer::closed_stdout().into());
    }
    let started = std::time::Instant::now();
    let stdout: Box<dyn std::io::Write> = Box::new(std::io::BufWriter::new(std::io::stdout()));
    let report = match predict(&opts, &ctx.store()?, stdout, printer) {
        Err(mlctl::error::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(ExitStatus::Success)
        }
        other => other?,
    };
    ctx.write_metrics(&gauges(&report, started.elapsed().as_secs_f64()))?;
    if to_stdout {
        // stdout holds the predictions; the summary is a log line.
        mlctl::reporter::Reporter::phase(printer, &summary(&report));
        printer.finish_progress();
    } else {
        printer.result(&report, || summary(&report) + "\n")?;
    }
    Ok(ExitStatus::Success)
}

/// What a model reference means for predictions: a bare NAME is its production version when it has one (a cron
/// job predicting with a bare name must not switch to every freshly trained, unvetted version), else its newest;
/// `NAME@latest` always says "newest".
fn serving_reference(text: &str, ctx: &Ctx) -> Result<ModelRef> {
    let reference = super::usage::model_ref(text)?;
    if text.contains('@') {
        return Ok(reference);
    }
    let registry = ctx.store()?.load()?;
    let in_production = registry
        .models
        .get(&reference.name)
        .is_some_and(|entry| entry.in_stage(mlctl::registry::Stage::Production).is_some());
    Ok(if in_production { ModelRef::stage(&reference.name, mlctl::registry::Stage::Production) } else { reference })
}

fn summary(r: &PredictReport) -> String {
    let mut s = format!("{} rows predicted with {}@{}", r.rows, r.model, r.version);
    if let Some(out) = &r.output {
        let _ = write!(s, " → {out}");
    }
    let counts: Vec<String> = r.prediction_counts.iter().map(|(c, n)| format!("{c}: {n}")).collect();
    match &r.value_summary {
        Some(v) => {
            let _ = write!(s, " (mean {:.4}, min {:.4}, max {:.4})", v.mean, v.min, v.max);
        }
        None if r.task == mlctl::models::Task::Clustering => {
            let _ = write!(s, " (segment {})", counts.join(", segment "));
        }
        None => {
            let _ = write!(s, " ({})", counts.join(", "));
        }
    }
    if let (Some(t), Some(pos)) = (r.threshold, &r.positive_class) {
        let _ = write!(s, "; \"{pos}\" when its probability > {t}");
    }
    if let Some(log) = &r.log_file {
        let _ = write!(s, "; logged to {log}");
    }
    s
}

fn gauges(r: &PredictReport, seconds: f64) -> Vec<Sample> {
    let version = r.version.to_string();
    let mut out: Vec<Sample> = r
        .prediction_counts
        .iter()
        .map(|(class, n)| {
            Sample::new("mlctl_predictions", "Predictions made by the last run, per predicted class.", *n as f64)
                .label("model", r.model.clone())
                .label("version", version.clone())
                .label("class", class.clone())
        })
        .collect();
    out.push(
        Sample::new("mlctl_prediction_seconds", "Wall time of the last prediction run.", seconds)
            .label("model", r.model.clone())
            .label("version", version.clone()),
    );
    out.push(
        Sample::new(
            "mlctl_prediction_rows_per_second",
            "Throughput of the last prediction run.",
            r.rows as f64 / seconds.max(1e-9),
        )
        .label("model", r.model.clone())
        .label("version", version),
    );
    out.push(Sample::new(
        "mlctl_prediction_timestamp_seconds",
        "When the prediction run ended (Unix time).",
        mlctl::clock::now().timestamp() as f64,
    ));
    out
}
