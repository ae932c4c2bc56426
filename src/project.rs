//! Project discovery and the paths inside a project.
//!
//! Like cargo and git, mlctl walks up from the current directory to the nearest `mlctl.toml`; without one the
//! current directory is the project. `--project DIR` overrides the walk.

use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "mlctl.toml";

#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
}

impl Project {
    /// The project at `explicit`, or the nearest ancestor of `cwd` holding mlctl.toml, or `cwd` itself.
    pub fn discover(explicit: Option<&Path>, cwd: &Path) -> Self {
        if let Some(dir) = explicit {
            return Project { root: absolute(dir, cwd) };
        }
        let found = cwd.ancestors().find(|dir| dir.join(CONFIG_FILE).is_file());
        Project { root: found.unwrap_or(cwd).to_path_buf() }
    }

    pub fn at(root: impl Into<PathBuf>) -> Self {
        Project { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    pub fn models_dir(&self) -> PathBuf {
        self.root.join("ml_models")
    }

    pub fn registry_markdown(&self) -> PathBuf {
        self.root.join("MODEL_REGISTRY.md")
    }

    pub fn prediction_logs_dir(&self) -> PathBuf {
        self.root.join("logs").join("predictions")
    }

    pub fn outcome_logs_dir(&self) -> PathBuf {
        self.root.join("logs").join("outcomes")
    }

    /// A path relative to the project root when it lies inside it (what we record in metadata, so a project can
    /// be moved or rsynced), else as given.
    pub fn relative<'a>(&self, path: &'a Path) -> std::borrow::Cow<'a, Path> {
        match path.strip_prefix(&self.root) {
            Ok(rel) => std::borrow::Cow::Owned(rel.to_path_buf()),
            Err(_) => std::borrow::Cow::Borrowed(path),
        }
    }
}

fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    }
}
