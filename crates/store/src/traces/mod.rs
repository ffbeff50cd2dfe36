//! Trace spans (`funnel traces`): what the server's tracer recorded, kept
//! so that tracing works with no collector. Spans are stored in chunks, in
//! the order the span writer hands them over; two trees, opened on first
//! use, keyed alike by the chunk's number (big-endian, rising):
//!
//! - `span_chunks_2`: the chunk's spans, postcard-encoded one after
//!   another (ids as bytes, no field names, funnel's names as one-byte
//!   codes, a request id as its 16 bytes, phases timed from their span);
//! - `trace_chunks_2`: its [`ChunkHead`] (time range and size), then what
//!   each trace's spans in it add up to (a partial [`TraceSummary`], its
//!   times from the trace's start).
//!
//! A chunk is one write to each tree however many traces it holds: a
//! sampled call costs its spans' bytes, not a tree update per trace.
//! Reading merges the small `trace_chunks_2` values (`funnel traces list`),
//! or finds a trace's chunks there and reads only those (`traces get`).
//!
//! Bounded like logs: the writer deletes whole chunks ([`Store::remove_span_chunks`]),
//! those whose spans all ended before a maximum age and then the oldest
//! past a total size; a long trace may lose its oldest spans first. Not in
//! exports: traces are diagnostics, not the install's state.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

mod wire;

use wire::SpanRef;
pub use wire::{AttrValue, Child, SpanOut, SpanRecord, child_id, decode_spans, encode_span};

use super::{Result, Store};

const SPANS: &str = "span_chunks_2";
const INDEX: &str = "trace_chunks_2";
/// The trees of earlier layouts, dropped when the writer starts: one value
/// per trace per batch, then chunks with phases and summaries timed from
/// the epoch and request ids as text.
const OLD_TREES: [&str; 4] = ["spans", "trace_index", "span_chunks", "trace_chunks"];
/// A chunk is closed once its spans take this much. sled writes a node
/// bigger than a quarter segment (128 KiB) as a file of its own, and a
/// leaf holds up to 16 values: chunks this small keep a full leaf under it.
const CHUNK_BYTES: usize = 6 * 1024;

/// What one trace's spans add up to (in one chunk, or all of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub trace_id: [u8; 16],
    pub account: u64,
    /// The root span's name: the earliest span without a parent, or else
    /// (a trace continued from a caller's span) the earliest span.
    pub root: String,
    pub root_start_us: i64,
    pub root_parentless: bool,
    pub start_us: i64,
    pub end_us: i64,
    pub spans: u32,
    /// `funnel.invoke` spans: the functions the trace went through.
    pub hops: u32,
    /// Spans that failed.
    pub errors: u32,
    /// The functions it ran, in the order first seen.
    pub functions: Vec<String>,
}

impl TraceSummary {
    fn empty(trace_id: [u8; 16]) -> TraceSummary {
        TraceSummary {
            trace_id,
            account: 0,
            root: String::new(),
            root_start_us: i64::MAX,
            root_parentless: false,
            start_us: i64::MAX,
            end_us: i64::MIN,
            spans: 0,
            hops: 0,
            errors: 0,
            functions: Vec::new(),
        }
    }

    /// Whether a root candidate beats the current one: a span without a
    /// parent beats one with, then the earlier start wins.
    fn beats_root(&self, parentless: bool, start_us: i64) -> bool {
        match (parentless, self.root_parentless) {
            (true, false) => true,
            (false, true) => false,
            _ => start_us < self.root_start_us,
        }
    }

    fn add(&mut self, span: &SpanRef<'_>) {
        self.start_us = self.start_us.min(span.start_us);
        if self.beats_root(span.is_root(), span.start_us) {
            self.root = span.name().to_string();
            self.account = span.account;
            self.root_start_us = span.start_us;
            self.root_parentless = span.is_root();
        }
        self.end_us = self
            .end_us
            .max(span.start_us.saturating_add(span.duration_us as i64));
        self.spans += 1 + span.children;
        if span.name() == "funnel.invoke" {
            self.hops += 1;
        }
        if !span.error.is_empty() {
            self.errors += 1 + span.failed_children;
        }
        if !span.function.is_empty() && !self.functions.iter().any(|f| f == span.function) {
            self.functions.push(span.function.to_string());
        }
    }

