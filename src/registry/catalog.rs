//! What registry.json holds: every model, its versions and their stages, the append-only audit trail, and the
//! references (`NAME@…`) that pick a version. Plain data with its lookups; reading and writing it safely is
//! `index`'s `Store`.

use std::collections::BTreeMap;

use semver::Version;
use serde::{Deserialize, Serialize};

use super::layout::ModelName;
use super::version::Spec;
use crate::error::{Error, Result};

pub const REGISTRY_FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Development,
    Staging,
    Production,
    Archived,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::Development, Stage::Staging, Stage::Production, Stage::Archived];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Development => "development",
            Stage::Staging => "staging",
            Stage::Production => "production",
            Stage::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.as_str().eq_ignore_ascii_case(s))
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The data a version was trained on, hashed whole and before training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRef {
    pub path: String,
    pub sha256: String,
    pub rows: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    pub version: Version,
    pub stage: Stage,
    pub created_at: String,
    pub spec: Spec,
    /// Test-set metrics by scikit-learn name.
    pub metrics: BTreeMap<String, f64>,
    pub dataset: DatasetRef,
    pub artifact_sha256: String,
    pub seed: u64,
    /// Retention deleted model.bin (and reference.json); metadata.json and the history stay.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub files_deleted: bool,
    /// The latest `evaluate --report` of this version, relative to the project root when inside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
}

/// One line of the audit trail. Never rewritten, only appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: String,
    pub user: String,
    pub version: Version,
    pub from: Option<Stage>,
    pub to: Stage,
    pub reason: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    pub versions: Vec<VersionRecord>,
    pub events: Vec<Event>,
}

impl ModelEntry {
    /// The highest version: what `NAME` alone means, and what the next version is bumped from.
    pub fn latest(&self) -> Option<&VersionRecord> {
        self.versions.iter().max_by(|a, b| a.version.cmp(&b.version))
    }

    pub fn get(&self, version: &Version) -> Option<&VersionRecord> {
        self.versions.iter().find(|v| &v.version == version)
    }

    pub fn in_stage(&self, stage: Stage) -> Option<&VersionRecord> {
        self.versions.iter().filter(|v| v.stage == stage).max_by(|a, b| a.version.cmp(&b.version))
    }

    /// The version a bare name predicts with: production when there is one, else the newest.
    pub fn serving(&self) -> Option<&VersionRecord> {
        self.in_stage(Stage::Production).or_else(|| self.latest())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    pub format: u32,
    pub models: BTreeMap<ModelName, ModelEntry>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry { format: REGISTRY_FORMAT, models: BTreeMap::new() }
    }
}

/// `NAME`, `NAME@X.Y.Z`, `NAME@stage` or `NAME@latest`, parsed once at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub name: ModelName,
    pub selector: Selector,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Latest,
    Version(Version),
    Stage(Stage),
}

impl ModelRef {
    pub fn latest(name: &ModelName) -> Self {
        ModelRef { name: name.clone(), selector: Selector::Latest }
    }

    pub fn stage(name: &ModelName, stage: Stage) -> Self {
        ModelRef { name: name.clone(), selector: Selector::Stage(stage) }
    }

    pub fn parse(s: &str) -> Result<Self> {
        let (name, selector) = match s.split_once('@') {
            None => (s, Selector::Latest),
            Some((name, "latest")) => (name, Selector::Latest),
            Some((name, sel)) => {
                let selector = if let Some(stage) = Stage::parse(sel) {
                    Selector::Stage(stage)
                } else {
                    Selector::Version(Version::parse(sel).map_err(|_| {
                        Error::Config(format!(
                            "\"{s}\": after '@' expected a version like 1.2.0 or a stage (development, staging, \
                             production, archived), found \"{sel}\""
                        ))
                    })?)
                };
                (name, selector)
            }
        };
        Ok(ModelRef { name: ModelName::parse(name)?, selector })
    }
}

impl Registry {
    /// The entry of the model `name`, to change in a transaction; an unknown name is the error `resolve` words.
    pub fn entry_mut(&mut self, name: &ModelName) -> Result<&mut ModelEntry> {
        if !self.models.contains_key(name) {
            // Let resolve() phrase the error (known models, how to train one).
            self.resolve(&ModelRef::latest(name))?;
        }
        self.models.get_mut(name).ok_or_else(|| Error::Registry(format!("no model named \"{name}\"")))
    }

    /// The rules mlctl keeps on every write: each version listed once, at most one version in production and one
    /// in staging per model. A hand-edited file that breaks one would make references ambiguous.
    pub fn check_invariants(&self) -> std::result::Result<(), String> {
        for (name, entry) in &self.models {
            let mut seen = std::collections::BTreeSet::new();
            for v in &entry.versions {
                if !seen.insert(&v.version) {
                    return Err(format!("model {name}: version {} is listed twice", v.version));
                }
            }
            for stage in [Stage::Production, Stage::Staging] {
                let in_stage: Vec<String> =
                    entry.versions.iter().filter(|v| v.stage == stage).map(|v| v.version.to_string()).collect();
                if in_stage.len() > 1 {
                    return Err(format!(
                        "model {name}: {} versions are in {stage} ({}); at most one may be",
                        in_stage.len(),
                        in_stage.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn resolve(&self, r: &ModelRef) -> Result<&VersionRecord> {
        let entry = self.models.get(&r.name).ok_or_else(|| {
            let known: Vec<&str> = self.models.keys().map(ModelName::as_str).collect();
            let hint = if known.is_empty() {
                "the registry is empty: train one with `mlctl train`".to_owned()
            } else {
                format!("known models: {}", known.join(", "))
            };
            let suggestion = crate::suggest::hint(r.name.as_str(), known.iter().copied());
            Error::Registry(format!("no model named \"{}\"{suggestion} ({hint})", r.name))
        })?;
        let found = match &r.selector {
            Selector::Latest => entry.latest(),
            Selector::Version(v) => entry.get(v),
            Selector::Stage(s) => entry.in_stage(*s),
        };
        found.ok_or_else(|| {
            let versions: Vec<String> = entry.versions.iter().map(|v| format!("{} ({})", v.version, v.stage)).collect();
            let wanted = match &r.selector {
                Selector::Latest => "versions".to_owned(),
                Selector::Version(v) => format!("version {v}"),
                Selector::Stage(s) => format!("version in {s}"),
            };
            Error::Registry(format!("model \"{}\" has no {wanted}; it has: {}", r.name, versions.join(", ")))
        })
    }
}
