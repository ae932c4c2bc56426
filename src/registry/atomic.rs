//! Atomic file writes: a temp file in the same folder, fsync, rename, fsync the folder. A reader sees the old
//! file or the new one, never half of one, even if the process is killed mid-write.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// Writes `bytes` to `path` atomically, creating the parent folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).at(file.temp())?;
    file.commit()
}

/// A file written as a stream and published atomically: the bytes go to a sibling temp file, and only
/// [`AtomicFile::commit`] (flush, fsync, rename, fsync the folder) makes them visible at `path`. Dropped without a
/// commit — an error, a panic — the temp file is removed, so a failed write leaves nothing behind.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    /// Creates the temp file beside `path` (and `path`'s folder if needed).
    pub fn create(path: &Path) -> Result<Self> {
        let dir = parent_dir(path);
        fs::create_dir_all(&dir).at(&dir)?;
        remove_stale_temps(path);
        let tmp = temp_path(path);
        let file = File::create(&tmp).at(&tmp)?;
        Ok(AtomicFile { path: path.to_path_buf(), tmp, file: Some(BufWriter::with_capacity(1 << 16, file)) })
    }

    /// Where the bytes are until the commit (for error messages).
    pub fn temp(&self) -> &Path {
        &self.tmp
    }

    pub fn commit(mut self) -> Result<()> {
        let Some(writer) = self.file.take() else {
            return Ok(());
        };
        let result = (|| {
            let file = writer.into_inner().map_err(|e| e.into_error()).at(&self.tmp)?;
            file.sync_all().at(&self.tmp)?;
            drop(file);
            fs::rename(&self.tmp, &self.path).at(&self.path)?;
            sync_dir(&parent_dir(&self.path));
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&self.tmp);
        }
        result
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write(buf),
            None => Err(std::io::Error::other("write after commit")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Writes several files so that they change together as nearly as the file system allows: every temp file is
/// written and synced first, then the renames follow back to back. A kill can then split the set only between
/// two renames (microseconds), rather than anywhere in the writing of the later files.
pub fn write_atomic_all(files: &[(&Path, &[u8])]) -> Result<()> {
    let mut temps: Vec<(PathBuf, &Path)> = Vec::with_capacity(files.len());
    let result = (|| {
        for (path, bytes) in files {
            let dir = parent_dir(path);
            fs::create_dir_all(&dir).at(&dir)?;
            remove_stale_temps(path);
            let tmp = temp_path(path);
            temps.push((tmp.clone(), path));
            let mut file = File::create(&tmp).at(&tmp)?;
            file.write_all(bytes).at(&tmp)?;
            file.sync_all().at(&tmp)?;
        }
        for (tmp, path) in &temps {
            fs::rename(tmp, path).at(path)?;
        }
        for (_, path) in &temps {
            sync_dir(&parent_dir(path));
        }
        Ok(())
    })();
    if result.is_err() {
        for (tmp, _) in &temps {
            let _ = fs::remove_file(tmp);
        }
    }
    result
}

/// A sibling temp name unique to this process and call, so concurrent writers never share one.
pub fn temp_path(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    parent_dir(path).join(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

/// Removes temp files of `path` left by writers that were killed (their process is gone), so an interrupted run
/// leaves no debris past the next write. Best effort; only where /proc tells which processes are alive.
pub fn remove_stale_temps(path: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return };
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs::read_dir(parent_dir(path)) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name.strip_prefix(&prefix).and_then(|rest| rest.split('-').next()) else { continue };
        let alive = pid.parse::<u32>().map_or(true, |pid| Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename durable. Best effort: not every platform can open a folder for syncing.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leaving_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("f.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn temp_files_of_dead_writers_are_removed_by_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.csv");
        // pid 4194304 is above Linux's pid_max: never a live process.
        let dead = dir.path().join(".f.csv.tmp-4194304-0");
        let live = dir.path().join(format!(".f.csv.tmp-{}-99", std::process::id()));
        fs::write(&dead, b"half").unwrap();
        fs::write(&live, b"in progress").unwrap();
        write_atomic(&path, b"whole").unwrap();
        assert_eq!(dead.exists(), !Path::new("/proc/self").exists());
        assert!(live.exists(), "a running writer's temp file is left alone");
    }

    #[test]
    fn an_uncommitted_stream_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        {
            let mut f = AtomicFile::create(&path).unwrap();
            f.write_all(b"half a row").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"a,b\n").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"a,b\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
