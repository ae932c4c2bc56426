//! The registry in a bucket of S3-compatible storage (`s3://BUCKET/PREFIX`), through Apache Arrow's
//! object_store. Keys mirror the folder layout: `PREFIX/registry.json`, `PREFIX/MODEL_REGISTRY.md`,
//! `PREFIX/NAME/VERSION/FILE`. registry.json changes only by a conditional write (If-Match on the ETag read, or
//! If-None-Match for the first one); version files are create-only, `metadata.json` first as the version's
//! reservation. Files are read through a local cache folder named by the version's artifact SHA-256.
//! Settings and credentials come from the usual AWS_* environment; no message ever carries a credential.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{
    ClientOptions, ObjectStore as _, ObjectStoreExt as _, PutMode, PutOptions, PutPayload, RetryConfig, UpdateVersion,
    WriteMultipart,
};
use semver::Version;

use super::{Backend, CacheSlot, Committed, IndexRead, IndexTag, Placed, Source, StoredVersion, VersionFile};
use crate::error::{Error, IoContext, Result};
use crate::registry::index::MAX_REGISTRY_BYTES;
use crate::registry::layout::{ModelName, METADATA_FILE, REGISTRY_FILE};
use crate::registry::location::Location;
use crate::registry::lock::RegistryLock;

const MARKDOWN_FILE: &str = "MODEL_REGISTRY.md";
/// Files above this go up in parts of this size, read from disk or memory a part at a time.
const PART_BYTES: usize = 16 << 20;

#[derive(Debug, Clone)]
pub struct ObjectStore {
    location: Location,
    prefix: String,
    /// Where requests go, for messages (the endpoint URL holds no credentials).
    endpoint: String,
    store: Arc<AmazonS3>,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl ObjectStore {
    pub fn new(bucket: &str, prefix: &str) -> Result<Self> {
        install_crypto();
        let location = Location::S3 { bucket: bucket.to_owned(), prefix: prefix.to_owned() };
        let endpoint = endpoint_from_env();
        let client = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(env_secs("MLCTL_S3_CONNECT_TIMEOUT", 5)))
            .with_timeout(Duration::from_secs(env_secs("MLCTL_S3_TIMEOUT", 300)));
        // A handful of quick retries: an unreachable store should fail in seconds, not after object_store's
        // default three minutes.
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            backoff: object_store::BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
        };
        // Our client options first, then the AWS_* environment as `from_env` reads it: the other order would
        // replace the environment's client settings (AWS_ALLOW_HTTP) with ours.
        let mut builder = AmazonS3Builder::new().with_client_options(client);
        for (key, value) in std::env::vars() {
            if let Some(config_key) = key.strip_prefix("AWS_").and_then(|_| key.to_ascii_lowercase().parse().ok()) {
                builder = builder.with_config(config_key, value);
            }
        }
        let store = builder.with_bucket_name(bucket).with_retry(retry).build().map_err(|e| {
            Error::Registry(format!("{location}: cannot use the S3 settings ({})", scrub(&e.to_string())))
        })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Registry(format!("{location}: cannot start the S3 client ({e})")))?;
        Ok(ObjectStore {
            location,
            prefix: prefix.to_owned(),
            endpoint,
            store: Arc::new(store),
            runtime: Arc::new(runtime),
        })
    }

    fn key(&self, parts: &[&str]) -> Key {
        let prefix = self.prefix.split('/').filter(|p| !p.is_empty());
        Key::from_iter(prefix.chain(parts.iter().copied()))
    }

    fn version_key(&self, name: &ModelName, version: &Version, file: &str) -> Key {
        self.key(&[name.as_str(), &version.to_string(), file])
    }

    /// Runs a request to completion. From inside another tokio runtime (serve) it runs on a thread of its own,
    /// because a runtime cannot be blocked on from within one.
    fn run<T: Send>(&self, fut: impl std::future::Future<Output = T> + Send) -> T {
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                s.spawn(|| self.runtime.block_on(fut)).join().unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
        } else {
            self.runtime.block_on(fut)
        }
    }

    /// An error that names the object, the store and the endpoint, never a credential.
    fn fail(&self, what: &str, key: &Key, e: &object_store::Error) -> Error {
        Error::Registry(format!(
            "{what} s3://{}/{key} failed (endpoint {}): {}",
            self.bucket(),
            self.endpoint,
            scrub(&chain(e))
        ))
    }

    fn bucket(&self) -> &str {
        match &self.location {
            Location::S3 { bucket, .. } => bucket,
            Location::Folder(_) => "",
        }
    }

    fn put_file(&self, key: &Key, source: Source<'_>, mode: PutMode) -> std::result::Result<(), object_store::Error> {
        let len = match source {
            Source::Bytes(bytes) => bytes.len() as u64,
            Source::File(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
        };
        if len <= PART_BYTES as u64 || !matches!(mode, PutMode::Overwrite) {
            let bytes = match source {
                Source::Bytes(bytes) => bytes.to_vec(),
                Source::File(path) => std::fs::read(path).map_err(|e| local_error(path, e))?,
            };
            let opts = PutOptions { mode, ..Default::default() };
            return self.run(self.store.put_opts(key, PutPayload::from(bytes), opts)).map(|_| ());
        }
        self.run(async {
            let upload = self.store.put_multipart(key).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
            let feed = |writer: &mut WriteMultipart, chunk: &[u8]| writer.write(chunk);
            match source {
                Source::Bytes(bytes) => {
                    for chunk in bytes.chunks(PART_BYTES) {
                        writer.wait_for_capacity(2).await?;
                        feed(&mut writer, chunk);
                    }
                }
                Source::File(path) => {
                    let mut file = std::fs::File::open(path).map_err(|e| local_error(path, e))?;
                    let mut buf = vec![0u8; PART_BYTES];
                    loop {
                        let n = read_full(&mut file, &mut buf).map_err(|e| local_error(path, e))?;
                        if n == 0 {
                            break;
                        }
                        writer.wait_for_capacity(2).await?;
                        feed(&mut writer, &buf[..n]);
                    }
                }
            }
            writer.finish().await.map(|_| ())
        })
    }

    /// Streams an object into `to` through a synced temp file; false if there is no such object.
    fn download(&self, key: &Key, to: &Path) -> Result<bool> {
        let dir = to.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).at(dir)?;
        let tmp = crate::fs::temp_path(to);
        let outcome = self.run(async {
            let got = match self.store.get(key).await {
                Ok(got) => got,
                Err(object_store::Error::NotFound { .. }) => return Ok(false),
                Err(e) => return Err(self.fail("reading", key, &e)),
            };
            let mut file = std::fs::File::create(&tmp).at(&tmp)?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.fail("reading", key, &e))?;
                file.write_all(&chunk).at(&tmp)?;
            }
            file.sync_all().at(&tmp)?;
            Ok(true)
        });
        match outcome {
            Ok(true) => {
                std::fs::rename(&tmp, to).at(to)?;
                Ok(true)
            }
            other => {
                let _ = std::fs::remove_file(&tmp);
                other
            }
        }
    }
}

