//! `funnel.v1.Admin`: operating the install (the records set aside in the
//! quarantine, backups). Its actions are server-wide: the home account's
//! only.

use std::path::PathBuf;

use funnel_proto::v1 as pb;
use funnel_proto::v1::admin_server::Admin as AdminApi;
use funnel_store::Store;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::error::Error;

pub struct AdminService {
    store: Store,
    data_dir: PathBuf,
    master_key: PathBuf,
}

impl AdminService {
    pub fn new(store: Store, data_dir: PathBuf, master_key: PathBuf) -> Self {
        AdminService {
            store,
            data_dir,
            master_key,
        }
    }
}

/// Hands what a backup writes to the response stream, a chunk at a time.
struct ChunkSender(mpsc::Sender<Result<pb::BackupChunk, Status>>);

impl std::io::Write for ChunkSender {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(pb::BackupChunk { data: buf.to_vec() }))
            .map_err(|_| std::io::Error::other("the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tonic::async_trait]
impl AdminApi for AdminService {
    type BackupStream = ReceiverStream<Result<pb::BackupChunk, Status>>;

    async fn backup(
        &self,
        request: Request<pb::BackupRequest>,
    ) -> Result<Response<Self::BackupStream>, Status> {
        crate::iam::check(&request)?;
        let with_buckets = request.into_inner().with_buckets;
        let (chunks, stream) = mpsc::channel(4);
        let (store, data_dir, master_key) = (
            self.store.clone(),
            self.data_dir.clone(),
            self.master_key.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let sources = crate::backup::Sources {
                data_dir: &data_dir,
                master_key,
                with_buckets,
            };
            let failed = chunks.clone();
            match crate::backup::write(&store, &sources, ChunkSender(chunks)) {
                Ok(summary) => tracing::info!(
                    records = summary.records,
                    files = summary.files,
                    bytes = summary.bytes,
                    "backup taken"
                ),
                Err(err) => {
                    tracing::error!(cause = %format!("{err:#}"), "backup failed");
                    let _ = failed.blocking_send(Err(Status::internal(format!(
                        "ServiceException: the backup failed: {err:#}"
                    ))));
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(stream)))
    }

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
