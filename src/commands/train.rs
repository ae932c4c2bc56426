//! `mlctl train`: flags merged over the [models.NAME] spec from mlctl.toml, then `ops::train`.

use std::collections::HashMap;
use std::fmt::Write;

use anyhow::{bail, Context, Result};

use mlctl::config::{Config, ModelSpec};
use mlctl::data::schema::ColumnType;
use mlctl::metrics::Metrics;
use mlctl::models::params::parse_assignments;
use mlctl::models::{Algorithm, Task};
use mlctl::ops::train::{train, Paths, TrainOptions, TrainReport};
use mlctl::pipeline::PipelineSpec;
use mlctl::prometheus::Sample;
use mlctl::registry::ModelName;

use super::usage::{usage, UsageExt};
use super::{list_flag, parse_delimiter, Ctx, ExitStatus};
use crate::cli::TrainArgs;
use crate::output::printer::Printer;
use crate::output::table::{self, fmt_bytes, fmt_metric};

pub fn run(args: TrainArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let opts = options(args, ctx)?;
    let store = ctx.store()?;
    let paths = Paths { store: &store, project_root: ctx.project.root() };
    let report = train(&opts, &paths, printer)?;
    ctx.write_metrics(&gauges(&report))?;
    for w in &report.warnings {
        mlctl::reporter::Reporter::warn(printer, w);
    }
    printer.result(&report, || human(&report, ctx))?;
    Ok(ExitStatus::Success)
}

