//! The bucket watcher: filesystem events (inotify on Linux, through notify)
//! become reconciles of the keys they touch. A file fires when it is
//! finished — closed after writing, or renamed into the folder — never
//! while it is still being written; a removal or a rename out fires its
//! removal. When the watch overflows or fails, every bucket is rescanned,
//! and the first thing the watcher does is a rescan, so what changed while
//! funnel was down fires once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Buckets, objects};
use funnel_store::BucketRecord;

/// Filesystem events waiting for the watcher task; when it falls this far
/// behind, the notify thread waits (and the kernel queue may overflow,
/// which brings a rescan).
const BACKLOG: usize = 4096;

/// Adds and removes watches as buckets come and go.
pub struct Handle {
    watcher: Mutex<RecommendedWatcher>,
    /// Each watched bucket's folder, and its name.
    roots: Arc<Mutex<Vec<(PathBuf, String)>>>,
}

impl Handle {
    pub fn watch(&self, bucket: &BucketRecord) {
        let path = PathBuf::from(&bucket.path);
        let watched = self
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .watch(&path, RecursiveMode::Recursive);
        match watched {
            Ok(()) => self
                .roots
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((path, bucket.name.clone())),
            Err(err) => tracing::error!(
                bucket = %bucket.name,
                path = %bucket.path,
                cause = %err,
                "cannot watch the bucket's folder: only the object API will fire its events"
            ),
        }
    }

    pub fn unwatch(&self, bucket: &BucketRecord) {
        let path = PathBuf::from(&bucket.path);
        let _ = self
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwatch(&path);
        self.roots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(root, _)| root != &path);
    }
}

/// What an event asks for.
enum Touch {
    /// One file, finished.
    File(PathBuf),
    /// A path and everything under it (renamed, removed, a new folder).
    Tree(PathBuf),
    /// Everything: events were lost.
    Rescan,
}

fn touches(event: Event) -> Vec<Touch> {
    if event.need_rescan() {
        return vec![Touch::Rescan];
    }
    match event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {
            event.paths.into_iter().map(Touch::File).collect()
        }
        EventKind::Modify(ModifyKind::Name(_))
        | EventKind::Remove(_)
        | EventKind::Create(CreateKind::Folder) => {
            event.paths.into_iter().map(Touch::Tree).collect()
        }
        // A new file is not finished; its close (or rename) says when it is.
        _ => Vec::new(),
    }
}

impl Buckets {
    /// Watches every bucket's folder until `stop`; rescans them all first.
    pub fn start_watching(
        &self,
        stop: CancellationToken,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let (tx, mut rx) = mpsc::channel::<notify::Result<Event>>(BACKLOG);
        // A link in a bucket is not followed: not by the watch either.
        let watcher = RecommendedWatcher::new(
            move |event| {
                // The watcher task is gone only when the server stops.
                let _ = tx.blocking_send(event);
            },
            notify::Config::default().with_follow_symlinks(false),
        )?;
        let roots = Arc::new(Mutex::new(Vec::new()));
        let handle = Handle {
            watcher: Mutex::new(watcher),
            roots: roots.clone(),
        };
        for bucket in self.inner.store.buckets()? {
            if let Err(outside) = self.inner.roots.check(Path::new(&bucket.path)) {
                tracing::warn!(
                    bucket = %bucket.name,
                    "{outside}; it was made before bucket roots existed and keeps working: \
                     add its folder's parent with --bucket-root, or move the bucket"
                );
            }
            handle.watch(&bucket);
        }
        *self.inner.watch.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(handle));
        let buckets = self.clone();
        Ok(tokio::spawn(async move {
            buckets.rescan_all().await;
            loop {
                let event = tokio::select! {
                    () = stop.cancelled() => break,
                    event = rx.recv() => event,
                };
                let Some(event) = event else { break };
                match event {
                    Ok(event) => {
                        for touch in touches(event) {
                            buckets.apply(touch, &roots).await;
                        }
                    }
                    Err(err) => {
                        tracing::warn!(cause = %err, "the bucket watch failed: rescanning");
                        buckets.rescan_all().await;
                    }
                }
            }
            // Dropping the handle stops the notify thread.
            buckets
                .inner
                .watch
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
        }))
    }

    async fn apply(&self, touch: Touch, roots: &Mutex<Vec<(PathBuf, String)>>) {
        let (path, tree) = match touch {
            Touch::Rescan => {
                tracing::warn!("the bucket watch lost events: rescanning");
                return self.rescan_all().await;
            }
            Touch::File(path) => (path, false),
            Touch::Tree(path) => (path, true),
        };
        let Some((root, name)) = owner(roots, &path) else {
            return;
        };
        // Read the bucket now: its notifications may have changed.
        let bucket = match self.bucket(&name) {
            Ok(bucket) => bucket,
            Err(_) => return,
        };
        let rel = if path == root {
            String::new()
        } else {
            match objects::path_key(&root, &path) {
                Some(rel) => rel,
                None => return,
            }
        };
        let result = if tree {
            self.reconcile_tree(&bucket, &rel).await
        } else if objects::check_key(&rel).is_ok() {
            self.reconcile(&bucket, &rel).await
        } else {
            Ok(())
        };
        if let Err(err) = result {
            // The index was not updated: the next rescan fires it.
            tracing::error!(bucket = %bucket.name, key = %rel, cause = %err, "bucket event not queued");
        }
    }
}

/// The watched folder `path` is in, and its bucket.
fn owner(roots: &Mutex<Vec<(PathBuf, String)>>, path: &Path) -> Option<(PathBuf, String)> {
    roots
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|(root, _)| path.starts_with(root))
        .cloned()
}
