//! The registry as a folder on this machine (`ml_models/` by default): a lock file serialises changes,
//! registry.json and MODEL_REGISTRY.md are replaced by renames, and a version's files are complete in a hidden
//! folder before one rename makes them visible.

use std::path::{Path, PathBuf};

use semver::Version;

use super::{Backend, CacheSlot, Committed, IndexRead, IndexTag, Placed, Source, StoredVersion, VersionFile};
use crate::error::{Error, IoContext, Result};
use crate::fs::{read_own_file, sync_dir, write_atomic, write_atomic_all};
use crate::registry::index::MAX_REGISTRY_BYTES;
use crate::registry::layout::{Layout, ModelName};
use crate::registry::location::Location;
use crate::registry::lock::RegistryLock;

#[derive(Debug, Clone)]
pub struct Folder {
    location: Location,
    pub layout: Layout,
    /// The project's MODEL_REGISTRY.md, written together with registry.json.
    markdown: PathBuf,
}

impl Folder {
    pub fn new(root: PathBuf, markdown: PathBuf) -> Self {
        Folder { location: Location::Folder(root.clone()), layout: Layout::new(root), markdown }
    }

    fn file_path(&self, name: &ModelName, version: &Version, file: &str) -> Result<PathBuf> {
        let path = self.layout.version_dir(name, version).join(file);
        self.layout.check_no_links(&path)?;
        Ok(path)
    }
}

impl Backend for Folder {
    fn location(&self) -> &Location {
        &self.location
    }

    fn lock(&self, on_wait: &dyn Fn(&str)) -> Result<Option<RegistryLock>> {
        RegistryLock::acquire(&self.layout.lock_file(), on_wait).map(Some)
    }

    fn read_index(&self) -> Result<IndexRead> {
        let bytes = read_own_file(&self.layout.registry_file(), MAX_REGISTRY_BYTES)?;
        Ok(IndexRead { bytes, tag: IndexTag::Locked })
    }

    fn write_index(&self, json: &[u8], markdown: &[u8], _base: &IndexTag) -> Result<Committed> {
        std::fs::create_dir_all(self.layout.root()).at(self.layout.root())?;
        write_atomic_all(&[(&self.layout.registry_file(), json), (&self.markdown, markdown)])?;
        Ok(Committed::Yes)
    }

    /// registry.json is replaced by a rename, so its inode changes with every write.
    fn index_stamp(&self) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(self.layout.registry_file()).ok()?;
        Some(format!("{}:{}:{:?}", meta.ino(), meta.len(), meta.modified().ok()?))
    }

    fn put_version(&self, name: &ModelName, version: &Version, files: &[VersionFile<'_>]) -> Result<Placed> {
        let layout = &self.layout;
        let model_dir = layout.model_dir(name);
        layout.check_no_links(&layout.version_dir(name, version))?;
        std::fs::create_dir_all(&model_dir).at(&model_dir)?;
        // The lock is held, so any incoming folder or unregistered version folder is debris of a killed run.
        remove_debris(&model_dir)?;
        let target = layout.version_dir(name, version);
        if target.exists() {
            std::fs::remove_dir_all(&target).at(&target)?;
        }
        let incoming = model_dir.join(format!(".incoming-{version}-{}", std::process::id()));
        std::fs::create_dir_all(&incoming).at(&incoming)?;
        for file in files {
            let path = incoming.join(file.name);
            match file.source {
                Source::Bytes(bytes) => write_atomic(&path, bytes)?,
                Source::File(from) => copy_synced(from, &path)?,
            }
        }
        std::fs::rename(&incoming, &target).at(&target)?;
        sync_dir(&model_dir);
        Ok(Placed::Yes)
    }

    fn remove_version(&self, name: &ModelName, version: &Version) -> Result<()> {
        let dir = self.layout.version_dir(name, version);
        self.layout.check_no_links(&dir)?;
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&dir, e)),
            _ => Ok(()),
        }
    }

    fn fetch(&self, name: &ModelName, version: &Version, file: &str, _cache: &CacheSlot) -> Result<Option<PathBuf>> {
        let path = self.file_path(name, version, file)?;
        Ok(path.exists().then_some(path))
    }

    fn file_size(&self, name: &ModelName, version: &Version, file: &str) -> Option<u64> {
        std::fs::metadata(self.layout.version_dir(name, version).join(file)).ok().map(|m| m.len())
    }

    fn delete_file(&self, name: &ModelName, version: &Version, file: &str) -> Result<u64> {
        let path = self.file_path(name, version, file)?;
        match std::fs::metadata(&path) {
            Ok(meta) => {
                std::fs::remove_file(&path).at(&path)?;
                Ok(meta.len())
            }
            Err(_) => Ok(0),
        }
    }

    fn list_versions(&self) -> Result<Vec<StoredVersion>> {
        let mut found = Vec::new();
        let root = self.layout.root();
        let Ok(models) = std::fs::read_dir(root) else { return Ok(found) };
        for model in models.flatten().filter(|e| e.path().is_dir()) {
            let Ok(name) = ModelName::parse(&model.file_name().to_string_lossy()) else { continue };
            for entry in std::fs::read_dir(model.path()).at(&model.path())?.flatten() {
                let Ok(version) = Version::parse(&entry.file_name().to_string_lossy()) else { continue };
                let (bytes, age_secs) = folder_size_and_age(&entry.path());
                found.push(StoredVersion { name: name.clone(), version, bytes, age_secs });
            }
        }
        Ok(found)
    }
}

fn folder_size_and_age(dir: &Path) -> (u64, u64) {
    let mut bytes = 0;
    let mut newest = std::time::UNIX_EPOCH;
    for meta in std::fs::read_dir(dir).into_iter().flatten().flatten().filter_map(|e| e.metadata().ok()) {
        bytes += meta.len();
        newest = newest.max(meta.modified().unwrap_or(std::time::UNIX_EPOCH));
    }
    let age = std::time::SystemTime::now().duration_since(newest).map_or(0, |d| d.as_secs());
    (bytes, age)
}

/// Copies `from` to `to` through a temp file that is synced before the rename, like every other write.
fn copy_synced(from: &Path, to: &Path) -> Result<()> {
    let tmp = crate::fs::temp_path(to);
    std::fs::copy(from, &tmp).at(from)?;
    let synced = std::fs::File::open(&tmp).and_then(|f| f.sync_all());
    if let Err(e) = synced.and_then(|()| std::fs::rename(&tmp, to)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(to, e));
    }
    Ok(())
}

fn remove_debris(model_dir: &Path) -> Result<()> {
    for entry in std::fs::read_dir(model_dir).at(model_dir)? {
        let entry = entry.at(model_dir)?;
        if entry.file_name().to_string_lossy().starts_with(".incoming-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    Ok(())
}
