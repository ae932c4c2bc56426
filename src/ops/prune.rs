//! `mlctl prune`: retention. Archives every version but the newest `keep` among those not in production or
//! staging (the versions serving or about to serve are never touched), and with `delete_files` removes the
//! archived versions' model.bin and reference.json while metadata.json and the whole history stay. The files of
//! a rollback target (the versions `promote --rollback` would go back to, as many as `keep`) are kept unless
//! `force`: a retention run must not take away the safety net. `dry_run` computes the same plan and changes
//! nothing. The registry records the deletion before any file goes, so an interrupted run leaves at worst a file
//! the registry no longer counts on, never a registered version whose file is missing unannounced.

use semver::Version;
use serde::Serialize;

use super::promote::{rollback_targets, set_stage, Move};
use crate::drift::profile::REFERENCE_FILE;
use crate::error::{Error, Result};
use crate::registry::index::ModelEntry;
use crate::registry::layout::MODEL_FILE;
use crate::registry::{ModelName, Stage, Store};
use crate::reporter::Reporter;

#[derive(Debug, Clone)]
pub struct PruneOptions {
    pub name: ModelName,
    pub keep: usize,
    pub delete_files: bool,
    /// Also delete the files of rollback targets.
    pub force: bool,
    /// Report what would be done, change nothing.
    pub dry_run: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub model: String,
    pub keep: usize,
    /// Nothing was changed: the report says what a run would do.
    pub dry_run: bool,
    /// Versions kept as they were, newest first (production and staging included).
    pub kept: Vec<Version>,
    pub archived: Vec<Move>,
    /// Versions whose model files were deleted in this run (would be, in a dry run).
    pub files_deleted: Vec<Version>,
    /// Versions whose files were kept although retention archived them: `promote --rollback` may need them
    /// (`--force` deletes them too).
    pub files_kept_for_rollback: Vec<Version>,
    pub bytes_freed: u64,
}

/// What a run does to one model, decided from its registry entry alone.
struct Plan {
    kept: Vec<Version>,
    /// Beyond `keep`, oldest last: archived (if not already), and their files deleted unless protected.
    old: Vec<Version>,
    delete: Vec<Version>,
    protected: Vec<Version>,
}

fn plan(entry: &ModelEntry, opts: &PruneOptions) -> Plan {
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

    let rollback: Vec<Version> = rollback_targets(entry).into_iter().take(opts.keep).collect();
    let with_files = |v: &&Version| entry.get(v).is_some_and(|r| !r.files_deleted);
    let (protected, delete) = if opts.delete_files {
        old.iter().filter(with_files).cloned().partition(|v| rollback.contains(v) && !opts.force)
    } else {
        (Vec::new(), Vec::new())
    };
    Plan { kept, old, delete, protected }
}

pub fn prune(opts: &PruneOptions, store: &Store, reporter: &dyn Reporter) -> Result<PruneReport> {
    if opts.keep == 0 {
        return Err(Error::Usage("--keep must be at least 1".to_owned()));
    }
    let name = &opts.name;
    if opts.dry_run {
        let mut registry = store.load()?;
        let entry = registry.entry_mut(name)?;
        let plan = plan(entry, opts);
        let archived = plan
            .old
            .iter()
            .filter_map(|v| entry.get(v))
            .filter(|r| r.stage != Stage::Archived)
            .map(|r| Move { version: r.version.clone(), from: r.stage, to: Stage::Archived })
            .collect();
        let bytes = plan.delete.iter().map(|v| files_size(store, name, v)).sum();
        return Ok(report(opts, plan, archived, bytes));
    }
    let (mut report, doomed) = store.transaction(&|w| reporter.warn(w), |registry| {
        let entry = registry.entry_mut(name)?;
        let plan = plan(entry, opts);
        let why = format!("retention: keep the newest {} versions outside production and staging", opts.keep);
        let mut archived = Vec::new();
        for version in &plan.old {
            let Some(record) = entry.versions.iter_mut().find(|r| &r.version == version) else { continue };
            let delete = plan.delete.contains(version);
            record.files_deleted |= delete;
            let was_archived = record.stage == Stage::Archived;
            let why = if delete { format!("{why}; model files deleted") } else { why.clone() };
            if !was_archived {
                archived.push(set_stage(entry, version, Stage::Archived, &why, Default::default())?);
            } else if delete {
                // No stage change, but the deletion belongs in the audit trail all the same.
                set_stage(entry, version, Stage::Archived, &why, Default::default())?;
            }
        }
        let doomed = plan.delete.clone();
        Ok((report(opts, plan, archived, 0), doomed))
    })?;
    // The registry already says these files are gone; now make it so.
    for version in &doomed {
        report.bytes_freed += delete_files(store, name, version)?;
    }
    Ok(report)
}

fn report(opts: &PruneOptions, plan: Plan, archived: Vec<Move>, bytes_freed: u64) -> PruneReport {
    PruneReport {
        model: opts.name.to_string(),
        keep: opts.keep,
        dry_run: opts.dry_run,
        kept: plan.kept,
        archived,
        files_deleted: plan.delete,
        files_kept_for_rollback: plan.protected,
        bytes_freed,
    }
}

