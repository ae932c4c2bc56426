//! `ml_models/registry.json`, the source of truth: every model, its versions, their stages, and an append-only
//! event log (the audit trail). Every change goes through [`Store::transaction`]: under the registry lock,
//! read → change → atomic write → regenerate MODEL_REGISTRY.md, so parallel runs never lose an update or hand
//! out the same version twice.

use std::path::PathBuf;
use std::sync::Arc;

use semver::Version;

use super::backend::{Backend, Committed, Folder, IndexTag, ObjectStore, SharedBackend};
use super::layout::{Layout, ModelName};
use super::location::Location;
use crate::error::{Error, IoContext, Result};
use crate::fs::write_atomic;

pub use super::catalog::{
    DatasetRef, Event, ModelEntry, ModelRef, Registry, Selector, Stage, VersionRecord, REGISTRY_FORMAT,
};

/// The largest registry.json mlctl reads (about 60,000 versions with their audit trail); see README.
pub const MAX_REGISTRY_BYTES: u64 = 64 << 20;

/// The registry: where it is and how to change it safely. The store under it is a folder or a bucket
/// ([`Backend`]); nothing here or above knows which.
#[derive(Debug, Clone)]
pub struct Store {
    backend: SharedBackend,
    /// The project's MODEL_REGISTRY.md, redrawn with every change.
    pub markdown: PathBuf,
    /// Whether a remote registry's changes are also drawn into `markdown` (not for a registry being copied).
    mirror_markdown: bool,
}

/// How many times a change is redone after losing a race for registry.json before giving up.
const MAX_ATTEMPTS: u32 = 30;

impl Store {
    /// The registry in the folder `layout`.
    pub fn new(layout: Layout, markdown: PathBuf) -> Self {
        let folder = Folder::new(layout.root().to_path_buf(), markdown.clone());
        Store { backend: Arc::new(folder), markdown, mirror_markdown: true }
    }

    /// A registry on its own, outside any project (`registry copy`): a folder keeps its MODEL_REGISTRY.md inside.
    pub fn open_standalone(location: &Location) -> Result<Self> {
        match location {
            Location::Folder(root) => Ok(Store::new(Layout::new(root.clone()), root.join("MODEL_REGISTRY.md"))),
            Location::S3 { .. } => {
                Ok(Store { mirror_markdown: false, ..Store::open(location, PathBuf::from("MODEL_REGISTRY.md"))? })
            }
        }
    }

    pub fn open(location: &Location, markdown: PathBuf) -> Result<Self> {
        match location {
            Location::Folder(root) => Ok(Store::new(Layout::new(root.clone()), markdown)),
            Location::S3 { bucket, prefix } => {
                Ok(Store { backend: Arc::new(ObjectStore::new(bucket, prefix)?), markdown, mirror_markdown: true })
            }
        }
    }

    pub fn location(&self) -> &Location {
        self.backend.location()
    }

    pub fn backend(&self) -> &dyn Backend {
        self.backend.as_ref()
    }

    /// Reads registry.json; a missing file is an empty registry, a malformed one an error naming the file.
    pub fn load(&self) -> Result<Registry> {
        self.load_tagged().map(|(registry, _)| registry)
    }

    fn load_tagged(&self) -> Result<(Registry, IndexTag)> {
        let read = self.backend.read_index()?;
        let Some(text) = read.bytes else { return Ok((Registry::default(), read.tag)) };
        let file = self.index_name();
        let registry: Registry = serde_json::from_slice(&text).map_err(|e| {
            Error::Registry(format!("{file}: not a valid registry ({e}); restore it from version control or a backup"))
        })?;
        if let Err(broken) = registry.check_invariants() {
            return Err(Error::Registry(format!(
                "{file}: {broken}; the registry was edited by hand or by another tool: fix it or restore it from version \
                 control or a backup"
            )));
        }
        if registry.format > REGISTRY_FORMAT {
            return Err(Error::Registry(format!(
                "{file}: written by a newer mlctl (registry format {}); upgrade mlctl",
                registry.format
            )));
        }
        Ok((registry, read.tag))
    }

