//! The span writer: one thread that stores finished spans in batches,
//! hands each batch to the exporter, and prunes old traces. Recording a
//! span is a `try_send` on a bounded channel: a call never waits for the
//! store, and past the channel's room spans are dropped and counted.
//! Once woken by a span, the writer lets spans gather for [`LINGER`]: the
//! sends in that time find no one waiting and wake no thread, so a busy
//! server's calls do not each pay a wake-up.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use funnel_runtime::Clock;
use funnel_store::{SpanRecord, Store};

/// Spans waiting to be written.
const QUEUE: usize = 16_384;
/// The most spans stored in one batch.
const BATCH: usize = 4_096;
/// How long spans gather once the writer is woken.
const LINGER: Duration = Duration::from_millis(5);
/// How often, on the server's clock, old traces are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

enum Message {
    Span(SpanRecord),
    Sync(oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

pub(super) struct Handle {
    sender: mpsc::Sender<Message>,
}

impl Handle {
    /// Queues a span; false when there is no room (or the writer stopped).
    pub fn push(&self, span: SpanRecord) -> bool {
        self.sender.try_send(Message::Span(span)).is_ok()
    }

    pub async fn sync(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Sync(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Close(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

pub(super) fn start(
    store: Store,
    clock: Clock,
    max_age: Duration,
    max_bytes: u64,
    exporter: Option<super::export::Exporter>,
) -> Handle {
    let (sender, receiver) = mpsc::channel(QUEUE);
    let writer = Writer {
        store,
        clock,
        max_age,
        max_bytes,
        exporter,
        last_prune: None,
    };
    let spawned = std::thread::Builder::new()
        .name("funnel-spans".into())
        .spawn(move || writer.run(receiver));
    if let Err(err) = spawned {
        tracing::error!(cause = %err, "could not start the span writer: spans are not kept");
    }
    Handle { sender }
}

struct Writer {
    store: Store,
    clock: Clock,
    max_age: Duration,
    max_bytes: u64,
    exporter: Option<super::export::Exporter>,
    last_prune: Option<Duration>,
}

impl Writer {
    fn run(mut self, mut receiver: mpsc::Receiver<Message>) {
        let mut batch = Vec::new();
        let mut replies = Vec::new();
        while let Some(first) = receiver.blocking_recv() {
            if matches!(first, Message::Span(_)) {
                std::thread::sleep(LINGER);
            }
            let mut closing = None;
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Message::Span(span) => batch.push(span),
                    Message::Sync(done) => replies.push(done),
                    Message::Close(done) => {
                        closing = Some(done);
                        break;
                    }
                }
                if batch.len() < BATCH {
                    next = receiver.try_recv().ok();
                }
            }
            self.write(std::mem::take(&mut batch));
            for done in replies.drain(..) {
                let _ = done.send(());
            }
            if let Some(done) = closing {
                if let Some(exporter) = self.exporter.take() {
                    exporter.close();
                }
                let _ = done.send(());
                return;
            }
        }
    }

    fn write(&mut self, batch: Vec<SpanRecord>) {
        if !batch.is_empty() {
            if let Err(err) = self.store.append_spans(&batch) {
                tracing::error!(cause = %err, spans = batch.len(), "storing spans failed");
            }
            if let Some(exporter) = &self.exporter {
                exporter.export(batch);
            }
        }
        let now = self.clock.now();
        if self
            .last_prune
            .is_none_or(|last| now.saturating_sub(last) >= PRUNE_EVERY)
        {
            self.last_prune = Some(now);
            let oldest = self
                .clock
                .wall()
                .checked_sub(self.max_age)
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_micros() as i64);
            match self.store.prune_traces(oldest, self.max_bytes) {
                Ok(0) => {}
                Ok(pruned) => tracing::debug!(pruned, "pruned old traces"),
                Err(err) => tracing::error!(cause = %err, "pruning traces failed"),
            }
        }
    }
}
