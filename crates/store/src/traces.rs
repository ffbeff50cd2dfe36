//! Trace spans (`funnel traces`): what the server's tracer recorded, kept
//! so that tracing works with no collector. Two trees, opened on first use:
//!
//! - `spans`: trace id (32 hex), the chunk's first start (wall µs,
//!   big-endian), a fresh id → the [`SpanRecord`]s of that trace one append
//!   stored (a JSON array): one write per trace per batch, not per span; a
//!   trace's chunks are one key range.
//! - `trace_index`: trace id → [`TraceSummary`], kept by every append: what
//!   `funnel traces list` shows without reading the spans, and what the
//!   pruning reads to find the oldest traces.
//!
//! Bounded like logs: traces that ended before a maximum age, then the
//! oldest past a total size, are deleted by [`Store::prune_traces`]. Not in
//! exports: traces are diagnostics, not the install's state.

use serde::{Deserialize, Serialize};

use super::{Result, Store, decode, encode};

const SPANS: &str = "spans";
const INDEX: &str = "trace_index";

/// One finished span, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRecord {
    /// 32 lowercase hex digits (W3C trace id).
    #[serde(rename = "t")]
    pub trace_id: String,
    /// 16 lowercase hex digits.
    #[serde(rename = "s")]
    pub span_id: String,
    /// The parent's span id; empty for a root.
    #[serde(rename = "p", default)]
    pub parent_id: String,
    #[serde(rename = "n")]
    pub name: String,
    /// The account whose work it is (12 digits); a trace is its root
    /// span's account's.
    #[serde(rename = "a")]
    pub account: String,
    /// Wall time on the server's clock, µs since the Unix epoch.
    #[serde(rename = "b")]
    pub start_us: i64,
    #[serde(rename = "d")]
    pub duration_us: u64,
    /// The function's name (in its account), when the span is a function's.
    #[serde(rename = "f", default)]
    pub function: String,
    /// The error's type; empty when it succeeded.
    #[serde(rename = "e", default)]
    pub error: String,
    /// Further attributes, in order.
    #[serde(rename = "x", default)]
    pub attributes: Vec<(String, String)>,
}

/// What the index keeps of one trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub account: String,
    /// The root span's name: the earliest span without a parent, or else
    /// (a trace continued from a caller's span) the earliest span.
    pub root: String,
    #[serde(default)]
    pub root_start_us: i64,
    #[serde(default)]
    pub root_parentless: bool,
    pub start_us: i64,
    pub end_us: i64,
    pub spans: u32,
    /// `funnel.invoke` spans: the functions the trace went through.
    pub hops: u32,
    /// Spans that failed.
    pub errors: u32,
    /// The functions it ran, in the order first seen.
    #[serde(default)]
    pub functions: Vec<String>,
    /// What its spans take in the store.
    pub bytes: u64,
}

impl Store {
    /// Stores finished spans and updates their traces' summaries (not
    /// flushed: spans ride on the next flush).
    pub fn append_spans(&self, spans: &[SpanRecord]) -> Result<()> {
        let tree = self.db.open_tree(SPANS)?;
        let index = self.db.open_tree(INDEX)?;
        let mut by_trace: std::collections::BTreeMap<&str, Vec<&SpanRecord>> = Default::default();
        for span in spans {
            by_trace.entry(&span.trace_id).or_default().push(span);
        }
        for (trace_id, list) in by_trace {
            let first = list.iter().map(|s| s.start_us).min().unwrap_or(0);
            let mut key = trace_id.as_bytes().to_vec();
            key.extend_from_slice(&(first.max(0) as u64).to_be_bytes());
            key.extend_from_slice(&self.db.generate_id()?.to_be_bytes());
            let value = encode(&list);
            let bytes = (key.len() + value.len()) as u64;
            tree.insert(key, value)?;
            let old = index.get(trace_id)?;
            let mut summary = match old.as_deref().map(|v| decode::<TraceSummary>(trace_id, v)) {
                Some(Ok(summary)) => summary,
                _ => TraceSummary {
                    trace_id: trace_id.to_string(),
                    account: list[0].account.clone(),
                    root: String::new(),
                    root_start_us: i64::MAX,
                    root_parentless: false,
                    start_us: i64::MAX,
                    end_us: i64::MIN,
                    spans: 0,
                    hops: 0,
                    errors: 0,
                    functions: Vec::new(),
                    bytes: 0,
                },
            };
            summary.bytes += bytes;
            for span in list {
                summary.start_us = summary.start_us.min(span.start_us);
                let parentless = span.parent_id.is_empty();
                let is_root = match (parentless, summary.root_parentless) {
                    (true, false) => true,
                    (false, true) => false,
                    _ => span.start_us < summary.root_start_us,
                };
                if is_root {
                    summary.root = span.name.clone();
                    summary.account = span.account.clone();
                    summary.root_start_us = span.start_us;
                    summary.root_parentless = parentless;
                }
                let end = span.start_us + span.duration_us as i64;
                summary.end_us = summary.end_us.max(end);
                summary.spans += 1;
                if span.name == "funnel.invoke" {
                    summary.hops += 1;
                }
                if !span.error.is_empty() {
                    summary.errors += 1;
                }
                if !span.function.is_empty() && !summary.functions.contains(&span.function) {
                    summary.functions.push(span.function.clone());
                }
            }
            index.insert(trace_id, encode(&summary))?;
        }
        Ok(())
    }

