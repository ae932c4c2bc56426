//! `mlctl prune`: retention. Archives every version but the newest `keep` among those not in production or
//! staging (the versions serving or about to serve are never touched), and with `delete_files` removes the
//! archived versions' model.bin and reference.json while metadata.json and the whole history stay. The
//! registry records the deletion before any file goes, so an interrupted run leaves at worst a file the
//! registry no longer counts on, never a registered version whose file is missing unannounced.

use semver::Version;
use serde::Serialize;

use super::promote::{entry_mut, set_stage, Move};
use crate::drift::profile::REFERENCE_FILE;
use crate::error::{Error, Result};
use crate::registry::layout::MODEL_FILE;
use crate::registry::{ModelName, Stage, Store};
use crate::reporter::Reporter;

#[derive(Debug, Clone)]
pub struct PruneOptions {
    pub name: ModelName,
    pub keep: usize,
    pub delete_files: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub model: String,
    pub keep: usize,
    /// Versions kept as they were, newest first (production and staging included).
    pub kept: Vec<Version>,
    pub archived: Vec<Move>,
    /// Versions whose model files were deleted in this run.
    pub files_deleted: Vec<Version>,
    pub bytes_freed: u64,
}

pub fn prune(opts: &PruneOptions, store: &Store, reporter: &dyn Reporter) -> Result<PruneReport> {
    if opts.keep == 0 {
        return Err(Error::Config("--keep must be at least 1".to_owned()));
    }
    let name = &opts.name;
    let layout = &store.layout;
    let (mut report, doomed) = store.transaction(&|w| reporter.warn(w), |registry| {
        let entry = entry_mut(registry, name)?;
        let mut candidates: Vec<Version> = entry
            .versions
            .iter()
            .filter(|v| !matches!(v.stage, Stage::Production | Stage::Staging))
            .map(|v| v.version.clone())
            .collect();
        candidates.sort_by(|a, b| b.cmp(a));
        let old = candidates.split_off(opts.keep.min(candidates.len()));
        let mut kept: Vec<Version> =
            entry.versions.iter().map(|v| v.version.clone()).filter(|v| !old.contains(v)).collect();
        kept.sort_by(|a, b| b.cmp(a));

        let why = format!("retention: keep the newest {} versions outside production and staging", opts.keep);
        let mut archived = Vec::new();
        let mut doomed = Vec::new();
        for version in &old {
            let Some(record) = entry.versions.iter_mut().find(|r| &r.version == version) else { continue };
            let delete = opts.delete_files && !record.files_deleted;
            record.files_deleted |= delete;
            let was_archived = record.stage == Stage::Archived;
            let why = if delete { format!("{why}; model files deleted") } else { why.clone() };
            if !was_archived {
                archived.push(set_stage(entry, version, Stage::Archived, &why, Default::default())?);
            } else if delete {
                // No stage change, but the deletion belongs in the audit trail all the same.
                set_stage(entry, version, Stage::Archived, &why, Default::default())?;
            }
            if delete {
                doomed.push(version.clone());
            }
        }
        let report = PruneReport {
            model: name.to_string(),
            keep: opts.keep,
            kept,
            archived,
            files_deleted: doomed.clone(),
            bytes_freed: 0,
        };
        Ok((report, doomed))
    })?;
    // The registry already says these files are gone; now make it so.
    for version in &doomed {
        let dir = layout.version_dir(name, version);
        for file in [MODEL_FILE, REFERENCE_FILE] {
            let path = dir.join(file);
            layout.check_no_links(&path)?;
            let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            match std::fs::remove_file(&path) {
                Ok(()) => report.bytes_freed += size,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }
    Ok(report)
}