impl Backend for ObjectStore {
    fn location(&self) -> &Location {
        &self.location
    }

    fn lock(&self, _on_wait: &dyn Fn(&str)) -> Result<Option<RegistryLock>> {
        Ok(None)
    }

    fn read_index(&self) -> Result<IndexRead> {
        let key = self.key(&[REGISTRY_FILE]);
        self.run(async {
            let got = match self.store.get(&key).await {
                Ok(got) => got,
                Err(object_store::Error::NotFound { .. }) => return Ok(IndexRead { bytes: None, tag: IndexTag::Absent }),
                Err(e) => return Err(self.fail("reading", &key, &e)),
            };
            if got.meta.size > MAX_REGISTRY_BYTES {
                return Err(Error::Registry(format!(
                    "s3://{}/{key} is {} bytes, more than the {MAX_REGISTRY_BYTES} mlctl ever writes; refusing to read it",
                    self.bucket(),
                    got.meta.size
                )));
            }
            let tag = got.meta.e_tag.clone().map_or(IndexTag::Absent, IndexTag::Etag);
            let bytes = got.bytes().await.map_err(|e| self.fail("reading", &key, &e))?;
            Ok(IndexRead { bytes: Some(bytes.to_vec()), tag })
        })
    }

    fn write_index(&self, json: &[u8], markdown: &[u8], base: &IndexTag) -> Result<Committed> {
        let key = self.key(&[REGISTRY_FILE]);
        let mode = match base {
            IndexTag::Etag(e_tag) => PutMode::Update(UpdateVersion { e_tag: Some(e_tag.clone()), version: None }),
            IndexTag::Absent | IndexTag::Locked => PutMode::Create,
        };
        match self.put_file(&key, Source::Bytes(json), mode) {
            Ok(()) => {}
            Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {
                return Ok(Committed::Conflict)
            }
            Err(e) => return Err(self.fail("writing", &key, &e)),
        }
        // The view beside the index; a kill just here leaves it one change behind until the next write.
        let md_key = self.key(&[MARKDOWN_FILE]);
        self.put_file(&md_key, Source::Bytes(markdown), PutMode::Overwrite)
            .map_err(|e| self.fail("writing", &md_key, &e))?;
        Ok(Committed::Yes)
    }

