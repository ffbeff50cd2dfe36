//! `funnel replay diff A B`: two recordings compared event by event (by
//! sequence number, which a replay keeps), here on the client over their
//! exports: what changed per event (status, error type, a path-level
//! diff of the response JSON, the duration ratio), then a summary table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

/// Longest value shown in a diff line.
const SHOWN: usize = 80;

/// The differences between two JSON values, one `path: a → b` each,
/// paths from `$`.
pub fn json_diff(a: &Value, b: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("$", Some(a), Some(b), &mut out);
    out
}

fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<String>) {
    match (a, b) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                walk(&member(path, key), a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                walk(&format!("{path}[{i}]"), a.get(i), b.get(i), out);
            }
        }
        (a, b) if a != b => out.push(format!("{path}: {} → {}", shown(a), shown(b))),
        _ => {}
    }
}

fn member(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !key.starts_with(|c: char| c.is_ascii_digit());
    if plain {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::String(key.to_string()))
    }
}

fn shown(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "(absent)".into();
    };
    let text = value.to_string();
    if text.chars().count() <= SHOWN {
        return text;
    }
    let cut: String = text.chars().take(SHOWN).collect();
    format!("{cut}…")
}

/// One event's fields the diff reads.
struct Event<'a>(&'a Value);

impl Event<'_> {
    fn text(&self, field: &str) -> &str {
        self.0[field].as_str().unwrap_or_default()
    }
    fn failed(&self) -> bool {
        matches!(self.text("status"), "error" | "throttled")
    }
    fn duration(&self) -> Option<f64> {
        match self.text("status") {
            "ok" | "error" => self.0["duration_ms"].as_f64(),
            _ => None,
        }
    }
}

/// The nearest-rank percentile `p` (0 to 100) of `values`.
fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.max(1) - 1).copied()
}

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.2} ms"))
}

