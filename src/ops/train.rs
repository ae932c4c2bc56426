//! `mlctl train`: CSV → typed frame → stratified split → fitted pipeline → model → test metrics (and k-fold CV)
//! → artifact → registered version. Everything slow happens before the registry lock is taken; under the lock we
//! only choose the version, move the finished files into place and rewrite registry.json.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use semver::Version;
use serde::Serialize;

use crate::data::frame::{ColumnData, Frame};
use crate::data::load::{read_csv, ReadOptions};
use crate::data::schema::ColumnType;
use crate::data::split::{stratified_k_fold, stratified_split, Split};
use crate::drift::profile::ReferenceProfile;
use crate::error::{Error, IoContext, Result};
use crate::metrics::classification::{classification_metrics, ClassificationMetrics};
use crate::models::params::Settings;
use crate::models::{argmax_rows, estimator, Algorithm, Bundle, Estimator, Target, Task};
use crate::pipeline::FittedPipeline;
use crate::registry::atomic::{sync_dir, write_atomic};
use crate::registry::metadata::{CvSummary, FeatureMeta, MeanStd, Metadata, SplitMeta};
use crate::registry::version::{Bump, Spec};
use crate::registry::{artifact, DatasetRef, Event, Layout, ModelName, Stage, Store, VersionRecord};
use crate::reporter::Reporter;

