//! Faults injected on purpose (`funnel.v1.Faults`).

use crate::{Client, Result, proto};

impl Client {
    /// Starts injecting a fault; what the server stored (with its id).
    pub async fn put_fault(&self, request: proto::PutFaultRequest) -> Result<proto::Fault> {
        Ok(self.faults.clone().put_fault(request).await?.into_inner())
    }

    /// The faults of the caller's account, oldest first.
    pub async fn list_faults(&self) -> Result<Vec<proto::Fault>> {
        Ok(self
            .faults
            .clone()
            .list_faults(proto::ListFaultsRequest {})
            .await?
            .into_inner()
            .faults)
    }

    /// Stops injecting a fault.
    pub async fn delete_fault(&self, id: &str) -> Result<()> {
        self.faults
            .clone()
            .delete_fault(proto::DeleteFaultRequest { id: id.into() })
            .await?;
        Ok(())
    }
}
