//! `mlctl train`: CSV → typed frame → stratified split → fitted pipeline → model → test metrics (and k-fold CV)
//! → artifact → registered version. Everything slow happens before the registry lock is taken; under the lock we
//! only choose the version, move the finished files into place and rewrite registry.json.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use semver::Version;
use serde::Serialize;

use crate::data::fingerprint::{Fingerprint, RowShape};
use crate::data::frame::Frame;
use crate::data::limits::Limits;
use crate::data::load::{read_csv, read_header, ReadOptions};
use crate::data::schema::{identifier_like, ColumnType};
use crate::data::split::Split;
use crate::drift::profile::ReferenceProfile;
use crate::error::{Error, Result};
use crate::fs::write_atomic;
use crate::metrics::Metrics;
use crate::models::params::Settings;
use crate::models::{estimator, Algorithm, Bundle, Estimator, ImportanceMethod, Task};
pub use crate::ops::fitting::ClassLabels;
use crate::ops::fitting::{
    check_unlabelled, fit_and_score, importances, infer_task, numeric_target, unlabelled_rows, TargetData,
};
use crate::pipeline::{PipelineSpec, DEFAULT_MAX_CATEGORIES};
use crate::registry::backend::{Placed, Source, VersionFile};
use crate::registry::index::ModelEntry;
use crate::registry::metadata::{CvSummary, FeatureMeta, MeanStd, Metadata, SplitMeta};
use crate::registry::version::{Bump, Spec};
use crate::registry::{artifact, DatasetRef, Event, ModelName, Stage, Store, VersionRecord};
use crate::reporter::Reporter;

/// Written at the project root by `--compare`.
pub const COMPARISON_FILE: &str = "MODEL_COMPARISON.md";

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub data: PathBuf,
    /// None for clustering.
    pub target: Option<String>,
    pub name: ModelName,
    /// None: inferred from the target (see [`infer_task`]).
    pub task: Option<Task>,
    /// None: the task's default algorithm.
    pub algorithm: Option<Algorithm>,
    /// `--compare`: cross-validate these algorithms and register the best.
    pub compare: Vec<Algorithm>,
    pub settings: Settings,
    pub seed: u64,
    pub test_size: f64,
    pub cv: Option<usize>,
    pub version: Option<Version>,
    pub declared: HashMap<String, ColumnType>,
    pub drop: Vec<String>,
    pub delimiter: Option<u8>,
    /// `--require-target`: a row without a target is an error instead of being dropped.
    pub require_target: bool,
    /// `max_categories` and `--na-values`; its lenient numeric columns are the declared numeric ones.
    pub pipeline: PipelineSpec,
    /// `--pos-label`: the positive class of a binary target (None: see [`ClassLabels::with_positive`]).
    pub pos_label: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub name: String,
    pub version: Version,
    pub bump: Bump,
    pub stage: Stage,
    pub task: String,
    /// Why the task was chosen when `--task` was not given.
    pub task_inferred: Option<String>,
    pub algorithm: String,
    pub params: serde_json::Value,
    pub target: Option<String>,
    pub classes: Vec<String>,
    /// The class precision, recall and F1 are about (binary classification).
    pub pos_label: Option<String>,
    pub rows: usize,
    /// Rows dropped because their target is missing (counted in `rows`, not in the split).
    pub rows_without_target: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub features: usize,
    pub encoded_features: usize,
    /// On the test split; on every row for clustering.
    pub metrics: Metrics,
    pub cross_validation: Option<CvSummary>,
    pub comparison: Option<crate::ops::compare::Comparison>,
    /// MODEL_COMPARISON.md, written with `--compare`.
    pub comparison_file: Option<PathBuf>,
    pub top_features: Vec<(String, f64)>,
    pub importance_method: ImportanceMethod,
    /// What fitting chose beyond the parameters (k under k=auto).
    pub notes: Vec<String>,
    /// `k=auto`: the silhouette of every k tried (empty otherwise).
    pub k_search: Vec<crate::models::KScore>,
    pub training_seconds: f64,
    pub artifact: PathBuf,
    pub artifact_bytes: u64,
    pub artifact_sha256: String,
    pub dataset_sha256: String,
    pub warnings: Vec<String>,
}