/// The report: the changed events, then the summary table. `a` and `b`
/// are the recordings' names and their lines (parsed).
pub fn report(a: (&str, &[Value]), b: (&str, &[Value])) -> String {
    let by_seq = |lines: &[Value]| -> BTreeMap<u64, Value> {
        lines
            .iter()
            .map(|line| (line["seq"].as_u64().unwrap_or_default(), line.clone()))
            .collect()
    };
    let (left, right) = (by_seq(a.1), by_seq(b.1));
    let seqs: std::collections::BTreeSet<u64> = left.keys().chain(right.keys()).copied().collect();
    let mut out = String::new();
    let (mut same, mut changed, mut new_errors, mut fixed, mut only) = (0, 0, 0, 0, 0);
    for seq in &seqs {
        let (Some(x), Some(y)) = (left.get(seq), right.get(seq)) else {
            only += 1;
            let side = if left.contains_key(seq) { b.0 } else { a.0 };
            let _ = writeln!(out, "seq {seq}: not in {side}");
            continue;
        };
        let (x, y) = (Event(x), Event(y));
        let mut lines = Vec::new();
        if x.text("status") != y.text("status") {
            lines.push(format!(
                "status: {} → {}",
                x.text("status"),
                y.text("status")
            ));
        }
        if x.text("error_type") != y.text("error_type") {
            let none = |t: &str| {
                if t.is_empty() {
                    "(none)".to_string()
                } else {
                    t.to_string()
                }
            };
            lines.push(format!(
                "error type: {} → {}",
                none(x.text("error_type")),
                none(y.text("error_type"))
            ));
        }
        lines.extend(json_diff(&x.0["response"], &y.0["response"]));
        match (x.failed(), y.failed()) {
            (false, true) => new_errors += 1,
            (true, false) => fixed += 1,
            _ => {}
        }
        if lines.is_empty() {
            same += 1;
            continue;
        }
        changed += 1;
        let ratio = match (x.duration(), y.duration()) {
            (Some(dx), Some(dy)) if dx > 0.0 => format!(", duration ×{:.2}", dy / dx),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "seq {seq} ({} {}, {}): changed{ratio}",
            x.text("door"),
            x.text("invocation"),
            x.text("time"),
        );
        for line in lines {
            let _ = writeln!(out, "  {line}");
        }
    }
    let durations = |lines: &[Value]| -> Vec<f64> {
        lines.iter().filter_map(|l| Event(l).duration()).collect()
    };
    let (da, db) = (durations(a.1), durations(b.1));
    let width = a.0.len().max(10) + 2;
    if !out.is_empty() {
        out.push('\n');
    }
    let mut row = |label: &str, left: String, right: String| {
        let row = format!("{label:<14}{left:<width$}{right}");
        let _ = writeln!(out, "{}", row.trim_end());
    };
    row("", a.0.to_string(), b.0.to_string());
    row("events", a.1.len().to_string(), b.1.len().to_string());
    row("same", same.to_string(), String::new());
    row("changed", changed.to_string(), String::new());
    row("new errors", new_errors.to_string(), String::new());
    row("fixed errors", fixed.to_string(), String::new());
    if only > 0 {
        row("in one only", only.to_string(), String::new());
    }
    row(
        "p50 duration",
        ms(percentile(&da, 50.0)),
        ms(percentile(&db, 50.0)),
    );
    row(
        "p99 duration",
        ms(percentile(&da, 99.0)),
        ms(percentile(&db, 99.0)),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_json_diff_names_each_changed_path() {
        let a = json!({"message": "Hello, ada!", "n": [1, 2], "same": {"x": 1}, "gone": true, "odd key": 1});
        let b = json!({"message": "Howdy, ada!", "n": [1, 3, 4], "same": {"x": 1}, "odd key": 2});
        assert_eq!(
            json_diff(&a, &b),
            vec![
                "$.gone: true → (absent)",
                "$.message: \"Hello, ada!\" → \"Howdy, ada!\"",
                "$.n[1]: 2 → 3",
                "$.n[2]: (absent) → 4",
                "$[\"odd key\"]: 1 → 2",
            ]
        );
        assert!(json_diff(&a, &a).is_empty());
        assert_eq!(json_diff(&json!(1), &json!("1")), vec!["$: 1 → \"1\""]);
    }

    fn line(seq: u64, status: &str, response: Value, ms: f64) -> Value {
        let error_type = if status == "error" { "Boom" } else { "" };
        json!({"seq": seq, "time": "2026-12-05T09:00:00.000Z", "door": "invoke", "invocation": "RequestResponse",
               "status": status, "error_type": error_type, "response": response, "duration_ms": ms})
    }

    #[test]
    fn the_report_counts_changes_and_errors() {
        let a = vec![
            line(1, "ok", json!({"m": "a"}), 1.0),
            line(2, "ok", json!({"m": "b"}), 2.0),
            line(3, "error", json!({"errorType": "Boom"}), 3.0),
            line(4, "ok", json!({}), 4.0),
        ];
        let b = vec![
            line(1, "ok", json!({"m": "a"}), 1.0),
            line(2, "ok", json!({"m": "c"}), 4.0),
            line(3, "ok", json!({}), 3.0),
            line(4, "error", json!({"errorType": "Boom"}), 4.0),
        ];
        let text = report(("A", &a), ("B", &b));
        assert!(text.contains("seq 2 (invoke RequestResponse, 2026-12-05T09:00:00.000Z): changed, duration ×2.00\n  $.m: \"b\" → \"c\"\n"), "{text}");
        assert!(text.contains("seq 3 (invoke RequestResponse, 2026-12-05T09:00:00.000Z): changed, duration ×1.00\n  status: error → ok\n  error type: Boom → (none)\n  $.errorType: \"Boom\" → (absent)\n"), "{text}");
        assert!(!text.contains("seq 1"), "{text}");
        let row = |label: &str| -> Vec<String> {
            let line = text
                .lines()
                .find(|l| l.starts_with(label))
                .unwrap_or_default();
            line[label.len()..]
                .split_whitespace()
                .map(str::to_string)
                .collect()
        };
        assert_eq!(row("events"), ["4", "4"], "{text}");
        assert_eq!(row("same"), ["1"], "{text}");
        assert_eq!(row("changed"), ["3"], "{text}");
        assert_eq!(row("new errors"), ["1"], "{text}");
        assert_eq!(row("fixed errors"), ["1"], "{text}");
        assert_eq!(row("p50 duration"), ["2.00", "ms", "3.00", "ms"], "{text}");
        assert_eq!(row("p99 duration"), ["4.00", "ms", "4.00", "ms"], "{text}");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
    }
}
