//! The span writer: one thread that stores finished spans in batches,
//! hands each batch to the exporter, and bounds what is kept.
//!
//! Recording a span encodes it into its thread's buffer under a short lock
//! that only that thread and the writer take (one lock shared by every
//! API worker cost two cache-line transfers a span): a call never waits
//! for the store, allocates nothing (the buffer is reused batch after
//! batch), and past [`MAX_PENDING`] bytes on a thread spans are dropped
//! and counted. The span that finds its buffer empty wakes the writer,
//! which lets spans gather for [`LINGER`] (cut short by a sync or the
//! close) and then takes every thread's buffer: a busy server's calls do not
//! each pay a wake-up, and its writer stores a few large batches a second
//! rather than hundreds of small ones.
//!
//! The writer knows every stored chunk's size and end, so past the size
//! bound the oldest chunks go as soon as a batch is written, and chunks
//! past the maximum age go once a minute, with no read of the store.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use funnel_runtime::Clock;
use funnel_store::{ChunkHead, SpanOut, Store};

/// Encoded spans waiting to be written on one thread, at most.
const MAX_PENDING: usize = 4 * 1024 * 1024;
/// A buffer kept for reuse past a burst is cut back to this.
const KEEP_CAPACITY: usize = 1024 * 1024;
/// How long spans gather once the writer is woken. Readers sync first, so
/// they never wait for it. Measured with `funnel-bench --profile-tracing=R
/// --c32` (5 runs at rates 1 and 0, interleaved): at 50 ms rather than 5,
/// a sampled call cost the writer 1.0 µs of CPU instead of 1.2–1.3, and
/// the whole process 4.4 µs instead of 5.1.
const LINGER: Duration = Duration::from_millis(50);
/// How often, on the server's clock, chunks past the age are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