    /// Folds in the same trace's summary of a later chunk.
    fn merge(&mut self, later: TraceSummary) {
        self.start_us = self.start_us.min(later.start_us);
        self.end_us = self.end_us.max(later.end_us);
        if later.spans > 0 && self.beats_root(later.root_parentless, later.root_start_us) {
            self.root = later.root;
            self.account = later.account;
            self.root_start_us = later.root_start_us;
            self.root_parentless = later.root_parentless;
        }
        self.spans += later.spans;
        self.hops += later.hops;
        self.errors += later.errors;
        for function in later.functions {
            if !self.functions.contains(&function) {
                self.functions.push(function);
            }
        }
    }
}

/// What the writer keeps of a stored chunk to bound the store: the start
/// of its `trace_chunks_2` value (decoded without the rest).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChunkHead {
    pub key: u64,
    /// When its last span ended (wall µs).
    pub last_end_us: i64,
    /// What it takes in the store: both keys, both values.
    pub bytes: u64,
}

impl ChunkHead {
    /// What the chunk takes with its index value counted in.
    fn with_index(mut self, index: &[u8]) -> ChunkHead {
        self.bytes += index.len() as u64;
        self
    }
}

/// A `trace_chunks_2` value.
struct ChunkIndex {
    head: ChunkHead,
    traces: Vec<TraceSummary>,
}

impl ChunkIndex {
    fn encode(&self) -> Vec<u8> {
        to_vec(&(
            &self.head,
            self.traces.iter().map(SummaryOut::of).collect::<Vec<_>>(),
        ))
    }

    fn decode(value: &[u8]) -> postcard::Result<ChunkIndex> {
        let (head, traces) = postcard::from_bytes::<(ChunkHead, Vec<SummaryIn>)>(value)?;
        Ok(ChunkIndex {
            head,
            traces: traces.into_iter().map(SummaryIn::into_summary).collect(),
        })
    }
}

/// A [`TraceSummary`] as a chunk's index stores it: the root's name as
/// its code, its times from the trace's start. Written borrowed
/// ([`SummaryOut`]), read owned ([`SummaryIn`]).
#[derive(Serialize, Deserialize)]
struct StoredSummary<S, F> {
    trace_id: [u8; 16],
    account: u64,
    root: wire::Name<S>,
    root_after_us: i64,
    root_parentless: bool,
    start_us: i64,
    length_us: i64,
    spans: u32,
    hops: u32,
    errors: u32,
    functions: F,
}

type SummaryOut<'a> = StoredSummary<&'a str, &'a [String]>;
type SummaryIn = StoredSummary<String, Vec<String>>;

impl<'a> SummaryOut<'a> {
    fn of(summary: &'a TraceSummary) -> SummaryOut<'a> {
        StoredSummary {
            trace_id: summary.trace_id,
            account: summary.account,
            root: wire::Name::of(&summary.root),
            root_after_us: summary.root_start_us.saturating_sub(summary.start_us),
            root_parentless: summary.root_parentless,
            start_us: summary.start_us,
            length_us: summary.end_us.saturating_sub(summary.start_us),
            spans: summary.spans,
            hops: summary.hops,
            errors: summary.errors,
            functions: &summary.functions,
        }
    }
}

impl SummaryIn {
    fn into_summary(self) -> TraceSummary {
        TraceSummary {
            trace_id: self.trace_id,
            account: self.account,
            root: self.root.text(),
            root_start_us: self.start_us.saturating_add(self.root_after_us),
            root_parentless: self.root_parentless,
            start_us: self.start_us,
            end_us: self.start_us.saturating_add(self.length_us),
            spans: self.spans,
            hops: self.hops,
            errors: self.errors,
            functions: self.functions,
        }
    }
}

impl Store {
    /// The stored chunks, oldest first (what the span writer starts from).
    /// Drops the trees of earlier layouts.
    pub fn span_chunks(&self) -> Result<Vec<ChunkHead>> {
        for old in OLD_TREES {
            self.db.drop_tree(old)?;
        }
        let index = self.db.open_tree(INDEX)?;
        let mut heads = Vec::new();
        for entry in index.iter() {
            let (_, value) = entry?;
            match postcard::take_from_bytes::<ChunkHead>(&value) {
                Ok((head, _)) => heads.push(head.with_index(&value)),
                Err(err) => tracing::warn!(cause = %err, "a span chunk's index does not decode"),
            }
        }
        Ok(heads)
    }

