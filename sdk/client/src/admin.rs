//! Operating the install: the records set aside in the quarantine.

use crate::{Client, Result, proto};

impl Client {
    /// Records that did not decode, set aside by the server.
    pub async fn list_quarantined(&self) -> Result<Vec<proto::QuarantinedRecord>> {
        Ok(self
            .admin
            .clone()
            .list_quarantined(proto::ListQuarantinedRequest {})
            .await?
            .into_inner()
            .records)
    }

    /// Deletes a record set aside (its tree and hex key, as listed).
    pub async fn drop_quarantined(&self, tree: &str, key: &str) -> Result<()> {
        self.admin
            .clone()
            .drop_quarantined(proto::DropQuarantinedRequest {
                tree: tree.into(),
                key: key.into(),
            })
            .await?;
        Ok(())
    }
}

impl Client {
    /// Writes a backup of the whole install to `file` (readable by its
    /// owner only: it holds the master key), through a temporary file
    /// beside it, so `file` is whole or absent. Returns its size.
    pub async fn backup_to(&self, file: &std::path::Path, with_buckets: bool) -> Result<u64> {
        use tokio::io::AsyncWriteExt as _;
        let local = |what: &str, err: std::io::Error| crate::Error {
            code: tonic::Code::Internal,
            error_type: None,
            message: format!("{what} {}: {err}", file.display()),
        };
        let mut stream = self
            .admin
            .clone()
            .backup(proto::BackupRequest { with_buckets })
            .await?
            .into_inner();
        let partial = file.with_extension("partial");
        let mut out = tokio::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)
            .await
            .map_err(|e| local("creating", e))?;
        let mut bytes = 0u64;
        let received: Result<()> = async {
            while let Some(chunk) = stream.message().await? {
                out.write_all(&chunk.data)
                    .await
                    .map_err(|e| local("writing", e))?;
                bytes += chunk.data.len() as u64;
            }
            out.sync_all().await.map_err(|e| local("writing", e))?;
            Ok(())
        }
        .await;
        if let Err(err) = received {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(err);
        }
        tokio::fs::rename(&partial, file)
            .await
            .map_err(|e| local("writing", e))?;
        Ok(bytes)
    }
}
