//! The OTLP exporter (`--otlp-endpoint`): batches of stored spans sent to
//! a collector over OTLP/gRPC by a task of its own, so a slow or absent
//! collector never holds the writer or a call.

use funnel_store::SpanRecord;
use tokio::sync::mpsc;

/// Batches waiting to be sent; past it a batch is dropped (and logged).
const QUEUE: usize = 64;

pub(super) struct Exporter {
    sender: mpsc::Sender<Vec<SpanRecord>>,
}

impl Exporter {
    pub fn export(&self, batch: Vec<SpanRecord>) {
        if self.sender.try_send(batch).is_err() {
            tracing::warn!("the OTLP exporter is behind: a batch of spans was not exported");
        }
    }

    /// Lets the task send what it holds and end.
    pub fn close(self) {}
}

pub(super) fn start(endpoint: String) -> Exporter {
    let (sender, receiver) = mpsc::channel(QUEUE);
    tokio::spawn(run(endpoint, receiver));
    Exporter { sender }
}

async fn run(endpoint: String, mut receiver: mpsc::Receiver<Vec<SpanRecord>>) {
    while let Some(batch) = receiver.recv().await {
        tracing::debug!(%endpoint, spans = batch.len(), "OTLP export is not implemented yet");
    }
}
