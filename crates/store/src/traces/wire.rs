//! How a span is encoded (postcard: ids as bytes, no field names): what
//! the tracer writes ([`SpanOut`], [`encode_span`]), what reads give back
//! ([`SpanRecord`], [`decode_spans`]), and the borrowed view a chunk's
//! summaries are built from ([`SpanRef`]). An invocation's phases are
//! stored inside its span ([`Child`]) and read back as spans of their own.

use serde::{Deserialize, Serialize};

/// One stored span, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// The W3C trace id.
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// The parent's span id; all zero for a root.
    pub parent_id: [u8; 8],
    pub name: String,
    /// The account whose work it is (its 12 digits as a number); a trace
    /// is its root span's account's.
    pub account: u64,
    /// Wall time on the server's clock, µs since the Unix epoch.
    pub start_us: i64,
    pub duration_us: u64,
    /// The function's name (in its account), when the span is a function's.
    pub function: String,
    /// The error's type; empty when it succeeded.
    pub error: String,
    /// Further attributes, in order.
    pub attributes: Vec<(String, AttrValue)>,
}

impl SpanRecord {
    pub fn is_root(&self) -> bool {
        self.parent_id == [0; 8]
    }
}

/// A span attribute's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl std::fmt::Display for AttrValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttrValue::Str(s) => f.write_str(s),
            AttrValue::Int(n) => write!(f, "{n}"),
            AttrValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A finished span as the tracer encodes it, borrowing what it holds
/// (what [`decode_spans`] reads back).
pub struct SpanOut<'a> {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent_id: [u8; 8],
    pub name: &'a str,
    pub account: u64,
    pub start_us: i64,
    pub duration_us: u64,
    pub function: &'a str,
    pub error: &'a str,
    pub attributes: &'a [(&'a str, AttrValue)],
    /// Its phases (an invocation's `Init`, `Invocation`, `Overhead`), kept
    /// with it and read back as spans of their own.
    pub children: &'a [Child],
}

/// A phase of a span, stored inside it: read back as a child span with
/// the parent's account, an id derived from the parent's ([`child_id`]),
/// and the parent's error when it `failed`.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    pub name: &'static str,
    pub start_us: i64,
    pub duration_us: u64,
    pub failed: bool,
}

/// The names funnel's spans and attributes use, each stored as its
/// number: one byte instead of its text. Any other name is stored as text.
/// Append only: a stored number names what it named when written.
macro_rules! known_names {
    ($($code:literal => $name:literal,)*) => {
        fn code(name: &str) -> Option<u8> {
            match name {
                $($name => Some($code),)*
                _ => None,
            }
        }

        fn known(code: u8) -> &'static str {
            match code {
                $($code => $name,)*
                _ => "?",
            }
        }
    };
}

known_names! {
    0 => "grpc Invoke",
    1 => "funnel.invoke",
    2 => "Init",
    3 => "Invocation",
    4 => "Overhead",
    5 => "funnel.queue",
    6 => "retry",
    7 => "sns publish",
    8 => "sns deliver",
    9 => "s3 event",
    10 => "schedule fire",
    11 => "http request",
    12 => "grpc PutObject",
    13 => "destination OnSuccess",
    14 => "destination OnFailure",
    15 => "version",
    16 => "request_id",
    17 => "cold",
    18 => "billed_duration_ms",
    19 => "function_error",
    20 => "attempt",
    21 => "subscription",
    22 => "destination",
    23 => "condition",
    24 => "topic",
    25 => "message_id",
    26 => "deliveries",
    27 => "messages",
    28 => "bucket",
    29 => "key",
    30 => "event",
    31 => "method",
    32 => "path",
    33 => "status",
    34 => "rule",
    35 => "scheduled_time",
}

/// A name as stored (see [`known_names`]).
#[derive(Clone, Copy, Serialize, Deserialize)]
pub(super) enum Name<S> {
    Known(u8),
    Text(S),
}

impl<'a> Name<&'a str> {
    pub(super) fn of(name: &'a str) -> Self {
        code(name).map_or(Name::Text(name), Name::Known)
    }

    fn text(self) -> &'a str {
        match self {
            Name::Known(code) => known(code),
            Name::Text(text) => text,
        }
    }
}

impl Name<String> {
    pub(super) fn text(self) -> String {
        match self {
            Name::Known(code) => known(code).to_string(),
            Name::Text(text) => text,
        }
    }
}

