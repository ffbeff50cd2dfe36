//! `funnel.v1.Admin`: operating the install (the records set aside in the
//! quarantine). Its actions are server-wide: the home account's only.

use funnel_proto::v1 as pb;
use funnel_proto::v1::admin_server::Admin as AdminApi;
use funnel_store::Store;
use tonic::{Request, Response, Status};

use crate::error::Error;

pub struct AdminService {
    store: Store,
}

impl AdminService {
    pub fn new(store: Store) -> Self {
        AdminService { store }
    }
}

#[tonic::async_trait]
impl AdminApi for AdminService {
    async fn list_quarantined(
        &self,
        request: Request<pb::ListQuarantinedRequest>,
    ) -> Result<Response<pb::ListQuarantinedResponse>, Status> {
        crate::iam::check(&request)?;
        let store = self.store.clone();
        let records = tokio::task::spawn_blocking(move || store.quarantined())
            .await
            .map_err(|e| Error::Service(format!("listing the quarantine: {e}")))?
            .map_err(Error::from)?;
        let records = records
            .into_iter()
            .map(|q| pb::QuarantinedRecord {
                key_text: hex::decode(&q.key)
                    .map(|k| String::from_utf8_lossy(&k).into_owned())
                    .unwrap_or_default(),
                tree: q.tree,
                key: q.key,
                error: q.error,
                bytes: q.bytes,
            })
            .collect();
        Ok(Response::new(pb::ListQuarantinedResponse { records }))
    }

    async fn drop_quarantined(
        &self,
        request: Request<pb::DropQuarantinedRequest>,
    ) -> Result<Response<pb::DropQuarantinedResponse>, Status> {
        crate::iam::check(&request)?;
        let request = request.into_inner();
        if !self
            .store
            .drop_quarantined(&request.tree, &request.key)
            .map_err(Error::from)?
        {
            return Err(Error::ResourceNotFound(format!(
                "No record {} of tree {} is in the quarantine",
                request.key, request.tree
            ))
            .into());
        }
        self.store.flush_async().await.map_err(Error::from)?;
        Ok(Response::new(pb::DropQuarantinedResponse {}))
    }
}
