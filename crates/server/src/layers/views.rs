//! Layers on disk: each archive unpacked once into a read-only folder named
//! by its SHA-256, and for each list of two or more layers a merged view
//! (later layers' files replacing earlier ones', as Lambda extracts them into
//! `/opt` in order) made of hard links, so no file is copied. A function's
//! environments preopen its view read-only as `/opt`. Everything here is
//! built when a function is configured or the server starts, never on the
//! invoke path.
//!
//! ```text
//! <data dir>/layers/unpacked/<sha256>/...   one folder per archive
//! <data dir>/layers/views/<sha256 of the list>/...   merged views
//! ```

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::archive::{self, ArchiveError};
use funnel_store::LayerRef;

pub struct LayerViews {
    unpacked: PathBuf,
    views: PathBuf,
}

impl LayerViews {
    pub fn new(data_dir: &Path) -> io::Result<LayerViews> {
        let root = data_dir.join("layers");
        let views = LayerViews {
            unpacked: root.join("unpacked"),
            views: root.join("views"),
        };
        std::fs::create_dir_all(&views.unpacked)?;
        std::fs::create_dir_all(&views.views)?;
        Ok(views)
    }

    /// The folder an archive is unpacked into.
    pub fn unpacked_dir(&self, sha256: &str) -> PathBuf {
        self.unpacked.join(sha256)
    }

    /// What the guest sees at `/opt` for `layers`: none, the one layer's
    /// folder, or the merged view of several.
    pub fn view_path(&self, layers: &[LayerRef]) -> Option<PathBuf> {
        match layers {
            [] => None,
            [one] => Some(self.unpacked_dir(&one.content_sha256)),
            many => Some(self.views.join(view_key(many))),
        }
    }

    /// Checks and unpacks an archive (once: an archive already unpacked is
    /// only measured). Returns its unpacked size.
    pub fn unpack(&self, zip: &[u8], sha256: &str) -> Result<u64, ArchiveError> {
        let dest = self.unpacked_dir(sha256);
        if dest.is_dir() {
            return Ok(archive::unpacked_size(&dest)?);
        }
        archive::unpack(zip, &dest, archive::MAX_UNZIPPED_BYTES)
    }

    /// Makes sure `layers`' view exists, unpacking archives from `content`
    /// (which returns an archive's bytes by hash) where their folder is
    /// missing, e.g. after the data dir's layers folder was cleared.
    pub fn ensure(
        &self,
        layers: &[LayerRef],
        content: impl Fn(&str) -> io::Result<Vec<u8>>,
    ) -> io::Result<()> {
        for layer in layers {
            if !self.unpacked_dir(&layer.content_sha256).is_dir() {
                let zip = content(&layer.content_sha256)?;
                self.unpack(&zip, &layer.content_sha256)
                    .map_err(io::Error::other)?;
            }
        }
        if layers.len() < 2 {
            return Ok(());
        }
        let dest = self.views.join(view_key(layers));
        if dest.is_dir() {
            return Ok(());
        }
        let staging = tempfile::Builder::new()
            .prefix(".merging-")
            .tempdir_in(&self.views)?;
        for layer in layers {
            merge_into(&self.unpacked_dir(&layer.content_sha256), staging.path())?;
        }
        let staged = staging.keep();
        if let Err(err) = std::fs::rename(&staged, &dest) {
            let _ = std::fs::remove_dir_all(&staged);
            if !dest.is_dir() {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Removes the unpacked folder of an archive nothing uses any more.
    pub fn remove_unpacked(&self, sha256: &str) {
        let dir = self.unpacked_dir(sha256);
        if let Err(err) = remove_tree(&dir) {
            tracing::warn!(dir = %dir.display(), cause = %err, "could not remove an unused layer folder");
        }
    }

    /// Removes the merged views that no list in `in_use` needs, the
    /// unpacked folders of archives not in `archives`, and leftovers of
    /// interrupted unpacks and merges.
    pub fn sweep(&self, in_use: &[Vec<LayerRef>], archives: &[String]) -> io::Result<usize> {
        let keep: std::collections::HashSet<String> = in_use
            .iter()
            .filter(|layers| layers.len() >= 2)
            .map(|layers| view_key(layers))
            .collect();
        let mut removed = 0;
        for dir in [&self.views, &self.unpacked] {
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let stale = name.starts_with('.')
                    || if dir == &self.views {
                        !keep.contains(&name)
                    } else {
                        !archives.contains(&name)
                    };
                if stale {
                    remove_tree(&entry.path())?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

/// A merged view's folder name: the hash of its archives' hashes, in order.
fn view_key(layers: &[LayerRef]) -> String {
    let mut hash = Sha256::new();
    for layer in layers {
        hash.update(layer.content_sha256.as_bytes());
        hash.update(b"\n");
    }
    hex::encode(hash.finalize())
}

/// Links every file under `from` into `into`, replacing what is there.
fn merge_into(from: &Path, into: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let source = entry.path();
        let target = into.join(entry.file_name());
        let existing = std::fs::symlink_metadata(&target).ok();
        if entry.file_type()?.is_dir() {
            if existing.as_ref().is_some_and(|m| !m.is_dir()) {
                std::fs::remove_file(&target)?;
            }
            std::fs::create_dir_all(&target)?;
            merge_into(&source, &target)?;
        } else {
            match existing {
                Some(meta) if meta.is_dir() => remove_tree(&target)?,
                Some(_) => std::fs::remove_file(&target)?,
                None => {}
            }
            if std::fs::hard_link(&source, &target).is_err() {
                // Another filesystem (a data dir spread over mounts): copy.
                std::fs::copy(&source, &target)?;
            }
        }
    }
    Ok(())
}

/// Removes a folder whose files are read-only.
fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(views: &LayerViews, files: &[(&str, &str)]) -> LayerRef {
        let sha = hex::encode(Sha256::digest(format!("{files:?}")));
        let dir = views.unpacked_dir(&sha);
        for (name, body) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        LayerRef {
            arn: String::new(),
            content_sha256: sha,
            code_size: 0,
            unpacked_size: 0,
        }
    }

    #[test]
    fn later_layers_override_earlier_ones() {
        let data = tempfile::tempdir().unwrap();
        let views = LayerViews::new(data.path()).unwrap();
        let first = layer(&views, &[("config.json", "1"), ("a/x", "1"), ("b", "file")]);
        let second = layer(
            &views,
            &[("config.json", "2"), ("a/y", "2"), ("b/c", "dir")],
        );
        let layers = vec![first.clone(), second];
        views
            .ensure(&layers, |_| Err(io::Error::other("all unpacked")))
            .unwrap();
        let view = views.view_path(&layers).unwrap();
        let read = |p: &str| std::fs::read_to_string(view.join(p)).unwrap();
        assert_eq!(read("config.json"), "2");
        assert_eq!(read("a/x"), "1");
        assert_eq!(read("a/y"), "2");
        assert_eq!(read("b/c"), "dir");
        // The first layer's own folder is untouched.
        let own = views.unpacked_dir(&first.content_sha256);
        assert_eq!(
            std::fs::read_to_string(own.join("config.json")).unwrap(),
            "1"
        );
        let archives: Vec<String> = layers.iter().map(|l| l.content_sha256.clone()).collect();
        assert_eq!(views.sweep(&[layers], &archives).unwrap(), 0);
        assert_eq!(views.sweep(&[], &archives).unwrap(), 1);
        assert!(!view.exists());
        assert!(own.exists());
        assert_eq!(views.sweep(&[], &[]).unwrap(), 2);
        assert!(!own.exists());
    }
}
