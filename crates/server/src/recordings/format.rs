//! The JSON Lines form of a recording (`funnel record export` /
//! `import`): one event per line, its fields in a fixed order, payload
//! and response as JSON (compact, so a line never breaks). Exporting what
//! was imported gives the same bytes.
//!
//! | field | |
//! |---|---|
//! | `seq` | the event's number in its recording (increasing) |
//! | `time` | when it reached funnel, RFC 3339 with milliseconds, UTC |
//! | `door` | `s3`, `sns`, `schedule`, `invoke` or `http` |
//! | `invocation` | `RequestResponse` (sync) or `Event` (async) |
//! | `function`, `qualifier` | its target as it was addressed |
//! | `request_id` | the invocation's request id |
//! | `payload` | the event the function got (JSON) |
//! | `status` | `ok`, `error`, `throttled`, `pending` or `none` |
//! | `version` | the version that ran |
//! | `function_error` | `Handled`, `Unhandled` or empty |
//! | `error_type` | the error's type (`errorType`, or the AWS error name) |
//! | `response` | what it returned (JSON; a string when not JSON; `null` for none) |
//! | `duration_ms`, `billed_ms` | Lambda's Duration and Billed Duration |
//! | `cold` | whether it was a cold start |
//! | `attempts` | how many times it ran (an async event's retries count) |
//!
//! Only `time`, `door` and `payload` are required on import; the rest
//! default (`invocation` from the door, `status` to `none`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use funnel_store::RecordingEntry;

use crate::error::{Error, Result};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    seq: Option<u64>,
    time: String,
    door: String,
    #[serde(default)]
    invocation: String,
    #[serde(default)]
    function: String,
    #[serde(default)]
    qualifier: String,
    #[serde(default)]
    request_id: String,
    payload: Value,
    #[serde(default)]
    status: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    function_error: String,
    #[serde(default)]
    error_type: String,
    #[serde(default)]
    response: Value,
    #[serde(default)]
    duration_ms: f64,
    #[serde(default)]
    billed_ms: u64,
    #[serde(default)]
    cold: bool,
    #[serde(default)]
    attempts: u32,
}