/// The reference encoding: postcard's, through serde, which
/// [`encode_span`] writes byte for byte without serde's machinery (a
/// property test holds them together).
#[cfg(test)]
impl Serialize for SpanOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeTuple;
        let mut out = serializer.serialize_tuple(11)?;
        out.serialize_element(&self.trace_id)?;
        out.serialize_element(&self.span_id)?;
        out.serialize_element(&self.parent_id)?;
        out.serialize_element(&Name::of(self.name))?;
        out.serialize_element(&self.account)?;
        out.serialize_element(&self.start_us)?;
        out.serialize_element(&self.duration_us)?;
        out.serialize_element(self.function)?;
        out.serialize_element(self.error)?;
        out.serialize_element(&Seq(self
            .attributes
            .iter()
            .map(|(key, value)| (Name::of(key), AttrOut::of(value)))))?;
        out.serialize_element(&Seq(self.children.iter().map(|child| {
            (
                Name::of(child.name),
                // From the span's start: a byte or two, not eight.
                child.start_us.saturating_sub(self.start_us),
                child.duration_us,
                child.failed,
            )
        })))?;
        out.end()
    }
}

/// A sequence serialized from an iterator (once).
#[cfg(test)]
struct Seq<I>(I);

#[cfg(test)]
impl<I: Iterator<Item = T> + Clone + ExactSizeIterator, T: Serialize> Serialize for Seq<I> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

/// An attribute's value as stored: a UUID in its canonical text (a
/// request id) is kept as its 16 bytes and read back as that text.
/// Written and read past borrowed ([`AttrOut`]), read back owned
/// ([`StoredAttr`]).
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
enum AttrWire<S> {
    Str(S),
    Int(i64),
    Bool(bool),
    Uuid([u8; 16]),
}

type AttrOut<'a> = AttrWire<&'a str>;
type StoredAttr = AttrWire<String>;