/// Where the project keeps things, as far as training is concerned.
pub struct Paths<'a> {
    pub store: &'a Store,
    pub project_root: &'a Path,
}

pub fn train(opts: &TrainOptions, paths: &Paths<'_>, reporter: &dyn Reporter) -> Result<TrainReport> {
    let started = Instant::now();
    check_options(opts)?;
    reporter.phase(&format!("reading {}", opts.data.display()));
    let (pipeline_spec, read_options) = reading(opts);
    let (frame, facts) = read_csv(&opts.data, &read_options)?;
    let read_warnings = stray_warnings(&facts.stray_as_missing, "--numeric");
    let file_rows = frame.n_rows;
    let features = feature_columns(&frame, opts)?;
    let (task, task_inferred) = choose_task(opts, &frame, reporter);
    let (frame, rows_without_target, mut warnings) = drop_unlabelled(frame, opts, task)?;
    warnings.splice(0..0, read_warnings);
    let identifiers = identifier_columns(&frame, &features);
    warnings.extend(identifiers.iter().map(|(_, warning)| warning.clone()));
    let target = TargetData::read(&frame, opts.target.as_deref(), task)?.with_positive(opts.pos_label.as_deref())?;
    let pos_label = target.positive_class().map(str::to_owned);
    let split = target.split(frame.n_rows, opts.test_size, opts.seed)?;
    reporter.phase(&describe_split(&frame, &features, &target, &split, opts));

    let (algorithm, comparison) = if opts.compare.is_empty() {
        (opts.algorithm.unwrap_or(task.default_algorithm()), None)
    } else {
        let k = opts.cv.unwrap_or(5);
        let job = crate::ops::compare::Job {
            frame: &frame,
            features: &features,
            target: &target,
            rows: &split.train,
            pipeline: &pipeline_spec,
        };
        let comparison =
            crate::ops::compare::compare(&job, task, &opts.compare, &opts.settings, k, opts.seed, reporter)?;
        (comparison.winner, Some(comparison))
    };
    let settings = match comparison {
        Some(_) => crate::ops::compare::settings_for(algorithm, task, &opts.settings),
        None => opts.settings.clone(),
    };
    let estimator = estimator(algorithm, task, &settings, opts.seed)?;

    let cross_validation = match (&comparison, opts.cv) {
        (Some(c), _) => c.summary_of(algorithm),
        (None, Some(k)) => {
            let folds = Folds { rows: &split.train, k, seed: opts.seed };
            Some(cross_validate(&frame, &features, &target, &folds, &*estimator, &pipeline_spec, reporter)?)
        }
        (None, None) => None,
    };

    reporter.phase(&format!("fitting {} on {} rows", describe(&*estimator), split.train.len()));
    let fitted = fit_and_score(&frame, &features, &target, &split, &*estimator, opts.seed, &pipeline_spec)?;
    for note in &fitted.notes {
        reporter.phase(note);
    }
    let (importances, importance_method) = importances(&fitted, opts.seed);
    let calibration = crate::ops::fitting::calibration(&fitted, &target);
    let training_seconds = started.elapsed().as_secs_f64();

    let classes = match task {
        Task::Clustering => (0..fitted.model.n_classes()).map(|s| s.to_string()).collect(),
        _ => target.classes(),
    };
    let score_name = match task {
        Task::Classification => crate::drift::profile::score_name(&classes),
        Task::Regression => format!("predicted {}", opts.target.as_deref().unwrap_or("value")),
        Task::Clustering => "distance to the segment centre".to_owned(),
    };
    reporter.phase("profiling the training data for drift checks");
    let reference =
        ReferenceProfile::build(&frame, &fitted.pipeline, &classes, &fitted.test_predictions, score_name, opts.seed)?
            .to_json()?;
    let bundle = Bundle {
        task,
        target: opts.target.clone().unwrap_or_default(),
        classes,
        pipeline: fitted.pipeline,
        model: fitted.model,
    };
    let fingerprint = fingerprint_bytes(&frame, &bundle, &split)?;
    let model_bytes = artifact::encode(&bundle)?;
    let artifact_sha256 = crate::fs::sha256_hex(&model_bytes);

    let dataset = DatasetRef {
        path: paths_relative(paths.project_root, &opts.data),
        sha256: facts.sha256.clone(),
        rows: file_rows,
    };
    let spec = Spec {
        task: task.as_str().to_owned(),
        target: opts.target.clone(),
        features: bundle
            .pipeline
            .features
            .iter()
            .map(|f| (f.name.clone(), f.column_type().as_str().to_owned()))
            .collect(),
        algorithm: algorithm.as_str().to_owned(),
        params: with_pipeline_params(estimator.params(), &pipeline_spec),
    };
    let registry_metrics: BTreeMap<String, f64> = Metrics::headline(task)
        .iter()
        .filter_map(|m| fitted.metrics.get(m).filter(|v| v.is_finite()).map(|v| ((*m).to_owned(), v)))
        .collect();
    let feature_meta: Vec<FeatureMeta> = bundle
        .pipeline
        .features
        .iter()
        .map(|f| FeatureMeta {
            name: f.name.clone(),
            column_type: f.column_type().as_str().to_owned(),
            missing_in_training: split
                .train
                .iter()
                .filter(|&&r| frame.column(&f.name).is_some_and(|c| c.is_missing(r)))
                .count(),
            fitted: f.transform.clone(),
            infrequent: f.infrequent.clone(),
        })
        .collect();

    reporter.phase("registering");
    let created_at = crate::clock::now_rfc3339();
    let new_version = NewVersion {
        name: &opts.name,
        explicit: opts.version.as_ref(),
        spec: &spec,
        model_bytes: &model_bytes,
        reference_bytes: &reference,
        fingerprint_bytes: fingerprint.as_deref(),
        make_metadata: &|version: &Version| Metadata {
            name: opts.name.to_string(),
            version: version.clone(),
            task: spec.task.clone(),
            algorithm: spec.algorithm.clone(),
            params: spec.params.clone(),
            target: opts.target.clone().unwrap_or_default(),
            classes: bundle.classes.clone(),
            pos_label: pos_label.clone(),
            features: feature_meta.clone(),
            encoded_features: bundle.pipeline.output_names(),
            feature_importances: importances.clone(),
            importance_method: Some(importance_method),
            metrics: fitted.metrics.clone(),
            cross_validation: cross_validation.clone(),
            calibration: calibration.clone(),
            split: SplitMeta {
                method: match task {
                    Task::Classification => "stratified shuffle",
                    Task::Regression => "shuffle",
                    Task::Clustering => "none: fitted and scored on every row",
                }
                .to_owned(),
                test_size: if task == Task::Clustering { 0.0 } else { opts.test_size },
                train_rows: split.train.len(),
                test_rows: split.test.len(),
            },
            dataset: dataset.clone(),
            rows_without_target,
            identifier_like: identifiers.iter().map(|(name, _)| name.clone()).collect(),
            seed: opts.seed,
            mlctl_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: created_at.clone(),
            training_seconds,
            artifact_sha256: artifact_sha256.clone(),
            artifact_bytes: model_bytes.len() as u64,
        },
        record: VersionRecord {
            version: Version::new(0, 0, 0),
            stage: Stage::Development,
            created_at: created_at.clone(),
            spec: spec.clone(),
            metrics: registry_metrics,
            dataset: dataset.clone(),
            artifact_sha256: artifact_sha256.clone(),
            seed: opts.seed,
            files_deleted: false,
            report: None,
        },
    };
    let (version, bump) = register(paths.store, &new_version, reporter)?;

    let comparison_file = match &comparison {
        Some(c) => {
            let path = paths.project_root.join(COMPARISON_FILE);
            let text =
                crate::ops::compare::markdown(c, &dataset.path, &facts.sha256, &format!("{}@{version}", opts.name));
            write_atomic(&path, text.as_bytes())?;
            let chart = paths.project_root.join(crate::ops::compare::FOLDS_CHART);
            write_atomic(&chart, crate::ops::compare::folds_chart(c).as_bytes())?;
            Some(path)
        }
        None => None,
    };
    warnings.extend(fitted.warnings);
    let notes = fitted.notes;
    let k_search = fitted.k_search;
    // Columns typed by inference that are dates but for a few values: one-hot by day is rarely what was meant.
    let inferred = features.iter().filter(|f| !opts.declared.contains_key(*f)).filter_map(|f| frame.column(f));
    warnings.extend(inferred.filter_map(crate::data::schema::mostly_dates_warning));
    Ok(TrainReport {
        notes,
        k_search,
        name: opts.name.to_string(),
        artifact: paths.store.file_location(&opts.name, &version, crate::registry::layout::MODEL_FILE),
        version,
        bump,
        stage: Stage::Development,
        task: spec.task,
        task_inferred,
        algorithm: spec.algorithm,
        params: spec.params,
        target: opts.target.clone(),
        classes: bundle.classes,
        pos_label,
        rows: file_rows,
        rows_without_target,
        train_rows: split.train.len(),
        test_rows: split.test.len(),
        features: features.len(),
        encoded_features: bundle.pipeline.n_outputs(),
        metrics: fitted.metrics,
        cross_validation,
        comparison,
        comparison_file,
        top_features: importances.into_iter().take(5).collect(),
        importance_method,
        training_seconds,
        artifact_bytes: model_bytes.len() as u64,
        artifact_sha256,
        dataset_sha256: facts.sha256,
        warnings,
    })
}