enum Message {
    /// Spans wait in the buffer.
    Wake,
    Sync(oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

/// One thread's spans, encoded, waiting for the writer.
#[derive(Default)]
struct Shard(Mutex<Vec<u8>>);

impl Shard {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Every thread's shard of one writer.
struct Shards {
    /// Which writer's they are (a thread may push to several servers').
    writer: u64,
    all: Mutex<Vec<Arc<Shard>>>,
}

impl Shards {
    /// This thread's shard, made and listed on its first span.
    fn with_local<R>(&self, f: impl FnOnce(&Shard) -> R) -> R {
        thread_local! {
            /// This thread's shard of each writer it has pushed to.
            static LOCAL: RefCell<Vec<(u64, Arc<Shard>)>> = const { RefCell::new(Vec::new()) };
        }
        LOCAL.with_borrow_mut(|local| {
            if let Some((_, shard)) = local.iter().find(|(writer, _)| *writer == self.writer) {
                return f(shard);
            }
            // A writer that has stopped no longer lists its shards.
            local.retain(|(_, shard)| Arc::strong_count(shard) > 1);
            let shard = Arc::new(Shard::default());
            self.all
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(shard.clone());
            local.push((self.writer, shard));
            f(&local[local.len() - 1].1)
        })
    }

    /// Appends every shard's spans to `batch`; a shard whose thread has
    /// ended goes once it is empty.
    fn take_into(&self, batch: &mut Vec<u8>) {
        let mut all = self.all.lock().unwrap_or_else(PoisonError::into_inner);
        all.retain(|shard| {
            let mut spans = shard.lock();
            batch.extend_from_slice(&spans);
            spans.clear();
            spans.shrink_to(KEEP_CAPACITY);
            Arc::strong_count(shard) > 1
        });
    }

    /// No thread's shard lists this writer any more.
    fn close(&self) {
        self.all
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

pub(super) struct Handle {
    shards: Arc<Shards>,
    sender: mpsc::Sender<Message>,
}

impl Handle {
    /// Queues a span; false when there is no room.
    pub fn push(&self, span: &SpanOut<'_>) -> bool {
        self.push_with(|buf| funnel_store::encode_span(span, buf))
    }

    fn push_with(&self, encode: impl FnOnce(&mut Vec<u8>)) -> bool {
        let was_empty = self.shards.with_local(|shard| {
            let mut pending = shard.lock();
            if pending.len() >= MAX_PENDING {
                return None;
            }
            let was_empty = pending.is_empty();
            encode(&mut pending);
            Some(was_empty)
        });
        let Some(was_empty) = was_empty else {
            return false;
        };
        if was_empty {
            // At most one wake-up a batch per thread.
            let _ = self.sender.send(Message::Wake);
        }
        true
    }

    pub async fn sync(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Sync(done)).is_ok() {
            let _ = wait.await;
        }
    }

    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Close(done)).is_ok() {
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
    /// Tells writers apart (see [`Shards::writer`]).
    static WRITERS: AtomicU64 = AtomicU64::new(0);
    let (sender, receiver) = mpsc::channel();
    let shards = Arc::new(Shards {
        writer: WRITERS.fetch_add(1, Ordering::Relaxed),
        all: Mutex::default(),
    });
    let writer = Writer {
        store,
        clock,
        max_age,
        max_bytes,
        exporter,
        last_prune: None,
        chunks: VecDeque::new(),
        total: 0,
    };
    let taken = shards.clone();
    let spawned = std::thread::Builder::new()
        .name("funnel-spans".into())
        .spawn(move || writer.run(receiver, taken));
    if let Err(err) = spawned {
        tracing::error!(cause = %err, "could not start the span writer: spans are not kept");
    }
    Handle { shards, sender }
}

struct Writer {
    store: Store,
    clock: Clock,
    max_age: Duration,
    max_bytes: u64,
    exporter: Option<super::export::Exporter>,
    last_prune: Option<Duration>,
    /// The stored chunks, oldest first, and what they take.
    chunks: VecDeque<ChunkHead>,
    total: u64,
}

impl Writer {
    fn run(mut self, receiver: mpsc::Receiver<Message>, shards: Arc<Shards>) {
        match self.store.span_chunks() {
            Ok(chunks) => {
                self.total = chunks.iter().map(|c| c.bytes).sum();
                self.chunks = chunks.into();
            }
            Err(err) => tracing::error!(cause = %err, "reading the stored spans failed"),
        }
        let mut batch = Vec::new();
        let mut replies = Vec::new();
        while let Ok(first) = receiver.recv() {
            // A wake-up lingers; a sync or the close ends that at once.
            let mut until = matches!(first, Message::Wake).then(|| Instant::now() + LINGER);
            let mut closing = None;
            let mut message = first;
            loop {
                match message {
                    Message::Wake => {}
                    Message::Sync(done) => {
                        replies.push(done);
                        until = None;
                    }
                    Message::Close(done) => {
                        closing = Some(done);
                        break;
                    }
                }
                let next = match until {
                    Some(at) => receiver
                        .recv_timeout(at.saturating_duration_since(Instant::now()))
                        .ok(),
                    None => receiver.try_recv().ok(),
                };
                match next {
                    Some(next) => message = next,
                    None => break,
                }
            }
            shards.take_into(&mut batch);
            self.write(&batch);
            batch.clear();
            batch.shrink_to(KEEP_CAPACITY);
            for done in replies.drain(..) {
                let _ = done.send(());
            }
            if let Some(done) = closing {
                shards.close();
                if let Some(exporter) = self.exporter.take() {
                    exporter.close();
                }
                let _ = done.send(());
                return;
            }
        }
    }

    fn write(&mut self, batch: &[u8]) {
        if !batch.is_empty() {
            match self.store.append_spans(batch) {
                Ok(written) => {
                    self.total += written.iter().map(|c| c.bytes).sum::<u64>();
                    self.chunks.extend(written);
                }
                Err(err) => {
                    tracing::error!(cause = %err, bytes = batch.len(), "storing spans failed")
                }
            }
            if let Some(exporter) = &self.exporter {
                exporter.export(funnel_store::decode_spans(batch));
            }
        }
        let mut expired = Vec::new();
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
            let total = &mut self.total;
            self.chunks.retain(|chunk| {
                let keep = chunk.last_end_us >= oldest;
                if !keep {
                    *total -= chunk.bytes;
                    expired.push(chunk.key);
                }
                keep
            });
        }
        while self.total > self.max_bytes
            && let Some(chunk) = self.chunks.pop_front()
        {
            self.total -= chunk.bytes;
            expired.push(chunk.key);
        }
        if !expired.is_empty() {
            match self.store.remove_span_chunks(&expired) {
                Ok(()) => tracing::debug!(chunks = expired.len(), "pruned old spans"),
                Err(err) => tracing::error!(cause = %err, "pruning spans failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: u8, start_us: i64, pad: &str) -> Vec<u8> {
        let attributes = [("pad", funnel_store::AttrValue::Str(pad.into()))];
        let mut buf = Vec::new();
        funnel_store::encode_span(
            &SpanOut {
                trace_id: [trace; 16],
                span_id: [1; 8],
                parent_id: [0; 8],
                name: "x",
                account: 0,
                start_us,
                duration_us: 1,
                function: "",
                error: "",
                attributes: &attributes,
                children: &[],
            },
            &mut buf,
        );
        buf
    }

    fn kept(store: &Store) -> (usize, u64) {
        let chunks = store.span_chunks().unwrap();
        (chunks.len(), chunks.iter().map(|c| c.bytes).sum())
    }

    #[tokio::test]
    async fn every_threads_spans_are_stored_and_an_ended_threads_buffer_goes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock = Clock::manual();
        let writer = Arc::new(start(
            store.clone(),
            clock.clone(),
            Duration::from_secs(3600),
            u64::MAX,
            None,
        ));
        let now_us = clock.wall_ms() * 1000;
        let threads: Vec<_> = (1..=4u8)
            .map(|thread| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        assert!(writer.push_with(|buf| buf.extend(span(thread, now_us, ""))));
                    }
                })
            })
            .collect();
        // Joined: ended, their thread-locals dropped (a scoped thread's
        // may still be dropping when the scope returns).
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(writer.shards.all.lock().unwrap().len(), 4);
        writer.sync().await;
        for thread in 1..=4u8 {
            let (summary, spans) = store.trace(&[thread; 16]).unwrap().unwrap();
            assert_eq!((summary.spans, spans.len()), (10, 10), "thread {thread}");
        }
        assert_eq!(
            writer.shards.all.lock().unwrap().len(),
            0,
            "the threads have ended: their buffers went once drained"
        );
        writer.close().await;
    }

    #[tokio::test]
    async fn the_oldest_chunks_go_past_the_size_and_the_old_ones_past_the_age() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let clock = Clock::manual();
        let max_bytes = 64 * 1024;
        let writer = start(
            store.clone(),
            clock.clone(),
            Duration::from_secs(3600),
            max_bytes,
            None,
        );
        let now_us = || clock.wall_ms() * 1000;
        // Ten times the bound, in batches of about a chunk each.
        let pad = "p".repeat(200);
        for batch in 0..100u8 {
            let mut bytes = Vec::new();
            for _ in 0..30 {
                bytes.extend(span(batch, now_us(), &pad));
            }
            assert!(writer.push_with(|buf| buf.extend(bytes)));
            writer.sync().await;
        }
        let (chunks, total) = kept(&store);
        assert!(total <= max_bytes, "{total} bytes kept in {chunks} chunks");
        assert!(
            total > max_bytes / 2,
            "{total} bytes kept in {chunks} chunks"
        );
        assert!(store.trace(&[0; 16]).unwrap().is_none(), "the oldest went");
        assert!(
            store.trace(&[99; 16]).unwrap().is_some(),
            "the newest stayed"
        );

        // Past the age, at the next prune, everything before it goes.
        clock.advance(Duration::from_secs(2 * 3600));
        assert!(writer.push(&SpanOut {
            trace_id: [200; 16],
            span_id: [1; 8],
            parent_id: [0; 8],
            name: "new",
            account: 0,
            start_us: now_us(),
            duration_us: 1,
            function: "",
            error: "",
            attributes: &[],
            children: &[],
        }));
        writer.sync().await;
        assert_eq!(kept(&store).0, 1);
        assert!(store.trace(&[200; 16]).unwrap().is_some());
        writer.close().await;
    }
}
