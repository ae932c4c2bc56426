//! `mlctl list`, `mlctl show` and `mlctl diff`: read-only views of the registry. `show` joins a version's
//! registry record, its metadata.json and its stage history; `diff` puts two versions' parameters and metrics
//! side by side with the deltas, as `dvc metrics diff` does.

use std::collections::{BTreeMap, BTreeSet};

use semver::Version;
use serde::Serialize;

use crate::error::Result;
use crate::registry::metadata::Metadata;
use crate::registry::{Event, ModelName, ModelRef, Registry, Stage, Store, VersionRecord};

#[derive(Debug, Clone, Serialize)]
pub struct ListedVersion {
    pub model: String,
    pub version: Version,
    pub stage: Stage,
    pub created_at: String,
    pub algorithm: String,
    pub metrics: BTreeMap<String, f64>,
    pub dataset_sha256: String,
    pub files_deleted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    /// Newest version first within each model; models by name.
    pub versions: Vec<ListedVersion>,
}

pub fn list(store: &Store, name: Option<&ModelName>) -> Result<ListReport> {
    let registry = store.load()?;
    if let Some(name) = name {
        registry.resolve(&ModelRef::latest(name))?;
    }
    let mut versions = Vec::new();
    for (model, entry) in registry.models.iter().filter(|(m, _)| name.is_none_or(|n| n == *m)) {
        let mut records: Vec<&VersionRecord> = entry.versions.iter().collect();
        records.sort_by(|a, b| b.version.cmp(&a.version));
        versions.extend(records.into_iter().map(|r| ListedVersion {
            model: model.to_string(),
            version: r.version.clone(),
            stage: r.stage,
            created_at: r.created_at.clone(),
            algorithm: r.spec.algorithm.clone(),
            metrics: r.metrics.clone(),
            dataset_sha256: r.dataset.sha256.clone(),
            files_deleted: r.files_deleted,
        }));
    }
    Ok(ListReport { versions })
}

#[derive(Debug, Clone, Serialize)]
pub struct ShowReport {
    pub model: String,
    pub record: VersionRecord,
    /// None when metadata.json is missing or unreadable (the reason is in `warnings`).
    pub metadata: Option<Metadata>,
    /// This version's stage changes, oldest first.
    pub history: Vec<Event>,
    pub warnings: Vec<String>,
}

pub fn show(store: &Store, reference: &ModelRef) -> Result<ShowReport> {
    let registry = store.load()?;
    let (name, record) = resolve(&registry, reference)?;
    let (metadata, warnings) = match store.metadata(&name, &record) {
        Ok(m) => (Some(m), Vec::new()),
        Err(e) => (None, vec![e.to_string()]),
    };
    let history = registry.models[&name].events.iter().filter(|e| e.version == record.version).cloned().collect();
    Ok(ShowReport { model: name.to_string(), record, metadata, history, warnings })
}

/// One row of a diff: a parameter or metric in both versions (a missing side is None).
#[derive(Debug, Clone, Serialize)]
pub struct DiffRow {
    pub key: String,
    pub a: Option<serde_json::Value>,
    pub b: Option<serde_json::Value>,
    /// b − a, for numbers.
    pub delta: Option<f64>,
    pub changed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub a: String,
    pub b: String,
    pub params: Vec<DiffRow>,
    pub metrics: Vec<DiffRow>,
    /// Algorithm, task, dataset: what else may explain a difference.
    pub context: Vec<DiffRow>,
}

pub fn diff(store: &Store, a: &ModelRef, b: &ModelRef) -> Result<DiffReport> {
    let registry = store.load()?;
    let (name_a, ra) = resolve(&registry, a)?;
    let (name_b, rb) = resolve(&registry, b)?;
    let params = |r: &VersionRecord| -> BTreeMap<String, serde_json::Value> {
        r.spec.params.as_object().map(|o| o.clone().into_iter().collect()).unwrap_or_default()
    };
    let metrics = |r: &VersionRecord| -> BTreeMap<String, serde_json::Value> {
        r.metrics.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect()
    };
    let context = |r: &VersionRecord| -> BTreeMap<String, serde_json::Value> {
        BTreeMap::from([
            ("algorithm".to_owned(), r.spec.algorithm.clone().into()),
            ("task".to_owned(), r.spec.task.clone().into()),
            ("stage".to_owned(), r.stage.as_str().into()),
            ("dataset_sha256".to_owned(), r.dataset.sha256.get(..12).unwrap_or(&r.dataset.sha256).into()),
            ("dataset_rows".to_owned(), r.dataset.rows.into()),
            ("features".to_owned(), r.spec.features.len().into()),
            ("seed".to_owned(), r.seed.into()),
        ])
    };
    Ok(DiffReport {
        a: format!("{name_a}@{}", ra.version),
        b: format!("{name_b}@{}", rb.version),
        params: rows(&params(&ra), &params(&rb)),
        metrics: rows(&metrics(&ra), &metrics(&rb)),
        context: rows(&context(&ra), &context(&rb)),
    })
}

fn rows(a: &BTreeMap<String, serde_json::Value>, b: &BTreeMap<String, serde_json::Value>) -> Vec<DiffRow> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .map(|k| {
            let (va, vb) = (a.get(k).cloned(), b.get(k).cloned());
            let delta = match (va.as_ref().and_then(|v| v.as_f64()), vb.as_ref().and_then(|v| v.as_f64())) {
                (Some(x), Some(y)) => Some(y - x),
                _ => None,
            };
            DiffRow { key: k.clone(), changed: va != vb, a: va, b: vb, delta }
        })
        .collect()
}

fn resolve(registry: &Registry, reference: &ModelRef) -> Result<(ModelName, VersionRecord)> {
    Ok((reference.name.clone(), registry.resolve(reference)?.clone()))
}
