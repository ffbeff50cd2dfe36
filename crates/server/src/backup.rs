//! Backups of a running server, and restoring a data dir from one.
//!
//! A backup is one file: every store record (functions and their code,
//! versions, layers and their archives, the queue and dead letters,
//! topics, rules, buckets and their object index, accounts and keys,
//! logs; see `funnel_store::Store::export` for what "consistent" means
//! while traffic goes on), the master key that seals the access keys, and
//! with `--with-buckets` the files of the buckets kept under the data
//! dir. Compiled code and unpacked layers are not in it: they are made
//! again from the store at the first start. The file is as secret as the
//! data dir (it holds the master key): it is written readable by its
//! owner only.
//!
//! Format: `FNLBAK01`, then entries — `1` a store record (tree: u16 length
//! and bytes; key and value: u32 length and bytes), `2` a file (kind u8:
//! 0 the master key, 1 a bucket file; its path under the data dir: u16
//! length and bytes; its content: u64 length and bytes) — then `0xFF`,
//! the number of entries (u64) and the SHA-256 of everything before it.
//! All numbers are big-endian.

use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail, ensure};
use sha2::{Digest, Sha256};

use funnel_store::Store;

use crate::buckets::confined::Folder;

const MAGIC: &[u8; 8] = b"FNLBAK01";
const RECORD: u8 = 1;
const FILE: u8 = 2;
const END: u8 = 0xFF;
const MASTER_KEY: u8 = 0;
const BUCKET_FILE: u8 = 1;

/// What a backup or a restore moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub records: u64,
    pub files: u64,
    pub bytes: u64,
}

/// Hashes and counts what passes through to `out`.
struct Hashing<W> {
    out: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// What a backup takes besides the store.
pub struct Sources<'a> {
    pub data_dir: &'a Path,
    /// The master key file (the data dir's, or the operator's).
    pub master_key: PathBuf,
    /// Include the files of the buckets kept under the data dir.
    pub with_buckets: bool,
}

/// Writes a backup of `store` and `sources` to `out`. Blocking.
pub fn write(store: &Store, sources: &Sources<'_>, out: impl Write) -> anyhow::Result<Summary> {
    let mut out = Hashing {
        out: io::BufWriter::with_capacity(1 << 20, out),
        hash: Sha256::new(),
        bytes: 0,
    };
    out.write_all(MAGIC)?;
    let mut summary = Summary::default();
    let key = std::fs::read(&sources.master_key)
        .with_context(|| format!("reading the master key {}", sources.master_key.display()))?;
    write_file(&mut out, MASTER_KEY, "master.key", &key)?;
    summary.files += 1;
    summary.records = store.export(&mut |tree, key, value| {
        out.write_all(&[RECORD])?;
        write_short(&mut out, tree.as_bytes())?;
        write_long(&mut out, key)?;
        write_long(&mut out, value)
    })?;
    if sources.with_buckets {
        for bucket in store.buckets()? {
            let Ok(rel) = Path::new(&bucket.path).strip_prefix(sources.data_dir) else {
                tracing::warn!(bucket = %bucket.name, path = %bucket.path, "the bucket's folder is not under the data dir: its files are not in the backup");
                continue;
            };
            // The bucket's own walk and reads: no link is followed, and
            // uploads in progress are not objects.
            let Ok(folder) = Folder::open(Path::new(&bucket.path)) else {
                continue;
            };
            for key in folder.walk("") {
                // A file deleted meanwhile is simply not in the backup.
                let Ok(mut file) = folder.open_file(&key) else {
                    continue;
                };
                let mut content = Vec::new();
                file.read_to_end(&mut content)?;
                let path = rel.join(&key);
                write_file(&mut out, BUCKET_FILE, &path.to_string_lossy(), &content)?;
                summary.files += 1;
            }
        }
    }
    let entries = summary.records + summary.files;
    out.write_all(&[END])?;
    out.write_all(&entries.to_be_bytes())?;
    let digest = out.hash.clone().finalize();
    out.out.write_all(&digest)?;
    out.out.flush()?;
    summary.bytes = out.bytes + digest.len() as u64;
    Ok(summary)
}

fn write_short(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u16::try_from(bytes.len()).map_err(|_| io::Error::other("a name too long"))?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)
}

fn write_long(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| io::Error::other("a record too long"))?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)
}

fn write_file(out: &mut impl Write, kind: u8, rel: &str, content: &[u8]) -> io::Result<()> {
    out.write_all(&[FILE, kind])?;
    write_short(out, rel.as_bytes())?;
    out.write_all(&(content.len() as u64).to_be_bytes())?;
    out.write_all(content)
}

/// Reads what [`write`] wrote, hashing it.
struct Reading<R> {
    input: R,
    hash: Sha256,
}

impl<R: Read> Reading<R> {
    fn exact(&mut self, n: usize) -> anyhow::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        self.input
            .read_exact(&mut buf)
            .context("the backup ends too soon (is it whole?)")?;
        self.hash.update(&buf);
        Ok(buf)
    }

    fn byte(&mut self) -> anyhow::Result<u8> {
        Ok(self.exact(1)?[0])
    }

    fn short(&mut self) -> anyhow::Result<Vec<u8>> {
        let len = u16::from_be_bytes(self.exact(2)?.try_into().unwrap_or_default());
        self.exact(len.into())
    }

    fn long(&mut self) -> anyhow::Result<Vec<u8>> {
        let len = u32::from_be_bytes(self.exact(4)?.try_into().unwrap_or_default());
        self.exact(len as usize)
    }
}