/// The fingerprint of the training split's rows (see [`Fingerprint`]), with how often the test split's rows
/// repeat training rows by nature; None for clustering.
fn fingerprint_bytes(frame: &Frame, bundle: &Bundle, split: &Split) -> Result<Option<Vec<u8>>> {
    if bundle.task == Task::Clustering {
        return Ok(None);
    }
    let features: Vec<String> = bundle.pipeline.features.iter().map(|f| f.name.clone()).collect();
    let shape = RowShape { features: &features, target: Some(&bundle.target) };
    let mut fingerprint = Fingerprint::build(frame, &shape, &split.train)?;
    fingerprint.test_share = fingerprint.measure(frame, &shape, Some(&split.test))?.share;
    Ok(Some(fingerprint.to_bytes()))
}

/// Refuses, before any data is read, options that cannot work together.
fn check_options(opts: &TrainOptions) -> Result<()> {
    if let (Some(task), Some(algorithm)) = (opts.task, opts.algorithm) {
        estimator(algorithm, task, &opts.settings, opts.seed)?;
    }
    if opts.task == Some(Task::Clustering) && opts.target.is_some() {
        return Err(Error::Config(
            "clustering learns without a target: leave out --target (use --drop to leave columns out of the features)"
                .into(),
        ));
    }
    check_width(opts)
}

