//! `ml_models/registry.json`, the source of truth: every model, its versions, their stages, and an append-only
//! event log (the audit trail). Every change goes through [`Store::transaction`]: under the registry lock,
//! read → change → atomic write → regenerate MODEL_REGISTRY.md, so parallel runs never lose an update or hand
//! out the same version twice.

use std::collections::BTreeMap;
use std::path::PathBuf;

use semver::Version;
use serde::{Deserialize, Serialize};

use super::atomic::{write_atomic, write_atomic_all};
use super::layout::{Layout, ModelName};
use super::lock::RegistryLock;
use super::version::Spec;
use crate::error::{Error, IoContext, Result};

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

/// The largest registry.json mlctl reads (about 60,000 versions with their audit trail); see README.
pub const MAX_REGISTRY_BYTES: u64 = 64 << 20;

/// The registry on disk: where it is and how to change it safely.
#[derive(Debug, Clone)]
pub struct Store {
    pub layout: Layout,
    pub markdown: PathBuf,
}

impl Store {
    pub fn new(layout: Layout, markdown: PathBuf) -> Self {
        Store { layout, markdown }
    }

    /// Reads registry.json; a missing file is an empty registry, a malformed one an error naming the file.
    pub fn load(&self) -> Result<Registry> {
        let path = self.layout.registry_file();
        let Some(text) = crate::registry::atomic::read_own_file(&path, MAX_REGISTRY_BYTES)? else {
            return Ok(Registry::default());
        };
        let registry: Registry = serde_json::from_slice(&text).map_err(|e| {
            Error::Registry(format!(
                "{}: not a valid registry ({e}); restore it from version control or a backup",
                path.display()
            ))
        })?;
        if let Err(broken) = registry.check_invariants() {
            return Err(Error::Registry(format!(
                "{}: {broken}; the registry was edited by hand or by another tool: fix it or restore it from version \
                 control or a backup",
                path.display()
            )));
        }
        if registry.format > REGISTRY_FORMAT {
            return Err(Error::Registry(format!(
                "{}: written by a newer mlctl (registry format {}); upgrade mlctl",
                path.display(),
                registry.format
            )));
        }
        Ok(registry)
    }

    /// Runs `change` on the registry under the lock and persists the result atomically, with the markdown view.
    /// If `change` fails nothing is written.
    pub fn transaction<T>(&self, on_wait: &dyn Fn(&str), change: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
        let _lock = RegistryLock::acquire(&self.layout.lock_file(), on_wait)?;
        let mut registry = self.load()?;
        let before = registry.clone();
        let out = match change(&mut registry) {
            Ok(out) => out,
            Err(e) => {
                self.heal_markdown(&before);
                return Err(e);
            }
        };
        self.save(&registry)?;
        Ok(out)
    }

    /// registry.json and MODEL_REGISTRY.md are written together (see `write_atomic_all`), but a kill between
    /// the two renames could still leave the markdown one change behind: the next transaction redraws it.
    fn heal_markdown(&self, registry: &Registry) {
        let markdown = super::markdown::render(registry);
        if std::fs::read_to_string(&self.markdown).ok().as_deref() != Some(markdown.as_str()) {
            let _ = write_atomic(&self.markdown, markdown.as_bytes());
        }
    }

    fn save(&self, registry: &Registry) -> Result<()> {
        let path = self.layout.registry_file();
        let mut json = serde_json::to_vec_pretty(registry).map_err(|e| Error::Registry(e.to_string()))?;
        json.push(b'\n');
        let markdown = super::markdown::render(registry);
        write_atomic_all(&[(&path, &json), (&self.markdown, markdown.as_bytes())])
    }

    /// Makes sure the registry folder exists (an empty project is valid).
    pub fn ensure_dir(&self) -> Result<()> {
        std::fs::create_dir_all(self.layout.root()).at(self.layout.root())
    }
}

/// Who made a change, for the audit trail: `MLCTL_USER`, `USER`, `LOGNAME`, then the account name of the
/// process's uid — cron and containers often set none of the variables, yet the account is known.
pub fn current_user() -> String {
    ["MLCTL_USER", "USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(account_name)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The login name of the real uid from the password database (NSS), if it has an entry.
#[cfg(unix)]
fn account_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: getpwuid_r writes only into `pwd`, `buf` (whose length is passed) and `result`, all owned here;
    // `pw_name` points into `buf`, which outlives its use below.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(libc::getuid(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        let name = std::ffi::CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned();
        Some(name).filter(|n| !n.is_empty())
    }
}

#[cfg(not(unix))]
fn account_name() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_refs_parse() {
        assert_eq!(ModelRef::parse("m").unwrap().selector, Selector::Latest);
        assert_eq!(ModelRef::parse("m@1.2.0").unwrap().selector, Selector::Version(Version::new(1, 2, 0)));
        assert_eq!(ModelRef::parse("m@production").unwrap().selector, Selector::Stage(Stage::Production));
        let err = ModelRef::parse("m@prod").unwrap_err().to_string();
        assert!(err.contains("expected a version"), "{err}");
        assert!(ModelRef::parse("../m@1.0.0").is_err());
    }
}
