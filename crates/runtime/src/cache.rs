//! Compiled code on disk, so a restart does not recompile.
//!
//! One file per (code hash, engine): `<sha256>-<engine>.cwasm`, where
//! `<engine>` hashes everything that makes compiled code compatible with this
//! engine (wasmtime version, target, settings). A file from another engine is
//! simply never looked up; a corrupt one is recompiled and replaced.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::CodeError;

pub struct CodeCache {
    dir: PathBuf,
    engine_key: String,
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
    pub fn new(dir: PathBuf, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(CodeCache {
            dir,
            engine_key: engine_key(engine),
        })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
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
        if path.exists() {
            // SAFETY: the file is one we wrote ourselves, under the data dir,
            // with this engine's compatibility key in its name;
            // `deserialize_file` still checks the header and fails cleanly on
            // a mismatch, which falls through to a recompile below.
            match unsafe { Component::deserialize_file(engine, &path) } {
                Ok(component) => return Ok((component, Load::Hit)),
                Err(err) => tracing::warn!(
                    path = %path.display(), cause = %err,
                    "compiled code unusable; recompiling"
                ),
            }
        }
        let code = code()?;
        let component = Component::new(engine, &code)
            .map_err(|e| CodeError::Invalid(format!("the code is not a valid component: {e:#}")))?;
        Ok((component, Load::Miss))
    }

    /// Writes `sha256`'s compiled code for the next start. A failure only
    /// costs a recompile later, so it is logged, not returned.
    pub fn store(&self, sha256: &str, component: &Component) {
        let path = self.path(sha256);
        if let Err(err) = write_atomically(&path, component) {
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

fn write_atomically(path: &Path, component: &Component) -> anyhow::Result<()> {
    let bytes = component
        .serialize()
        .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
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