/// The pipeline's settings (the declared numeric columns read leniently) and how to read the file with them.
fn reading(opts: &TrainOptions) -> (PipelineSpec, ReadOptions) {
    let pipeline_spec = PipelineSpec {
        stray_as_missing: opts
            .declared
            .iter()
            .filter(|(_, &t)| t == ColumnType::Numeric)
            .map(|(c, _)| c.clone())
            .collect(),
        ..opts.pipeline.clone()
    };
    let read_options = ReadOptions {
        delimiter: opts.delimiter,
        declared: opts.declared.clone(),
        text_columns: opts.target.iter().cloned().collect(),
        na_values: pipeline_spec.na_values.clone(),
        stray_as_missing: pipeline_spec.stray_as_missing.clone(),
    };
    (pipeline_spec, read_options)
}

/// The task: as given, decided by an algorithm that learns one task only (`--algorithm ridge` on integer
/// targets), or inferred from the target; with why, unless given.
fn choose_task(opts: &TrainOptions, frame: &Frame, reporter: &dyn Reporter) -> (Task, Option<String>) {
    match (opts.task, opts.algorithm.map(Algorithm::tasks)) {
        (Some(task), _) => (task, None),
        (None, Some(&[only])) if opts.target.is_some() != (only == Task::Clustering) => {
            let why = format!("{} learns {} only", opts.algorithm.map_or("", Algorithm::as_str), only.as_str());
            reporter.phase(&format!("task: {} ({why})", only.as_str()));
            (only, Some(why))
        }
        (None, _) => {
            let (task, why) = infer_task(frame, opts.target.as_deref());
            reporter.phase(&format!("task: {} ({why}; --task overrides)", task.as_str()));
            (task, Some(why))
        }
    }
}

