//! File-system helpers every layer shares (it imports nothing above `error`): hex digests, and atomic file
//! writes: a temp file in the same folder, fsync, rename, fsync the folder. A reader sees the old
//! file or the new one, never half of one, even if the process is killed mid-write.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result};

/// Writes `bytes` to `path` atomically, creating the parent folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).at(file.path())?;
    file.commit()
}

/// A file written as a stream and published atomically: the bytes go to a sibling temp file, and only
/// [`AtomicFile::commit`] (flush, fsync, rename, fsync the folder) makes them visible at `path`. Dropped without a
/// commit — an error, a panic — the temp file is removed, so a failed write leaves nothing behind.
///
/// Only a regular file (or a path that does not exist yet) is replaced this way. A character device or a FIFO
/// (`-o /dev/null`, `-o /dev/stdout`, a named pipe) is written straight into, as a shell's `>` would: renaming a
/// temp file over it would replace the device itself. A folder is refused.
pub struct AtomicFile {
    path: PathBuf,
    /// The temp file, or None when writing straight into a device or FIFO.
    tmp: Option<PathBuf>,
    file: Option<BufWriter<File>>,
}

/// What is at an output path now.
enum Target {
    /// Nothing, or a regular file: replace it atomically.
    Replace,
    /// A character device or FIFO: write into it.
    Stream,
}

fn target_kind(path: &Path) -> Result<Target> {
    use std::os::unix::fs::FileTypeExt;
    let kind = match fs::metadata(path) {
        Ok(meta) => meta.file_type(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::Replace),
        Err(e) => return Err(crate::error::Error::io(path, e)),
    };
    if kind.is_dir() {
        return Err(crate::error::Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a folder; expected a file to write"),
        ));
    }
    if kind.is_char_device() || kind.is_fifo() {
        return Ok(Target::Stream);
    }
    if kind.is_file() {
        return Ok(Target::Replace);
    }
    Err(crate::error::Error::io(
        path,
        std::io::Error::other("is neither a regular file, a character device nor a FIFO; refusing to replace it"),
    ))
}

/// Whether `path` is a character device or FIFO (written into, never replaced).
pub fn is_stream(path: &Path) -> bool {
    matches!(target_kind(path), Ok(Target::Stream))
}

impl AtomicFile {
    /// Creates the temp file beside `path` (and `path`'s folder if needed); for a device or FIFO, opens it.
    pub fn create(path: &Path) -> Result<Self> {
        if let Target::Stream = target_kind(path)? {
            let file = fs::OpenOptions::new().write(true).open(path).at(path)?;
            return Ok(AtomicFile { path: path.to_path_buf(), tmp: None, file: Some(BufWriter::new(file)) });
        }
        let dir = parent_dir(path);
        fs::create_dir_all(&dir).at(&dir)?;
        remove_stale_temps(path);
        let tmp = temp_path(path);
        let file = File::create(&tmp).map_err(|e| crate::error::Error::io(path, e))?;
        Ok(AtomicFile { path: path.to_path_buf(), tmp: Some(tmp), file: Some(BufWriter::with_capacity(1 << 16, file)) })
    }

    /// The path the user gave (for error messages: the temp file's name means nothing to them).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn commit(mut self) -> Result<()> {
        let Some(mut writer) = self.file.take() else {
            return Ok(());
        };
        let Some(tmp) = self.tmp.clone() else {
            return writer.flush().at(&self.path);
        };
        let result = (|| {
            let file = writer.into_inner().map_err(|e| e.into_error()).at(&self.path)?;
            file.sync_all().at(&self.path)?;
            drop(file);
            fs::rename(&tmp, &self.path).at(&self.path)?;
            sync_dir(&parent_dir(&self.path));
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
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
        if let (Some(_), Some(tmp)) = (self.file.take(), &self.tmp) {
            let _ = fs::remove_file(tmp);
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

/// Reads a file mlctl wrote itself (registry.json, reference.json), refusing anything but a regular file before
/// opening it (a FIFO planted there would block the open forever) and a file above `max_bytes` before reading
/// it (a 3 GB registry.json was read whole before its error). None if it does not exist.
pub fn read_own_file(path: &Path, max_bytes: u64) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(crate::error::Error::io(path, e)),
    };
    if !meta.is_file() {
        return Err(crate::error::Error::artifact(
            path,
            "is not a regular file (mlctl writes regular files here); refusing to read it",
        ));
    }
    if meta.len() > max_bytes {
        return Err(crate::error::Error::artifact(
            path,
            format!(
                "is {} bytes, more than the {max_bytes} bytes mlctl ever writes here; refusing to read it",
                meta.len()
            ),
        ));
    }
    let file = File::open(path).at(path)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    // The length is checked again while reading: the file may grow between the check and the read.
    file.take(max_bytes + 1).read_to_end(&mut bytes).at(path)?;
    if bytes.len() as u64 > max_bytes {
        return Err(crate::error::Error::artifact(path, format!("grew past {max_bytes} bytes while being read")));
    }
    Ok(Some(bytes))
}

/// Refuses to write `output` when it is the file `input` names (the same file, also through a link or another
/// path): replacing the input with the output loses the input.
pub fn refuse_same_file(input: &Path, output: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    let (Ok(a), Ok(b)) = (fs::metadata(input), fs::metadata(output)) else { return Ok(()) };
    // Devices (/dev/stdin read, /dev/stdout written) are streams, not files that could be lost.
    if a.is_file() && a.dev() == b.dev() && a.ino() == b.ino() {
        return Err(crate::error::Error::Config(format!(
            "{} is the input file {}: writing the output there would replace the input; choose another output",
            output.display(),
            input.display()
        )));
    }
    Ok(())
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

/// The SHA-256 of `bytes` as lowercase hex: artifact and data fingerprints.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_written_into_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(&fifo).unwrap())
        };
        write_atomic(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        use std::os::unix::fs::FileTypeExt;
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO is still a FIFO");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "no temp file beside it");
    }

    #[test]
    fn a_folder_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(dir.path(), b"x").unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()) && err.contains("folder"), "{err}");
    }

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