/// JSON text as a value; text that is not JSON as a string.
fn as_json(text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

fn time_text(ms: i64) -> String {
    crate::schedules::ms_to_time(ms)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// One entry as a line (without its newline).
pub fn render(entry: &RecordingEntry) -> String {
    let line = Line {
        seq: Some(entry.seq),
        time: time_text(entry.at_ms),
        door: entry.door.clone(),
        invocation: entry.invocation.clone(),
        function: entry.function.clone(),
        qualifier: entry.qualifier.clone(),
        request_id: entry.request_id.clone(),
        payload: as_json(&entry.payload),
        status: entry.status.clone(),
        version: entry.version.clone(),
        function_error: entry.function_error.clone(),
        error_type: entry.error_type.clone(),
        response: as_json(&entry.response),
        duration_ms: entry.duration_us as f64 / 1000.0,
        billed_ms: entry.billed_ms,
        cold: entry.cold,
        attempts: entry.attempts,
    };
    serde_json::to_string(&line).unwrap_or_default()
}

/// Lines (blank ones skipped) as entries, numbered in order where they
/// have no `seq`. An error names the line and what is wrong with it.
pub fn parse(lines: &[String]) -> Result<Vec<RecordingEntry>> {
    let mut entries: Vec<RecordingEntry> = Vec::new();
    for (index, text) in lines.iter().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        let bad = |why: String| Error::InvalidParameterValue(format!("line {number}: {why}"));
        let line: Line = serde_json::from_str(text).map_err(|err| bad(err.to_string()))?;
        let door = super::Door::parse(&line.door).map_err(|_| {
            bad(format!(
                "door {:?} must be s3, sns, schedule, invoke or http",
                line.door
            ))
        })?;
        let at_ms = chrono::DateTime::parse_from_rfc3339(&line.time)
            .map_err(|err| bad(format!("time {:?} is not RFC 3339: {err}", line.time)))?
            .timestamp_millis();
        let previous = entries.last().map(|e| e.seq);
        let seq = line.seq.unwrap_or(previous.map_or(1, |p| p + 1));
        if previous.is_some_and(|p| seq <= p) || seq == 0 {
            return Err(bad(format!(
                "seq {seq} must be above 0 and above the line before's"
            )));
        }
        let invocation = match line.invocation.as_str() {
            "" if door.queued() => "Event".to_string(),
            "" => "RequestResponse".to_string(),
            "Event" | "RequestResponse" => line.invocation,
            other => {
                return Err(bad(format!(
                    "invocation {other:?} must be RequestResponse or Event"
                )));
            }
        };
        let status = match line.status.as_str() {
            "" => "none".to_string(),
            "ok" | "error" | "throttled" | "pending" | "none" => line.status,
            other => {
                return Err(bad(format!(
                    "status {other:?} must be ok, error, throttled, pending or none"
                )));
            }
        };
        if !(line.duration_ms.is_finite() && line.duration_ms >= 0.0) {
            return Err(bad("duration_ms must be a number of at least 0".into()));
        }
        entries.push(RecordingEntry {
            seq,
            at_ms,
            door: door.as_str().into(),
            invocation,
            function: line.function,
            qualifier: line.qualifier,
            request_id: line.request_id,
            payload: line.payload.to_string(),
            status,
            version: line.version,
            function_error: line.function_error,
            error_type: line.error_type,
            response: match line.response {
                Value::Null => String::new(),
                value => value.to_string(),
            },
            duration_us: (line.duration_ms * 1000.0).round() as u64,
            billed_ms: line.billed_ms,
            cold: line.cold,
            attempts: line.attempts,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_of_an_import_is_the_same_bytes() {
        let lines = vec![
            r#"{"seq":1,"time":"2026-12-05T09:00:00.250Z","door":"s3","invocation":"Event","function":"thumbs","qualifier":"live","request_id":"r-1","payload":{"Records":[{"s3":{"object":{"key":"a.jpg","size":10}}}]},"status":"error","version":"2","function_error":"Handled","error_type":"Boom","response":{"errorMessage":"no","errorType":"Boom"},"duration_ms":1.234,"billed_ms":2,"cold":true,"attempts":3}"#.to_string(),
            r#"{"seq":7,"time":"2026-12-05T09:00:01.000Z","door":"invoke","invocation":"RequestResponse","function":"hello","qualifier":"","request_id":"r-2","payload":{"name":"ada"},"status":"ok","version":"$LATEST","function_error":"","error_type":"","response":"plain text","duration_ms":0.5,"billed_ms":1,"cold":false,"attempts":1}"#.to_string(),
        ];
        let entries = parse(&lines).unwrap();
        assert_eq!(entries[0].attempts, 3);
        assert_eq!(entries[0].duration_us, 1234);
        assert_eq!(entries[1].seq, 7);
        let again: Vec<String> = entries.iter().map(render).collect();
        assert_eq!(again, lines);
    }

    #[test]
    fn a_hand_written_line_takes_defaults() {
        let lines = vec![
            String::new(),
            r#"{"time":"2026-12-05T09:00:00Z","door":"schedule","payload":{"source":"aws.events"}}"#.into(),
            r#"{"time":"2026-12-05T10:00:00+01:00","door":"invoke","payload":{}}"#.into(),
        ];
        let entries = parse(&lines).unwrap();
        assert_eq!((entries[0].seq, entries[1].seq), (1, 2));
        assert_eq!(entries[0].invocation, "Event");
        assert_eq!(entries[1].invocation, "RequestResponse");
        assert_eq!(entries[0].status, "none");
        assert_eq!(entries[0].at_ms, entries[1].at_ms);
        assert!(render(&entries[0]).starts_with(
            r#"{"seq":1,"time":"2026-12-05T09:00:00.000Z","door":"schedule","invocation":"Event""#
        ));
    }

    #[test]
    fn bad_lines_are_named() {
        let cases = [
            (
                r#"{"time":"x","door":"s3","payload":{}}"#,
                "line 1: time \"x\"",
            ),
            (
                r#"{"time":"2026-12-05T09:00:00Z","door":"ftp","payload":{}}"#,
                "line 1: door \"ftp\"",
            ),
            (
                r#"{"time":"2026-12-05T09:00:00Z","door":"s3"}"#,
                "line 1: missing field `payload`",
            ),
            (
                r#"{"time":"2026-12-05T09:00:00Z","door":"s3","payload":{},"extra":1}"#,
                "line 1: unknown field `extra`",
            ),
        ];
        for (line, expected) in cases {
            let err = parse(&[line.to_string()]).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let out_of_order = [
            r#"{"seq":2,"time":"2026-12-05T09:00:00Z","door":"s3","payload":{}}"#.to_string(),
            r#"{"seq":2,"time":"2026-12-05T09:00:00Z","door":"s3","payload":{}}"#.to_string(),
        ];
        let err = parse(&out_of_order).unwrap_err().to_string();
        assert!(err.contains("line 2: seq 2"), "{err}");
    }
}