fn describe(estimator: &dyn Estimator) -> String {
    let params = estimator.params();
    match params.get("n_trees") {
        Some(n) => format!("{} ({n} trees)", estimator.algorithm().as_str()),
        None => estimator.algorithm().as_str().to_owned(),
    }
}

fn paths_relative(root: &Path, path: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    absolute.strip_prefix(root).unwrap_or(&absolute).display().to_string()
}

/// The header's column names for an error message, without echoing a file that is not a table: a one-column
/// "header" is most likely the first line of some other file (a password file's first line was printed whole),
/// so it is not repeated; names are cut at 40 characters and the list at 30 names.
fn describe_columns(names: &[&str]) -> String {
    if names.len() < 2 {
        return "the file has a single column: is it a CSV? (for another separator, pass --delimiter)".to_owned();
    }
    let shown: Vec<String> = names
        .iter()
        .take(30)
        .map(|n| {
            if n.chars().count() > 40 {
                format!("{}…", n.chars().take(40).collect::<String>())
            } else {
                (*n).to_owned()
            }
        })
        .collect();
    let more = names.len().saturating_sub(30);
    let tail = if more > 0 { format!(" … and {more} more") } else { String::new() };
    format!("the columns are: {}{tail}", shown.join(", "))
}

/// Refuses, from the header alone, a file with more feature columns than every algorithm this run may fit can
/// take: reading 100,000 columns took 81 s and 3.8 GB before the tree engine's limit was found. Every feature
/// column gives the model at least one feature, so the count of columns is a lower bound.
fn check_width(opts: &TrainOptions) -> Result<()> {
    let header = read_header(&opts.data, opts.delimiter.unwrap_or(b','), &Limits::from_env()?)?;
    let features = header
        .iter()
        .filter(|n| Some(n.as_str()) != opts.target.as_deref() && !opts.drop.iter().any(|d| d == *n))
        .count();
    // What may be fitted, as far as it is known before the data is read: with a target and no task, the
    // task's default is a random forest whichever task the target shows.
    let algorithms = if opts.compare.is_empty() {
        let default =
            opts.task.map(Task::default_algorithm).or(opts.target.is_some().then_some(Algorithm::RandomForest));
        opts.algorithm.or(default).into_iter().collect()
    } else {
        opts.compare.clone()
    };
    let limits: Option<Vec<usize>> = algorithms.iter().map(|a| a.max_features()).collect();
    let Some(max) = limits.and_then(|l| l.into_iter().min()) else { return Ok(()) };
    if features <= max {
        return Ok(());
    }
    let names: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
    Err(Error::data(
        &opts.data,
        None,
        None,
        format!(
            "has {} columns, {features} of them features, but {} on mlctl's tree engine takes at most {max} \
             features: leave columns out with --drop, or choose another algorithm (e.g. --algorithm \
             logistic-regression)",
            header.len(),
            names.join(", ")
        ),
    ))
}

/// The feature columns: every column but the target and the dropped ones.
fn feature_columns(frame: &Frame, opts: &TrainOptions) -> Result<Vec<String>> {
    let names = frame.column_names();
    if let Some(target) = opts.target.as_deref().filter(|t| frame.column(t).is_none()) {
        return Err(Error::data(
            &frame.source,
            None,
            Some(target),
            format!(
                "no such target column{}; {}",
                crate::suggest::hint(target, names.iter().copied()),
                describe_columns(&names)
            ),
        ));
    }
    for dropped in &opts.drop {
        if frame.column(dropped).is_none() {
            return Err(Error::data(
                &frame.source,
                None,
                Some(dropped),
                format!("--drop names no such column{}", crate::suggest::hint(dropped, names.iter().copied())),
            ));
        }
    }
    let features: Vec<String> = names
        .into_iter()
        .filter(|n| Some(*n) != opts.target.as_deref() && !opts.drop.iter().any(|d| d == n))
        .map(str::to_owned)
        .collect();
    if features.is_empty() {
        return Err(Error::data(&frame.source, None, None, "has no feature columns besides the target"));
    }
    Ok(features)
}

