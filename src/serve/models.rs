//! The models being served, and how they follow the registry. A stage reference (`NAME`, `NAME@staging`) is
//! re-resolved whenever registry.json changes (polled) or on SIGHUP; a new version is loaded off the request
//! threads and swapped in atomically — a request holds an `Arc` of the model it started with. A version that
//! fails to load is refused with a log line and the previous one keeps serving; a stage left empty (production
//! archived) makes the model unavailable (503) until a version returns to it.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{LogSink, Shared};
use crate::error::{Error, Result};
use crate::registry::loaded::{load_record, LoadedModel};
use crate::registry::{ModelName, ModelRef, Registry, Selector, Stage, Store};

/// A served model as asked for: `NAME` (its production version), `NAME@stage` or `NAME@X.Y.Z` (pinned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeSpec(ModelRef);

impl ServeSpec {
    pub fn parse(text: &str) -> Result<Self> {
        let reference = ModelRef::parse(text)?;
        Ok(ServeSpec(match (text.contains('@'), reference.selector) {
            (false, _) => ModelRef::stage(&reference.name, Stage::Production),
            (true, selector) => ModelRef { name: reference.name, selector },
        }))
    }

    fn production(name: &ModelName) -> Self {
        ServeSpec(ModelRef::stage(name, Stage::Production))
    }
}

impl std::fmt::Display for ServeSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0.selector {
            Selector::Latest => write!(f, "{}@latest", self.0.name),
            Selector::Version(v) => write!(f, "{}@{v}", self.0.name),
            Selector::Stage(s) => write!(f, "{}@{s}", self.0.name),
        }
    }
}

/// A loaded version, shared by the requests that use it.
pub(crate) struct Live {
    pub model: LoadedModel,
    pub load_seconds: f64,
    /// Unix seconds of the version's creation (for the model's age), when the record's time parses.
    pub created_unix: Option<f64>,
}

/// One served model: what was asked for, what is loaded, and what went wrong since.
struct Slot {
    spec: ServeSpec,
    live: Option<Arc<Live>>,
    /// The loaded version's stage as the registry says now (a pinned version can change stage).
    stage: Option<Stage>,
    /// Why the model is unavailable, or why the newest version is not the one served.
    problem: Option<String>,
}

/// The answer to "which model serves NAME?".
pub(crate) enum Lookup {
    Ready(Arc<Live>),
    Unavailable(String),
    Unknown,
}

/// The served models. With no models named, every model with a production version is served, including
/// models that get one while the server runs.
pub(crate) struct Served {
    store: Store,
    every_production: bool,
    slots: RwLock<BTreeMap<ModelName, Slot>>,
}

/// What `/v1/models` says of one model.
#[derive(Serialize)]
pub(crate) struct ModelInfo {
    pub name: String,
    pub version: Option<String>,
    pub stage: Option<String>,
    pub serves: String,
    pub ready: bool,
    pub task: Option<String>,
    pub target: Option<String>,
    pub features: Vec<FeatureInfo>,
    pub classes: Vec<String>,
    pub load_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct FeatureInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: &'static str,
}