impl<'a> AttrOut<'a> {
    fn of(value: &'a AttrValue) -> AttrOut<'a> {
        match value {
            AttrValue::Str(text) => match canonical_uuid(text) {
                Some(bytes) => AttrWire::Uuid(bytes),
                None => AttrWire::Str(text),
            },
            AttrValue::Int(n) => AttrWire::Int(*n),
            AttrValue::Bool(b) => AttrWire::Bool(*b),
        }
    }
}

/// `text`'s bytes when it is a UUID exactly as it is written back
/// (hyphenated, lowercase).
fn canonical_uuid(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 || bytes.iter().any(u8::is_ascii_uppercase) {
        return None;
    }
    let parsed = uuid::Uuid::try_parse_ascii(bytes).ok()?;
    Some(*parsed.as_bytes())
}

impl From<StoredAttr> for AttrValue {
    fn from(stored: StoredAttr) -> AttrValue {
        match stored {
            AttrWire::Str(text) => AttrValue::Str(text),
            AttrWire::Int(n) => AttrValue::Int(n),
            AttrWire::Bool(b) => AttrValue::Bool(b),
            AttrWire::Uuid(bytes) => {
                AttrValue::Str(uuid::Uuid::from_bytes(bytes).hyphenated().to_string())
            }
        }
    }
}

/// A phase as stored: its start is from its span's.
#[derive(Deserialize)]
struct StoredChild {
    name: Name<String>,
    after_us: i64,
    duration_us: u64,
    failed: bool,
}

/// The id of a span's `index`th child: derived (splitmix64), so that every
/// reader of the store names it alike. Never zero.
pub fn child_id(parent: [u8; 8], index: usize) -> [u8; 8] {
    let mut z = u64::from_be_bytes(parent)
        .wrapping_add(0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(index as u64 + 1));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    z.max(1).to_be_bytes()
}

/// A span as stored: [`SpanRecord`]'s fields and its phases.
#[derive(Deserialize)]
struct Stored {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    parent_id: [u8; 8],
    name: Name<String>,
    account: u64,
    start_us: i64,
    duration_us: u64,
    function: String,
    error: String,
    attributes: Vec<(Name<String>, StoredAttr)>,
    children: Vec<StoredChild>,
}

impl Stored {
    /// The span, then its phases as spans.
    fn expand(self, out: &mut Vec<SpanRecord>) {
        for (index, child) in self.children.into_iter().enumerate() {
            out.push(SpanRecord {
                trace_id: self.trace_id,
                span_id: child_id(self.span_id, index),
                parent_id: self.span_id,
                name: child.name.text(),
                account: self.account,
                start_us: self.start_us.saturating_add(child.after_us),
                duration_us: child.duration_us,
                function: String::new(),
                error: if child.failed {
                    self.error.clone()
                } else {
                    String::new()
                },
                attributes: Vec::new(),
            });
        }
        out.push(SpanRecord {
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_id: self.parent_id,
            name: self.name.text(),
            account: self.account,
            start_us: self.start_us,
            duration_us: self.duration_us,
            function: self.function,
            error: self.error,
            attributes: self
                .attributes
                .into_iter()
                .map(|(key, value)| (key.text(), value.into()))
                .collect(),
        });
    }
}

/// Appends `span`'s encoding to `buf` (what [`Store::append_spans`] takes):
/// postcard's format (what [`Stored`] and [`SpanRef`] read), written by
/// hand, as it is on every sampled call.
pub fn encode_span(span: &SpanOut<'_>, buf: &mut Vec<u8>) {
    buf.extend_from_slice(&span.trace_id);
    buf.extend_from_slice(&span.span_id);
    buf.extend_from_slice(&span.parent_id);
    put_name(buf, span.name);
    put_varint(buf, span.account);
    put_varint(buf, zigzag(span.start_us));
    put_varint(buf, span.duration_us);
    put_str(buf, span.function);
    put_str(buf, span.error);
    put_varint(buf, span.attributes.len() as u64);
    for (key, value) in span.attributes {
        put_name(buf, key);
        match AttrOut::of(value) {
            AttrWire::Str(text) => {
                buf.push(0);
                put_str(buf, text);
            }
            AttrWire::Int(n) => {
                buf.push(1);
                put_varint(buf, zigzag(n));
            }
            AttrWire::Bool(b) => buf.extend_from_slice(&[2, u8::from(b)]),
            AttrWire::Uuid(bytes) => {
                buf.push(3);
                buf.extend_from_slice(&bytes);
            }
        }
    }
    put_varint(buf, span.children.len() as u64);
    for child in span.children {
        put_name(buf, child.name);
        // From the span's start: a byte or two, not eight.
        put_varint(buf, zigzag(child.start_us.saturating_sub(span.start_us)));
        put_varint(buf, child.duration_us);
        buf.push(u8::from(child.failed));
    }
}

/// A [`Name`]: its variant, then its code or its text.
fn put_name(buf: &mut Vec<u8>, name: &str) {
    match code(name) {
        Some(code) => buf.extend_from_slice(&[0, code]),
        None => {
            buf.push(1);
            put_str(buf, name);
        }
    }
}

fn put_str(buf: &mut Vec<u8>, text: &str) {
    put_varint(buf, text.len() as u64);
    buf.extend_from_slice(text.as_bytes());
}

/// LEB128, as postcard writes every integer wider than a byte.
fn put_varint(buf: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        buf.push((n as u8) | 0x80);
        n >>= 7;
    }
    buf.push(n as u8);
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// Reads back what [`encode_span`] wrote (for an exporter).
pub fn decode_spans(encoded: &[u8]) -> Vec<SpanRecord> {
    let mut spans = Vec::new();
    let mut rest = encoded;
    while !rest.is_empty() {
        match postcard::take_from_bytes::<Stored>(rest) {
            Ok((span, more)) => {
                span.expand(&mut spans);
                rest = more;
            }
            Err(err) => {
                tracing::warn!(cause = %err, "encoded spans do not decode");
                break;
            }
        }
    }
    spans
}

/// A stored span borrowed from its chunk: what a chunk's summaries need,
/// read by hand ([`SpanRef::read`]) as the writer does for every span it
/// stores: fixed-size ids sliced out, attributes skipped over, phases
/// counted, nothing allocated.
pub(super) struct SpanRef<'a> {
    pub(super) trace_id: [u8; 16],
    pub(super) parent_id: [u8; 8],
    name: Name<&'a str>,
    pub(super) account: u64,
    pub(super) start_us: i64,
    pub(super) duration_us: u64,
    pub(super) function: &'a str,
    pub(super) error: &'a str,
    /// How many phases it holds, and how many of them failed.
    pub(super) children: u32,
    pub(super) failed_children: u32,
}

impl<'a> SpanRef<'a> {
    /// The span at the start of `bytes` and what follows it; `None` when
    /// they do not hold one whole span as [`encode_span`] writes it.
    pub(super) fn read(bytes: &'a [u8]) -> Option<(SpanRef<'a>, &'a [u8])> {
        let mut r = Reader(bytes);
        let trace_id = r.array::<16>()?;
        // Its own id: no summary needs it.
        r.array::<8>()?;
        let parent_id = r.array::<8>()?;
        let name = r.name()?;
        let account = r.varint()?;
        let start_us = unzigzag(r.varint()?);
        let duration_us = r.varint()?;
        let function = r.str()?;
        let error = r.str()?;
        for _ in 0..r.varint()? {
            r.name()?;
            match r.byte()? {
                0 => {
                    r.str()?;
                }
                1 => {
                    r.varint()?;
                }
                2 => {
                    r.bool()?;
                }
                3 => {
                    r.array::<16>()?;
                }
                _ => return None,
            }
        }
        let (mut children, mut failed_children) = (0u32, 0u32);
        for _ in 0..r.varint()? {
            r.name()?;
            r.varint()?;
            r.varint()?;
            children = children.saturating_add(1);
            failed_children = failed_children.saturating_add(u32::from(r.bool()?));
        }
        let span = SpanRef {
            trace_id,
            parent_id,
            name,
            account,
            start_us,
            duration_us,
            function,
            error,
            children,
            failed_children,
        };
        Some((span, r.0))
    }

