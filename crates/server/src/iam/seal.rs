//! The master key: 32 random bytes in `<data-dir>/master.key` (0600), or
//! in the file `FUNNEL_MASTER_KEY_FILE` names. It seals the secret access
//! keys in the store (XChaCha20-Poly1305, the key id as associated data)
//! and each account's data key (which seals the account's secrets and
//! SecureString parameters); keys for other purposes are derived from it
//! (HMAC-SHA256 of a label): the compiled-code MAC's, for one.
//!
//! The store records the id of the key that sealed it ([`MasterKey::id`]):
//! a server started with another key is refused before it writes anything
//! ([`open`]), naming the file. [`rotate`] replaces the key on a stopped
//! server's data dir, crash-safely: the new key is written beside the old
//! one (`<key file>.next`), every sealed key is resealed and the new id
//! recorded in one store transaction, then the new file takes the old
//! one's place. Whichever step a crash interrupts, [`open`] finds one of
//! the two files matching the store's id and finishes (or forgets) the
//! rotation. Compiled code is authenticated by a key derived from the
//! master key, so a rotation removes it: the next start compiles again.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use funnel_store::{AccessKeyRecord, DataKeyRecord, Store};

const NONCE_BYTES: usize = 24;

#[derive(Clone)]
pub struct MasterKey {
    cipher: XChaCha20Poly1305,
    bytes: [u8; 32],
}

/// Fills `out` from the operating system's generator.
pub fn random(out: &mut [u8]) {
    // The OS generator does not fail on the platforms funnel runs on; if
    // it did, nothing secret could be made, so stopping is right.
    getrandom::fill(out).expect("the operating system's random generator failed");
}

impl MasterKey {
    /// Where the key is: `file` when the operator named one, else
    /// `<data_dir>/master.key`.
    pub fn path(data_dir: &Path, file: Option<&Path>) -> PathBuf {
        file.map_or_else(|| data_dir.join("master.key"), Path::to_path_buf)
    }

    /// Reads the key from `file` (which must exist), or from
    /// `<data_dir>/master.key`, made on first use.
    pub fn load_or_create(data_dir: &Path, file: Option<&Path>) -> anyhow::Result<MasterKey> {
        let path = MasterKey::path(data_dir, file);
        if file.is_none() && !path.exists() {
            create(&path)?;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the master key {}", path.display()))?;
        let bytes: [u8; 32] = hex::decode(text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .with_context(|| {
                format!(
                    "the master key {} must hold 64 hex digits (32 bytes)",
                    path.display()
                )
            })?;
        warn_if_shared(&path);
        Ok(MasterKey::from_bytes(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey {
            cipher: XChaCha20Poly1305::new(&bytes.into()),
            bytes,
        }
    }

    /// An id of this key (the first 8 bytes of a derived key, hex): tells
    /// it apart from another, says nothing of it.
    pub fn id(&self) -> String {
        hex::encode(&self.derive("funnel master key id v1")[..8])
    }

    /// A key for `label`'s purpose, independent of every other label's
    /// and of the sealing key.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac as _};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&self.bytes)
            .expect("HMAC takes keys of any length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// `secret` sealed, bound to `context` (hex: nonce, then ciphertext).
    pub fn seal(&self, secret: &[u8], context: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        random(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: context,
                },
            )
            // Encryption fails only for messages past 256 GiB.
            .expect("sealing a short secret");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        hex::encode(out)
    }

    /// What [`MasterKey::seal`] sealed with the same `context`; `None` if
    /// the bytes are not that (another master key, or tampered).
    pub fn unseal(&self, sealed: &str, context: &[u8]) -> Option<Vec<u8>> {
        let bytes = hex::decode(sealed).ok()?;
        if bytes.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).ok()?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: context,
                },
            )
            .ok()
    }
}

/// Writes 32 fresh random bytes, hex, readable by the owner only.
fn create(path: &Path) -> anyhow::Result<()> {
    let mut bytes = [0u8; 32];
    random(&mut bytes);
    write_key(path, &bytes, true)
}

/// Writes `bytes` as a key file (hex, 0600), durably; `new` refuses an
/// existing file, else it is replaced.
fn write_key(path: &Path, bytes: &[u8; 32], new: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the master key {}", path.display()))?;
    writeln!(file, "{}", hex::encode(bytes))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing the master key {}", path.display()))?;
    sync_parent(path)
}

/// Makes a file's creation or renaming in its folder durable.
fn sync_parent(path: &Path) -> anyhow::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("syncing the folder {}", parent.display()))
}

