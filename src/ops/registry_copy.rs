//! `mlctl registry copy FROM TO`: a whole registry, from a folder to a bucket or back (or bucket to bucket).
//! Every version's files are copied first, model.bin checked against the SHA-256 the registry recorded before
//! it goes and after it lands; registry.json is written last, so an interrupted copy leaves TO without a
//! registry (its files are then orphans `prune --orphans` removes) rather than with one naming missing files.
//! Files stream through disk a part at a time: copying a forest of hundreds of megabytes keeps memory flat.

use std::io::Read;
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::data::fingerprint::FINGERPRINT_FILE;
use crate::drift::profile::REFERENCE_FILE;
use crate::error::{Error, IoContext, Result};
use crate::registry::backend::{Placed, Source, VersionFile};
use crate::registry::index::{Registry, VersionRecord};
use crate::registry::layout::{METADATA_FILE, MODEL_FILE};
use crate::registry::{ModelName, Store};
use crate::reporter::Reporter;

#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    pub from: String,
    pub to: String,
    pub models: usize,
    pub versions: usize,
    pub files: usize,
    pub bytes: u64,
}

pub fn copy(from: &Store, to: &Store, reporter: &dyn Reporter) -> Result<CopyReport> {
    let registry = from.load()?;
    refuse_non_empty(to)?;
    let mut report = CopyReport {
        from: from.location().to_string(),
        to: to.location().to_string(),
        models: registry.models.len(),
        versions: 0,
        files: 0,
        bytes: 0,
    };
    for (name, entry) in &registry.models {
        for record in &entry.versions {
            reporter.phase(&format!("copying {name}@{}", record.version));
            let (files, bytes) = copy_version(from, to, name, record)?;
            report.versions += 1;
            report.files += files;
            report.bytes += bytes;
        }
    }
    let copied: Registry = registry.clone();
    to.transaction(&|w| reporter.warn(w), |target| {
        if !target.models.is_empty() {
            return Err(Error::Registry(format!("{}: a registry appeared there during the copy", to.location())));
        }
        *target = copied.clone();
        Ok(())
    })?;
    Ok(report)
}

fn refuse_non_empty(to: &Store) -> Result<()> {
    let existing = to.load()?;
    if existing.models.is_empty() {
        return Ok(());
    }
    Err(Error::Registry(format!(
        "{} already holds a registry ({} model(s)); copy only into an empty location",
        to.location(),
        existing.models.len()
    )))
}

/// Copies one version's files; returns how many and their bytes.
fn copy_version(from: &Store, to: &Store, name: &ModelName, record: &VersionRecord) -> Result<(usize, u64)> {
    let who = format!("{name}@{}", record.version);
    let mut local = Vec::new();
    for file in [METADATA_FILE, MODEL_FILE, REFERENCE_FILE, FINGERPRINT_FILE] {
        match from.version_file(name, record, file)? {
            Some(path) => local.push((file, path)),
            None if file == METADATA_FILE || (file == MODEL_FILE && !record.files_deleted) => {
                return Err(Error::Registry(format!("{who}: its {file} is missing from {}", from.location())))
            }
            None => {}
        }
    }
    if let Some((_, model)) = local.iter().find(|(f, _)| *f == MODEL_FILE) {
        check_sha(model, record, &format!("{who} in {}", from.location()))?;
    }
    let files: Vec<VersionFile<'_>> =
        local.iter().map(|(file, path)| VersionFile { name: file, source: Source::File(path) }).collect();
    if to.backend().put_version(name, &record.version, &files)? == Placed::Taken {
        return Err(Error::Registry(format!("{who}: {} already has files for this version", to.location())));
    }
    if local.iter().any(|(f, _)| *f == MODEL_FILE) {
        // Read back from TO: what landed is what the registry will promise. A cached copy would prove nothing.
        if to.location().is_remote() {
            let _ = std::fs::remove_file(crate::registry::cache::slot(&record.artifact_sha256).dir.join(MODEL_FILE));
        }
        let landed = to
            .version_file(name, record, MODEL_FILE)?
            .ok_or_else(|| Error::Registry(format!("{who}: model.bin is not in {} after the copy", to.location())))?;
        check_sha(&landed, record, &format!("{who} in {}", to.location()))?;
    }
    let bytes = local.iter().filter_map(|(_, p)| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    Ok((local.len(), bytes))
}

fn check_sha(path: &Path, record: &VersionRecord, whose: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual == record.artifact_sha256 {
        return Ok(());
    }
    Err(Error::artifact(
        path,
        format!(
            "model.bin of {whose} is corrupt or was replaced: its SHA-256 is {} but the registry recorded {}",
            &actual[..12],
            record.artifact_sha256.get(..12).unwrap_or(&record.artifact_sha256)
        ),
    ))
}

/// The SHA-256 of a file, read a megabyte at a time.
fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).at(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).at(path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(crate::fs::hex(&hasher.finalize()))
}
