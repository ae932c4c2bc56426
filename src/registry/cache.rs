//! The local cache of a remote registry's files (`MLCTL_CACHE_DIR`, else `$XDG_CACHE_HOME/mlctl`, else
//! `~/.cache/mlctl`): one folder per version, named by its artifact's SHA-256, so a version is downloaded once
//! and a replaced artifact can never be mistaken for a cached one (model.bin is checked against the SHA on every
//! load all the same). It also keeps the registry record of every version loaded, so a pinned `NAME@X.Y.Z`
//! still loads when the store cannot be reached.

use std::path::PathBuf;

use super::backend::CacheSlot;
use super::catalog::VersionRecord;
use super::layout::ModelName;
use super::location::Location;

pub fn root() -> PathBuf {
    if let Some(dir) = std::env::var_os("MLCTL_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("mlctl");
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache").join("mlctl")
}

/// The folder for the version whose artifact has this SHA-256.
pub fn slot(artifact_sha256: &str) -> CacheSlot {
    // The SHA comes from registry.json: keep only hex digits so a hand-edited value cannot name another path.
    let clean: String = artifact_sha256.chars().filter(char::is_ascii_hexdigit).take(64).collect();
    CacheSlot { dir: root().join("artifacts").join(if clean.is_empty() { "unknown".to_owned() } else { clean }) }
}

fn record_path(location: &Location, name: &ModelName, version: &semver::Version) -> PathBuf {
    let id = crate::fs::sha256_hex(location.to_string().as_bytes());
    root().join("records").join(&id[..16]).join(name.as_str()).join(format!("{version}.json"))
}

/// Remembers a version's record after a successful load from a remote store. Best effort: a cache that cannot
/// be written costs only the offline fallback.
pub fn remember(location: &Location, name: &ModelName, record: &VersionRecord) {
    let path = record_path(location, name, &record.version);
    if let Ok(json) = serde_json::to_vec(record) {
        let _ = path.parent().map(std::fs::create_dir_all);
        let _ = crate::fs::write_atomic(&path, &json);
    }
}

/// The record remembered for `name@version` of the registry at `location`, if any.
pub fn recall(location: &Location, name: &ModelName, version: &semver::Version) -> Option<VersionRecord> {
    let bytes = std::fs::read(record_path(location, name, version)).ok()?;
    serde_json::from_slice(&bytes).ok()
}
