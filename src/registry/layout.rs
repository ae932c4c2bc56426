//! Where a model's files live, and the names that may become paths. A model name is validated once, here, so
//! no name can escape `ml_models/` (no separators, no `..`, no leading dot).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub const MODEL_FILE: &str = "model.bin";
pub const METADATA_FILE: &str = "metadata.json";
pub const REGISTRY_FILE: &str = "registry.json";
pub const LOCK_FILE: &str = ".lock";

/// A validated model name: 1–64 of `A-Z a-z 0-9 _ - .`, starting with a letter or digit, no `..`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModelName(String);

impl ModelName {
    pub fn parse(name: &str) -> Result<Self> {
        let valid_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        let starts_well = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if name.is_empty() || name.len() > 64 || !valid_chars || !starts_well || name.contains("..") {
            return Err(Error::Config(format!(
                "invalid model name \"{name}\": use 1-64 letters, digits, '_', '-' or '.', starting with a letter or \
                 digit (no path separators, no \"..\")"
            )));
        }
        Ok(ModelName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ModelName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ModelName {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        ModelName::parse(&s)
    }
}

impl From<ModelName> for String {
    fn from(n: ModelName) -> String {
        n.0
    }
}

/// The paths of one registry (`<project>/ml_models`).
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(models_dir: impl Into<PathBuf>) -> Self {
        Layout { root: models_dir.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn registry_file(&self) -> PathBuf {
        self.root.join(REGISTRY_FILE)
    }

    pub fn lock_file(&self) -> PathBuf {
        self.root.join(LOCK_FILE)
    }

    pub fn model_dir(&self, name: &ModelName) -> PathBuf {
        self.root.join(name.as_str())
    }

    pub fn version_dir(&self, name: &ModelName, version: &semver::Version) -> PathBuf {
        self.model_dir(name).join(version.to_string())
    }

    pub fn artifact(&self, name: &ModelName, version: &semver::Version) -> PathBuf {
        self.version_dir(name, version).join(MODEL_FILE)
    }

    pub fn metadata(&self, name: &ModelName, version: &semver::Version) -> PathBuf {
        self.version_dir(name, version).join(METADATA_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_are_refused() {
        for bad in ["", "../x", "a/b", "a\\b", "..", ".hidden", "a..b", "/abs", "x y", &"a".repeat(65)] {
            assert!(ModelName::parse(bad).is_err(), "{bad:?} should be refused");
        }
        for good in ["skill_assignment", "m1", "churn-v2", "a.b"] {
            assert!(ModelName::parse(good).is_ok(), "{good:?} should be accepted");
        }
    }
}
