//! The registry lock: an exclusive advisory lock on `ml_models/.lock`, held while versions are assigned and
//! registry.json is rewritten. It waits (with a timeout) instead of failing at once, because cron and CI runs
//! overlap, and it says which process holds it when the wait is long. The OS releases it if the process dies.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, IoContext, Result};

pub struct RegistryLock {
    file: File,
    path: PathBuf,
}

/// How long to wait for another mlctl before giving up (override: MLCTL_LOCK_TIMEOUT in seconds).
fn timeout() -> Duration {
    let secs = std::env::var("MLCTL_LOCK_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(600);
    Duration::from_secs(secs)
}

impl RegistryLock {
    /// Blocks until the lock on `path` is ours, calling `on_wait` once with the holder's description if we have
    /// to wait.
    pub fn acquire(path: &Path, on_wait: &dyn Fn(&str)) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).at(dir)?;
        }
        let mut file = open_no_follow(path)?;
        let started = Instant::now();
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    if !told {
                        let mut holder = String::new();
                        let _ = file.read_to_string(&mut holder);
                        on_wait(holder.trim());
                        told = true;
                    }
                    if started.elapsed() > timeout() {
                        return Err(Error::Registry(format!(
                            "{}: still locked by another mlctl after {}s; if no mlctl is running, the lock is stale \
                             only if its process is gone (the OS releases it on exit)",
                            path.display(),
                            timeout().as_secs()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(path, e)),
            }
        }
        // Record who holds it, for the message another process prints while it waits.
        let _ = file.set_len(0);
        let _ = file.seek(SeekFrom::Start(0));
        let _ = write!(file, "pid {} since {}", std::process::id(), crate::clock::now_rfc3339());
        let _ = file.flush();
        Ok(RegistryLock { file, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens (creating) the lock file without following a symbolic link, and refuses anything but a regular file:
/// the holder's description is written into it, which would truncate whatever a link pointed at.
fn open_no_follow(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let opened = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        // O_NONBLOCK: a FIFO planted here must not block the open; it is refused below.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(not_a_regular_file(path, "a symbolic link")),
        Err(e) => return Err(Error::io(path, e)),
    };
    let kind = file.metadata().at(path)?.file_type();
    if !kind.is_file() {
        return Err(not_a_regular_file(path, "not a regular file"));
    }
    Ok(file)
}

fn not_a_regular_file(path: &Path, what: &str) -> Error {
    Error::Registry(format!(
        "{}: the registry lock is {what}; refusing to use it (remove it and run again: mlctl recreates it)",
        path.display()
    ))
}

impl Drop for RegistryLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}
