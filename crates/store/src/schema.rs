//! The store's schema version: a marker in the `meta` tree, and the steps
//! that bring a data dir written by an earlier funnel up to date, run once
//! when it is opened.
//!
//! A data dir with records but no marker was written before markers
//! existed: version 1. Before a step that rewrites records runs, the whole
//! database folder is copied beside it (`db.v<N>-backup`); the copy is
//! removed once the new marker is durable. If funnel stops in between, the
//! next open finds the copy, puts it back and migrates again. A data dir
//! from a newer funnel is refused rather than misread.

use std::path::{Path, PathBuf};

use super::{Result, Store, StoreError};

/// The version this funnel writes.
pub const SCHEMA_VERSION: u32 = 2;

const MARKER: &str = "schema_version";

/// One migration, from `from` to `from + 1`.
pub struct Step {
    pub from: u32,
    /// What it changes, for the log.
    pub what: &'static str,
    /// Whether it rewrites records (a backup is taken first).
    pub rewrites: bool,
    pub run: fn(&Store) -> Result<()>,
}

/// funnel's migrations, in order.
pub const STEPS: &[Step] = &[Step {
    from: 1,
    what: "accounts: the records of a data dir from before accounts belong to the home account, \
           whose keys are the names they already have (nothing is rewritten)",
    rewrites: false,
    run: |_| Ok(()),
}];

impl Store {
    /// The schema version marked in the store, if any.
    pub fn schema_version(&self) -> Result<Option<u32>> {
        Ok(self.meta.get(MARKER)?.map(|v| super::read_u64(&v) as u32))
    }

    fn set_schema_version(&self, version: u32) -> Result<()> {
        self.meta
            .insert(MARKER, &u64::from(version).to_be_bytes())?;
        Ok(())
    }

    /// Whether the store holds any resource (a data dir in use).
    fn has_records(&self) -> Result<bool> {
        for tree in [
            &self.functions,
            &self.layers,
            &self.buckets,
            &self.topics,
            &self.rules,
            &self.log_groups,
            &self.queue,
            &self.dead_letters,
        ] {
            if !tree.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Opens the store in `dir` at [`SCHEMA_VERSION`], migrating it first if
/// it is older; returns it and what the migrations did.
pub fn open_migrated(dir: &Path) -> Result<(Store, Vec<&'static str>)> {
    migrate(dir, STEPS, SCHEMA_VERSION)
}

fn backup_of(dir: &Path, version: u32) -> PathBuf {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db".into());
    dir.with_file_name(format!("{name}.v{version}-backup"))
}

fn migrate(dir: &Path, steps: &[Step], target: u32) -> Result<(Store, Vec<&'static str>)> {
    let mut done = Vec::new();
    // A migration that did not commit left its copy: the data as it was.
    for version in 1..target {
        let backup = backup_of(dir, version);
        if backup.is_dir() {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(io)?;
            }
            std::fs::rename(&backup, dir).map_err(io)?;
            done.push("restored the data from before a migration that did not finish");
        }
    }
    let store = Store::open(dir)?;
    let version = match store.schema_version()? {
        Some(version) => version,
        None if store.has_records()? => 1,
        None => target,
    };
    if version > target {
        return Err(StoreError::Newer {
            found: version,
            supported: target,
        });
    }
    let pending: Vec<&Step> = steps
        .iter()
        .filter(|s| s.from >= version && s.from < target)
        .collect();
    let backup = backup_of(dir, version);
    let backed_up = pending.iter().any(|s| s.rewrites);
    if backed_up {
        store.flush()?;
        copy_dir(dir, &backup).map_err(io)?;
    }
    for step in pending {
        (step.run)(&store)?;
        done.push(step.what);
    }
    if store.schema_version()? != Some(target) {
        store.set_schema_version(target)?;
        store.flush()?;
    }
    if backed_up {
        std::fs::remove_dir_all(&backup).map_err(io)?;
    }
    Ok((store, done))
}

fn io(err: std::io::Error) -> StoreError {
    StoreError::Db(sled::Error::Io(err))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TopicRecord;

    fn topic(name: &str) -> TopicRecord {
        TopicRecord {
            name: name.into(),
            attributes: Default::default(),
        }
    }

    #[test]
    fn a_new_store_is_marked_and_an_old_one_migrated_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        let (store, done) = open_migrated(&db).unwrap();
        assert!(done.is_empty());
        assert_eq!(store.schema_version().unwrap(), Some(SCHEMA_VERSION));
        drop(store);

        // Records and no marker: a data dir from before markers.
        let old = dir.path().join("old");
        let store = Store::open(&old).unwrap();
        store.create_topic(&topic("orders")).unwrap();
        store.flush().unwrap();
        drop(store);
        let (store, done) = open_migrated(&old).unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(store.schema_version().unwrap(), Some(SCHEMA_VERSION));
        assert!(store.get_topic("orders").unwrap().is_some());
        drop(store);
        let (_, done) = open_migrated(&old).unwrap();
        assert!(done.is_empty(), "migrated once");
    }

    #[test]
    fn a_rewrite_that_fails_leaves_the_data_as_it_was() {
        const RENAME: Step = Step {
            from: 1,
            what: "renames orders",
            rewrites: true,
            run: |store| {
                store.delete_topic("orders")?;
                store.create_topic(&topic("renamed"))?;
                Ok(())
            },
        };
        const FAIL: Step = Step {
            from: 2,
            what: "fails",
            rewrites: true,
            run: |_| Err(StoreError::NotFound("the power".into())),
        };
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        let store = Store::open(&db).unwrap();
        store.create_topic(&topic("orders")).unwrap();
        store.flush().unwrap();
        drop(store);

        // The second step fails after the first rewrote: the copy stays.
        assert!(migrate(&db, &[RENAME, FAIL], 3).is_err());
        assert!(backup_of(&db, 1).is_dir());
        // The next open puts the copy back and migrates from it.
        let (store, done) = migrate(&db, &[RENAME], 2).unwrap();
        assert_eq!(done.last(), Some(&"renames orders"));
        assert_eq!(done.len(), 2, "{done:?}");
        assert!(store.get_topic("orders").unwrap().is_none());
        assert!(store.get_topic("renamed").unwrap().is_some());
        assert!(!backup_of(&db, 1).exists());
        drop(store);

        // A newer data dir is refused.
        let err = migrate(&db, &[], 1).err().unwrap();
        assert!(err.to_string().contains("newer"), "{err}");
    }
}