/// The feature columns that look like identifiers (see [`identifier_like`]), each with its warning.
fn identifier_columns(frame: &Frame, features: &[String]) -> Vec<(String, String)> {
    features
        .iter()
        .filter_map(|name| {
            let (distinct, present) = identifier_like(frame.column(name)?)?;
            let warning = format!(
                "column \"{name}\" looks like an identifier ({distinct} distinct values in {present} rows): a model \
                 can only memorise it; leave it out with --drop {name}"
            );
            Some((name.clone(), warning))
        })
        .collect()
}

/// The estimator's parameters with the pipeline's that differ from their defaults (`max_categories`), so that a
/// change of them bumps the version as a change of hyperparameters does.
fn with_pipeline_params(mut params: serde_json::Value, spec: &PipelineSpec) -> serde_json::Value {
    if let (Some(map), true) = (params.as_object_mut(), spec.max_categories != DEFAULT_MAX_CATEGORIES) {
        map.insert("max_categories".to_owned(), spec.max_categories.into());
    }
    params
}

/// One warning per column whose cells that are not numbers were read as missing values, saying which `flag`
/// asked for it.
pub fn stray_warnings(counts: &BTreeMap<String, usize>, flag: &str) -> Vec<String> {
    counts
        .iter()
        .map(|(c, n)| {
            format!("column \"{c}\": {n} value(s) that are not numbers were read as missing values ({flag} {c})")
        })
        .collect()
}

/// The frame without the rows whose target is missing, how many they were and the warning saying so (see
/// [`check_unlabelled`]). A regression target is checked for numbers first, so that an error names the row
/// in the file.
fn drop_unlabelled(frame: Frame, opts: &TrainOptions, task: Task) -> Result<(Frame, usize, Vec<String>)> {
    let Some(target) = opts.target.as_deref().filter(|_| task != Task::Clustering) else {
        return Ok((frame, 0, Vec::new()));
    };
    if task == Task::Regression {
        numeric_target(&frame, target)?;
    }
    let unlabelled = unlabelled_rows(&frame, target);
    match check_unlabelled(&frame, target, &unlabelled, opts.require_target)? {
        Some(warning) => Ok((frame.without_rows(&unlabelled), unlabelled.len(), vec![warning])),
        None => Ok((frame, 0, Vec::new())),
    }
}

/// One line on what is trained on: rows, features, the target and the split.
fn describe_split(
    frame: &Frame,
    features: &[String],
    target: &TargetData,
    split: &Split,
    opts: &TrainOptions,
) -> String {
    let rows = format!("{} rows, {} features", frame.n_rows, features.len());
    match target {
        TargetData::Classes(c) => format!(
            "{rows}, {} classes; stratified split {:.0}/{:.0} (seed {})",
            c.classes.len(),
            (1.0 - opts.test_size) * 100.0,
            opts.test_size * 100.0,
            opts.seed
        ),
        TargetData::Values(_) => format!(
            "{rows}, numeric target; split {}/{} rows (seed {})",
            split.train.len(),
            split.test.len(),
            opts.seed
        ),
        TargetData::None => format!("{rows}, no target: segmenting every row (seed {})", opts.seed),
    }
}

/// The folds of a cross-validation: `k` of `rows`, drawn with `seed`.
pub struct Folds<'a> {
    pub rows: &'a [usize],
    pub k: usize,
    pub seed: u64,
}

