//! The free-disk floor: below `store.min_free_mb` free on the data dir's
//! disk, calls that write (create, update, invoke, publish, put...) are
//! refused with `InsufficientStorageException` before they reach the
//! store, instead of letting sled fail halfway through a write. Reads and
//! deletes (which free space) still run, and writes come back on their
//! own once space does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::error::Error;

/// How long a reading of the free space is trusted (ms).
const FRESH_MS: u64 = 100;

/// Cheap to clone.
#[derive(Clone)]
pub struct DiskFloor {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    min_free: u64,
    /// Free bytes at the last reading.
    free: AtomicU64,
    /// When that was, in ms since `epoch`.
    read_at: AtomicU64,
    epoch: Instant,
}

impl DiskFloor {
    pub fn new(dir: &Path, min_free_mb: u64) -> DiskFloor {
        DiskFloor {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                min_free: min_free_mb.saturating_mul(1024 * 1024),
                free: AtomicU64::new(u64::MAX),
                read_at: AtomicU64::new(0),
                epoch: Instant::now(),
            }),
        }
    }

    /// Free bytes on the data dir's disk (read at most every 100 ms).
    pub fn free_bytes(&self) -> u64 {
        let inner = &self.inner;
        // Offset so that the first call (read_at 0) reads.
        let now = inner.epoch.elapsed().as_millis() as u64 + FRESH_MS;
        if now.saturating_sub(inner.read_at.load(Ordering::Relaxed)) >= FRESH_MS {
            inner.read_at.store(now, Ordering::Relaxed);
            match rustix::fs::statvfs(&inner.dir) {
                Ok(stat) => inner.free.store(
                    stat.f_bavail.saturating_mul(stat.f_frsize),
                    Ordering::Relaxed,
                ),
                Err(err) => {
                    tracing::warn!(dir = %inner.dir.display(), cause = %err, "could not read the free disk space");
                }
            }
        }
        inner.free.load(Ordering::Relaxed)
    }

    /// Refuses a write when the disk is below the floor.
    pub fn check(&self) -> Result<(), Error> {
        let free = self.free_bytes();
        if free >= self.inner.min_free {
            return Ok(());
        }
        Err(Error::QuotaExceeded(
            "InsufficientStorageException",
            format!(
                "the data dir's disk has {} MB free, below the floor of {} MB \
                 (store.min_free_mb): writes are refused until space is freed \
                 (reads and deletes still work)",
                free / (1024 * 1024),
                self.inner.min_free / (1024 * 1024)
            ),
        ))
    }
}

/// Whether an action writes to the store (and so is refused below the
/// floor): all but reads, and deletes, which free space.
pub fn writes(action: &str) -> bool {
    let verb = action.split_once(':').map_or(action, |(_, verb)| verb);
    const SPARED: &[&str] = &[
        "Get",
        "List",
        "Head",
        "Describe",
        "Filter",
        "Preview",
        "StartLiveTail",
        "Delete",
        "Purge",
        "Abort",
        "Remove",
        "Unsubscribe",
        "Drop",
        "Detach",
    ];
    !SPARED.iter().any(|prefix| verb.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_deletes_are_spared() {
        for action in [
            "lambda:GetFunction",
            "lambda:ListFunctions",
            "s3:HeadObject",
            "events:DescribeRule",
            "logs:FilterLogEvents",
            "logs:StartLiveTail",
            "lambda:DeleteFunction",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
            "sns:Unsubscribe",
            "funnel:DropQuarantined",
            "sts:GetCallerIdentity",
        ] {
            assert!(!writes(action), "{action}");
        }
        for action in [
            "lambda:CreateFunction",
            "lambda:InvokeFunction",
            "sns:Publish",
            "s3:PutObject",
            "events:PutRule",
            "iam:CreateUser",
            "lambda:UpdateFunctionCode",
        ] {
            assert!(writes(action), "{action}");
        }
    }

    #[test]
    fn a_floor_above_the_disk_refuses() {
        let dir = tempfile::tempdir().unwrap();
        assert!(DiskFloor::new(dir.path(), 0).check().is_ok());
        let err = DiskFloor::new(dir.path(), u64::MAX / (2 << 20))
            .check()
            .unwrap_err();
        assert_eq!(err.aws_name(), "InsufficientStorageException");
        assert!(err.to_string().contains("store.min_free_mb"), "{err}");
    }
}