/// The bytes a deletion would free: the files that are there.
fn files_size(store: &Store, name: &ModelName, version: &Version) -> u64 {
    [MODEL_FILE, REFERENCE_FILE].iter().filter_map(|f| store.backend().file_size(name, version, f)).sum()
}

/// Deletes one version's model files; returns the bytes freed.
fn delete_files(store: &Store, name: &ModelName, version: &Version) -> Result<u64> {
    let mut freed = 0;
    for file in [MODEL_FILE, REFERENCE_FILE] {
        freed += store.backend().delete_file(name, version, file)?;
    }
    Ok(freed)
}

/// A version folder in the store that registry.json does not name: an upload that was never published.
#[derive(Debug, Clone, Serialize)]
pub struct Orphan {
    pub model: String,
    pub version: Version,
    pub bytes: u64,
    pub age_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OrphanReport {
    pub registry: String,
    pub dry_run: bool,
    pub older_than_secs: u64,
    pub removed: Vec<Orphan>,
    /// Unpublished but younger than `older_than`: possibly an upload still in progress, left alone.
    pub too_young: Vec<Orphan>,
    pub bytes_freed: u64,
}

/// `prune --orphans`: finds version folders the registry does not name (a run killed between uploading and
/// publishing) and removes those older than `older_than` — a younger one may be another machine's upload that
/// is about to be published.
pub fn prune_orphans(store: &Store, older_than: std::time::Duration, dry_run: bool) -> Result<OrphanReport> {
    let registry = store.load()?;
    let stored = store.backend().list_versions()?;
    let unpublished =
        stored.into_iter().filter(|s| registry.models.get(&s.name).is_none_or(|entry| entry.get(&s.version).is_none()));
    let mut report = OrphanReport {
        registry: store.location().to_string(),
        dry_run,
        older_than_secs: older_than.as_secs(),
        removed: Vec::new(),
        too_young: Vec::new(),
        bytes_freed: 0,
    };
    for found in unpublished {
        let orphan = Orphan {
            model: found.name.to_string(),
            version: found.version.clone(),
            bytes: found.bytes,
            age_secs: found.age_secs,
        };
        if found.age_secs < older_than.as_secs() {
            report.too_young.push(orphan);
            continue;
        }
        if !dry_run {
            // Checked again just before: a version published since the listing is not an orphan.
            let now = store.load()?;
            if now.models.get(&found.name).is_some_and(|e| e.get(&found.version).is_some()) {
                continue;
            }
            store.backend().remove_version(&found.name, &found.version)?;
            report.bytes_freed += found.bytes;
        }
        report.removed.push(orphan);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model whose versions went 1.0.0 → 1.1.0 → 1.2.0 through production (1.2.0 there now), with 1.3.0 and
    /// 1.4.0 trained since; `deleted` versions have had their files removed.
    fn entry(deleted: &[&str]) -> ModelEntry {
        let record = |v: &str, stage: &str| {
            serde_json::json!({
                "version": v, "stage": stage, "created_at": "2026-01-01T00:00:00Z",
                "spec": {"task": "classification", "target": "y", "features": [], "algorithm": "random-forest",
                         "params": {}},
                "metrics": {}, "dataset": {"path": "d.csv", "sha256": "00", "rows": 1},
                "artifact_sha256": "00", "seed": 42, "files_deleted": deleted.contains(&v),
            })
        };
        let event = |v: &str, to: &str| {
            serde_json::json!({"at": "2026-01-01T00:00:00Z", "user": "t", "version": v, "from": null, "to": to,
                               "reason": "r"})
        };
        serde_json::from_value(serde_json::json!({
            "versions": [record("1.0.0", "archived"), record("1.1.0", "archived"), record("1.2.0", "production"),
                         record("1.3.0", "development"), record("1.4.0", "development")],
            "events": [event("1.0.0", "production"), event("1.1.0", "production"), event("1.0.0", "production"),
                       event("1.2.0", "production")],
        }))
        .unwrap()
    }

    fn opts(keep: usize, force: bool) -> PruneOptions {
        PruneOptions { name: ModelName::parse("m").unwrap(), keep, delete_files: true, force, dry_run: false }
    }

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn rollback_targets_are_earlier_production_versions_most_recent_first_once_each() {
        assert_eq!(rollback_targets(&entry(&[])), [v("1.0.0"), v("1.1.0")]);
        assert_eq!(rollback_targets(&entry(&["1.0.0"])), [v("1.1.0")], "no files, no rollback to it");
    }

    #[test]
    fn the_plan_keeps_the_files_of_as_many_rollback_targets_as_it_keeps_versions() {
        let plan = plan(&entry(&[]), &opts(1, false));
        assert_eq!(plan.old, [v("1.3.0"), v("1.1.0"), v("1.0.0")]);
        assert_eq!(plan.protected, [v("1.0.0")], "the one rollback would restore");
        assert_eq!(plan.delete, [v("1.3.0"), v("1.1.0")]);
        let plan = super::plan(&entry(&[]), &opts(2, false));
        assert_eq!(plan.protected, [v("1.1.0"), v("1.0.0")]);
        assert_eq!(plan.delete, Vec::<Version>::new());
        let forced = super::plan(&entry(&[]), &opts(1, true));
        assert!(forced.protected.is_empty() && forced.delete.len() == 3);
    }
}