/// Where a rotation writes the new key until the store is resealed.
fn next_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".next");
    PathBuf::from(name)
}

/// What a data key is sealed to: its account.
pub fn data_key_context(account: &str) -> Vec<u8> {
    let mut context = b"funnel data key\0".to_vec();
    context.extend_from_slice(account.as_bytes());
    context
}

/// The master key of a data dir whose store is open: read (or made, for a
/// data dir that has sealed nothing yet) and checked against the id the
/// store recorded, finishing or forgetting a rotation a crash interrupted.
/// Another key is refused, naming the file, before anything is written.
pub fn open(data_dir: &Path, file: Option<&Path>, store: &Store) -> anyhow::Result<MasterKey> {
    let path = MasterKey::path(data_dir, file);
    let next = next_path(&path);
    let recorded = store.master_key_id()?;
    if let Some(id) = &recorded
        && next.exists()
    {
        let read = |p: &Path| MasterKey::load_or_create(data_dir, Some(p)).ok();
        if read(&next).is_some_and(|new| new.id() == *id) {
            // The store was resealed under the new key; the file swap
            // did not happen.
            std::fs::rename(&next, &path).with_context(|| {
                format!(
                    "finishing a master key rotation: renaming {} to {}",
                    next.display(),
                    path.display()
                )
            })?;
            sync_parent(&path)?;
            tracing::warn!(key = %path.display(), "finished a master key rotation that was interrupted");
        } else if read(&path).is_some_and(|old| old.id() == *id) {
            // The rotation stopped before the store changed: the old key
            // stays.
            std::fs::remove_file(&next).with_context(|| format!("removing {}", next.display()))?;
            tracing::warn!(key = %path.display(), "a master key rotation did not finish; the key is unchanged");
        }
    }
    if file.is_none() && !path.exists() && store.has_sealed()? {
        bail!(
            "the master key {} is missing, but this data dir holds keys sealed by it: put the \
             file back (or name it with --master-key-file / FUNNEL_MASTER_KEY_FILE); nothing was \
             changed",
            path.display()
        );
    }
    let key = MasterKey::load_or_create(data_dir, file)?;
    let wrong = |why: String| {
        anyhow::anyhow!(
            "the master key {} is not the one this data dir was sealed with ({why}): name the \
             right key file with --master-key-file / FUNNEL_MASTER_KEY_FILE; nothing was changed",
            path.display()
        )
    };
    match recorded {
        Some(id) if id == key.id() => {}
        Some(id) => {
            return Err(wrong(format!(
                "its id is {}, the data dir's {id}",
                key.id()
            )));
        }
        None => {
            // A data dir from before ids were kept: the key must open
            // what it sealed.
            unseal_all(&key, store).map_err(|e| wrong(format!("{e:#}")))?;
            store.set_master_key_id(&key.id())?;
            store.flush()?;
        }
    }
    Ok(key)
}

/// Access keys and data keys, each with what it seals in clear.
type Opened = (
    Vec<(AccessKeyRecord, Vec<u8>)>,
    Vec<(DataKeyRecord, Vec<u8>)>,
);

/// Every sealed access key and data key, opened (the error names the
/// first that does not open).
fn unseal_all(key: &MasterKey, store: &Store) -> anyhow::Result<Opened> {
    let mut access = Vec::new();
    for record in store.access_keys()? {
        let secret = key
            .unseal(&record.sealed_secret, record.access_key_id.as_bytes())
            .with_context(|| format!("access key {} does not open", record.access_key_id))?;
        access.push((record, secret));
    }
    let mut data = Vec::new();
    for record in store.data_keys()? {
        let bytes = key
            .unseal(&record.sealed, &data_key_context(&record.account_id))
            .with_context(|| {
                format!(
                    "the data key of account {} does not open",
                    record.account_id
                )
            })?;
        data.push((record, bytes));
    }
    Ok((access, data))
}

/// What a master key rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The key file, now holding the new key.
    pub key_file: PathBuf,
    /// The new key's id.
    pub key_id: String,
    pub access_keys: usize,
    pub data_keys: usize,
    /// Compiled-code files removed (authenticated under the old key).
    pub compiled_removed: usize,
}

