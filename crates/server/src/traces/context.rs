//! A trace's context as it crosses a hop: W3C `traceparent` (gRPC metadata,
//! HTTP headers) and X-Ray's `X-Amzn-Trace-Id` / `AWSTraceHeader` /
//! `_X_AMZN_TRACE_ID` (`Root=1-xxxxxxxx-…;Parent=…;Sampled=1`), both
//! parsed and written. The two name the same ids: an X-Ray root is the
//! 32 hex digits of a W3C trace id, split after the eighth.
//!
//! A context is `Copy` and holds no heap: carrying one through a call
//! costs nothing beyond its bytes.

/// Where a span sits: its trace, the span it is a child of, and whether
/// the trace is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TraceContext {
    pub trace_id: [u8; 16],
    /// The parent span's id; all zero for none (a new trace's root).
    pub parent_id: [u8; 8],
    pub sampled: bool,
}

/// A context that came in from a caller: its sampling decision may be
/// left to us (X-Ray's `Sampled=?`, or no `Sampled` at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Incoming {
    pub trace_id: [u8; 16],
    pub parent_id: [u8; 8],
    pub sampled: Option<bool>,
}

impl Incoming {
    /// The W3C `traceparent` header: `00-<32 hex>-<16 hex>-<2 hex flags>`.
    /// Versions after 00 may append fields; `ff` and all-zero ids are
    /// invalid (W3C Trace Context §3.2).
    pub fn from_traceparent(value: &str) -> Option<Incoming> {
        let value = value.trim();
        let mut fields = value.split('-');
        let version = fields.next()?;
        let trace = fields.next()?;
        let parent = fields.next()?;
        let flags = fields.next()?;
        if version.len() != 2 || version.eq_ignore_ascii_case("ff") || flags.len() != 2 {
            return None;
        }
        u8::from_str_radix(version, 16).ok()?;
        if version == "00" && fields.next().is_some() {
            return None;
        }
        let trace_id = hex_array::<16>(trace)?;
        let parent_id = hex_array::<8>(parent)?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        (trace_id != [0; 16] && parent_id != [0; 8]).then_some(Incoming {
            trace_id,
            parent_id,
            sampled: Some(flags & 1 == 1),
        })
    }

