//! Compiled code on disk, so a restart does not recompile.
//!
//! One file per (code hash, engine): `<sha256>-<engine>.cwasm`, where
//! `<engine>` hashes everything that makes compiled code compatible with this
//! engine (wasmtime version, target, settings). A file from another engine is
//! simply never looked up; a corrupt one is recompiled and replaced.
//!
//! Compiled code is native code the process runs, so a file is loaded only
//! if it is one this install wrote: it starts with a keyed MAC
//! (HMAC-SHA256, under a key the server derives from its master key) over
//! its name and its bytes. A planted file, a file copied from another
//! function's name, or one written by another install fails the check and
//! is recompiled. The file is read once, checked, and deserialized from
//! those same bytes.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac as _};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::CodeError;

/// What a compiled-code file starts with, before its MAC.
const MAGIC: &[u8; 8] = b"FNLCWSM1";
const MAC_LEN: usize = 32;

/// The key compiled-code files are authenticated with.
#[derive(Clone)]
pub struct CodeKey([u8; 32]);

impl CodeKey {
    pub fn new(bytes: [u8; 32]) -> CodeKey {
        CodeKey(bytes)
    }
}

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(<hidden>)")
    }
}

pub struct CodeCache {
    dir: PathBuf,
    engine_key: String,
    key: CodeKey,
    /// How long a compile may take (see `bounds`).
    compile_timeout: std::time::Duration,
}

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// Loaded from compiled code on disk.
    Hit,
    /// Compiled now (and written to disk for next time).
    Miss,
}

impl CodeCache {
    pub fn new(
        dir: PathBuf,
        engine: &Engine,
        key: CodeKey,
        compile_timeout: std::time::Duration,
    ) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(CodeCache {
            dir,
            engine_key: engine_key(engine),
            key,
            compile_timeout,
        })
    }

    fn name(&self, sha256: &str) -> String {
        format!("{sha256}-{}.cwasm", self.engine_key)
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(self.name(sha256))
    }

    /// The MAC of a file named `name` holding `body`.
    fn mac(&self, name: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key.0).expect("HMAC takes keys of any length");
        mac.update(&(name.len() as u64).to_be_bytes());
        mac.update(name.as_bytes());
        mac
    }

    /// The compiled bytes of the file `name` holds, if this install wrote
    /// it.
    fn authentic<'b>(&self, name: &str, file: &'b [u8]) -> Option<&'b [u8]> {
        let rest = file.strip_prefix(MAGIC.as_slice())?;
        if rest.len() < MAC_LEN {
            return None;
        }
        let (tag, body) = rest.split_at(MAC_LEN);
        let mut mac = self.mac(name);
        mac.update(body);
        mac.verify_slice(tag).ok()?;
        Some(body)
    }

    /// Loads `sha256`'s compiled component, compiling `code` on a miss.
    /// `code` is only read on a miss; a compiled miss is not written until
    /// [`CodeCache::store`] is called (once the caller has checked it).
    /// Blocking: call from a blocking thread.
    pub fn load<'a>(
        &self,
        engine: &Engine,
        sha256: &str,
        code: impl FnOnce() -> Result<Cow<'a, [u8]>, CodeError>,
    ) -> Result<(Component, Load), CodeError> {
        let path = self.path(sha256);
        match std::fs::read(&path) {
            Ok(file) => match self.authentic(&self.name(sha256), &file) {
                // SAFETY: these bytes are ones this install serialized
                // (their MAC, under a key only this install holds, says
                // so), for this engine (its compatibility key is in the
                // name the MAC covers); `deserialize` still checks the
                // header and fails cleanly on a mismatch, which falls
                // through to a recompile below.
                Some(body) => match unsafe { Component::deserialize(engine, body) } {
                    Ok(component) => return Ok((component, Load::Hit)),
                    Err(err) => tracing::warn!(
                        path = %path.display(), cause = %err,
                        "compiled code unusable; recompiling"
                    ),
                },
                None => tracing::warn!(
                    path = %path.display(),
                    "compiled code not written by this install (its MAC does not match); \
                     recompiling"
                ),
            },
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => tracing::warn!(
                path = %path.display(), cause = %err,
                "compiled code unreadable; recompiling"
            ),
        }
        let code = code()?;
        let component = crate::bounds::compile(engine, &code, self.compile_timeout)?;
        Ok((component, Load::Miss))
    }

    /// Writes `sha256`'s compiled code for the next start. A failure only
    /// costs a recompile later, so it is logged, not returned.
    pub fn store(&self, sha256: &str, component: &Component) {
        let path = self.path(sha256);
        if let Err(err) = self.write_atomically(&self.name(sha256), &path, component) {
            tracing::warn!(path = %path.display(), cause = %err, "could not cache compiled code");
        }
    }

    /// Deletes `sha256`'s compiled code (its source is gone).
    pub fn remove(&self, sha256: &str) {
        let path = self.path(sha256);
        if let Err(err) = std::fs::remove_file(&path)
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %path.display(), cause = %err, "could not remove compiled code");
        }
    }
}

impl CodeCache {
    fn write_atomically(
        &self,
        name: &str,
        path: &Path,
        component: &Component,
    ) -> anyhow::Result<()> {
        let body = component
            .serialize()
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let mut mac = self.mac(name);
        mac.update(&body);
        let mut file = Vec::with_capacity(MAGIC.len() + MAC_LEN + body.len());
        file.extend_from_slice(MAGIC);
        file.extend_from_slice(&mac.finalize().into_bytes());
        file.extend_from_slice(&body);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, file)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

/// Sixteen hex digits naming this engine's compiled-code compatibility.
fn engine_key(engine: &Engine) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            0
        }
    }
    let mut hasher = Sha(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..8])
}