/// Replaces the master key of the data dir `data_dir` (no server may be
/// running on it: the store's lock says so): a new key, every access key
/// and data key resealed by it, compiled code removed. Crash-safe (see
/// the module docs). Secrets, parameters and access keys themselves do
/// not change.
pub fn rotate(data_dir: &Path, file: Option<&Path>) -> anyhow::Result<Rotation> {
    let db = data_dir.join("db");
    if !db.is_dir() {
        bail!("{} holds no funnel database", data_dir.display());
    }
    let (store, _) = funnel_store::open_migrated(&db).with_context(|| {
        format!(
            "opening the database in {} (stop the server using it first)",
            db.display()
        )
    })?;
    // The resealed keys must survive a power cut before the old key goes.
    store.set_power_durability(true);
    let old = open(data_dir, file, &store)?;
    let (access, data) = unseal_all(&old, &store)?;
    let path = MasterKey::path(data_dir, file);
    let next = next_path(&path);
    let mut bytes = [0u8; 32];
    random(&mut bytes);
    write_key(&next, &bytes, false)?;
    let new = MasterKey::from_bytes(bytes);
    let access: Vec<AccessKeyRecord> = access
        .into_iter()
        .map(|(record, secret)| AccessKeyRecord {
            sealed_secret: new.seal(&secret, record.access_key_id.as_bytes()),
            ..record
        })
        .collect();
    let data: Vec<DataKeyRecord> = data
        .into_iter()
        .map(|(record, key)| DataKeyRecord {
            sealed: new.seal(&key, &data_key_context(&record.account_id)),
            ..record
        })
        .collect();
    store
        .reseal(&access, &data, &new.id())
        .context("resealing the keys")?;
    std::fs::rename(&next, &path).with_context(|| {
        format!(
            "replacing {} with {} (the store is resealed: the next start finishes this)",
            path.display(),
            next.display()
        )
    })?;
    sync_parent(&path)?;
    let compiled_removed = remove_compiled(&data_dir.join("compiled"));
    tracing::info!(key = %path.display(), "rotated the master key");
    Ok(Rotation {
        key_file: path,
        key_id: new.id(),
        access_keys: access.len(),
        data_keys: data.len(),
        compiled_removed,
    })
}