    /// X-Ray's header: `Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=0|1|?`,
    /// fields in any order (others, such as `Lineage`, ignored). Without a
    /// `Parent` the caller started the trace but no span of it.
    pub fn from_xray(value: &str) -> Option<Incoming> {
        let mut root = None;
        let mut parent_id = [0; 8];
        let mut sampled = None;
        for field in value.split(';') {
            let (key, val) = field.split_once('=')?;
            match key.trim() {
                "Root" => {
                    let mut parts = val.trim().split('-');
                    let (Some("1"), Some(time), Some(rest), None) =
                        (parts.next(), parts.next(), parts.next(), parts.next())
                    else {
                        return None;
                    };
                    if time.len() != 8 || rest.len() != 24 {
                        return None;
                    }
                    let mut hex = String::with_capacity(32);
                    hex.push_str(time);
                    hex.push_str(rest);
                    root = Some(hex_array::<16>(&hex)?);
                }
                "Parent" => parent_id = hex_array::<8>(val.trim())?,
                "Sampled" => {
                    sampled = match val.trim() {
                        "1" => Some(true),
                        "0" => Some(false),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        let trace_id = root.filter(|id| *id != [0; 16])?;
        Some(Incoming {
            trace_id,
            parent_id,
            sampled,
        })
    }

    /// What gRPC metadata or HTTP headers carry: `traceparent` first, then
    /// `X-Amzn-Trace-Id`. A malformed header is ignored (W3C: restart the
    /// trace), never an error.
    pub fn from_headers<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Option<Incoming> {
        header("traceparent")
            .and_then(Incoming::from_traceparent)
            .or_else(|| header("x-amzn-trace-id").and_then(Incoming::from_xray))
    }
}

impl Incoming {
    /// The caller's context in a gRPC request's metadata.
    pub fn from_metadata(metadata: &tonic::metadata::MetadataMap) -> Option<Incoming> {
        Incoming::from_headers(|name| metadata.get(name).and_then(|v| v.to_str().ok()))
    }
}

/// The headers a caller's trace comes in.
pub(crate) const HEADERS: [&str; 3] = ["traceparent", "tracestate", "x-amzn-trace-id"];

/// The headers that tell a caller the trace its request ran in, in both
/// formats (gRPC metadata and HTTP headers alike).
pub(crate) fn answer_headers(trace: &TraceContext) -> [(&'static str, String); 2] {
    [
        ("traceparent", trace.traceparent()),
        ("x-amzn-trace-id", trace.xray()),
    ]
}

/// Tells a gRPC caller the trace its request ran in, in both formats.
/// The values are new with every call, so they are sent as never indexed
/// (HPACK): they would only push the connection's repeated headers out of
/// its table.
pub(crate) fn answer_metadata(trace: &TraceContext, metadata: &mut tonic::metadata::MetadataMap) {
    for (name, value) in answer_headers(trace) {
        if let Ok(mut value) = tonic::metadata::AsciiMetadataValue::try_from(value) {
            value.set_sensitive(true);
            metadata.insert(name, value);
        }
    }
}

impl TraceContext {
    /// This context's trace continued with `span` as the parent.
    pub fn child_of(self, span: [u8; 8]) -> TraceContext {
        TraceContext {
            parent_id: span,
            ..self
        }
    }

    /// `00-<trace>-<parent>-<flags>`.
    pub fn traceparent(&self) -> String {
        let mut out = String::with_capacity(55);
        out.push_str("00-");
        push_hex(&mut out, &self.trace_id);
        out.push('-');
        push_hex(&mut out, &self.parent_id);
        out.push_str(if self.sampled { "-01" } else { "-00" });
        out
    }

    /// `Root=1-<8>-<24>;Parent=<16>;Sampled=<0|1>` (no `Parent` for a
    /// context with none).
    pub fn xray(&self) -> String {
        let mut out = String::with_capacity(80);
        out.push_str("Root=1-");
        push_hex(&mut out, &self.trace_id[..4]);
        out.push('-');
        push_hex(&mut out, &self.trace_id[4..]);
        if self.parent_id != [0; 8] {
            out.push_str(";Parent=");
            push_hex(&mut out, &self.parent_id);
        }
        out.push_str(if self.sampled {
            ";Sampled=1"
        } else {
            ";Sampled=0"
        });
        out
    }

    /// Parses what [`TraceContext::xray`] or [`TraceContext::traceparent`]
    /// wrote (a stored context), with its decision.
    pub fn parse_stored(value: &str) -> Option<TraceContext> {
        let incoming = if value.starts_with("Root=") || value.contains(";Root=") {
            Incoming::from_xray(value)?
        } else {
            Incoming::from_traceparent(value)?
        };
        Some(TraceContext {
            trace_id: incoming.trace_id,
            parent_id: incoming.parent_id,
            sampled: incoming.sampled.unwrap_or(false),
        })
    }
}

/// Appends `bytes` as lowercase hex (at most 16 bytes).
fn push_hex(out: &mut String, bytes: &[u8]) {
    let mut buf = [0; 32];
    let hex = &mut buf[..bytes.len() * 2];
    if hex::encode_to_slice(bytes, hex).is_ok() {
        out.push_str(std::str::from_utf8(hex).unwrap_or_default());
    }
}

fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn traceparent_is_parsed_as_w3c_says() {
        let ctx =
            Incoming::from_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
                .unwrap();
        assert_eq!(
            hex::encode(ctx.trace_id),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(hex::encode(ctx.parent_id), "b7ad6b7169203331");
        assert_eq!(ctx.sampled, Some(true));
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
        ] {
            assert_eq!(Incoming::from_traceparent(bad), None, "{bad}");
        }
        // A later version may add fields.
        assert!(
            Incoming::from_traceparent(
                "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-more"
            )
            .is_some()
        );
    }

    #[test]
    fn xray_header_is_parsed_in_any_order() {
        let ctx = Incoming::from_xray(
            "Sampled=1; Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Lineage=a:1",
        )
        .unwrap();
        assert_eq!(
            hex::encode(ctx.trace_id),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(hex::encode(ctx.parent_id), "53995c3f42cd8ad8");
        assert_eq!(ctx.sampled, Some(true));
        let root_only = Incoming::from_xray("Root=1-5759e988-bd862e3fe1be46a994272793").unwrap();
        assert_eq!((root_only.parent_id, root_only.sampled), ([0; 8], None));
        assert_eq!(
            Incoming::from_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?")
                .unwrap()
                .sampled,
            None
        );
        for bad in [
            "",
            "Parent=53995c3f42cd8ad8",
            "Root=2-5759e988-bd862e3fe1be46a994272793",
        ] {
            assert_eq!(Incoming::from_xray(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_two_formats_name_the_same_ids() {
        let w3c = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01";
        let xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        let ctx = TraceContext::parse_stored(w3c).unwrap();
        assert_eq!(ctx.xray(), xray);
        assert_eq!(TraceContext::parse_stored(xray).unwrap().traceparent(), w3c);
    }

    proptest! {
        #[test]
        fn both_formats_round_trip(trace in any::<[u8; 16]>(), parent in any::<[u8; 8]>(), sampled: bool) {
            prop_assume!(trace != [0; 16] && parent != [0; 8]);
            let ctx = TraceContext { trace_id: trace, parent_id: parent, sampled };
            prop_assert_eq!(TraceContext::parse_stored(&ctx.traceparent()), Some(ctx));
            prop_assert_eq!(TraceContext::parse_stored(&ctx.xray()), Some(ctx));
        }

        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in ".{0,80}") {
            let _ = Incoming::from_traceparent(&text);
            let _ = Incoming::from_xray(&text);
        }
    }
}
