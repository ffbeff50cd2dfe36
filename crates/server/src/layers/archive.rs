//! Unpacking a layer's zip archive, refusing anything hostile before a byte
//! lands outside the layer's own folder.
//!
//! Checked up front, from the archive's directory: every name is a plain
//! relative path (no `..`, no absolute or drive paths, no backslashes, no
//! NUL), every entry is a regular file or a directory (no symlinks, devices
//! or pipes), no name repeats or is both a file and a directory, and the
//! declared sizes add up to at most the limit. Checked while writing: no
//! entry inflates to more than it declared, so a lying header cannot get
//! past the limit either. Everything is written into a fresh temporary
//! folder that is renamed into place only when the whole archive passed,
//! and removed otherwise.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Lambda's limit on a function's code and layers together, unzipped.
pub const MAX_UNZIPPED_BYTES: u64 = 262_144_000;
/// More entries than this is not a layer anyone means to publish.
pub const MAX_ENTRIES: usize = 100_000;

/// Why an archive was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the layer archive is refused: {0}")]
    Refused(String),
    #[error("unpacking the layer archive: {0}")]
    Io(#[from] io::Error),
}

/// What an archive holds: relative paths and whether each is a directory.
struct Plan {
    entries: Vec<(usize, PathBuf, bool)>,
    declared: u64,
}

/// Unpacks `zip` into `dest` (which must not exist yet) through a temporary
/// folder next to it; returns the unpacked size in bytes. On any refusal or
/// error nothing is left behind.
pub fn unpack(zip: &[u8], dest: &Path, limit: u64) -> Result<u64, ArchiveError> {
    let mut archive = zip::ZipArchive::new(io::Cursor::new(zip))
        .map_err(|e| ArchiveError::Refused(format!("it is not a readable zip archive: {e}")))?;
    let plan = plan(&mut archive, limit)?;
    let parent = dest
        .parent()
        .ok_or_else(|| io::Error::other("the layer folder has no parent"))?;
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".unpacking-")
        .tempdir_in(parent)?;
    let size = write_all(&mut archive, &plan, staging.path(), limit)?;
    let staged = staging.keep();
    if let Err(err) = std::fs::rename(&staged, dest) {
        let _ = std::fs::remove_dir_all(&staged);
        // Another publish of the same archive got there first.
        if !dest.is_dir() {
            return Err(err.into());
        }
    }
    Ok(size)
}

/// Reads the archive's directory and refuses what must not be unpacked.
fn plan(
    archive: &mut zip::ZipArchive<io::Cursor<&[u8]>>,
    limit: u64,
) -> Result<Plan, ArchiveError> {
    if archive.len() > MAX_ENTRIES {
        return Err(ArchiveError::Refused(format!(
            "it has {} entries; at most {MAX_ENTRIES} are allowed",
            archive.len()
        )));
    }
    if archive.has_duplicate_names() {
        return Err(ArchiveError::Refused(
            "a name appears more than once in its directory".into(),
        ));
    }
    // Path → is a directory. A BTreeMap so a file can be checked against
    // the directories above it and the entries below it.
    let mut seen: BTreeMap<PathBuf, bool> = BTreeMap::new();
    let mut entries = Vec::with_capacity(archive.len());
    let mut declared: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| ArchiveError::Refused(format!("entry {index} cannot be read: {e}")))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let path = relative_path(&name)?;
        if entry.encrypted() {
            return Err(ArchiveError::Refused(format!(
                "entry {name:?} is encrypted"
            )));
        }
        let is_dir = entry.is_dir();
        if let Some(mode) = entry.unix_mode() {
            const TYPE: u32 = 0o170_000;
            let kind = mode & TYPE;
            let regular = kind == 0 || kind == 0o100_000 || (is_dir && kind == 0o040_000);
            if !regular {
                let what = if kind == 0o120_000 {
                    "a symbolic link"
                } else {
                    "not a regular file or directory"
                };
                return Err(ArchiveError::Refused(format!("entry {name:?} is {what}")));
            }
        }
        if let Some(was_dir) = seen.get(&path) {
            if is_dir && *was_dir {
                continue;
            }
            return Err(ArchiveError::Refused(format!(
                "entry {name:?} appears more than once"
            )));
        }
        // Every folder above it must be a folder, not a file.
        for ancestor in path.ancestors().skip(1) {
            if seen.get(ancestor) == Some(&false) {
                return Err(ArchiveError::Refused(format!(
                    "entry {name:?} is inside {:?}, which is a file",
                    ancestor.display()
                )));
            }
        }
        // A file must not be a folder above an earlier entry.
        if !is_dir
            && seen
                .range(path.clone()..)
                .next()
                .is_some_and(|(later, _)| later.starts_with(&path))
        {
            return Err(ArchiveError::Refused(format!(
                "entry {name:?} is a file and also a folder of other entries"
            )));
        }
        declared = declared.saturating_add(entry.size());
        if declared > limit {
            return Err(ArchiveError::Refused(format!(
                "its entries declare more than {limit} bytes unpacked \
                 (Unzipped size must be smaller than {limit} bytes)"
            )));
        }
        seen.insert(path.clone(), is_dir);
        entries.push((index, path, is_dir));
    }
    Ok(Plan { entries, declared })
}

