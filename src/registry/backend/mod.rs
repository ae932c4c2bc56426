//! The store under the registry: one trait, two backends — a folder on this machine and a bucket on
//! S3-compatible storage. The registry logic above it (versions, stages, the audit trail, transactions) never
//! knows which. The contract that keeps a shared registry whole without a lock server:
//! - a version's files are written first, under the version's key, and never rewritten;
//! - only then is the version published, by a write of registry.json that succeeds only if nobody else changed it
//!   since it was read (the folder backend holds a lock instead, so its writes never conflict);
//! - so registry.json never names a missing file, whatever is killed when.

mod folder;
mod object;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use semver::Version;

pub use self::folder::Folder;
pub use self::object::ObjectStore;
use super::layout::ModelName;
use super::location::Location;
use super::lock::RegistryLock;
use crate::error::Result;

/// Which registry.json a change was based on: what a conditional write must still find there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexTag {
    /// There was none: the write must create it.
    Absent,
    /// The store's entity tag of the copy read.
    Etag(String),
    /// The folder backend: the lock, not a tag, keeps the write safe.
    Locked,
}

#[derive(Debug)]
pub struct IndexRead {
    pub bytes: Option<Vec<u8>>,
    pub tag: IndexTag,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    Yes,
    /// Someone else changed registry.json since it was read: read again and redo the change.
    Conflict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    Yes,
    /// Files under this version's key already exist (another writer's upload in flight, or one that was never
    /// published): choose another version.
    Taken,
}

/// Where a file's bytes come from: memory (a fresh training run) or a local file (copying a registry).
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    Bytes(&'a [u8]),
    File(&'a Path),
}

#[derive(Debug, Clone, Copy)]
pub struct VersionFile<'a> {
    pub name: &'static str,
    pub source: Source<'a>,
}

/// A version's folder found in the store, published or not.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub name: ModelName,
    pub version: Version,
    pub bytes: u64,
    /// Seconds since its newest file was written.
    pub age_secs: u64,
}

pub trait Backend: Send + Sync + std::fmt::Debug {
    fn location(&self) -> &Location;

    /// Exclusive access for one transaction where the backend has a lock (the folder); None where conditional
    /// writes keep changes apart.
    fn lock(&self, on_wait: &dyn Fn(&str)) -> Result<Option<RegistryLock>>;

    fn read_index(&self) -> Result<IndexRead>;

    /// Writes registry.json (if it is still `base`) and the MODEL_REGISTRY.md beside it.
    fn write_index(&self, json: &[u8], markdown: &[u8], base: &IndexTag) -> Result<Committed>;

    /// Something that changes whenever registry.json does (what `serve` polls); None when it cannot be read.
    fn index_stamp(&self) -> Option<String>;

    /// Writes a new version's files, create-only. `metadata.json` goes first: it is the version's reservation.
    fn put_version(&self, name: &ModelName, version: &Version, files: &[VersionFile<'_>]) -> Result<Placed>;

    /// Removes a version's folder: an upload that was not published, or an orphan.
    fn remove_version(&self, name: &ModelName, version: &Version) -> Result<()>;

    /// A local path holding `file` of the version, downloaded into `cache` first when the store is remote;
    /// None when the store has no such file.
    fn fetch(&self, name: &ModelName, version: &Version, file: &str, cache: &CacheSlot) -> Result<Option<PathBuf>>;

    /// The size of a stored file, if it is there.
    fn file_size(&self, name: &ModelName, version: &Version, file: &str) -> Option<u64>;

    /// Deletes one stored file; returns the bytes freed (0 if it was not there).
    fn delete_file(&self, name: &ModelName, version: &Version, file: &str) -> Result<u64>;

    /// Every version folder in the store, for finding those registry.json does not name.
    fn list_versions(&self) -> Result<Vec<StoredVersion>>;
}

/// Where a remote version's files are kept on this machine: a folder named by the version's artifact SHA-256,
/// so one download serves every later run, and a changed artifact can never be mistaken for a cached one.
#[derive(Debug, Clone)]
pub struct CacheSlot {
    pub dir: PathBuf,
}

pub type SharedBackend = Arc<dyn Backend>;