/// k-fold cross-validation on the training rows: mean ± std of the headline metrics over the folds.
pub fn cross_validate(
    frame: &Frame,
    features: &[String],
    target: &TargetData,
    folds: &Folds<'_>,
    estimator: &dyn Estimator,
    pipeline: &PipelineSpec,
    reporter: &dyn Reporter,
) -> Result<CvSummary> {
    let (k, seed) = (folds.k, folds.seed);
    let folds = target.folds(folds.rows, k, seed)?;
    let mut per_metric: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, split) in folds.iter().enumerate() {
        reporter.phase(&format!("cross-validation fold {}/{k}", i + 1));
        let fitted = fit_and_score(frame, features, target, split, estimator, seed, pipeline)?;
        for name in Metrics::headline(estimator.task()) {
            if let Some(v) = fitted.metrics.get(name).filter(|v| v.is_finite()) {
                per_metric.entry((*name).to_owned()).or_default().push(v);
            }
        }
    }
    Ok(CvSummary { folds: k, metrics: per_metric.into_iter().map(|(k, v)| (k, MeanStd::of(&v))).collect() })
}

/// A finished model waiting for its version number.
pub struct NewVersion<'a> {
    pub name: &'a ModelName,
    pub explicit: Option<&'a Version>,
    pub spec: &'a Spec,
    pub model_bytes: &'a [u8],
    /// `reference.json`: the training-data profile `mlctl drift` compares against.
    pub reference_bytes: &'a [u8],
    /// `fingerprint.bin`: the training split's rows, for the overlap check of `evaluate` and `promote --data`
    /// (none for clustering, which is scored on the rows it was fitted on).
    pub fingerprint_bytes: Option<&'a [u8]>,
    pub make_metadata: &'a dyn Fn(&Version) -> Metadata,
    /// The registry record, with a placeholder version filled in under the lock.
    pub record: VersionRecord,
}

/// Chooses the version, writes its files and records it. The files are complete in the store (a hidden folder
/// renamed into place, or create-only uploads) before registry.json names the version: a run killed at any point
/// leaves no registered version without its files. In a shared bucket another writer may publish first; the
/// change is then redone on the new registry, and a version number whose files another writer holds is skipped.
pub fn register(store: &Store, new: &NewVersion<'_>, reporter: &dyn Reporter) -> Result<(Version, Bump)> {
    store.ensure_dir()?;
    let on_wait = |holder: &str| reporter.warn(&format!("waiting for the registry lock (held by {holder})"));
    // The version whose files this run has written so far, kept across redone attempts.
    let placed: std::cell::RefCell<Option<Version>> = std::cell::RefCell::new(None);
    let result = store.transaction(&on_wait, |registry| {
        let entry = registry.models.entry(new.name.clone()).or_default();
        let bump = entry.latest().map_or(Bump::First, |l| Bump::between(&l.spec, new.spec));
        let first_choice = choose_version(entry, new, bump)?;
        let version = place_files(store, entry, new, first_choice, &placed)?;
        let mut record = new.record.clone();
        record.version = version.clone();
        entry.events.push(Event {
            at: record.created_at.clone(),
            user: crate::registry::index::current_user(),
            version: version.clone(),
            from: None,
            to: Stage::Development,
            reason: "trained".to_owned(),
            metrics: record.metrics.clone(),
        });
        entry.versions.push(record);
        Ok((version, bump))
    });
    if let (Err(_), Some(version)) = (&result, placed.take()) {
        remove_unregistered(store, new.name, &version);
    }
    result
}

fn choose_version(entry: &ModelEntry, new: &NewVersion<'_>, bump: Bump) -> Result<Version> {
    let latest = entry.latest();
    let version = match new.explicit {
        Some(v) => v.clone(),
        None => bump.apply(latest.map(|l| &l.version)).ok_or_else(|| {
            let from = latest.map_or_else(String::new, |l| l.version.to_string());
            Error::Registry(format!(
                "{}@{from}: the next {} version would overflow its number; pass --version X.Y.Z",
                new.name,
                bump.as_str()
            ))
        })?,
    };
    // Whatever the arithmetic says, a registered version is never written over.
    if entry.get(&version).is_some() {
        let hint = if new.explicit.is_some() {
            "choose another --version or leave it out to get the next one automatically"
        } else {
            "pass --version X.Y.Z"
        };
        return Err(Error::Registry(format!("{}@{version} already exists; versions are immutable: {hint}", new.name)));
    }
    Ok(version)
}

