//! A consistent export of every tree, for backups, and the import that
//! rebuilds a store from one.
//!
//! sled has no point-in-time snapshot, so the export reads tree by tree
//! while writes go on. Every record written before the export began is
//! in it, because records only leave a tree by being deleted or moved,
//! and the moves are read around: within the queue an event only moves to
//! a later key (a retry), which an ascending read still meets; from the
//! queue to the dead letters (read after the queue) an event is met in
//! one or both; from the dead letters back to the queue (a redrive) is
//! held off while the two are read. An export may so hold an event twice
//! (delivery is at-least-once anyway), never lose one.

use super::{Result, Store};

/// What an export hands each record to: its tree's name, key and value.
pub type ExportSink<'a> = dyn FnMut(&str, &[u8], &[u8]) -> std::io::Result<()> + 'a;

impl Store {
    /// The trees an export reads, in its order: the queue and then the
    /// dead letters last (see the module docs).
    fn exported(&self) -> Vec<(&'static str, &sled::Tree)> {
        vec![
            ("meta", &self.meta),
            ("accounts", &self.accounts),
            ("users", &self.users),
            ("access_keys", &self.access_keys),
            ("data_keys", &self.data_keys),
            ("secrets", &self.secrets),
            ("secret_versions", &self.secret_versions),
            ("parameters", &self.parameters),
            ("code", &self.code),
            ("functions", &self.functions),
            ("versions", &self.versions),
            ("aliases", &self.aliases),
            ("layers", &self.layers),
            ("layer_names", &self.layer_names),
            ("layer_content", &self.layer_content),
            ("event_invoke_configs", &self.event_invoke_configs),
            ("function_concurrency", &self.function_concurrency),
            ("provisioned", &self.provisioned),
            ("policies", &self.policies),
            ("function_urls", &self.function_urls),
            ("url_ids", &self.url_ids),
            ("routes", &self.routes),
            ("buckets", &self.buckets),
            ("objects", &self.objects),
            ("topics", &self.topics),
            ("subscriptions", &self.subscriptions),
            ("rules", &self.rules),
            ("rule_fires", &self.rule_fires),
            ("log_groups", &self.log_groups),
            ("logs", &self.logs),
            ("quarantine", &self.quarantine),
            ("queue", &self.queue),
            ("dead_letters", &self.dead_letters),
        ]
    }

    /// Hands every record to `write` (tree name, key, value), tree by
    /// tree; returns how many there were.
    pub fn export(&self, write: &mut ExportSink<'_>) -> Result<u64> {
        let mut records = 0u64;
        let trees = self.exported();
        let (rest, moving) = trees.split_at(trees.len() - 2);
        let mut read = |name: &str, tree: &sled::Tree| -> Result<()> {
            for entry in tree.iter() {
                let (key, value) = entry?;
                write(name, &key, &value).map_err(sled::Error::Io)?;
                records += 1;
            }
            Ok(())
        };
        for (name, tree) in rest {
            read(name, tree)?;
        }
        let _no_redrive = self.moves.write().unwrap_or_else(|e| e.into_inner());
        for (name, tree) in moving {
            read(name, tree)?;
        }
        Ok(records)
    }

    /// Writes one exported record back (into a fresh store); the queue's
    /// count is brought up to date by reopening.
    pub fn import(&self, tree: &str, key: &[u8], value: &[u8]) -> Result<()> {
        let known = self.exported().into_iter().any(|(name, _)| name == tree);
        if !known {
            return Err(super::StoreError::NotFound(format!(
                "tree {tree:?} (the backup is from a newer funnel?)"
            )));
        }
        self.insert_raw(tree, key, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_imports_into_an_equal_store() {
        let dir = tempfile::tempdir().unwrap();
        let from = Store::open(&dir.path().join("a")).unwrap();
        from.set_reserved_concurrency("f", Some(3)).unwrap();
        from.put_code("abc", b"code").unwrap();
        from.insert_raw("queue", &[0; 16], br#"{"x":1}"#).ok();
        let mut records = Vec::new();
        let count = from
            .export(&mut |tree, key, value| {
                records.push((tree.to_string(), key.to_vec(), value.to_vec()));
                Ok(())
            })
            .unwrap();
        assert_eq!(count as usize, records.len());
        let to = Store::open(&dir.path().join("b")).unwrap();
        for (tree, key, value) in &records {
            to.import(tree, key, value).unwrap();
        }
        assert_eq!(to.reserved_concurrency().unwrap(), [("f".to_string(), 3)]);
        assert_eq!(to.get_code("abc").unwrap().as_deref(), Some(&b"code"[..]));
        assert!(to.import("nonsense", b"k", b"v").is_err());
    }
}
