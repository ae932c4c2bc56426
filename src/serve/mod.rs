//! `mlctl serve`: a resident HTTP prediction service. This folder is the HTTP layer only — the routes, limits,
//! authentication, metrics, the log writer and shutdown. Predictions come from the same core as `mlctl predict`
//! ([`crate::ops::predict::Predictor`]), so a served answer is the CLI's byte for byte; the models come from the
//! registry and follow its promotions ([`models`]).

mod auth;
mod error;
mod http;
mod logwriter;
mod metrics;
mod models;
mod payload;
mod predict;
mod signals;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use auth::Token;
pub use models::ServeSpec;

use crate::error::{Error, Result};
use crate::registry::Store;

/// Everything `mlctl serve` was asked for, validated.
pub struct ServeOptions {
    /// The models to serve; empty: every model with a production version (and any that gets one later).
    pub specs: Vec<ServeSpec>,
    pub addr: SocketAddr,
    /// Where prediction logs go (None: not logged).
    pub log_dir: Option<PathBuf>,
    pub max_body: usize,
    pub token: Option<Token>,
    /// One log line per request.
    pub verbose: bool,
    /// How often registry.json is checked for promotions.
    pub poll: Duration,
}

/// Where the server's log lines go (stderr, from the command layer).
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// What every request handler shares.
pub(crate) struct Shared {
    pub models: models::Served,
    pub metrics: metrics::Metrics,
    pub logs: Option<logwriter::LogWriter>,
    pub max_body: usize,
    pub token: Option<Token>,
    pub verbose: bool,
    pub log: LogSink,
}

/// glibc gives each thread that allocates an arena of its own, and keeps what each one freed. With the I/O
/// threads, the blocking threads and the thread pool that is a dozen heaps, each holding on to the peak of the
/// last batch it handled; two arenas serve this load as fast (bench/serve) with less memory kept.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before the server starts any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Set after a large batch: the memory it freed should go back to the OS.
static TRIM_WANTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks for the memory freed by a large batch to be handed back to the OS (done by [`trim_if_wanted`]).
pub(crate) fn want_trim() {
    TRIM_WANTED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Hands freed memory back to the OS if a large batch asked for it, so the server's resident size stays that of
/// its models rather than of its largest request. Called from the follower's poll (at most twice a second):
/// trimming after every batch, then faulting the pages back in for the next, cost a third of the batch
/// throughput (bench/serve, 10,000-row CSV requests).
pub(crate) fn trim_if_wanted() {
    if TRIM_WANTED.swap(false, std::sync::atomic::Ordering::Relaxed) {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only returns free pages of the allocator's heaps to the OS.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// Runs the server until SIGTERM or SIGINT; returns once in-flight requests have finished (or the drain timed
/// out) and the prediction logs are flushed.
pub fn serve(opts: ServeOptions, store: Store, log: LogSink) -> Result<()> {
    // Before any thread exists, so that every thread inherits the mask and the signal thread alone takes them.
    let signals = signals::Signals::block()?;
    limit_malloc_arenas();
    let models = models::Served::load(store, opts.specs)?;
    let logs = opts.log_dir.map(|dir| logwriter::LogWriter::start(dir, log.clone()));
    let shared = Arc::new(Shared {
        models,
        metrics: metrics::Metrics::default(),
        logs,
        max_body: opts.max_body,
        token: opts.token,
        verbose: opts.verbose,
        log: log.clone(),
    });
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .max_blocking_threads(threads * 4)
        .thread_name("mlctl-serve")
        .enable_all()
        .build()
        .map_err(|e| Error::Config(format!("cannot start the server's runtime: {e}")))?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind(opts.addr)).map_err(|e| {
        Error::Config(format!("cannot listen on {}: {e} (is another server using the port? try --port 0)", opts.addr))
    })?;
    let bound = listener.local_addr().map_err(|e| Error::Config(format!("cannot read the bound address: {e}")))?;
    log(&format!("listening on http://{bound}"));
    for line in shared.models.describe_loaded() {
        log(&line);
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let follower = models::Follower::start(shared.clone(), opts.poll);
    signals.spawn(follower.reload_handle(), stop_tx);
    let drained = runtime.block_on(http::run(listener, shared.clone(), stop_rx));
    if !drained {
        log("shutdown: in-flight requests did not finish within the drain timeout; stopping anyway");
    }
    follower.stop();
    if let Some(logs) = &shared.logs {
        logs.flush_and_stop();
    }
    runtime.shutdown_timeout(Duration::from_secs(1));
    log("stopped");
    Ok(())
}
