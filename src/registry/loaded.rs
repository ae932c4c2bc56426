//! Loading a registered version: resolve the reference in registry.json, read `model.bin`, check its SHA-256
//! against the registry's record (a replaced file is refused even if it is a valid artifact; a matching one is
//! the file as written, so its own payload checksum needs no second look), and decode the bundle.

use std::path::{Path, PathBuf};

use super::index::{ModelRef, Registry, Store, VersionRecord};
use super::layout::{ModelName, MODEL_FILE};
use super::{artifact, cache, Selector};
use crate::error::{Error, IoContext, Result};
use crate::models::Bundle;

#[derive(Debug, Clone)]
pub struct LoadedModel {
    pub name: ModelName,
    pub record: VersionRecord,
    pub bundle: Bundle,
    pub path: PathBuf,
}

pub fn load(store: &Store, registry: &Registry, reference: &ModelRef) -> Result<LoadedModel> {
    let record = registry.resolve(reference)?.clone();
    load_record(store, &reference.name, record)
}

/// Loads `reference` reading the registry itself. When a remote registry cannot be read, a pinned `NAME@X.Y.Z`
/// loaded here before is still served from the cache (with `on_offline` told why); anything else fails.
pub fn load_reference(store: &Store, reference: &ModelRef, on_offline: &dyn Fn(&str)) -> Result<LoadedModel> {
    match store.load() {
        Ok(registry) => load(store, &registry, reference),
        Err(unreachable) => {
            let Selector::Version(version) = &reference.selector else { return Err(unreachable) };
            let remote = store.location().is_remote();
            let Some(record) = remote.then(|| cache::recall(store.location(), &reference.name, version)).flatten()
            else {
                return Err(unreachable);
            };
            on_offline(&format!(
                "the registry cannot be read ({unreachable}); using the cached {}@{version}",
                reference.name
            ));
            load_record(store, &reference.name, record)
        }
    }
}

pub fn load_record(store: &Store, name: &ModelName, record: VersionRecord) -> Result<LoadedModel> {
    let path = model_path(store, name, &record)?;
    match read_checked(&path, name, &record) {
        Err(e) if store.location().is_remote() => {
            // A cached copy that no longer matches (a damaged cache): fetch it once more from the store, whose
            // copy is then checked in the same way.
            let _ = std::fs::remove_file(&path);
            let path = model_path(store, name, &record)?;
            let bundle = read_checked(&path, name, &record).map_err(|_| e)?;
            cache::remember(store.location(), name, &record);
            Ok(LoadedModel { name: name.clone(), record, bundle, path })
        }
        Err(e) => Err(e),
        Ok(bundle) => {
            if store.location().is_remote() {
                cache::remember(store.location(), name, &record);
            }
            Ok(LoadedModel { name: name.clone(), record, bundle, path })
        }
    }
}

fn model_path(store: &Store, name: &ModelName, record: &VersionRecord) -> Result<PathBuf> {
    store.version_file(name, record, MODEL_FILE)?.ok_or_else(|| {
        Error::Registry(format!(
            "{name}@{} is registered but its model file is missing from {} (deleted by retention or by hand?)",
            record.version,
            store.location()
        ))
    })
}

fn read_checked(path: &Path, name: &ModelName, record: &VersionRecord) -> Result<Bundle> {
    let meta = std::fs::metadata(path).at(path)?;
    // A FIFO or device planted here would block the open or the read: only a regular file is a model file.
    if !meta.is_file() {
        return Err(Error::artifact(path, "is not a regular file; refusing to read it as a model"));
    }
    let len = meta.len();
    if len > artifact::MAX_ARTIFACT_BYTES {
        return Err(Error::artifact(path, format!("{len} bytes is larger than any mlctl model; refusing to load it")));
    }
    // Mapped, not read: copying a large forest's file into fresh memory delays everything after it.
    let file = std::fs::File::open(path).at(path)?;
    // SAFETY: the mapping is only read, by the hash and the decoding below, which copy what they need. mlctl never
    // writes a model file in place (a version is written to a temporary file and renamed in; retention unlinks,
    // which leaves a mapping intact), so only another program writing into the file during these milliseconds
    // could change the bytes under us. Then the hash check fails, a truncation ends the process (SIGBUS), or at
    // worst the decoder sees bytes the hash did not; the decoded model is still checked for consistency.
    let bytes = unsafe { memmap2::Mmap::map(&file) }.at(path)?;
    // The hash and the decoding side by side: for a large forest each takes tens of milliseconds, and the
    // decoded value is only used once the hash has matched.
    let (actual, decoded) =
        rayon::join(|| crate::fs::sha256_hex(&bytes), || artifact::decode_registered::<Bundle>(&bytes, path));
    if actual != record.artifact_sha256 {
        return Err(Error::artifact(
            path,
            format!(
                "the model file is corrupt or was replaced: its SHA-256 is {} but the registry recorded {} for {name}@{}",
                &actual[..12],
                record.artifact_sha256.get(..12).unwrap_or(&record.artifact_sha256),
                record.version
            ),
        ));
    }
    let bundle = decoded?;
    bundle.validate().map_err(|why| Error::artifact(path, format!("the model file is inconsistent: {why}")))?;
    Ok(bundle)
}

/// The production version of the same model when `loaded` is not it: the champion to compare against.
pub fn production_other_than<'a>(registry: &'a Registry, loaded: &LoadedModel) -> Option<&'a VersionRecord> {
    let prod = registry
        .resolve(&ModelRef { name: loaded.name.clone(), selector: Selector::Stage(super::Stage::Production) })
        .ok()?;
    (prod.version != loaded.record.version).then_some(prod)
}
