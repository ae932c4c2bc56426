//! A temporary project and a builder for running the real binary in it.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

pub struct TestProject {
    pub dir: tempfile::TempDir,
}

impl TestProject {
    pub fn new() -> Self {
        TestProject { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `mlctl` run from the project root, with a fixed clock and user so output is stable.
    pub fn mlctl(&self) -> Command {
        let mut cmd = Command::cargo_bin("mlctl").expect("binary built");
        cmd.current_dir(self.root())
            .env("MLCTL_TEST_NOW", "2026-01-02T03:04:05Z")
            .env("MLCTL_USER", "tester")
            .env_remove("NO_COLOR")
            // The output width comes from COLUMNS (else 100 off a terminal); a test that wants one sets it.
            .env_remove("COLUMNS");
        cmd
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Generates the sample dataset into `data/NAME.csv`.
    pub fn sample(&self, name: &str, rows: usize, seed: u64) -> String {
        let rel = format!("data/{name}.csv");
        self.mlctl()
            .args([
                "export",
                "--sample",
                "skill-assignment",
                "--rows",
                &rows.to_string(),
                "--seed",
                &seed.to_string(),
                "-o",
                &rel,
            ])
            .assert()
            .success();
        rel
    }

    /// Trains model `m` on `data` (target `success`) with a forest of `n_trees` trees; it must succeed.
    pub fn train_m(&self, data: &str, n_trees: u32) {
        self.mlctl()
            .args(["-q", "train", data, "--target", "success", "--name", "m", "--set"])
            .arg(format!("n_trees={n_trees}"))
            .assert()
            .success();
    }

    pub fn registry(&self) -> Value {
        let text = std::fs::read_to_string(self.path("ml_models/registry.json")).expect("registry.json exists");
        serde_json::from_str(&text).expect("registry.json is valid JSON")
    }

    /// Versions registered for `model`, in registration order.
    pub fn versions(&self, model: &str) -> Vec<String> {
        if !self.path("ml_models/registry.json").exists() {
            return Vec::new();
        }
        self.registry()["models"][model]["versions"]
            .as_array()
            .map(|vs| vs.iter().map(|v| v["version"].as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    }

    pub fn stderr_of(output: &std::process::Output) -> String {
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

/// The registry invariants every test ends with: at most one production and one staging version, every
/// version with files has them, and MODEL_REGISTRY.md agrees with registry.json.
pub fn assert_registry_valid(p: &TestProject) {
    let reg = p.registry();
    let md = std::fs::read_to_string(p.path("MODEL_REGISTRY.md")).unwrap();
    for (name, entry) in reg["models"].as_object().unwrap() {
        let versions = entry["versions"].as_array().unwrap();
        for stage in ["production", "staging"] {
            let n = versions.iter().filter(|v| v["stage"] == stage).count();
            assert!(n <= 1, "{name}: {n} versions in {stage}");
        }
        for v in versions {
            let version = v["version"].as_str().unwrap();
            let dir = p.path(&format!("ml_models/{name}/{version}"));
            assert!(dir.join("metadata.json").exists(), "{name}@{version} lost its metadata");
            if v.get("files_deleted") != Some(&Value::Bool(true)) {
                assert!(dir.join("model.bin").exists(), "{name}@{version} is registered without its model.bin");
            }
            let row = format!("| {version} | {} |", v["stage"].as_str().unwrap());
            assert!(md.contains(&row), "MODEL_REGISTRY.md lacks {row}");
        }
    }
}

/// Fast training flags for tests: a small forest.
pub const QUICK: &[&str] = &["--set", "n_trees=15"];