impl Served {
    /// Loads every model to serve; an error names the first that cannot be (nothing would be served right).
    pub fn load(store: Store, specs: Vec<ServeSpec>) -> Result<Self> {
        let registry = store.load()?;
        let every_production = specs.is_empty();
        let specs = if every_production { production_specs(&registry) } else { specs };
        if specs.is_empty() {
            return Err(Error::Registry(
                "nothing to serve: no model has a production version; promote one (`mlctl promote NAME@X.Y.Z --to \
                 production`) or name the models to serve (NAME@staging, NAME@X.Y.Z)"
                    .to_owned(),
            ));
        }
        let mut slots = BTreeMap::new();
        for spec in specs {
            let record = registry.resolve(&spec.0)?.clone();
            let live = load_live(&store, &spec.0.name, record)?;
            let stage = Some(live.model.record.stage);
            let name = spec.0.name.clone();
            slots.insert(name, Slot { spec, live: Some(Arc::new(live)), stage, problem: None });
        }
        Ok(Served { store, every_production, slots: RwLock::new(slots) })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<ModelName, Slot>> {
        self.slots.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn get(&self, name: &str) -> Lookup {
        let slots = self.read();
        let Some(slot) = ModelName::parse(name).ok().and_then(|n| slots.get(&n)) else { return Lookup::Unknown };
        match &slot.live {
            Some(live) => Lookup::Ready(live.clone()),
            None => Lookup::Unavailable(slot.problem.clone().unwrap_or_else(|| "not loaded".to_owned())),
        }
    }

    /// The one served model's name, when exactly one is served (for `/invocations`).
    pub fn single(&self) -> Option<String> {
        let slots = self.read();
        (slots.len() == 1).then(|| slots.keys().next().map(ToString::to_string)).flatten()
    }

    pub fn names(&self) -> Vec<String> {
        self.read().keys().map(ToString::to_string).collect()
    }

    /// One line per loaded model, for the start-up log.
    pub fn describe_loaded(&self) -> Vec<String> {
        self.read().values().filter_map(|slot| slot.live.as_ref().map(|live| describe(&slot.spec, live))).collect()
    }

    /// None when every served model is loaded; else the reasons.
    pub fn not_ready(&self) -> Option<Vec<String>> {
        let reasons: Vec<String> = self
            .read()
            .iter()
            .filter(|(_, slot)| slot.live.is_none())
            .map(|(name, slot)| format!("{name}: {}", slot.problem.as_deref().unwrap_or("not loaded")))
            .collect();
        (!reasons.is_empty()).then_some(reasons)
    }

    pub fn infos(&self) -> Vec<ModelInfo> {
        self.read().iter().map(|(name, slot)| info(name, slot)).collect()
    }

    /// The loaded versions, for the metrics: name, version, stage, load seconds, creation time.
    pub fn loaded(&self) -> Vec<(String, Arc<Live>, Option<Stage>)> {
        self.read()
            .iter()
            .filter_map(|(name, slot)| slot.live.as_ref().map(|live| (name.to_string(), live.clone(), slot.stage)))
            .collect()
    }

    /// Re-reads the registry and loads what changed. Loading happens without holding the lock that requests
    /// read; the swap is one write.
    pub fn refresh(&self, log: &LogSink) {
        let registry = match self.store.load() {
            Ok(registry) => registry,
            Err(e) => return log(&format!("registry not re-read, still serving the loaded versions: {e}")),
        };
        let mut specs: Vec<ServeSpec> = self.read().values().map(|slot| slot.spec.clone()).collect();
        if self.every_production {
            for spec in production_specs(&registry) {
                if !specs.contains(&spec) {
                    specs.push(spec);
                }
            }
        }
        for spec in specs {
            self.refresh_one(&registry, spec, log);
        }
    }

    fn refresh_one(&self, registry: &Registry, spec: ServeSpec, log: &LogSink) {
        let name = spec.0.name.clone();
        let current = self.read().get(&name).and_then(|slot| slot.live.clone());
        let record = match registry.resolve(&spec.0) {
            Ok(record) => record.clone(),
            Err(e) => {
                if current.is_some() {
                    log(&format!("{spec}: no longer resolves ({e}); not serving it until it does"));
                }
                return self.update(spec, None, None, Some(format!("{e}")));
            }
        };
        let same = current.as_ref().is_some_and(|live| {
            live.model.record.version == record.version && live.model.record.artifact_sha256 == record.artifact_sha256
        });
        if same {
            return self.update(spec, current, Some(record.stage), None);
        }
        let version = record.version.clone();
        let stage = record.stage;
        match load_live(&self.store, &name, record) {
            Ok(live) => {
                log(&format!("{} (was {})", describe(&spec, &live), current_version(current.as_deref())));
                self.update(spec, Some(Arc::new(live)), Some(stage), None);
            }
            Err(e) => {
                let why = format!("{name}@{version} failed to load, still serving the previous version: {e}");
                log(&why);
                let stage = current.as_ref().map(|live| live.model.record.stage);
                self.update(spec, current, stage, Some(why));
            }
        }
    }

    /// Sets a slot. Only the follower thread writes slots, so `live` is what it read (or loaded) for this spec.
    fn update(&self, spec: ServeSpec, live: Option<Arc<Live>>, stage: Option<Stage>, problem: Option<String>) {
        let mut slots = self.slots.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let name = spec.0.name.clone();
        let slot = slots.entry(name).or_insert(Slot { spec, live: None, stage: None, problem: None });
        slot.live = live;
        slot.stage = stage;
        slot.problem = problem;
    }
}

fn current_version(live: Option<&Live>) -> String {
    live.map_or_else(|| "none".to_owned(), |live| live.model.record.version.to_string())
}

fn production_specs(registry: &Registry) -> Vec<ServeSpec> {
    registry
        .models
        .iter()
        .filter(|(_, entry)| entry.in_stage(Stage::Production).is_some())
        .map(|(name, _)| ServeSpec::production(name))
        .collect()
}

fn load_live(store: &Store, name: &ModelName, record: crate::registry::VersionRecord) -> Result<Live> {
    let started = Instant::now();
    let created_unix =
        chrono::DateTime::parse_from_rfc3339(&record.created_at).ok().map(|t| t.timestamp_millis() as f64 / 1000.0);
    let model = load_record(store, name, record)?;
    Ok(Live { model, load_seconds: started.elapsed().as_secs_f64(), created_unix })
}

fn describe(spec: &ServeSpec, live: &Live) -> String {
    let record = &live.model.record;
    format!(
        "serving {} as {spec}: version {} ({}), loaded in {:.1} ms",
        live.model.name,
        record.version,
        record.stage,
        live.load_seconds * 1000.0
    )
}

fn info(name: &ModelName, slot: &Slot) -> ModelInfo {
    let live = slot.live.as_deref();
    let bundle = live.map(|l| &l.model.bundle);
    ModelInfo {
        name: name.to_string(),
        version: live.map(|l| l.model.record.version.to_string()),
        stage: slot.stage.map(|s| s.as_str().to_owned()),
        serves: slot.spec.to_string(),
        ready: live.is_some(),
        task: bundle.map(|b| b.task.as_str().to_owned()),
        target: bundle.map(|b| b.target.clone()).filter(|t| !t.is_empty()),
        features: bundle
            .map(|b| {
                b.pipeline
                    .features
                    .iter()
                    .map(|f| FeatureInfo { name: f.name.clone(), column_type: f.column_type().as_str() })
                    .collect()
            })
            .unwrap_or_default(),
        classes: bundle.map(|b| b.classes.clone()).unwrap_or_default(),
        load_seconds: live.map(|l| l.load_seconds),
        problem: slot.problem.clone(),
    }
}

/// The thread that polls registry.json and reloads on a change or on SIGHUP.
pub(crate) struct Follower {
    sender: mpsc::Sender<Wake>,
    thread: Option<std::thread::JoinHandle<()>>,
}

enum Wake {
    Reload,
    Stop,
}

impl Follower {
    pub fn start(shared: Arc<Shared>, poll: Duration) -> Self {
        let (sender, receiver) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("mlctl-follow".into())
            .spawn(move || follow(&shared, &receiver, poll))
            .ok();
        Follower { sender, thread }
    }

    /// What SIGHUP calls: reload at once.
    pub fn reload_handle(&self) -> impl Fn() + Send + 'static {
        let sender = self.sender.clone();
        move || {
            let _ = sender.send(Wake::Reload);
        }
    }

    pub fn stop(mut self) {
        let _ = self.sender.send(Wake::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn follow(shared: &Shared, receiver: &mpsc::Receiver<Wake>, poll: Duration) {
    let backend = shared.models.store.backend();
    let mut seen = backend.index_stamp();
    loop {
        let forced = match receiver.recv_timeout(poll) {
            Ok(Wake::Reload) => true,
            Ok(Wake::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => false,
        };
        super::trim_if_wanted();
        let now = backend.index_stamp();
        if forced || now != seen {
            if forced {
                (shared.log)("SIGHUP: reloading from the registry");
            }
            seen = now;
            shared.models.refresh(&shared.log);
        }
    }
}