/// Metrics copied into registry.json (and so MODEL_REGISTRY.md and promotion gates).
const REGISTRY_METRICS: &[&str] =
    &["accuracy", "balanced_accuracy", "precision", "recall", "f1", "roc_auc", "log_loss"];

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub data: PathBuf,
    pub target: String,
    pub name: ModelName,
    pub task: Task,
    pub algorithm: Algorithm,
    pub settings: Settings,
    pub seed: u64,
    pub test_size: f64,
    pub cv: Option<usize>,
    pub version: Option<Version>,
    pub declared: HashMap<String, ColumnType>,
    pub drop: Vec<String>,
    pub delimiter: Option<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub name: String,
    pub version: Version,
    pub bump: Bump,
    pub stage: Stage,
    pub task: String,
    pub algorithm: String,
    pub params: serde_json::Value,
    pub target: String,
    pub classes: Vec<String>,
    pub rows: usize,
    pub train_rows: usize,
    pub test_rows: usize,
    pub features: usize,
    pub encoded_features: usize,
    pub metrics: ClassificationMetrics,
    pub cross_validation: Option<CvSummary>,
    pub top_features: Vec<(String, f64)>,
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
    // Validate everything cheap before reading data.
    let estimator = estimator(opts.algorithm, opts.task, &opts.settings, opts.seed)?;

    reporter.phase(&format!("reading {}", opts.data.display()));
    let read_options = ReadOptions {
        delimiter: opts.delimiter,
        declared: opts.declared.clone(),
        text_columns: vec![opts.target.clone()],
    };
    let (frame, facts) = read_csv(&opts.data, &read_options)?;
    let features = feature_columns(&frame, opts)?;
    let labels = ClassLabels::from_frame(&frame, &opts.target)?;

    reporter.phase(&format!(
        "{} rows, {} features, {} classes; stratified split {:.0}/{:.0} (seed {})",
        frame.n_rows,
        features.len(),
        labels.classes.len(),
        (1.0 - opts.test_size) * 100.0,
        opts.test_size * 100.0,
        opts.seed
    ));
    let split = stratified_split(&labels.codes, labels.classes.len(), opts.test_size, opts.seed)?;

    let cross_validation = match opts.cv {
        Some(k) => Some(cross_validate(&frame, &features, &labels, &split.train, k, opts.seed, &*estimator, reporter)?),
        None => None,
    };

    reporter.phase(&format!("fitting {} on {} rows", describe(&*estimator), split.train.len()));
    let fitted = fit_and_score(&frame, &features, &labels, &split, &*estimator)?;
    let training_seconds = started.elapsed().as_secs_f64();

    let bundle = Bundle {
        task: opts.task,
        target: opts.target.clone(),
        classes: labels.classes.clone(),
        pipeline: fitted.pipeline,
        model: fitted.model,
    };
    let model_bytes = artifact::encode(&bundle)?;
    let artifact_sha256 = artifact::sha256_hex(&model_bytes);
    let importances = importances_by_feature(&bundle);
    reporter.phase("profiling the training data for drift checks");
    let reference =
        ReferenceProfile::build(&frame, &bundle.pipeline, &bundle.classes, &fitted.test_proba, opts.seed)?.to_json()?;

    let dataset = DatasetRef {
        path: paths_relative(paths.project_root, &opts.data),
        sha256: facts.sha256.clone(),
        rows: frame.n_rows,
    };
    let spec = Spec {
        task: opts.task.as_str().to_owned(),
        target: Some(opts.target.clone()),
        features: bundle
            .pipeline
            .features
            .iter()
            .map(|f| (f.name.clone(), f.column_type().as_str().to_owned()))
            .collect(),
        algorithm: opts.algorithm.as_str().to_owned(),
        params: estimator.params(),
    };
    let registry_metrics: BTreeMap<String, f64> = REGISTRY_METRICS
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
        make_metadata: &|version: &Version| Metadata {
            name: opts.name.to_string(),
            version: version.clone(),
            task: spec.task.clone(),
            algorithm: spec.algorithm.clone(),
            params: spec.params.clone(),
            target: opts.target.clone(),
            classes: bundle.classes.clone(),
            features: feature_meta.clone(),
            encoded_features: bundle.pipeline.output_names(),
            feature_importances: importances.clone(),
            metrics: fitted.metrics.clone(),
            cross_validation: cross_validation.clone(),
            split: SplitMeta {
                method: "stratified shuffle".to_owned(),
                test_size: opts.test_size,
                train_rows: split.train.len(),
                test_rows: split.test.len(),
            },
            dataset: dataset.clone(),
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

    let mut warnings = fitted.warnings;
    warnings.extend(fitted.metrics_warnings);
    Ok(TrainReport {
        name: opts.name.to_string(),
        artifact: paths.store.layout.artifact(&opts.name, &version),
        version,
        bump,
        stage: Stage::Development,
        task: spec.task,
        algorithm: spec.algorithm,
        params: spec.params,
        target: opts.target.clone(),
        classes: bundle.classes,
        rows: frame.n_rows,
        train_rows: split.train.len(),
        test_rows: split.test.len(),
        features: features.len(),
        encoded_features: bundle.pipeline.n_outputs(),
        metrics: fitted.metrics,
        cross_validation,
        top_features: importances.into_iter().take(5).collect(),
        training_seconds,
        artifact_bytes: model_bytes.len() as u64,
        artifact_sha256,
        dataset_sha256: facts.sha256,
        warnings,
    })
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

/// The feature columns: every column but the target and the dropped ones.
fn feature_columns(frame: &Frame, opts: &TrainOptions) -> Result<Vec<String>> {
    let names = frame.column_names();
    if frame.column(&opts.target).is_none() {
        return Err(Error::data(
            &frame.source,
            None,
            Some(&opts.target),
            format!(
                "no such target column{}; the columns are: {}",
                crate::suggest::hint(&opts.target, names.iter().copied()),
                names.join(", ")
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
        .filter(|n| *n != opts.target && !opts.drop.iter().any(|d| d == n))
        .map(str::to_owned)
        .collect();
    if features.is_empty() {
        return Err(Error::data(&frame.source, None, None, "has no feature columns besides the target"));
    }
    Ok(features)
}

/// Target labels as class codes; classes sorted numerically when they are all numbers, else as text (as
/// scikit-learn's LabelEncoder sorts them).
pub struct ClassLabels {
    pub classes: Vec<String>,
    pub codes: Vec<u32>,
}

impl ClassLabels {
    /// Reads the target column of `frame` as class codes. Public so that tools outside `train` (the bench's
    /// `bench_split` example) can reproduce exactly the labels, and so the split, that training uses.
    pub fn from_frame(frame: &Frame, target: &str) -> Result<Self> {
        let column =
            frame.column(target).ok_or_else(|| Error::data(&frame.source, None, Some(target), "no such column"))?;
        let ColumnData::Categorical { codes, levels } = &column.data else {
            return Err(Error::Model("the target must be read as text".into()));
        };
        let missing: Vec<usize> = (0..frame.n_rows).filter(|&r| column.is_missing(r)).collect();
        if let Some(&first) = missing.first() {
            let shown: Vec<String> = missing.iter().take(5).map(|r| (r + 1).to_string()).collect();
            return Err(Error::data(
                &frame.source,
                Some(first + 1),
                Some(target),
                format!(
                    "the target is missing in {} row(s) (rows {}{}): fill or remove them; a model cannot learn from \
                     rows without a label",
                    missing.len(),
                    shown.join(", "),
                    if missing.len() > 5 { ", …" } else { "" }
                ),
            ));
        }
        let mut order: Vec<usize> = (0..levels.len()).collect();
        let numeric: Option<Vec<f64>> = levels.iter().map(|l| crate::data::schema::parse_number(l)).collect();
        match &numeric {
            Some(values) => order.sort_by(|&a, &b| values[a].total_cmp(&values[b])),
            None => order.sort_by(|&a, &b| levels[a].cmp(&levels[b])),
        }
        if order.len() < 2 {
            return Err(Error::data(
                &frame.source,
                None,
                Some(target),
                format!(
                    "has a single class ({}): a classifier needs at least two classes in the target",
                    levels.first().map_or("none", String::as_str)
                ),
            ));
        }
        let mut counts = vec![0usize; levels.len()];
        for &c in codes {
            counts[c as usize] += 1;
        }
        if let Some(lonely) = order.iter().find(|&&i| counts[i] < 2) {
            return Err(Error::data(
                &frame.source,
                None,
                Some(target),
                format!(
                    "class \"{}\" has only 1 row: every class needs at least 2 (one to train on, one to test); \
                     add rows or remove that class",
                    levels[*lonely]
                ),
            ));
        }
        let mut code_of = vec![0u32; levels.len()];
        for (new, &old) in order.iter().enumerate() {
            code_of[old] = new as u32;
        }
        Ok(ClassLabels {
            classes: order.iter().map(|&i| levels[i].clone()).collect(),
            codes: codes.iter().map(|&c| code_of[c as usize]).collect(),
        })
    }
}

struct Fitted {
    pipeline: FittedPipeline,
    model: crate::models::TrainedModel,
    metrics: ClassificationMetrics,
    metrics_warnings: Vec<String>,
    warnings: Vec<String>,
    /// Probabilities on the test split, row-major: the reference for prediction drift.
    test_proba: Vec<f64>,
}

/// Fits pipeline and model on `split.train`, scores on `split.test`.
fn fit_and_score(
    frame: &Frame,
    features: &[String],
    labels: &ClassLabels,
    split: &Split,
    estimator: &dyn Estimator,
) -> Result<Fitted> {
    let pipeline = FittedPipeline::fit(frame, features, &split.train)?;
    let (x_train, _) = pipeline.transform(frame, Some(&split.train))?;
    let y_train: Vec<u32> = split.train.iter().map(|&r| labels.codes[r]).collect();
    let n_classes = labels.classes.len();
    let model = estimator.fit(&x_train, &Target::Classes { labels: &y_train, n_classes })?;

    let (x_test, stats) = pipeline.transform(frame, Some(&split.test))?;
    let y_test: Vec<u32> = split.test.iter().map(|&r| labels.codes[r]).collect();
    let proba = model.predict_proba(&x_test);
    let y_pred = argmax_rows(&proba, n_classes);
    let metrics = classification_metrics(&y_test, &y_pred, Some(&proba), n_classes)
        .map_err(|e| Error::Model(format!("scoring the test split: {e}")))?;
    let metrics_warnings = metrics.warnings.iter().map(|w| w.message(&labels.classes)).collect();
    let warnings = stats
        .unknown_categories
        .iter()
        .map(|(col, n)| format!("{n} test row(s) have a category of \"{col}\" unseen in training (encoded as unknown)"))
        .collect();
    Ok(Fitted { pipeline, model, metrics, metrics_warnings, warnings, test_proba: proba })
}

#[allow(clippy::too_many_arguments)]
fn cross_validate(
    frame: &Frame,
    features: &[String],
    labels: &ClassLabels,
    train_rows: &[usize],
    k: usize,
    seed: u64,
    estimator: &dyn Estimator,
    reporter: &dyn Reporter,
) -> Result<CvSummary> {
    let train_labels: Vec<u32> = train_rows.iter().map(|&r| labels.codes[r]).collect();
    let folds = stratified_k_fold(&train_labels, labels.classes.len(), k, seed)?;
    let mut per_metric: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (i, fold) in folds.iter().enumerate() {
        reporter.phase(&format!("cross-validation fold {}/{k}", i + 1));
        // Fold indices point into train_rows; map them back to frame rows.
        let split = Split {
            train: fold.train.iter().map(|&j| train_rows[j]).collect(),
            test: fold.test.iter().map(|&j| train_rows[j]).collect(),
        };
        let fitted = fit_and_score(frame, features, labels, &split, estimator)?;
        for name in REGISTRY_METRICS {
            if let Some(v) = fitted.metrics.get(name).filter(|v| v.is_finite()) {
                per_metric.entry((*name).to_owned()).or_default().push(v);
            }
        }
    }
    Ok(CvSummary { folds: k, metrics: per_metric.into_iter().map(|(k, v)| (k, MeanStd::of(&v))).collect() })
}

/// Importance per input feature: one-hot columns summed back to their feature. Highest first.
fn importances_by_feature(bundle: &Bundle) -> Vec<(String, f64)> {
    let per_column = bundle.model.feature_importances();
    let mut out = Vec::new();
    let mut offset = 0;
    for f in &bundle.pipeline.features {
        let width = match &f.transform {
            crate::pipeline::FeatureTransform::Numeric { .. } => 1,
            crate::pipeline::FeatureTransform::Categorical { levels, .. } => levels.len(),
        };
        let sum: f64 = per_column.get(offset..offset + width).map_or(0.0, |s| s.iter().sum());
        out.push((f.name.clone(), sum));
        offset += width;
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

/// A finished model waiting for its version number.
pub struct NewVersion<'a> {
    pub name: &'a ModelName,
    pub explicit: Option<&'a Version>,
    pub spec: &'a Spec,
    pub model_bytes: &'a [u8],
    /// `reference.json`: the training-data profile `mlctl drift` compares against.
    pub reference_bytes: &'a [u8],
    pub make_metadata: &'a dyn Fn(&Version) -> Metadata,
    /// The registry record, with a placeholder version filled in under the lock.
    pub record: VersionRecord,
}

/// Chooses the version, moves the files into `ml_models/<name>/<version>/` and records it, all under the lock.
/// The files are complete in a hidden folder before one rename makes them visible, and the version exists in
/// registry.json only after that: a run killed at any point leaves no registered version without its files.
pub fn register(store: &Store, new: &NewVersion<'_>, reporter: &dyn Reporter) -> Result<(Version, Bump)> {
    store.ensure_dir()?;
    let on_wait = |holder: &str| reporter.warn(&format!("waiting for the registry lock (held by {holder})"));
    store.transaction(&on_wait, |registry| {
        let entry = registry.models.entry(new.name.clone()).or_default();
        let latest = entry.latest();
        let bump = latest.map_or(Bump::First, |l| Bump::between(&l.spec, new.spec));
        let version = match new.explicit {
            Some(v) if entry.get(v).is_some() => {
                return Err(Error::Registry(format!(
                    "{}@{v} already exists; versions are immutable: choose another --version or leave it out to \
                     get the next one automatically",
                    new.name
                )))
            }
            Some(v) => v.clone(),
            None => bump.apply(latest.map(|l| &l.version)),
        };
        let layout = &store.layout;
        let files = VersionFiles {
            model: new.model_bytes,
            reference: new.reference_bytes,
            metadata: &(new.make_metadata)(&version),
        };
        place_files(layout, new.name, &version, &files)?;
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
    })
}

/// The files of one version, written together.
struct VersionFiles<'a> {
    model: &'a [u8],
    reference: &'a [u8],
    metadata: &'a Metadata,
}

fn place_files(layout: &Layout, name: &ModelName, version: &Version, files: &VersionFiles<'_>) -> Result<()> {
    let model_dir = layout.model_dir(name);
    layout.check_no_links(&layout.version_dir(name, version))?;
    std::fs::create_dir_all(&model_dir).at(&model_dir)?;
    // We hold the lock, so any incoming folder or unregistered version folder is debris of a killed run.
    remove_debris(&model_dir)?;
    let target = layout.version_dir(name, version);
    if target.exists() {
        std::fs::remove_dir_all(&target).at(&target)?;
    }
    let incoming = model_dir.join(format!(".incoming-{version}-{}", std::process::id()));
    std::fs::create_dir_all(&incoming).at(&incoming)?;
    write_atomic(&incoming.join(crate::registry::layout::MODEL_FILE), files.model)?;
    write_atomic(&incoming.join(crate::drift::profile::REFERENCE_FILE), files.reference)?;
    let mut json = serde_json::to_vec_pretty(files.metadata).map_err(|e| Error::Model(e.to_string()))?;
    json.push(b'\n');
    write_atomic(&incoming.join(crate::registry::layout::METADATA_FILE), &json)?;
    std::fs::rename(&incoming, &target).at(&target)?;
    sync_dir(&model_dir);
    Ok(())
}

fn remove_debris(model_dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(model_dir).at(model_dir)? {
        let entry = entry.at(model_dir)?;
        if entry.file_name().to_string_lossy().starts_with(".incoming-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}
