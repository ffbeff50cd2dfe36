//! Environments' `/tmp` folders, made ahead of the guests that need one.
//!
//! Making a folder allocates an inode, and on ext4 that grows slow once
//! many have been deleted: profiled here after some hours of tests and
//! benchmarks starting and retiring environments, inode allocation
//! (`find_get_block_common`, `recently_deleted`) was a third of a cold
//! start. A guest gets its
//! folder only when it first takes its preopened directories (most never
//! do: see `wasi`), and then one made ahead of it on a blocking thread.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Empty folders kept ready.
const KEEP: usize = 64;

/// Each [`TmpFolders`] of the process names its folders apart: a runtime
/// still making or deleting folders in the background after its server
/// stopped never touches those of a runtime started after it.
static GENERATIONS: AtomicU64 = AtomicU64::new(0);

/// Cheap to clone.
#[derive(Clone)]
pub struct TmpFolders {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    generation: u64,
    ready: Mutex<Vec<PathBuf>>,
    next: AtomicU64,
    refilling: AtomicBool,
}

/// One environment's `/tmp`: deleted when dropped.
pub struct TmpFolder {
    path: PathBuf,
}

impl TmpFolders {
    /// Folders live under `dir` (which exists).
    pub fn new(dir: &Path) -> TmpFolders {
        TmpFolders {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                generation: GENERATIONS.fetch_add(1, Ordering::Relaxed),
                ready: Mutex::default(),
                next: AtomicU64::new(0),
                refilling: AtomicBool::new(false),
            }),
        }
    }

    /// An empty folder: one made ahead, or a new one. Starts a refill in
    /// the background when the ready ones run out.
    pub fn take(&self) -> std::io::Result<TmpFolder> {
        let ready = self.lock().pop();
        let path = match ready {
            Some(path) => path,
            None => {
                self.refill_later();
                self.make()?
            }
        };
        Ok(TmpFolder { path })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.inner.ready.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn make(&self) -> std::io::Result<PathBuf> {
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let generation = self.inner.generation;
        let path = self.inner.dir.join(format!("env-{generation:x}-{n:x}"));
        std::fs::create_dir(&path)?;
        Ok(path)
    }

    /// Makes folders up to [`KEEP`] on a blocking thread (one refill at a
    /// time; none outside a tokio runtime).
    fn refill_later(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.refilling.swap(true, Ordering::AcqRel) {
            return;
        }
        let folders = self.clone();
        drop(runtime.spawn_blocking(move || {
            while folders.lock().len() < KEEP {
                match folders.make() {
                    Ok(path) => folders.lock().push(path),
                    Err(err) => {
                        tracing::warn!(cause = %err, "could not make a /tmp folder ahead");
                        break;
                    }
                }
            }
            folders.inner.refilling.store(false, Ordering::Release);
        }));
    }
}

impl TmpFolder {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TmpFolder {
    fn drop(&mut self) {
        let path = &self.path;
        if let Err(err) = std::fs::remove_dir_all(path)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), cause = %err, "could not delete an environment's /tmp");
        }
    }
}

/// Empties the environments' folder of an earlier run: it is moved aside
/// (so a runtime of this process still retiring environments in the
/// background, which writes by path, never meets a half-deleted folder),
/// then deleted with whatever earlier attempts left aside. A leftover that
/// cannot be deleted is warned about, not fatal: nothing reads it.
pub(crate) fn clear_environments(
    data_dir: &std::path::Path,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    if dir.exists() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let aside = data_dir.join(format!("environments.old-{nanos:x}"));
        std::fs::rename(dir, &aside)
            .map_err(|e| anyhow::anyhow!("clearing {}: {e}", dir.display()))?;
    }
    // A data dir made just now has nothing to clear.
    let entries = std::fs::read_dir(data_dir).into_iter().flatten();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("environments.old-")
            && let Err(err) = std::fs::remove_dir_all(entry.path())
        {
            tracing::warn!(path = %entry.path().display(), cause = %err, "could not delete an earlier run's environment folders");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_runtimes_over_one_folder_never_share_a_name() {
        let dir = tempfile::tempdir().unwrap();
        let (earlier, later) = (TmpFolders::new(dir.path()), TmpFolders::new(dir.path()));
        let a = earlier.take().unwrap();
        let b = later.take().unwrap();
        assert_ne!(a.path(), b.path());
        // The earlier one retiring its environment leaves the later's alone.
        drop(a);
        assert!(b.path().is_dir());
    }

    #[test]
    fn an_earlier_runs_folders_are_moved_aside_and_deleted() {
        let data = tempfile::tempdir().unwrap();
        let environments = data.path().join("environments");
        std::fs::create_dir_all(environments.join("env-0-0/deep")).unwrap();
        std::fs::write(environments.join("env-0-0/deep/file"), b"x").unwrap();
        std::fs::create_dir_all(data.path().join("environments.old-1/env-9")).unwrap();
        std::fs::create_dir_all(data.path().join("compiled")).unwrap();
        clear_environments(data.path(), &environments).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(data.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["compiled"]);
    }
}