    /// Stores spans encoded by [`encode_span`], in chunks (not flushed:
    /// spans ride on the next flush). Returns the chunks written.
    pub fn append_spans(&self, encoded: &[u8]) -> Result<Vec<ChunkHead>> {
        let tree = self.db.open_tree(SPANS)?;
        let index = self.db.open_tree(INDEX)?;
        let mut written = Vec::new();
        let mut rest = encoded;
        while !rest.is_empty() {
            // A chunk holds a few dozen traces: a list beats a hash map.
            let mut traces: Vec<TraceSummary> = Vec::new();
            let mut last_end_us = i64::MIN;
            let mut body_len = 0;
            while body_len < CHUNK_BYTES && body_len < rest.len() {
                match SpanRef::read(&rest[body_len..]) {
                    Some((span, more)) => {
                        let at = match traces.iter().rposition(|t| t.trace_id == span.trace_id) {
                            Some(at) => at,
                            None => {
                                traces.push(TraceSummary::empty(span.trace_id));
                                traces.len() - 1
                            }
                        };
                        traces[at].add(&span);
                        last_end_us =
                            last_end_us.max(span.start_us.saturating_add(span.duration_us as i64));
                        body_len = rest.len() - more.len();
                    }
                    None => {
                        tracing::warn!(
                            at = body_len,
                            "encoded spans do not decode: the rest is not kept"
                        );
                        rest = &rest[..body_len];
                        break;
                    }
                }
            }
            if body_len == 0 {
                break;
            }
            let (body, more) = rest.split_at(body_len);
            rest = more;
            let key = self.db.generate_id()?;
            let mut chunk = ChunkIndex {
                head: ChunkHead {
                    key,
                    last_end_us,
                    bytes: 0,
                },
                traces,
            };
            // Stored: both keys and the spans; the index's own size is
            // added as it is read (`with_index`).
            chunk.head.bytes = (16 + body.len()) as u64;
            let value = chunk.encode();
            let head = chunk.head.with_index(&value);
            tree.insert(key.to_be_bytes(), body)?;
            index.insert(key.to_be_bytes(), value)?;
            written.push(head);
        }
        Ok(written)
    }

    /// Deletes chunks (their index first, so a reader never finds an
    /// index without its spans).
    pub fn remove_span_chunks(&self, keys: &[u64]) -> Result<()> {
        let tree = self.db.open_tree(SPANS)?;
        let index = self.db.open_tree(INDEX)?;
        for key in keys {
            index.remove(key.to_be_bytes())?;
            tree.remove(key.to_be_bytes())?;
        }
        Ok(())
    }

    /// Every kept trace's summary, its chunks' parts merged.
    pub fn trace_summaries(&self) -> Result<Vec<TraceSummary>> {
        let mut all: HashMap<[u8; 16], TraceSummary> = HashMap::new();
        for chunk in self.chunk_indexes()? {
            for part in chunk.traces {
                match all.get_mut(&part.trace_id) {
                    Some(summary) => summary.merge(part),
                    None => {
                        all.insert(part.trace_id, part);
                    }
                }
            }
        }
        Ok(all.into_values().collect())
    }

    /// One trace: its summary and its spans in start order (`None` for an
    /// unknown id).
    pub fn trace(&self, trace_id: &[u8; 16]) -> Result<Option<(TraceSummary, Vec<SpanRecord>)>> {
        let mut summary: Option<TraceSummary> = None;
        let mut keys = Vec::new();
        for chunk in self.chunk_indexes()? {
            for part in chunk.traces {
                if part.trace_id == *trace_id {
                    keys.push(chunk.head.key);
                    match &mut summary {
                        Some(summary) => summary.merge(part),
                        None => summary = Some(part),
                    }
                }
            }
        }
        let Some(summary) = summary else {
            return Ok(None);
        };
        let tree = self.db.open_tree(SPANS)?;
        let mut spans = Vec::new();
        for key in keys {
            if let Some(body) = tree.get(key.to_be_bytes())? {
                spans.extend(
                    decode_spans(&body)
                        .into_iter()
                        .filter(|span| span.trace_id == *trace_id),
                );
            }
        }
        spans.sort_by_key(|s| s.start_us);
        Ok(Some((summary, spans)))
    }

