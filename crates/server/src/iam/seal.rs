//! The master key: 32 random bytes in `<data-dir>/master.key` (0600), or
//! in the file `FUNNEL_MASTER_KEY_FILE` names. It seals the secret access
//! keys in the store (XChaCha20-Poly1305, the key id as associated data),
//! and keys for other purposes are derived from it (HMAC-SHA256 of a
//! label): the compiled-code MAC's, for one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};

const NONCE_BYTES: usize = 24;

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
fn create(path: &PathBuf) -> anyhow::Result<()> {
    let mut bytes = [0u8; 32];
    random(&mut bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the master key {}", path.display()))?;
    writeln!(file, "{}", hex::encode(bytes))?;
    file.sync_all()?;
    Ok(())
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
}