fn options(args: TrainArgs, ctx: &Ctx) -> Result<TrainOptions> {
    let config_path = ctx.project.config_path();
    let config = Config::load(&config_path)?;
    let spec: ModelSpec = match &args.model {
        Some(name) => config.model(name, &config_path)?.clone(),
        None => ModelSpec::default(),
    };

    let data = match (&args.data, &spec.data) {
        (Some(p), _) => ctx.user_path(p),
        (None, Some(p)) => ctx.project_path(p),
        (None, None) => {
            bail!("no training data: pass a CSV path (mlctl train data.csv --target COLUMN) or --model NAME")
        }
    };
    let task = match (&args.task, &spec.task) {
        (Some(t), _) => Some(Task::parse(t).usage()?),
        (None, t) => t.as_deref().map(Task::parse).transpose()?,
    };
    let target = args.target.or(spec.target.clone());
    if target.is_none() && task.is_some_and(|t| t != Task::Clustering) {
        bail!("no target column: pass --target COLUMN (or set target in [models.NAME] of mlctl.toml); without one, mlctl segments the rows (--task clustering)");
    }
    let name_text = match (&args.name, &args.model) {
        (Some(n), _) | (None, Some(n)) => n.clone(),
        (None, None) => data.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    if let (Some(given), Some((model, version))) = (&args.name, name_text.split_once('@')) {
        return Err(usage(format!(
            "--name {given}: a model is named alone; train registers a new version of {model} (choose its number \
             with --version {version})"
        )));
    }
    let name = ModelName::parse(&name_text)
        .with_context(|| match (&args.name, &args.model) {
            (Some(_), _) => "--name".to_owned(),
            (None, Some(_)) => "--model".to_owned(),
            (None, None) => "the model name comes from the file name here; pass --name NAME".to_owned(),
        })
        .usage()?;
    let compare = list_flag::split("--compare", &args.compare)?;
    let compare = compare.iter().map(|a| Algorithm::parse(a)).collect::<Result<Vec<_>, _>>().usage()?;
    let algorithm = match (&args.algorithm, compare.is_empty()) {
        (Some(a), _) => Some(Algorithm::parse(a).usage()?),
        // --compare overrides the spec's algorithm: it chooses one.
        (None, true) => spec.algorithm.as_deref().map(Algorithm::parse).transpose()?,
        (None, false) => None,
    };
    let mut settings = spec.params_as_text();
    settings.extend(parse_assignments(&list_flag::split("--set", &args.set)?)?);
    let mut pipeline = PipelineSpec::default();
    pipeline.take_settings(&mut settings)?;
    let na_values = list_flag::split("--na-values", &args.na_values)?;
    pipeline.na_values = spec.na_values.iter().chain(&na_values).map(|v| v.trim().to_owned()).collect();
    let version = args
        .version
        .as_deref()
        .map(|v| semver::Version::parse(v).with_context(|| format!("--version {v}: expected X.Y.Z, e.g. 2.1.0")))
        .transpose()
        .usage()?;
    check_split_flags(args.cv, args.test_size)?;

    let mut declared = HashMap::new();
    for c in spec.categorical.iter().chain(&list_flag::split("--categorical", &args.categorical)?) {
        declared.insert(c.clone(), ColumnType::Categorical);
    }
    for c in spec.numeric.iter().chain(&list_flag::split("--numeric", &args.numeric)?) {
        declared.insert(c.clone(), ColumnType::Numeric);
    }
    for c in spec.date.iter().chain(&list_flag::split("--date", &args.date)?) {
        declared.insert(c.clone(), ColumnType::Date);
    }
    let mut drop = spec.drop.clone();
    drop.extend(list_flag::split("--drop", &args.drop)?);

    Ok(TrainOptions {
        data,
        target,
        name,
        task,
        algorithm,
        compare,
        settings,
        seed: args.seed.or(spec.seed).unwrap_or(42),
        test_size: args.test_size.or(spec.test_size).unwrap_or(0.2),
        cv: args.cv.or(spec.cv),
        version,
        declared,
        drop,
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
        require_target: args.require_target || spec.require_target,
        pipeline,
        pos_label: args.pos_label.or(spec.pos_label.clone()),
    })
}

/// `--cv` and `--test-size` checked before any data is read (the same values from mlctl.toml are checked where
/// they are used, as errors in that file).
fn check_split_flags(cv: Option<usize>, test_size: Option<f64>) -> Result<()> {
    if let Some(k) = cv.filter(|k| *k < 2) {
        return Err(usage(format!("--cv {k}: cross-validation needs at least 2 folds, e.g. --cv 5")));
    }
    if let Some(t) = test_size.filter(|t| !(t.is_finite() && *t > 0.0 && *t < 1.0)) {
        return Err(usage(format!("--test-size {t}: expected a share of the rows between 0 and 1, e.g. 0.2")));
    }
    Ok(())
}

/// With --metrics-file: the new version's test metrics and size of the run, for a scheduled retraining job.
fn gauges(r: &TrainReport) -> Vec<Sample> {
    let version = r.version.to_string();
    let labelled = |s: Sample| s.label("model", r.name.clone()).label("version", version.clone());
    let mut out: Vec<Sample> = Metrics::names(r.metrics.task())
        .iter()
        .filter_map(|name| {
            let v = r.metrics.get(name)?;
            Some(
                labelled(Sample::new("mlctl_train_metric", "Metric of the new version on its test split.", v))
                    .label("metric", *name),
            )
        })
        .collect();
    out.push(labelled(Sample::new("mlctl_train_rows", "Rows of the training data.", r.rows as f64)));
    out.push(labelled(Sample::new("mlctl_train_seconds", "Wall time of the training.", r.training_seconds)));
    out.push(Sample::new(
        "mlctl_train_timestamp_seconds",
        "When the training ran (Unix time).",
        mlctl::clock::now().timestamp() as f64,
    ));
    out
}

fn human(r: &TrainReport, ctx: &Ctx) -> String {
    let mut out = String::new();
    let bump = match r.bump {
        mlctl::registry::version::Bump::First => "first version",
        mlctl::registry::version::Bump::Major => "major: schema, target or task changed",
        mlctl::registry::version::Bump::Minor => "minor: algorithm or hyperparameters changed",
        mlctl::registry::version::Bump::Patch => "patch: same spec, retrained",
    };
    let _ = writeln!(out, "Registered {}@{} ({bump}) in {:.2}s", r.name, r.version, r.training_seconds);
    if let Some(why) = &r.task_inferred {
        let _ = writeln!(out, "  task      {} (inferred: {why}; --task overrides)", r.task);
    }
    let split = if r.task == "clustering" {
        "fitted and scored on every row".to_owned()
    } else {
        format!("train {}, test {}", r.train_rows, r.test_rows)
    };
    let unlabelled = match r.rows_without_target {
        0 => String::new(),
        n => format!("{n} without a target, dropped; "),
    };
    let _ = writeln!(out, "  data      {} rows ({unlabelled}{split}), sha256 {}", r.rows, &r.dataset_sha256[..12]);
    let target = match (&r.target, r.task.as_str()) {
        (Some(t), "classification") => format!("; target \"{t}\": {}", r.classes.join(", ")),
        (Some(t), _) => format!("; target \"{t}\" (numeric)"),
        (None, _) => format!("; no target: {} segments", r.classes.len()),
    };
    let _ = writeln!(out, "  features  {} ({} after one-hot encoding){target}", r.features, r.encoded_features);
    if let Some(positive) = &r.pos_label {
        let _ =
            writeln!(out, "  positive  class \"{positive}\" (what precision, recall and F1 are about; --pos-label)");
    }
    let _ = writeln!(out, "  model     {} {}", r.algorithm, r.params);
    for note in &r.notes {
        let _ = writeln!(out, "            {note}");
    }
    let _ = writeln!(out, "  artifact  {} ({})\n", ctx.show(&r.artifact), fmt_bytes(r.artifact_bytes));

    if let Some(c) = &r.comparison {
        let _ = writeln!(out, "{}\n", comparison_table(c));
        if let Some(file) = &r.comparison_file {
            let _ =
                writeln!(out, "Comparison written to {}; registered the best: {}\n", ctx.show(file), c.winner.as_str());
        }
    }

    let task = mlctl::models::Task::parse(&r.task).unwrap_or(mlctl::models::Task::Classification);
    let label = if task == mlctl::models::Task::Clustering { "metric (all rows)" } else { "test metric" };
    let mut t = table::new(&[label, "value"]);
    let m = &r.metrics;
    for name in Metrics::headline(task) {
        if let Some(v) = m.get(name) {
            t.add_row(vec![(*name).to_owned(), fmt_metric(v)]);
        }
    }
    if let Some(cv) = &r.cross_validation {
        t.set_header(vec![label.to_owned(), "value".to_owned(), format!("{}-fold CV mean ± std", cv.folds)]);
        for row in t.row_iter_mut() {
            let name = row.cell_iter().next().map(|c| c.content()).unwrap_or_default();
            if let Some(ms) = cv.metrics.get(&name) {
                row.add_cell(format!("{:.4} ± {:.4}", ms.mean, ms.std).into());
            }
        }
    }
    table::align_numbers(&mut t);
    let _ = writeln!(out, "{t}\n");

    match m {
        Metrics::Classification(c) => {
            let _ = writeln!(out, "{}\n", table::confusion_matrix(&r.classes, &c.confusion_matrix));
        }
        Metrics::Clustering(c) => {
            let _ = writeln!(out, "{}\n", table::segment_sizes(&c.segment_sizes));
        }
        Metrics::Regression(_) => {}
    }

    if !r.top_features.is_empty() {
        let shown: Vec<String> = r.top_features.iter().map(|(n, v)| format!("{n} {v:.3}")).collect();
        let _ = writeln!(out, "Top features ({}): {}", r.importance_method.describe(), shown.join(", "));
    }
    let _ = writeln!(out, "Stage: {}. Use it with: mlctl predict {}@{} --input FILE", r.stage, r.name, r.version);
    out
}

/// The `--compare` ranking, best first.
fn comparison_table(c: &mlctl::ops::compare::Comparison) -> comfy_table::Table {
    let others: Vec<&str> = Metrics::headline(c.task).iter().copied().filter(|m| *m != c.metric).take(2).collect();
    let primary = format!("{} ({}-fold CV)", c.metric, c.folds);
    let mut header = vec!["rank", "algorithm", primary.as_str()];
    header.extend(others.iter().copied());
    header.extend(["fit ms/fold", "predict ms/fold"]);
    let mut t = table::new(&header);
    for (i, cand) in c.candidates.iter().enumerate() {
        let ms =
            |m: &str| cand.metrics.get(m).map_or_else(|| "—".to_owned(), |v| format!("{:.4} ± {:.4}", v.mean, v.std));
        let mut row = vec![(i + 1).to_string(), cand.algorithm.as_str().to_owned(), ms(&c.metric)];
        row.extend(others.iter().map(|m| ms(m)));
        row.push(format!("{:.1}", cand.fit_seconds.mean * 1e3));
        row.push(format!("{:.1}", cand.predict_seconds.mean * 1e3));
        t.add_row(row);
    }
    table::align_numbers(&mut t);
    t
}