/// A relative path that stays under its root.
fn confined(rel: &[u8]) -> anyhow::Result<PathBuf> {
    let rel = PathBuf::from(String::from_utf8(rel.to_vec()).context("a path that is not UTF-8")?);
    ensure!(
        rel.components().all(|c| matches!(c, Component::Normal(_))),
        "the backup names a path outside the data dir: {}",
        rel.display()
    );
    Ok(rel)
}

/// Rebuilds a data dir at `data_dir` (new, or an empty folder) from the
/// backup `from`. Nothing is left behind if the backup is not whole.
pub fn restore(from: &Path, data_dir: &Path) -> anyhow::Result<Summary> {
    if data_dir.exists() {
        let empty = std::fs::read_dir(data_dir)
            .with_context(|| format!("reading {}", data_dir.display()))?
            .next()
            .is_none();
        ensure!(
            empty,
            "{} is not empty: restore into a new folder",
            data_dir.display()
        );
    }
    let file = std::fs::File::open(from).with_context(|| format!("opening {}", from.display()))?;
    crate::create_private_dir(data_dir)?;
    let restored = restore_into(io::BufReader::with_capacity(1 << 20, file), data_dir);
    if restored.is_err() {
        let _ = std::fs::remove_dir_all(data_dir);
    }
    restored.with_context(|| format!("restoring {}", from.display()))
}

fn restore_into(input: impl Read, data_dir: &Path) -> anyhow::Result<Summary> {
    let mut input = Reading {
        input,
        hash: Sha256::new(),
    };
    ensure!(
        input.exact(MAGIC.len())? == MAGIC,
        "not a funnel backup (it does not start with {})",
        String::from_utf8_lossy(MAGIC)
    );
    let store = Store::open(&data_dir.join("db"))?;
    let mut summary = Summary::default();
    loop {
        match input.byte()? {
            RECORD => {
                let tree = String::from_utf8(input.short()?).context("a tree name")?;
                let key = input.long()?;
                let value = input.long()?;
                store.import(&tree, &key, &value)?;
                summary.records += 1;
            }
            FILE => {
                let kind = input.byte()?;
                let rel = confined(&input.short()?)?;
                let len = u64::from_be_bytes(input.exact(8)?.try_into().unwrap_or_default());
                let len = usize::try_from(len).context("a file too large")?;
                let content = input.exact(len)?;
                let path = data_dir.join(&rel);
                match kind {
                    MASTER_KEY => write_private(&path, &content)?,
                    BUCKET_FILE => {
                        if let Some(parent) = path.parent() {
                            std::fs::create_dir_all(parent)?;
                        }
                        std::fs::write(&path, &content)
                            .with_context(|| format!("writing {}", path.display()))?;
                    }
                    other => bail!("an unknown kind of file ({other}) in the backup"),
                }
                summary.files += 1;
            }
            END => {
                let entries = u64::from_be_bytes(input.exact(8)?.try_into().unwrap_or_default());
                let computed = input.hash.clone().finalize();
                let mut stored = [0u8; 32];
                input
                    .input
                    .read_exact(&mut stored)
                    .context("the backup ends before its checksum")?;
                ensure!(
                    computed.as_slice() == stored,
                    "the backup's checksum does not match: it is damaged"
                );
                ensure!(
                    entries == summary.records + summary.files,
                    "the backup says it holds {entries} entries, but {} were read",
                    summary.records + summary.files
                );
                store.flush()?;
                return Ok(summary);
            }
            other => bail!("an unknown entry ({other}) in the backup: is it damaged?"),
        }
    }
}

/// Writes `content` to `path`, readable by its owner only.
fn write_private(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(content)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup_of(store: &Store, data_dir: &Path) -> Vec<u8> {
        std::fs::write(data_dir.join("master.key"), "00".repeat(32)).unwrap();
        let mut out = Vec::new();
        let sources = Sources {
            data_dir,
            master_key: data_dir.join("master.key"),
            with_buckets: true,
        };
        write(store, &sources, &mut out).unwrap();
        out
    }

    #[test]
    fn a_backup_restores_and_a_damaged_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let store = Store::open(&data.join("db")).unwrap();
        store.set_reserved_concurrency("f", Some(7)).unwrap();
        let bytes = backup_of(&store, &data);
        let file = dir.path().join("backup");
        std::fs::write(&file, &bytes).unwrap();

        let restored = dir.path().join("restored");
        let summary = restore(&file, &restored).unwrap();
        assert!(summary.records >= 1 && summary.files == 1, "{summary:?}");
        assert_eq!(
            std::fs::read_to_string(restored.join("master.key")).unwrap(),
            "00".repeat(32)
        );
        let again = Store::open(&restored.join("db")).unwrap();
        assert_eq!(
            again.reserved_concurrency().unwrap(),
            [("f".to_string(), 7)]
        );
        drop(again);

        // Into a folder in use: refused.
        let err = restore(&file, &restored).unwrap_err();
        assert!(format!("{err:#}").contains("not empty"), "{err:#}");
        // A flipped byte, or a cut: refused, and nothing left behind.
        for damaged in [
            {
                let mut b = bytes.clone();
                let at = b.len() / 2;
                b[at] ^= 1;
                b
            },
            bytes[..bytes.len() - 10].to_vec(),
        ] {
            std::fs::write(&file, &damaged).unwrap();
            let target = dir.path().join("damaged");
            let err = restore(&file, &target).unwrap_err();
            assert!(!target.exists(), "{err:#}");
        }
    }

    #[test]
    fn a_path_outside_the_data_dir_is_refused() {
        assert!(confined(b"buckets/a/b.txt").is_ok());
        for bad in [&b"../etc/passwd"[..], b"/etc/passwd", b"a/../../b"] {
            assert!(confined(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