    /// registry.json's name for messages: its path, or its URL in a bucket.
    fn index_name(&self) -> String {
        match self.location() {
            Location::Folder(root) => root.join(super::layout::REGISTRY_FILE).display().to_string(),
            remote => format!("{remote}/{}", super::layout::REGISTRY_FILE),
        }
    }

    /// Runs `change` on the registry and persists the result with the markdown view: under the lock in a folder;
    /// in a bucket by a conditional write, redoing `change` on a fresh read (with a jittered pause) whenever
    /// another writer got there first. If `change` fails nothing is written.
    pub fn transaction<T>(
        &self,
        on_wait: &dyn Fn(&str),
        mut change: impl FnMut(&mut Registry) -> Result<T>,
    ) -> Result<T> {
        let _lock = self.backend.lock(on_wait)?;
        for attempt in 0..MAX_ATTEMPTS {
            let (mut registry, tag) = self.load_tagged()?;
            let before = registry.clone();
            let out = match change(&mut registry) {
                Ok(out) => out,
                Err(e) => {
                    self.heal_markdown(&before);
                    return Err(e);
                }
            };
            let mut json = serde_json::to_vec_pretty(&registry).map_err(|e| Error::Registry(e.to_string()))?;
            json.push(b'\n');
            let markdown = super::markdown::render(&registry);
            match self.backend.write_index(&json, markdown.as_bytes(), &tag)? {
                Committed::Yes => {
                    if self.location().is_remote() && self.mirror_markdown {
                        let _ = write_atomic(&self.markdown, markdown.as_bytes());
                    }
                    return Ok(out);
                }
                Committed::Conflict => std::thread::sleep(backoff(attempt)),
            }
        }
        Err(Error::Registry(format!(
            "{}: changed by other writers {MAX_ATTEMPTS} times in a row while this change was being made; try again",
            self.index_name()
        )))
    }

    /// registry.json and MODEL_REGISTRY.md are written together, but a kill between the two could still leave
    /// the markdown one change behind: the next transaction redraws the project's copy.
    fn heal_markdown(&self, registry: &Registry) {
        if !self.mirror_markdown {
            return;
        }
        let markdown = super::markdown::render(registry);
        if std::fs::read_to_string(&self.markdown).ok().as_deref() != Some(markdown.as_str()) {
            let _ = write_atomic(&self.markdown, markdown.as_bytes());
        }
    }

    /// Makes sure a folder registry's folder exists (an empty project is valid); nothing to do in a bucket.
    pub fn ensure_dir(&self) -> Result<()> {
        match self.location() {
            Location::Folder(root) => std::fs::create_dir_all(root).at(root),
            Location::S3 { .. } => Ok(()),
        }
    }

    /// A local path holding one file of a registered version (downloaded once into the cache when the registry
    /// is remote); None when the version has no such file.
    pub fn version_file(&self, name: &ModelName, record: &VersionRecord, file: &str) -> Result<Option<PathBuf>> {
        let slot = super::cache::slot(&record.artifact_sha256);
        self.backend.fetch(name, &record.version, file, &slot)
    }

    /// Where a version's file is kept, for messages and reports: a path, or a URL in a bucket.
    pub fn file_location(&self, name: &ModelName, version: &Version, file: &str) -> PathBuf {
        match self.location() {
            Location::Folder(root) => Layout::new(root.clone()).version_dir(name, version).join(file),
            remote => PathBuf::from(format!("{remote}/{name}/{version}/{file}")),
        }
    }

    /// A version's metadata.json.
    pub fn metadata(&self, name: &ModelName, record: &VersionRecord) -> Result<super::metadata::Metadata> {
        super::metadata::Metadata::read(&self.require_file(name, record, super::layout::METADATA_FILE)?)
    }

    /// Like [`Store::version_file`], but a missing file is an error naming the version.
    pub fn require_file(&self, name: &ModelName, record: &VersionRecord, file: &str) -> Result<PathBuf> {
        self.version_file(name, record, file)?.ok_or_else(|| {
            Error::Registry(format!(
                "{name}@{}: its {file} is missing from {} (deleted by retention or by hand?)",
                record.version,
                self.location()
            ))
        })
    }
}

