//! Where a bucket's folder may lie: under the data dir's `buckets` folder,
//! or under a root the operator configured (`--bucket-root`,
//! `buckets.roots`; `funnel up` adds its stack's folder) — and never over
//! the data dir's own files (the database, the keys, compiled code).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::error::{Error, Result};

/// The places bucket folders may be, resolved once at start.
pub struct Roots {
    /// The data dir, canonical.
    data_dir: PathBuf,
    /// Its `buckets` folder, where buckets without a path live.
    own: PathBuf,
    /// The operator's roots, canonical.
    roots: Vec<PathBuf>,
}

impl Roots {
    /// `own` (made if missing) inside `data_dir`, and `roots` (which must
    /// exist).
    pub fn new(data_dir: &Path, own: &Path, roots: &[PathBuf]) -> anyhow::Result<Roots> {
        std::fs::create_dir_all(own).with_context(|| format!("creating {}", own.display()))?;
        let canonical = |path: &Path, what: &str| {
            std::fs::canonicalize(path)
                .with_context(|| format!("{what} {} cannot be used", path.display()))
        };
        let roots = roots
            .iter()
            .map(|root| canonical(root, "the bucket root"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Roots {
            data_dir: canonical(data_dir, "the data dir")?,
            own: canonical(own, "the buckets folder")?,
            roots,
        })
    }

    /// The data dir's `buckets` folder (canonical).
    pub fn own(&self) -> &Path {
        &self.own
    }

    /// Whether a bucket may live in `folder` (canonical); the refusal
    /// names the roots.
    pub fn check(&self, folder: &Path) -> Result<()> {
        if folder.starts_with(&self.own) && folder != self.own {
            return Ok(());
        }
        if folder.starts_with(&self.data_dir) || self.data_dir.starts_with(folder) {
            return Err(Error::InvalidArgument(format!(
                "the bucket's folder {} overlaps the data dir {} (its database, keys and \
                 compiled code); a bucket may lie under {} or a bucket root",
                folder.display(),
                self.data_dir.display(),
                self.own.display()
            )));
        }
        if self.roots.iter().any(|root| folder.starts_with(root)) {
            return Ok(());
        }
        let roots = if self.roots.is_empty() {
            "none is configured: the operator adds them with --bucket-root DIR".to_string()
        } else {
            self.roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        Err(Error::InvalidArgument(format!(
            "the bucket's folder {} is outside the bucket roots: a bucket's folder must lie \
             under the data dir's {} or under a bucket root ({roots})",
            folder.display(),
            self.own.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_lie_under_a_root_and_off_the_data_dir() {
        let top = tempfile::tempdir().unwrap();
        let top = std::fs::canonicalize(top.path()).unwrap();
        let data = top.join("stack/.funnel");
        std::fs::create_dir_all(&data).unwrap();
        let stack = top.join("stack");
        std::fs::create_dir_all(stack.join("uploads")).unwrap();
        let roots = Roots::new(&data, &data.join("buckets"), std::slice::from_ref(&stack)).unwrap();
        assert!(roots.check(&stack.join("uploads")).is_ok());
        assert!(roots.check(&data.join("buckets/photos")).is_ok());
        for refused in [
            stack.clone(),
            data.clone(),
            data.join("db"),
            data.join("buckets"),
            top.clone(),
            PathBuf::from("/etc"),
        ] {
            let err = roots.check(&refused).unwrap_err();
            assert!(
                matches!(err, Error::InvalidArgument(_)),
                "{refused:?}: {err}"
            );
        }
        let err = roots.check(Path::new("/etc")).unwrap_err().to_string();
        assert!(err.contains(&stack.display().to_string()), "{err}");
        assert!(Roots::new(&data, &data.join("buckets"), &[top.join("missing")]).is_err());
    }
}