    /// The chunk indexes, oldest first.
    fn chunk_indexes(&self) -> Result<Vec<ChunkIndex>> {
        let index = self.db.open_tree(INDEX)?;
        let mut chunks = Vec::new();
        for entry in index.iter() {
            let (_, value) = entry?;
            match ChunkIndex::decode(&value) {
                Ok(chunk) => chunks.push(chunk),
                Err(err) => tracing::warn!(cause = %err, "a span chunk's index does not decode"),
            }
        }
        Ok(chunks)
    }
}

fn to_vec<T: Serialize>(value: &T) -> Vec<u8> {
    // Structs of strings, numbers and byte arrays always encode.
    postcard::to_allocvec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: u8, id: u8, parent: u8, name: &'static str, start_us: i64) -> SpanRecord {
        SpanRecord {
            trace_id: [trace; 16],
            span_id: [id; 8],
            parent_id: [parent; 8],
            name: name.into(),
            account: 123_456_789_012,
            start_us,
            duration_us: 10,
            function: if name == "funnel.invoke" {
                "f".into()
            } else {
                String::new()
            },
            error: String::new(),
            attributes: vec![
                ("version".into(), AttrValue::Str("1".into())),
                ("cold".into(), AttrValue::Bool(true)),
                ("billed_duration_ms".into(), AttrValue::Int(3)),
            ],
        }
    }

    /// Encodes spans as the tracer does.
    fn encoded(spans: &[SpanRecord]) -> Vec<u8> {
        let mut buf = Vec::new();
        for span in spans {
            let attributes: Vec<(&str, AttrValue)> = span
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            encode_span(
                &SpanOut {
                    trace_id: span.trace_id,
                    span_id: span.span_id,
                    parent_id: span.parent_id,
                    name: &span.name,
                    account: span.account,
                    start_us: span.start_us,
                    duration_us: span.duration_us,
                    function: &span.function,
                    error: &span.error,
                    attributes: &attributes,
                    children: &[],
                },
                &mut buf,
            );
        }
        buf
    }

    fn append(store: &Store, spans: &[SpanRecord]) -> Vec<ChunkHead> {
        store.append_spans(&encoded(spans)).unwrap()
    }

    #[test]
    fn what_the_tracer_encodes_decodes_as_it_was() {
        let spans = vec![span(1, 2, 0, "funnel.invoke", 5), span(1, 3, 2, "Init", 6)];
        assert_eq!(decode_spans(&encoded(&spans)), spans);
    }

    #[test]
    fn a_request_id_is_stored_as_its_bytes_and_read_back_as_its_text() {
        let with_id = |id: &str| {
            let mut span = span(1, 2, 0, "funnel.invoke", 5);
            span.attributes = vec![("request_id".into(), AttrValue::Str(id.into()))];
            vec![span]
        };
        let canonical = with_id("5b1f0c2e-1111-4222-8333-944455556666");
        assert_eq!(decode_spans(&encoded(&canonical)), canonical);
        // Anything that would not read back the same stays text.
        for text in [
            "5B1F0C2E-1111-4222-8333-944455556666",
            "{5b1f0c2e-1111-4222-8333-94445555666}",
            "5b1f0c2e111142228333944455556666",
            "not-a-uuid-at-all-but-36-characters!",
        ] {
            let spans = with_id(text);
            assert_eq!(decode_spans(&encoded(&spans)), spans, "{text}");
        }
        let upper = with_id("5B1F0C2E-1111-4222-8333-944455556666");
        // 36 characters and their length, or 16 bytes.
        assert_eq!(encoded(&upper).len() - encoded(&canonical).len(), 21);
    }

    fn summary(store: &Store, trace: u8) -> TraceSummary {
        store.trace(&[trace; 16]).unwrap().unwrap().0
    }

