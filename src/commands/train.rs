//! `mlctl train`: flags merged over the [models.NAME] spec from mlctl.toml, then `ops::train`.

use std::collections::HashMap;
use std::fmt::Write;

use anyhow::{bail, Context, Result};

use mlctl::config::{Config, ModelSpec};
use mlctl::data::schema::ColumnType;
use mlctl::models::params::parse_assignments;
use mlctl::models::{Algorithm, Task};
use mlctl::ops::train::{train, Paths, TrainOptions, TrainReport};
use mlctl::registry::ModelName;

use super::{parse_delimiter, Ctx, ExitStatus};
use crate::cli::TrainArgs;
use crate::output::printer::Printer;
use crate::output::table::{self, fmt_bytes, fmt_metric};

pub fn run(args: TrainArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let opts = options(args, ctx)?;
    let store = ctx.store();
    let paths = Paths { store: &store, project_root: ctx.project.root() };
    let report = train(&opts, &paths, printer)?;
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
    let Some(target) = args.target.or(spec.target.clone()) else {
        bail!("no target column: pass --target COLUMN (or set target in [models.NAME] of mlctl.toml)");
    };
    let name_text = match (&args.name, &args.model) {
        (Some(n), _) | (None, Some(n)) => n.clone(),
        (None, None) => data.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let name = ModelName::parse(&name_text).context("pass --name NAME")?;
    let task = Task::parse(args.task.as_deref().or(spec.task.as_deref()).unwrap_or("classification"))?;
    let algorithm =
        Algorithm::parse(args.algorithm.as_deref().or(spec.algorithm.as_deref()).unwrap_or("random-forest"))?;
    let mut settings = spec.params_as_text();
    settings.extend(parse_assignments(&args.set)?);
    let version = args
        .version
        .as_deref()
        .map(|v| semver::Version::parse(v).with_context(|| format!("--version {v}: expected X.Y.Z, e.g. 2.1.0")))
        .transpose()?;

    let mut declared = HashMap::new();
    for c in spec.categorical.iter().chain(&args.categorical) {
        declared.insert(c.clone(), ColumnType::Categorical);
    }
    for c in spec.numeric.iter().chain(&args.numeric) {
        declared.insert(c.clone(), ColumnType::Numeric);
    }
    let mut drop = spec.drop.clone();
    drop.extend(args.drop);

    Ok(TrainOptions {
        data,
        target,
        name,
        task,
        algorithm,
        settings,
        seed: args.seed.or(spec.seed).unwrap_or(42),
        test_size: args.test_size.or(spec.test_size).unwrap_or(0.2),
        cv: args.cv.or(spec.cv),
        version,
        declared,
        drop,
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
    })
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
    let _ = writeln!(
        out,
        "  data      {} rows (train {}, test {}), sha256 {}",
        r.rows,
        r.train_rows,
        r.test_rows,
        &r.dataset_sha256[..12]
    );
    let _ = writeln!(
        out,
        "  features  {} ({} after one-hot encoding); target \"{}\": {}",
        r.features,
        r.encoded_features,
        r.target,
        r.classes.join(", ")
    );
    let _ = writeln!(out, "  model     {} {}", r.algorithm, r.params);
    let _ = writeln!(out, "  artifact  {} ({})\n", ctx.show(&r.artifact), fmt_bytes(r.artifact_bytes));

    let mut t = table::new(&["test metric", "value"]);
    let m = &r.metrics;
    for name in ["accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"] {
        if let Some(v) = m.get(name) {
            t.add_row(vec![name.to_owned(), fmt_metric(v)]);
        }
    }
    if let Some(cv) = &r.cross_validation {
        t.set_header(vec!["test metric".to_owned(), "value".to_owned(), format!("{}-fold CV mean ± std", cv.folds)]);
        for row in t.row_iter_mut() {
            let name = row.cell_iter().next().map(|c| c.content()).unwrap_or_default();
            if let Some(ms) = cv.metrics.get(&name) {
                row.add_cell(format!("{:.4} ± {:.4}", ms.mean, ms.std).into());
            }
        }
    }
    table::align_numbers(&mut t);
    let _ = writeln!(out, "{t}\n");

    let mut cm_header = vec!["true \\ predicted".to_owned()];
    cm_header.extend(r.classes.iter().cloned());
    let mut cm = table::new(&[]);
    cm.set_header(cm_header);
    for (class, row) in r.classes.iter().zip(&m.confusion_matrix) {
        let mut cells = vec![class.clone()];
        cells.extend(row.iter().map(u64::to_string));
        cm.add_row(cells);
    }
    table::align_numbers(&mut cm);
    let _ = writeln!(out, "{cm}\n");

    if !r.top_features.is_empty() {
        let shown: Vec<String> = r.top_features.iter().map(|(n, v)| format!("{n} {v:.3}")).collect();
        let _ = writeln!(out, "Top features: {}", shown.join(", "));
    }
    let _ = writeln!(out, "Stage: {}. Use it with: mlctl predict {}@{} --input FILE", r.stage, r.name, r.version);
    out
}
