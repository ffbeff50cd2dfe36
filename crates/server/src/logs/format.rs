//! Per-invocation logs in Lambda's shape: START, the guest's own output,
//! END, and REPORT with durations and memory.

use std::fmt::Write as _;
use std::time::Duration;

use funnel_runtime::{ErrorKind, Outcome};

/// How much of a log `LogType=Tail` returns, as Lambda.
pub const TAIL_BYTES: usize = 4 * 1024;

/// The whole log of one invocation, written into one buffer.
pub fn invocation_log(
    request_id: &str,
    version: &str,
    memory_mb: u32,
    outcome: &Outcome,
) -> Vec<u8> {
    let mut head = String::with_capacity(128);
    let _ = writeln!(head, "START RequestId: {request_id} Version: {version}");
    if outcome.output_dropped > 0 {
        let _ = writeln!(
            head,
            "[funnel] {} earlier bytes of output were dropped",
            outcome.output_dropped
        );
    }
    let mut log = head.into_bytes();
    log.reserve(outcome.output.len() + 320);
    log.extend_from_slice(&outcome.output);
    if !outcome.output.is_empty() && !outcome.output.ends_with(b"\n") {
        log.push(b'\n');
    }
    let mut tail = String::with_capacity(256);
    if let Err(err) = &outcome.result
        && err.kind == ErrorKind::Unhandled
    {
        let _ = writeln!(tail, "{}: {}", err.error_type, err.error_message);
    }
    let _ = writeln!(tail, "END RequestId: {request_id}");
    let _ = write!(
        tail,
        "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {memory_mb} MB\tMax Memory Used: {} MB\t",
        millis(outcome.duration),
        billed_ms(outcome.duration),
        outcome.max_memory_used.div_ceil(1024 * 1024),
    );
    if let Some(init) = outcome.init_duration {
        let _ = write!(tail, "Init Duration: {:.2} ms\t", millis(init));
    }
    if let Err(err) = &outcome.result
        && err.error_type == "Sandbox.Timedout"
    {
        tail.push_str("Status: timeout");
    }
    tail.push('\n');
    log.extend_from_slice(tail.as_bytes());
    log
}

/// The last [`TAIL_BYTES`] of `log`.
pub fn tail(log: &[u8]) -> &[u8] {
    &log[log.len().saturating_sub(TAIL_BYTES)..]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Lambda bills whole milliseconds, rounded up.
fn billed_ms(d: Duration) -> u128 {
    d.as_micros().div_ceil(1000).max(1)
}