    /// The spans of one trace, in start order (none for an unknown id).
    pub fn trace_spans(&self, trace_id: &str) -> Result<Vec<SpanRecord>> {
        let tree = self.db.open_tree(SPANS)?;
        let mut spans = Vec::new();
        for entry in tree.scan_prefix(trace_id.as_bytes()) {
            let (key, value) = entry?;
            match decode::<Vec<SpanRecord>>(&String::from_utf8_lossy(&key), &value) {
                Ok(chunk) => spans.extend(chunk),
                Err(err) => tracing::warn!(cause = %err, "spans do not decode"),
            }
        }
        spans.sort_by_key(|s| s.start_us);
        Ok(spans)
    }

    /// The summary of one trace, if it is kept.
    pub fn trace_summary(&self, trace_id: &str) -> Result<Option<TraceSummary>> {
        let index = self.db.open_tree(INDEX)?;
        Ok(index
            .get(trace_id)?
            .and_then(|value| decode(trace_id, &value).ok()))
    }

    /// Every trace's summary (the index is bounded by the pruning).
    pub fn trace_summaries(&self) -> Result<Vec<TraceSummary>> {
        let index = self.db.open_tree(INDEX)?;
        let mut all = Vec::new();
        for entry in index.iter() {
            let (key, value) = entry?;
            match decode(&String::from_utf8_lossy(&key), &value) {
                Ok(summary) => all.push(summary),
                Err(err) => tracing::warn!(cause = %err, "a trace summary does not decode"),
            }
        }
        Ok(all)
    }

    /// Deletes the traces that ended before `ended_before_us`, then the
    /// oldest until the rest take at most `max_bytes`. Returns how many
    /// traces went.
    pub fn prune_traces(&self, ended_before_us: i64, max_bytes: u64) -> Result<usize> {
        let mut all = self.trace_summaries()?;
        all.sort_by_key(|s| s.start_us);
        let mut total: u64 = all.iter().map(|s| s.bytes).sum();
        let tree = self.db.open_tree(SPANS)?;
        let index = self.db.open_tree(INDEX)?;
        let mut pruned = 0;
        for summary in all {
            if summary.end_us >= ended_before_us && total <= max_bytes {
                continue;
            }
            for entry in tree.scan_prefix(summary.trace_id.as_bytes()).keys() {
                tree.remove(entry?)?;
            }
            index.remove(summary.trace_id.as_bytes())?;
            total = total.saturating_sub(summary.bytes);
            pruned += 1;
        }
        Ok(pruned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: char, id: char, parent: &str, name: &str, start_us: i64) -> SpanRecord {
        SpanRecord {
            trace_id: trace.to_string().repeat(32),
            span_id: id.to_string().repeat(16),
            parent_id: parent.into(),
            name: name.into(),
            account: "000000000000".into(),
            start_us,
            duration_us: 10,
            function: if name == "funnel.invoke" {
                "f".into()
            } else {
                String::new()
            },
            error: String::new(),
            attributes: vec![],
        }
    }

    #[test]
    fn spans_are_read_back_in_start_order_with_a_summary() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let child = span('a', '2', &"1".repeat(16), "funnel.invoke", 200);
        let root = span('a', '1', "", "grpc Invoke", 100);
        store.append_spans(std::slice::from_ref(&child)).unwrap();
        store
            .append_spans(&[root.clone(), span('b', '3', "", "x", 5)])
            .unwrap();
        assert_eq!(
            store.trace_spans(&"a".repeat(32)).unwrap(),
            vec![root, child]
        );
        let summary = store.trace_summary(&"a".repeat(32)).unwrap().unwrap();
        assert_eq!(summary.root, "grpc Invoke");
        assert_eq!((summary.start_us, summary.end_us), (100, 210));
        assert_eq!((summary.spans, summary.hops), (2, 1));
        assert_eq!(summary.functions, vec!["f".to_string()]);
    }

    #[test]
    fn the_root_is_the_span_without_a_parent_even_when_a_child_starts_first() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .append_spans(&[span('a', '2', &"1".repeat(16), "funnel.queue", 90)])
            .unwrap();
        store
            .append_spans(&[span('a', '1', "", "schedule fire", 100)])
            .unwrap();
        let summary = store.trace_summary(&"a".repeat(32)).unwrap().unwrap();
        assert_eq!(summary.root, "schedule fire");
        assert_eq!(summary.start_us, 90);
    }

    #[test]
    fn pruning_deletes_old_traces_then_the_oldest_past_the_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .append_spans(&[
                span('a', '1', "", "old", 100),
                span('b', '1', "", "mid", 1_000),
            ])
            .unwrap();
        store
            .append_spans(&[span('c', '1', "", "new", 2_000)])
            .unwrap();
        assert_eq!(store.prune_traces(500, u64::MAX).unwrap(), 1);
        assert!(store.trace_spans(&"a".repeat(32)).unwrap().is_empty());
        let one = store.trace_summary(&"c".repeat(32)).unwrap().unwrap().bytes;
        assert_eq!(store.prune_traces(0, one).unwrap(), 1);
        let left: Vec<_> = store
            .trace_summaries()
            .unwrap()
            .into_iter()
            .map(|s| s.root)
            .collect();
        assert_eq!(left, vec!["new".to_string()]);
    }
}
