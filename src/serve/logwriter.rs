//! Served predictions go to the same day files as `mlctl predict`'s (`logs/predictions/<name>/<date>.jsonl`),
//! written by one thread in batches: never a write per request, flushed at least every second and at shutdown.
//! Each flush is one append of whole lines; if a file does not end with a line break (a writer killed
//! mid-line), a new line is started first so the torn line stays alone and readers can skip it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::LogSink;

/// At most this long between a prediction and its log line reaching the file.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// A model's pending lines are written sooner once they reach this size.
const FLUSH_BYTES: usize = 4 << 20;

enum Message {
    Lines(String, Vec<u8>),
    Stop(mpsc::SyncSender<()>),
}

pub(crate) struct LogWriter {
    sender: mpsc::Sender<Message>,
}

impl LogWriter {
    pub fn start(dir: PathBuf, log: LogSink) -> Self {
        let (sender, receiver) = mpsc::channel();
        let thread_log = log.clone();
        let spawned =
            std::thread::Builder::new().name("mlctl-logs".into()).spawn(move || run(&dir, &receiver, &thread_log));
        if let Err(e) = spawned {
            // Not fatal to serving: the lines sent are dropped with the channel.
            log(&format!("cannot start the prediction log writer ({e}); served predictions are not logged"));
        }
        LogWriter { sender }
    }

    /// Queues a batch of lines of `model`'s log.
    pub fn send(&self, model: &str, lines: Vec<u8>) {
        let _ = self.sender.send(Message::Lines(model.to_owned(), lines));
    }

    /// Writes everything queued and stops the thread (waits at most a few seconds).
    pub fn flush_and_stop(&self) {
        let (done, wait) = mpsc::sync_channel(1);
        if self.sender.send(Message::Stop(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(10));
        }
    }
}

fn run(dir: &std::path::Path, receiver: &mpsc::Receiver<Message>, log: &LogSink) {
    let mut pending: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut oldest: Option<Instant> = None;
    loop {
        let wait = oldest.map_or(FLUSH_EVERY, |t| FLUSH_EVERY.saturating_sub(t.elapsed()));
        match receiver.recv_timeout(wait) {
            Ok(Message::Lines(model, lines)) => {
                let buf = pending.entry(model).or_default();
                buf.extend_from_slice(&lines);
                oldest.get_or_insert_with(Instant::now);
                if buf.len() < FLUSH_BYTES {
                    continue;
                }
            }
            Ok(Message::Stop(done)) => {
                flush(dir, &mut pending, log);
                let _ = done.send(());
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                flush(dir, &mut pending, log);
                return;
            }
        }
        if oldest.is_some_and(|t| t.elapsed() >= FLUSH_EVERY) || pending.values().any(|b| b.len() >= FLUSH_BYTES) {
            flush(dir, &mut pending, log);
            oldest = None;
        }
    }
}

fn flush(dir: &std::path::Path, pending: &mut BTreeMap<String, Vec<u8>>, log: &LogSink) {
    for (model, lines) in std::mem::take(pending) {
        if lines.is_empty() {
            continue;
        }
        if let Err(e) = append(dir, &model, &lines) {
            log(&format!("prediction log of {model}: {e}; {} bytes of log lines lost", lines.len()));
        }
    }
}

/// Appends whole lines to the model's log of the day (the CLI's writer: a torn last line is closed first).
fn append(dir: &std::path::Path, model: &str, lines: &[u8]) -> crate::error::Result<()> {
    crate::ops::prediction_log::PredictionLog::open(dir, model)?.append(lines)
}