/// An entry's name as a path relative to the layer's folder.
fn relative_path(name: &str) -> Result<PathBuf, ArchiveError> {
    let refuse = |why: &str| ArchiveError::Refused(format!("entry {name:?} {why}"));
    if name.contains('\0') {
        return Err(refuse("has a NUL in its name"));
    }
    if name.contains('\\') {
        return Err(refuse("has a backslash in its name"));
    }
    if name.starts_with('/') {
        return Err(refuse("is an absolute path"));
    }
    let mut path = PathBuf::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(refuse("escapes the layer's folder with '..'")),
            part if part.len() >= 2 && part.as_bytes()[1] == b':' => {
                return Err(refuse("names a drive"));
            }
            part => path.push(part),
        }
    }
    if path.as_os_str().is_empty() {
        return Err(refuse("has an empty name"));
    }
    Ok(path)
}

/// Writes the planned entries under `root`; returns the bytes written.
fn write_all(
    archive: &mut zip::ZipArchive<io::Cursor<&[u8]>>,
    plan: &Plan,
    root: &Path,
    limit: u64,
) -> Result<u64, ArchiveError> {
    let mut total: u64 = 0;
    let mut made: HashMap<PathBuf, ()> = HashMap::new();
    for (index, path, is_dir) in &plan.entries {
        let target = root.join(path);
        if *is_dir {
            std::fs::create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = path.parent()
            && made.insert(parent.to_path_buf(), ()).is_none()
        {
            std::fs::create_dir_all(root.join(parent))?;
        }
        let mut entry = archive.by_index(*index).map_err(|e| {
            ArchiveError::Refused(format!("entry {:?} cannot be read: {e}", path.display()))
        })?;
        let declared = entry.size();
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)?;
        // One byte more than declared tells a lying header.
        let written = io::copy(&mut (&mut entry).take(declared + 1), &mut out).map_err(|e| {
            ArchiveError::Refused(format!(
                "entry {:?} cannot be inflated: {e}",
                path.display()
            ))
        })?;
        if written > declared {
            return Err(ArchiveError::Refused(format!(
                "entry {:?} inflates to more than the {declared} bytes it declares",
                path.display()
            )));
        }
        out.flush()?;
        total += written;
        if total > limit {
            return Err(ArchiveError::Refused(format!(
                "it unpacks to more than {limit} bytes (Unzipped size must be smaller than {limit} bytes)"
            )));
        }
        set_read_only(&target)?;
    }
    debug_assert!(total <= plan.declared);
    Ok(total)
}

fn set_read_only(path: &Path) -> io::Result<()> {
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(path, permissions)
}

/// The size of the files under `dir`, for an archive unpacked earlier.
pub fn unpacked_size(dir: &Path) -> io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            total += unpacked_size(&entry.path())?;
        } else {
            total += entry.metadata()?.len();
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, body) in entries {
            out.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(body).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let mut out = haystack.to_vec();
        for i in 0..=out.len() - from.len() {
            if &out[i..i + from.len()] == from {
                out[i..i + from.len()].copy_from_slice(to);
            }
        }
        out
    }

    #[test]
    fn unpacks_files_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("layer");
        let zip = zip_of(&[("config.json", b"{}"), ("lib/a/b.txt", b"hello")]);
        assert_eq!(unpack(&zip, &dest, MAX_UNZIPPED_BYTES).unwrap(), 7);
        assert_eq!(std::fs::read(dest.join("lib/a/b.txt")).unwrap(), b"hello");
        assert_eq!(unpacked_size(&dest).unwrap(), 7);
    }

    #[test]
    fn names_that_escape_are_refused() {
        for name in ["../x", "a/../../x", "/etc/x", "a\\..\\x", "C:/x"] {
            let err = relative_path(name).unwrap_err();
            assert!(matches!(err, ArchiveError::Refused(_)), "{name}");
        }
        assert_eq!(relative_path("./a//b").unwrap(), PathBuf::from("a/b"));
    }

    #[test]
    fn a_refused_archive_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("layer");
        // Zip writers refuse duplicates: write two names, then make them one.
        let zip = zip_of(&[("ok.txt", b"x"), ("dup.txt", b"1"), ("dux.txt", b"2")]);
        let zip = replace_all(&zip, b"dux.txt", b"dup.txt");
        let err = unpack(&zip, &dest, MAX_UNZIPPED_BYTES).unwrap_err();
        assert!(err.to_string().contains("more than once"), "{err}");
        assert!(!dest.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_file_cannot_also_be_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        for entries in [
            &[("a", &b"x"[..]), ("a/b", &b"y"[..])][..],
            &[("a/b", &b"y"[..]), ("a", &b"x"[..])][..],
        ] {
            let err =
                unpack(&zip_of(entries), &dir.path().join("l"), MAX_UNZIPPED_BYTES).unwrap_err();
            assert!(err.to_string().contains("file"), "{err}");
        }
    }
}
