//! `funnel traces …`: the traces the server kept, as a table and as a
//! terminal waterfall.

use std::collections::HashMap;
use std::fmt::Write as _;

use clap::Subcommand;
use funnel_client::{Client, proto};

/// The duration bar's width, in characters.
const BAR: usize = 40;

#[derive(Debug, Subcommand)]
pub enum TracesCommand {
    /// The account's recent traces, newest first: trace id, root span,
    /// duration, hops (functions run), status.
    List {
        /// Only traces that ran this function.
        #[arg(long)]
        function: Option<String>,
        /// Only traces that started this long ago or later (30s, 10m, 1h,
        /// 2d ...), on the server's clock.
        #[arg(long, value_parser = super::parse_since)]
        since: Option<std::time::Duration>,
        /// Only traces with a failed span.
        #[arg(long)]
        errors: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One trace as a waterfall: each span's name (indented under its
    /// parent), offset from the trace's start, duration bar, function and
    /// status.
    Get {
        /// 32 hex digits, or X-Ray's 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx.
        trace_id: String,
    },
}

pub async fn traces(client: &Client, command: TracesCommand) -> anyhow::Result<()> {
    match command {
        TracesCommand::List {
            function,
            since,
            errors,
            limit,
        } => {
            let traces = client
                .list_traces(proto::ListTracesRequest {
                    function_name: function.unwrap_or_default(),
                    since_milliseconds: since
                        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                    errors_only: errors,
                    limit,
                })
                .await?;
            print!("{}", table(&traces));
            Ok(())
        }
        TracesCommand::Get { trace_id } => {
            let trace = client.get_trace(&trace_id).await?;
            print!("{}", waterfall(&trace));
            Ok(())
        }
    }
}

fn millis(us: u64) -> String {
    format!("{:.1} ms", us as f64 / 1000.0)
}

fn started(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// `funnel traces list`'s table.
fn table(traces: &[proto::TraceSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<32}  {:<24}  {:<24}  {:>10}  {:>4}  STATUS",
        "TRACE ID", "STARTED", "ROOT", "DURATION", "HOPS"
    );
    for t in traces {
        let _ = writeln!(
            out,
            "{:<32}  {:<24}  {:<24}  {:>10}  {:>4}  {}",
            t.trace_id,
            started(t.start_micros),
            t.root,
            millis(t.duration_micros),
            t.hops,
            t.status
        );
    }
    out
}

/// `funnel traces get`'s waterfall: spans depth first under their
/// parents, siblings in start order.
fn waterfall(trace: &proto::Trace) -> String {
    let summary = trace.summary.clone().unwrap_or_default();
    let start = summary.start_micros;
    let total = summary.duration_micros.max(1);
    let ids: std::collections::HashSet<&str> =
        trace.spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut children: HashMap<&str, Vec<&proto::Span>> = HashMap::new();
    for span in &trace.spans {
        // A parent outside the trace (the caller's) makes a root here.
        let parent = if ids.contains(span.parent_span_id.as_str()) {
            span.parent_span_id.as_str()
        } else {
            ""
        };
        children.entry(parent).or_default().push(span);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| (s.start_micros, s.name.clone()));
    }
    let mut rows = Vec::new();
    let mut stack: Vec<(&proto::Span, usize)> = children
        .get("")
        .map(|roots| roots.iter().rev().map(|s| (*s, 0)).collect())
        .unwrap_or_default();
    while let Some((span, depth)) = stack.pop() {
        rows.push((span, depth));
        if let Some(list) = children.get(span.span_id.as_str()) {
            stack.extend(list.iter().rev().map(|s| (*s, depth + 1)));
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Trace {} ({}, {} hop{}, {})",
        summary.xray_trace_id,
        millis(summary.duration_micros),
        summary.hops,
        if summary.hops == 1 { "" } else { "s" },
        summary.status
    );
    let _ = writeln!(
        out,
        "{:<36}  {:>10}  {:>10}  {:<BAR$}  {:<20}  STATUS",
        "SPAN", "OFFSET", "DURATION", "", "FUNCTION"
    );
    for (span, depth) in rows {
        let offset = (span.start_micros - start).max(0) as u64;
        let from = (offset as u128 * BAR as u128 / total as u128) as usize;
        let width = ((span.duration_micros as u128 * BAR as u128).div_ceil(total as u128) as usize)
            .max(1)
            .min(BAR - from.min(BAR - 1));
        let from = from.min(BAR - 1);
        let bar = format!("{}{}", " ".repeat(from), "█".repeat(width));
        let name = format!("{}{}", "  ".repeat(depth), span.name);
        let status = if span.error.is_empty() {
            "OK".to_string()
        } else {
            format!("Error: {}", span.error)
        };
        let _ = writeln!(
            out,
            "{name:<36}  {:>10}  {:>10}  {bar:<BAR$}  {:<20}  {status}",
            millis(offset),
            millis(span.duration_micros),
            span.function_name,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: &str, name: &str, start: i64, duration: u64) -> proto::Span {
        proto::Span {
            span_id: id.into(),
            parent_span_id: parent.into(),
            name: name.into(),
            start_micros: start,
            duration_micros: duration,
            ..Default::default()
        }
    }

    #[test]
    fn the_waterfall_nests_children_under_parents_with_offsets_and_bars() {
        let trace = proto::Trace {
            summary: Some(proto::TraceSummary {
                xray_trace_id: "1-5759e988-bd862e3fe1be46a994272793".into(),
                start_micros: 1_000,
                duration_micros: 4_000,
                hops: 1,
                status: "OK".into(),
                ..Default::default()
            }),
            spans: vec![
                span("b", "a", "funnel.invoke", 2_000, 2_000),
                span("a", "caller", "grpc Invoke", 1_000, 4_000),
                span("c", "b", "Invocation", 3_000, 1_000),
            ],
        };
        let text = waterfall(&trace);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("Trace 1-5759e988-bd862e3fe1be46a994272793 (4.0 ms"));
        assert!(lines[2].starts_with("grpc Invoke"), "{text}");
        assert!(lines[3].starts_with("  funnel.invoke"), "{text}");
        assert!(lines[4].starts_with("    Invocation"), "{text}");
        assert!(
            lines[3].contains("1.0 ms") && lines[3].contains("2.0 ms"),
            "{text}"
        );
        // Whole bar for the root, the second half for the invoke span.
        assert_eq!(lines[2].matches('█').count(), BAR, "{text}");
        assert_eq!(lines[3].matches('█').count(), BAR / 2, "{text}");
    }
}