    fn index_stamp(&self) -> Option<String> {
        let key = self.key(&[REGISTRY_FILE]);
        self.run(self.store.head(&key)).ok().and_then(|meta| meta.e_tag)
    }

    fn put_version(&self, name: &ModelName, version: &Version, files: &[VersionFile<'_>]) -> Result<Placed> {
        let mut ordered: Vec<&VersionFile<'_>> = files.iter().collect();
        ordered.sort_by_key(|f| f.name != METADATA_FILE);
        for (i, file) in ordered.iter().enumerate() {
            let key = self.version_key(name, version, file.name);
            // The reservation is create-only; the rest are ours once it is, and a large model.bin goes up in parts.
            let mode = if i == 0 { PutMode::Create } else { PutMode::Overwrite };
            match self.put_file(&key, file.source, mode) {
                Ok(()) => {}
                Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) if i == 0 => {
                    return Ok(Placed::Taken)
                }
                Err(e) => return Err(self.fail("writing", &key, &e)),
            }
        }
        Ok(Placed::Yes)
    }

    fn remove_version(&self, name: &ModelName, version: &Version) -> Result<()> {
        let prefix = self.key(&[name.as_str(), &version.to_string()]);
        self.run(async {
            let metas: Vec<_> = self.store.list(Some(&prefix)).collect().await;
            for meta in metas {
                let meta = meta.map_err(|e| self.fail("listing", &prefix, &e))?;
                match self.store.delete(&meta.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.fail("deleting", &meta.location, &e)),
                }
            }
            Ok(())
        })
    }

    fn fetch(&self, name: &ModelName, version: &Version, file: &str, cache: &CacheSlot) -> Result<Option<PathBuf>> {
        let local = cache.dir.join(file);
        if local.is_file() {
            return Ok(Some(local));
        }
        let key = self.version_key(name, version, file);
        Ok(self.download(&key, &local)?.then_some(local))
    }

    fn file_size(&self, name: &ModelName, version: &Version, file: &str) -> Option<u64> {
        let key = self.version_key(name, version, file);
        self.run(self.store.head(&key)).ok().map(|meta| meta.size)
    }

    fn delete_file(&self, name: &ModelName, version: &Version, file: &str) -> Result<u64> {
        let key = self.version_key(name, version, file);
        let Some(size) = self.file_size(name, version, file) else { return Ok(0) };
        match self.run(self.store.delete(&key)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(size),
            Err(e) => Err(self.fail("deleting", &key, &e)),
        }
    }

    fn list_versions(&self) -> Result<Vec<StoredVersion>> {
        let prefix = self.key(&[]);
        let metas: Vec<_> = self.run(self.store.list(Some(&prefix)).collect());
        let mut found: std::collections::BTreeMap<(ModelName, Version), (u64, i64)> = Default::default();
        let depth = prefix.parts().count();
        for meta in metas {
            let meta = meta.map_err(|e| self.fail("listing", &prefix, &e))?;
            let parts: Vec<String> = meta.location.parts().skip(depth).map(|p| p.as_ref().to_owned()).collect();
            let [name, version, _file] = parts.as_slice() else { continue };
            let (Ok(name), Ok(version)) = (ModelName::parse(name), Version::parse(version)) else { continue };
            let slot = found.entry((name, version)).or_insert((0, i64::MIN));
            slot.0 += meta.size;
            slot.1 = slot.1.max(meta.last_modified.timestamp());
        }
        let now = chrono::Utc::now().timestamp();
        Ok(found
            .into_iter()
            .map(|((name, version), (bytes, newest))| StoredVersion {
                name,
                version,
                bytes,
                age_secs: u64::try_from(now - newest).unwrap_or(0),
            })
            .collect())
    }
}

fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn local_error(path: &Path, e: std::io::Error) -> object_store::Error {
    object_store::Error::Generic { store: "local file", source: format!("{}: {e}", path.display()).into() }
}

/// An error with its causes: object_store's own text often ends at "HTTP error", the reason being further down.
fn chain(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// reqwest is built with rustls but no crypto provider of its own: ring is installed once, process-wide.
fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn env_secs(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The endpoint requests go to, as object_store will choose it, for messages.
fn endpoint_from_env() -> String {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| {
            let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
                .unwrap_or_else(|| "us-east-1".to_owned());
            format!("https://s3.{region}.amazonaws.com")
        })
}

/// Removes every credential the environment holds from a message: a store's error text may quote a request.
pub fn scrub(message: &str) -> String {
    let mut out = message.to_owned();
    for name in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"] {
        if let Ok(secret) = std::env::var(name) {
            if secret.len() >= 4 {
                out = out.replace(&secret, "[redacted]");
            }
        }
    }
    out
}