    pub(super) fn is_root(&self) -> bool {
        self.parent_id == [0; 8]
    }

    pub(super) fn name(&self) -> &'a str {
        self.name.text()
    }
}

/// Postcard's bytes read by hand: each read takes what it read off the
/// front, or is `None` when the bytes end first or do not fit.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn bool(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    /// LEB128 (see [`put_varint`]): at most ten bytes.
    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(n);
            }
        }
        None
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = usize::try_from(self.varint()?).ok()?;
        let text = self.0.get(..len)?;
        self.0 = &self.0[len..];
        std::str::from_utf8(text).ok()
    }

    fn name(&mut self) -> Option<Name<&'a str>> {
        match self.byte()? {
            0 => Some(Name::Known(self.byte()?)),
            1 => Some(Name::Text(self.str()?)),
            _ => None,
        }
    }
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Names funnel knows, and others.
    const NAMES: [&str; 6] = [
        "funnel.invoke",
        "Invocation",
        "request_id",
        "custom",
        "",
        "scheduled_time",
    ];

    fn name() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(&NAMES[..])
    }

    fn attr_value() -> impl Strategy<Value = AttrValue> {
        prop_oneof![
            any::<[u8; 16]>().prop_map(|b| AttrValue::Str(uuid::Uuid::from_bytes(b).to_string())),
            any::<[u8; 16]>().prop_map(|b| {
                AttrValue::Str(uuid::Uuid::from_bytes(b).to_string().to_uppercase())
            }),
            ".{0,40}".prop_map(AttrValue::Str),
            any::<i64>().prop_map(AttrValue::Int),
            any::<bool>().prop_map(AttrValue::Bool),
        ]
    }

    fn child() -> impl Strategy<Value = Child> {
        (name(), any::<i64>(), any::<u64>(), any::<bool>()).prop_map(
            |(name, start_us, duration_us, failed)| Child {
                name,
                start_us,
                duration_us,
                failed,
            },
        )
    }

    proptest! {
        #[test]
        fn the_hand_written_encoding_is_postcards(
            ids in any::<([u8; 16], [u8; 8], [u8; 8])>(),
            span_name in name(),
            account in any::<u64>(),
            start_us in any::<i64>(),
            duration_us in any::<u64>(),
            function in ".{0,20}",
            error in ".{0,20}",
            attributes in proptest::collection::vec((name(), attr_value()), 0..6),
            children in proptest::collection::vec(child(), 0..4),
        ) {
            let span = SpanOut {
                trace_id: ids.0,
                span_id: ids.1,
                parent_id: ids.2,
                name: span_name,
                account,
                start_us,
                duration_us,
                function: &function,
                error: &error,
                attributes: &attributes,
                children: &children,
            };
            let mut written = Vec::new();
            encode_span(&span, &mut written);
            prop_assert_eq!(&written, &postcard::to_allocvec(&span).unwrap());
            // And it reads back.
            let (_, rest) = postcard::take_from_bytes::<Stored>(&written).unwrap();
            prop_assert!(rest.is_empty());

            // The writer's own reader sees what was written, and what
            // follows it; any shorter prefix is no span.
            written.extend_from_slice(b"next");
            let (read, rest) = SpanRef::read(&written).unwrap();
            prop_assert_eq!(rest, b"next");
            prop_assert_eq!(read.trace_id, ids.0);
            prop_assert_eq!(read.parent_id, ids.2);
            prop_assert_eq!(read.name(), span_name);
            prop_assert_eq!(
                (read.account, read.start_us, read.duration_us),
                (account, start_us, duration_us)
            );
            prop_assert_eq!((read.function, read.error), (&*function, &*error));
            prop_assert_eq!(read.children as usize, children.len());
            prop_assert_eq!(
                read.failed_children as usize,
                children.iter().filter(|c| c.failed).count()
            );
            let whole = written.len() - b"next".len();
            for end in 0..whole {
                prop_assert!(SpanRef::read(&written[..end]).is_none(), "{} of {} bytes", end, whole);
            }
        }

        #[test]
        fn the_writers_reader_takes_any_bytes_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            if let Some((_, rest)) = SpanRef::read(&bytes) {
                prop_assert!(rest.len() < bytes.len());
            }
        }
    }
}