    #[test]
    fn spans_are_read_back_in_start_order_with_a_summary() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let child = span(0xa, 2, 1, "funnel.invoke", 200);
        let root = span(0xa, 1, 0, "grpc Invoke", 100);
        append(&store, std::slice::from_ref(&child));
        append(&store, &[root.clone(), span(0xb, 3, 0, "x", 5)]);
        let (summary, spans) = store.trace(&[0xa; 16]).unwrap().unwrap();
        assert_eq!(spans, vec![root, child]);
        assert_eq!(summary.root, "grpc Invoke");
        assert_eq!((summary.start_us, summary.end_us), (100, 210));
        assert_eq!((summary.spans, summary.hops), (2, 1));
        assert_eq!(summary.functions, vec!["f".to_string()]);
        assert!(store.trace(&[0xc; 16]).unwrap().is_none());
        assert_eq!(store.trace_summaries().unwrap().len(), 2);
    }

    #[test]
    fn a_spans_phases_read_back_as_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let phase = |name: &'static str, start_us, failed| Child {
            name,
            start_us,
            duration_us: 3,
            failed,
        };
        let children = [
            phase("Invocation", 102, true),
            phase("Overhead", 105, false),
        ];
        let mut buf = Vec::new();
        encode_span(
            &SpanOut {
                trace_id: [7; 16],
                span_id: [2; 8],
                parent_id: [1; 8],
                name: "funnel.invoke",
                account: 5,
                start_us: 100,
                duration_us: 10,
                function: "f",
                error: "Boom",
                attributes: &[],
                children: &children,
            },
            &mut buf,
        );
        store.append_spans(&buf).unwrap();
        let (summary, spans) = store.trace(&[7; 16]).unwrap().unwrap();
        let names: Vec<_> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["funnel.invoke", "Invocation", "Overhead"]);
        let starts: Vec<_> = spans.iter().map(|s| s.start_us).collect();
        assert_eq!(starts, [100, 102, 105]);
        assert!(
            spans[1..]
                .iter()
                .all(|s| s.parent_id == [2; 8] && s.account == 5)
        );
        assert_eq!(spans[1].span_id, child_id([2; 8], 0));
        assert_ne!(spans[1].span_id, spans[2].span_id);
        assert_eq!(
            (spans[1].error.as_str(), spans[2].error.as_str()),
            ("Boom", "")
        );
        assert_eq!((summary.spans, summary.errors, summary.hops), (3, 2, 1));
    }

    #[test]
    fn the_root_is_the_span_without_a_parent_even_when_a_child_starts_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        append(&store, &[span(0xa, 2, 1, "funnel.queue", 90)]);
        append(&store, &[span(0xa, 1, 0, "schedule fire", 100)]);
        let summary = summary(&store, 0xa);
        assert_eq!(summary.root, "schedule fire");
        assert_eq!(summary.start_us, 90);
    }

    #[test]
    fn a_big_batch_is_stored_in_chunks_that_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let batch: Vec<_> = (0..4_000)
            .map(|i| span((i % 7) as u8 + 1, (i % 250) as u8 + 1, 0, "x", i))
            .collect();
        let chunks = append(&store, &batch);
        assert!(chunks.len() > 1, "{} chunk(s)", chunks.len());
        assert!(chunks.windows(2).all(|w| w[0].key < w[1].key));
        assert_eq!(store.span_chunks().unwrap(), chunks);
        let (summary, spans) = store.trace(&[1; 16]).unwrap().unwrap();
        assert_eq!(spans.len(), 4_000 / 7 + 1);
        assert_eq!(summary.spans as usize, spans.len());
        assert_eq!(summary.start_us, 0);
    }

    #[test]
    fn removed_chunks_take_their_spans_and_summaries_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let old = append(&store, &[span(0xa, 1, 0, "old", 100)]);
        append(
            &store,
            &[span(0xa, 2, 1, "later", 300), span(0xb, 1, 0, "new", 2_000)],
        );
        store
            .remove_span_chunks(&old.iter().map(|c| c.key).collect::<Vec<_>>())
            .unwrap();
        let (summary, spans) = store.trace(&[0xa; 16]).unwrap().unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(summary.root, "later");
        assert_eq!(store.span_chunks().unwrap().len(), 1);
    }
}