/// The pause before redoing a change that lost a race: growing, and jittered so racing writers spread out.
fn backoff(attempt: u32) -> std::time::Duration {
    let base_ms = 20u64 << attempt.min(6);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let jitter = u64::from(nanos ^ std::process::id().wrapping_mul(2_654_435_761)) % base_ms.max(1);
    std::time::Duration::from_millis(base_ms / 2 + jitter)
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

#[cfg(test)]
mod transaction_tests {
    use std::sync::Mutex;

    use super::*;
    use crate::registry::backend::{CacheSlot, IndexRead, Placed, StoredVersion, VersionFile};
    use crate::registry::lock::RegistryLock;

    /// A store with conditional writes whose registry.json another writer changes once, between this writer's
    /// read and its write.
    #[derive(Debug)]
    struct Racy {
        location: Location,
        state: Mutex<(Option<Vec<u8>>, u32)>,
        interloper: Mutex<Option<Vec<u8>>>,
    }

    impl Backend for Racy {
        fn location(&self) -> &Location {
            &self.location
        }
        fn lock(&self, _: &dyn Fn(&str)) -> Result<Option<RegistryLock>> {
            Ok(None)
        }
        fn read_index(&self) -> Result<IndexRead> {
            let state = self.state.lock().unwrap();
            let bytes = state.0.clone();
            let tag = if bytes.is_some() { IndexTag::Etag(state.1.to_string()) } else { IndexTag::Absent };
            // The other writer lands right after this read.
            drop(state);
            if let Some(theirs) = self.interloper.lock().unwrap().take() {
                let mut state = self.state.lock().unwrap();
                *state = (Some(theirs), state.1 + 1);
            }
            Ok(IndexRead { bytes, tag })
        }
        fn write_index(&self, json: &[u8], _: &[u8], base: &IndexTag) -> Result<Committed> {
            let mut state = self.state.lock().unwrap();
            let current = if state.0.is_some() { IndexTag::Etag(state.1.to_string()) } else { IndexTag::Absent };
            if &current != base {
                return Ok(Committed::Conflict);
            }
            *state = (Some(json.to_vec()), state.1 + 1);
            Ok(Committed::Yes)
        }
        fn index_stamp(&self) -> Option<String> {
            None
        }
        fn put_version(&self, _: &ModelName, _: &Version, _: &[VersionFile<'_>]) -> Result<Placed> {
            Ok(Placed::Yes)
        }
        fn remove_version(&self, _: &ModelName, _: &Version) -> Result<()> {
            Ok(())
        }
        fn fetch(&self, _: &ModelName, _: &Version, _: &str, _: &CacheSlot) -> Result<Option<PathBuf>> {
            Ok(None)
        }
        fn file_size(&self, _: &ModelName, _: &Version, _: &str) -> Option<u64> {
            None
        }
        fn delete_file(&self, _: &ModelName, _: &Version, _: &str) -> Result<u64> {
            Ok(0)
        }
        fn list_versions(&self) -> Result<Vec<StoredVersion>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn a_lost_race_redoes_the_change_on_the_other_writers_registry() {
        let theirs = Registry {
            models: [(ModelName::parse("theirs").unwrap(), ModelEntry::default())].into_iter().collect(),
            ..Registry::default()
        };
        let racy = Racy {
            location: Location::S3 { bucket: "b".into(), prefix: String::new() },
            state: Mutex::new((None, 0)),
            interloper: Mutex::new(Some(serde_json::to_vec(&theirs).unwrap())),
        };
        let dir = tempfile::tempdir().unwrap();
        let store = Store { backend: Arc::new(racy), markdown: dir.path().join("M.md"), mirror_markdown: false };
        let mut runs = 0;
        store
            .transaction(&|_| {}, |registry| {
                runs += 1;
                registry.models.insert(ModelName::parse("ours").unwrap(), ModelEntry::default());
                Ok(())
            })
            .unwrap();
        assert_eq!(runs, 2, "the first attempt lost the race and was redone");
        let names: Vec<String> = store.load().unwrap().models.keys().map(ToString::to_string).collect();
        assert_eq!(names, ["ours", "theirs"], "both changes survive");
    }
}
