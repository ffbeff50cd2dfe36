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