/// How many taken version numbers (uploads of other writers, or never-published debris) are stepped over.
const MAX_TAKEN: u64 = 50;

/// Writes the version's files under `wanted`, or under the next free patch number when another writer holds
/// `wanted`'s key; reuses what an earlier attempt of this run already wrote when the number is the same.
fn place_files(
    store: &Store,
    entry: &ModelEntry,
    new: &NewVersion<'_>,
    wanted: Version,
    placed: &std::cell::RefCell<Option<Version>>,
) -> Result<Version> {
    let previous = placed.borrow().clone();
    if previous.as_ref() == Some(&wanted) {
        return Ok(wanted);
    }
    if let Some(stale) = previous {
        let _ = store.backend().remove_version(new.name, &stale);
        placed.replace(None);
    }
    let mut version = wanted;
    for _ in 0..MAX_TAKEN {
        let metadata = (new.make_metadata)(&version);
        let mut json = serde_json::to_vec_pretty(&metadata).map_err(|e| Error::Model(e.to_string()))?;
        json.push(b'\n');
        let mut files = vec![
            VersionFile { name: crate::registry::layout::METADATA_FILE, source: Source::Bytes(&json) },
            VersionFile { name: crate::registry::layout::MODEL_FILE, source: Source::Bytes(new.model_bytes) },
            VersionFile { name: crate::drift::profile::REFERENCE_FILE, source: Source::Bytes(new.reference_bytes) },
        ];
        if let Some(fingerprint) = new.fingerprint_bytes {
            files.push(VersionFile {
                name: crate::data::fingerprint::FINGERPRINT_FILE,
                source: Source::Bytes(fingerprint),
            });
        }
        match store.backend().put_version(new.name, &version, &files)? {
            Placed::Yes => {
                placed.replace(Some(version.clone()));
                return Ok(version);
            }
            Placed::Taken if new.explicit.is_some() => {
                return Err(Error::Registry(format!(
                    "{}@{version}: files for this version are already in {} but the registry does not list it (an \
                     upload in progress, or one that was never published: `mlctl prune --orphans` lists those)",
                    new.name,
                    store.location()
                )))
            }
            Placed::Taken => {
                version = Version::new(version.major, version.minor, version.patch + 1);
                while entry.get(&version).is_some() {
                    version = Version::new(version.major, version.minor, version.patch + 1);
                }
            }
        }
    }
    Err(Error::Registry(format!(
        "{}: {MAX_TAKEN} version numbers in a row hold unpublished files in {}; run `mlctl prune --orphans`",
        new.name,
        store.location()
    )))
}

/// After a failed registration (a full disk while writing registry.json, say): removes the version's files if
/// the registry does not name the version, so no complete but unregistered version is left behind.
fn remove_unregistered(store: &Store, name: &ModelName, version: &Version) {
    let registered = store.load().map_or(true, |r| r.models.get(name).is_some_and(|e| e.get(version).is_some()));
    if !registered {
        let _ = store.backend().remove_version(name, version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Layout;

    #[test]
    fn a_failed_registration_leaves_no_unregistered_version_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(Layout::new(dir.path().join("ml_models")), dir.path().join("MODEL_REGISTRY.md"));
        let name = ModelName::parse("m").unwrap();
        let version = Version::new(1, 0, 0);
        // The folder was placed, the index write failed: nothing names the version, so the folder goes.
        let layout = Layout::new(dir.path().join("ml_models"));
        let folder = layout.version_dir(&name, &version);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("model.bin"), b"complete").unwrap();
        remove_unregistered(&store, &name, &version);
        assert!(!folder.exists());
        // A registry that cannot be read is not proof the version is unregistered: the folder stays.
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(layout.registry_file(), b"{ not json").unwrap();
        remove_unregistered(&store, &name, &version);
        assert!(folder.exists());
    }
}
