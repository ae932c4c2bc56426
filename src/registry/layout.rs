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

    /// Refuses `path` if anything between the registry root and it (itself included) is a symbolic link: a
    /// link planted in ml_models/ could otherwise make mlctl read or write outside the project. The root itself
    /// may be a link (ml_models on another disk is a fair setup). Parts that do not exist yet are fine.
    pub fn check_no_links(&self, path: &Path) -> Result<()> {
        let Ok(inside) = path.strip_prefix(&self.root) else {
            return Err(Error::Registry(format!("{} is outside the registry {}", path.display(), self.root.display())));
        };
        let mut at = self.root.clone();
        for part in inside.components() {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Error::Registry(format!(
                        "{} is a symbolic link; mlctl does not follow links inside the registry (they could point \
                         outside the project): replace it with the real folder or file",
                        at.display()
                    )))
                }
                Ok(_) => {}
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn links_inside_the_registry_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path().join("ml_models"));
        let name = ModelName::parse("m").unwrap();
        let v = semver::Version::new(1, 0, 0);
        assert!(layout.check_no_links(&layout.artifact(&name, &v)).is_ok(), "nothing exists yet");
        std::fs::create_dir_all(layout.root()).unwrap();
        std::os::unix::fs::symlink(dir.path(), layout.model_dir(&name)).unwrap();
        let err = layout.check_no_links(&layout.artifact(&name, &v)).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(layout.check_no_links(std::path::Path::new("/etc/passwd")).is_err());
    }

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
