//! A bucket's folder as the object API, the watcher and rescans reach it:
//! every path below the folder is resolved one segment at a time from an
//! open directory (cap-std), and no segment — folder or file — may be a
//! symlink. A link planted in a bucket (by a guest with a read-write grant,
//! or by anyone who writes the folder) is never followed: it is not an
//! object, it is not listed, and nothing is read or written through it.

use std::io;
use std::path::Path;

use cap_fs_ext::{DirExt as _, FollowSymlinks, OpenOptionsFollowExt as _};
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};
use md5::{Digest as _, Md5};

use super::Fingerprint;
use super::objects::check_key;

/// A bucket's folder, opened. Cheap to clone.
#[derive(Clone)]
pub struct Folder {
    root: std::sync::Arc<Dir>,
}

/// The folder a key's file lives in, opened, and the file's name.
pub struct Parent<'k> {
    pub dir: Dir,
    pub name: &'k str,
}

impl Folder {
    /// Opens the bucket folder at `root` (a path funnel checked when the
    /// bucket was made).
    pub fn open(root: &Path) -> io::Result<Folder> {
        Ok(Folder {
            root: std::sync::Arc::new(Dir::open_ambient_dir(root, ambient_authority())?),
        })
    }

    /// The folder of `key`'s file (made, with the folders above it, when
    /// `create`). A segment that is a symlink or a file fails.
    pub fn parent<'k>(&self, key: &'k str, create: bool) -> io::Result<Parent<'k>> {
        let (folders, name) = match key.rsplit_once('/') {
            Some((folders, name)) => (Some(folders), name),
            None => (None, key),
        };
        let mut dir = self.root.try_clone()?;
        for segment in folders.into_iter().flat_map(|f| f.split('/')) {
            if create {
                match dir.create_dir(segment) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
            dir = dir.open_dir_nofollow(segment)?;
        }
        Ok(Parent { dir, name })
    }

    /// What the index compares of `key`'s file; `None` when it is not a
    /// regular file reached without a symlink.
    pub fn fingerprint(&self, key: &str) -> Option<Fingerprint> {
        let parent = self.parent(key, false).ok()?;
        fingerprint_in(&parent.dir, parent.name)
    }

    /// Opens `key`'s file for reading (never through a symlink).
    pub fn open_file(&self, key: &str) -> io::Result<std::fs::File> {
        let parent = self.parent(key, false)?;
        let mut options = OpenOptions::new();
        options.read(true).follow(FollowSymlinks::No);
        let file = parent.dir.open_with(parent.name, &options)?;
        let file = file.into_std();
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "not a file"));
        }
        Ok(file)
    }

    /// MD5 of `key`'s content, lowercase hex (S3's ETag of a single PUT).
    /// Blocking.
    pub fn md5(&self, key: &str) -> io::Result<String> {
        let mut file = self.open_file(key)?;
        let mut hasher = Md5::new();
        io::copy(&mut file, &mut hasher)?;
        Ok(hex::encode(hasher.finalize()))
    }

    /// Removes `key`'s file, then the folders it leaves empty (up to, not
    /// including, the bucket's folder). `false` if there was no file.
    pub fn remove_file(&self, key: &str) -> io::Result<bool> {
        let parent = self.parent(key, false)?;
        match parent.dir.symlink_metadata(parent.name) {
            Ok(meta) if meta.is_file() => parent.dir.remove_file(parent.name)?,
            _ => return Ok(false),
        }
        let mut folders = key;
        while let Some((above, _)) = folders.rsplit_once('/') {
            let Ok(parent) = self.parent(above, false) else {
                break;
            };
            if parent.dir.remove_dir(parent.name).is_err() {
                break;
            }
            folders = above;
        }
        Ok(true)
    }

    /// [`Folder::walk`] on a blocking thread: a big bucket's walk never
    /// holds an API worker.
    pub async fn walk_blocking(&self, prefix: &str) -> Vec<String> {
        let (folder, prefix) = (self.clone(), prefix.to_string());
        tokio::task::spawn_blocking(move || folder.walk(&prefix))
            .await
            .unwrap_or_default()
    }

    /// Every object key under the folder `prefix` (a key's folder part;
    /// empty for the whole bucket): regular files with names that can be
    /// keys, temporary names skipped, symlinks neither listed nor
    /// followed. Sorted.
    pub fn walk(&self, prefix: &str) -> Vec<String> {
        let start = if prefix.is_empty() {
            self.root.try_clone()
        } else {
            self.parent(&format!("{prefix}/_"), false).map(|p| p.dir)
        };
        let Ok(start) = start else {
            return Vec::new();
        };
        let mut keys = Vec::new();
        let mut stack = vec![(start, String::new())];
        while let Some((folder, rel)) = stack.pop() {
            let Ok(entries) = folder.entries() else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                // The entry's own type: a symlink is a symlink.
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                let key = format!("{rel}{name}");
                if kind.is_dir() {
                    if let Ok(sub) = folder.open_dir_nofollow(&name) {
                        stack.push((sub, format!("{key}/")));
                    }
                } else if kind.is_file() && check_key(&key).is_ok() {
                    keys.push(key);
                }
            }
        }
        keys.sort();
        keys
    }
}

/// The fingerprint of the regular file `name` in `dir` (`None` for a
/// symlink, a folder, or nothing).
pub fn fingerprint_in(dir: &Dir, name: &str) -> Option<Fingerprint> {
    let meta = dir.symlink_metadata(name).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mtime_ns = meta
        .modified()
        .ok()
        .map(cap_std::time::SystemTime::into_std)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    #[cfg(unix)]
    let inode = cap_std::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Fingerprint {
        size: meta.len(),
        mtime_ns,
        inode,
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn no_symlink_is_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let bucket = tempfile::tempdir().unwrap();
        std::fs::create_dir(bucket.path().join("real")).unwrap();
        std::fs::write(bucket.path().join("real/a.txt"), "a").unwrap();
        std::os::unix::fs::symlink(outside.path(), bucket.path().join("escape")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            bucket.path().join("secret-link"),
        )
        .unwrap();
        std::os::unix::fs::symlink("real", bucket.path().join("inside")).unwrap();

        let folder = Folder::open(bucket.path()).unwrap();
        assert_eq!(folder.walk(""), vec!["real/a.txt".to_string()]);
        assert!(folder.walk("escape").is_empty());
        for key in ["escape/secret", "secret-link", "inside/a.txt"] {
            assert!(folder.fingerprint(key).is_none(), "{key}");
            assert!(folder.open_file(key).is_err(), "{key}");
            assert!(folder.parent(key, true).is_err() || key == "secret-link");
        }
        assert!(folder.fingerprint("real/a.txt").is_some());
        assert_eq!(folder.md5("real/a.txt").unwrap().len(), 32);
        // Removing through a link removes nothing.
        assert!(folder.remove_file("escape/secret").is_err());
        assert!(!folder.remove_file("secret-link").unwrap());
        assert!(outside.path().join("secret").exists());
        assert!(bucket.path().join("secret-link").exists());
        // A removed file takes its emptied folders with it.
        assert!(folder.remove_file("real/a.txt").unwrap());
        assert!(!bucket.path().join("real").exists());
    }
}