/// Removes compiled code (its MACs are under the old key's derivation:
/// it would be recompiled anyway, and must not stay forgeable with the
/// old key). Returns how many files went.
fn remove_compiled(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "the master key is readable by others than its owner; chmod 600 it"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_differ_by_label_and_master() {
        let one = MasterKey::from_bytes([1; 32]);
        let two = MasterKey::from_bytes([2; 32]);
        assert_eq!(one.derive("a"), one.derive("a"));
        assert_ne!(one.derive("a"), one.derive("b"));
        assert_ne!(one.derive("a"), two.derive("a"));
        assert_ne!(one.derive("a"), [1; 32]);
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_context() {
        let key = MasterKey::from_bytes([1; 32]);
        let sealed = key.seal(b"secret", b"AKIA1");
        assert_eq!(
            key.unseal(&sealed, b"AKIA1").as_deref(),
            Some(&b"secret"[..])
        );
        assert_eq!(key.unseal(&sealed, b"AKIA2"), None);
        assert_eq!(
            MasterKey::from_bytes([2; 32]).unseal(&sealed, b"AKIA1"),
            None
        );
        // A fresh nonce each time.
        assert_ne!(sealed, key.seal(b"secret", b"AKIA1"));
    }

    #[test]
    fn the_key_file_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = MasterKey::load_or_create(dir.path(), None).unwrap();
        let again = MasterKey::load_or_create(dir.path(), None).unwrap();
        let sealed = first.seal(b"secret", b"id");
        assert_eq!(
            again.unseal(&sealed, b"id").as_deref(),
            Some(&b"secret"[..])
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let missing = MasterKey::load_or_create(dir.path(), Some(&dir.path().join("nope")));
        assert!(missing.is_err());
    }

    /// A data dir with an access key and a data key sealed by `key`.
    fn sealed_store(data_dir: &Path, key: &MasterKey) -> Store {
        let store = Store::open(&data_dir.join("db")).unwrap();
        store
            .put_access_key(&AccessKeyRecord {
                access_key_id: "AKIA1".into(),
                account_id: "000000000000".into(),
                user_name: "operator".into(),
                status: "Active".into(),
                create_date: String::new(),
                sealed_secret: key.seal(b"the secret", b"AKIA1"),
            })
            .unwrap();
        store
            .create_data_key(&DataKeyRecord {
                account_id: "111111111111".into(),
                sealed: key.seal(&[9; 32], &data_key_context("111111111111")),
                created_ms: 0,
            })
            .unwrap();
        store
    }

    fn key_file(path: &Path, byte: u8) -> MasterKey {
        std::fs::write(path, hex::encode([byte; 32])).unwrap();
        MasterKey::from_bytes([byte; 32])
    }

    fn opens(key: &MasterKey, store: &Store) -> bool {
        unseal_all(key, store)
            .is_ok_and(|(access, data)| access[0].1 == b"the secret" && data[0].1 == [9; 32])
    }

    #[test]
    fn another_key_is_refused_naming_its_file_and_nothing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let right = key_file(&path, 1);
        let store = sealed_store(dir.path(), &right);
        // A data dir from before ids: the key is tried on what it sealed,
        // then its id recorded.
        let other = dir.path().join("other.key");
        key_file(&other, 2);
        let err = open(dir.path(), Some(&other), &store).err().unwrap();
        assert!(err.to_string().contains("other.key"), "{err}");
        assert!(err.to_string().contains("not the one"), "{err}");
        assert_eq!(store.master_key_id().unwrap(), None);
        assert_eq!(open(dir.path(), None, &store).unwrap().id(), right.id());
        assert_eq!(store.master_key_id().unwrap(), Some(right.id()));
        // Now the id decides.
        let err = open(dir.path(), Some(&other), &store).err().unwrap();
        assert!(err.to_string().contains("other.key"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&other).unwrap(),
            hex::encode([2u8; 32])
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            hex::encode([1u8; 32])
        );
        // A missing key file is not made again over sealed data.
        std::fs::remove_file(&path).unwrap();
        let err = open(dir.path(), None, &store).err().unwrap();
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn rotation_reseals_every_key_and_removes_compiled_code() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let old = key_file(&path, 1);
        drop(sealed_store(dir.path(), &old));
        std::fs::create_dir(dir.path().join("compiled")).unwrap();
        std::fs::write(dir.path().join("compiled/abc-1.cwasm"), b"code").unwrap();

        let rotation = rotate(dir.path(), None).unwrap();
        assert_eq!(
            (
                rotation.access_keys,
                rotation.data_keys,
                rotation.compiled_removed
            ),
            (1, 1, 1)
        );
        assert!(!next_path(&path).exists());
        let new = MasterKey::load_or_create(dir.path(), None).unwrap();
        assert_ne!(new.id(), old.id());
        assert_eq!(new.id(), rotation.key_id);
        let store = Store::open(&dir.path().join("db")).unwrap();
        assert!(opens(&new, &store));
        assert!(!opens(&old, &store));
        assert_eq!(open(dir.path(), None, &store).unwrap().id(), new.id());
    }

    #[test]
    fn a_rotation_stopped_at_any_step_is_finished_or_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let next = next_path(&path);
        let old = key_file(&path, 1);
        let store = sealed_store(dir.path(), &old);
        open(dir.path(), None, &store).unwrap();

        // Stopped after the new key was written, before the reseal: the
        // old key stays, the new one is forgotten.
        key_file(&next, 2);
        assert_eq!(open(dir.path(), None, &store).unwrap().id(), old.id());
        assert!(!next.exists());
        assert!(opens(&old, &store));

        // Stopped after the reseal, before the swap: the swap is done.
        let new = key_file(&next, 3);
        let (access, data) = unseal_all(&old, &store).unwrap();
        let access: Vec<_> = access
            .into_iter()
            .map(|(r, secret)| AccessKeyRecord {
                sealed_secret: new.seal(&secret, r.access_key_id.as_bytes()),
                ..r
            })
            .collect();
        let data: Vec<_> = data
            .into_iter()
            .map(|(r, bytes)| DataKeyRecord {
                sealed: new.seal(&bytes, &data_key_context(&r.account_id)),
                ..r
            })
            .collect();
        store.reseal(&access, &data, &new.id()).unwrap();
        assert_eq!(open(dir.path(), None, &store).unwrap().id(), new.id());
        assert!(!next.exists());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            hex::encode([3u8; 32])
        );
        assert!(opens(&new, &store));
    }
}
