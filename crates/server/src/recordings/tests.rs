use std::time::Duration;

use super::*;

fn recordings() -> (tempfile::TempDir, Recordings) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let recordings = Recordings::open(store, Clock::manual(), "000000000000".into()).unwrap();
    (dir, recordings)
}

fn spec(name: &str, functions: &[&str], triggers: &[&str]) -> Spec {
    Spec {
        account: "000000000000".into(),
        name: name.into(),
        functions: functions.iter().map(|f| f.to_string()).collect(),
        triggers: triggers.iter().map(|t| t.to_string()).collect(),
        max_events: 0,
        max_bytes: 0,
    }
}

fn ok(payload: &str) -> Result<InvokeResult> {
    Ok(InvokeResult {
        status_code: 200,
        function_error: None,
        log_result: None,
        payload: payload.as_bytes().to_vec(),
        executed_version: "1".into(),
        request_id: "r".into(),
    })
}

fn stats() -> Option<Stats> {
    Some(Stats {
        version: "1".into(),
        duration: Duration::from_micros(1_500),
        cold: true,
    })
}

#[test]
fn no_recording_means_no_capture() {
    let (_dir, recordings) = recordings();
    let origin = Origin::sync(Door::Invoke);
    assert!(
        recordings
            .begin("hello", None, &origin, "r1", b"{}")
            .is_none()
    );
    recordings.start(spec("m", &["other"], &[])).unwrap();
    assert!(
        recordings
            .begin("hello", None, &origin, "r1", b"{}")
            .is_none()
    );
    recordings.stop("000000000000", "m").unwrap();
    assert!(!recordings.inner.armed.load(Ordering::Acquire));
}

#[test]
fn a_recording_takes_its_functions_and_doors_only() {
    let (_dir, recordings) = recordings();
    recordings
        .start(spec("m", &["hello"], &["s3", "invoke"]))
        .unwrap();
    // Every function of the account, by sns only.
    recordings.start(spec("all", &[], &["sns"])).unwrap();
    let sync = Origin::sync(Door::Invoke);
    let capture = recordings
        .begin("hello", Some("live"), &sync, "r1", br#"{"a":1}"#)
        .unwrap();
    assert_eq!(capture.new, vec!["m".to_string()]);
    recordings.finish(capture, &ok(r#"{"b":2}"#), stats());
    assert!(
        recordings
            .begin("hello", None, &Origin::sync(Door::Http), "r2", b"{}")
            .is_none()
    );
    // Another account's function is not "every function".
    let sns = Origin {
        door: Door::Sns,
        asynchronous: true,
        received_ms: Some(5),
        attempt: 1,
        replay: None,
    };
    assert!(
        recordings
            .begin("111111111111:hello", None, &sns, "r3", b"{}")
            .is_none()
    );
    let capture = recordings.begin("other", None, &sns, "r4", b"{}").unwrap();
    assert_eq!(capture.new, vec!["all".to_string()]);

    let entries = recordings.entries("000000000000", "m", 0, 10).unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(
        (entry.seq, entry.door.as_str(), entry.qualifier.as_str()),
        (1, "invoke", "live")
    );
    assert_eq!(
        (entry.payload.as_str(), entry.response.as_str()),
        (r#"{"a":1}"#, r#"{"b":2}"#)
    );
    assert_eq!(
        (
            entry.status.as_str(),
            entry.duration_us,
            entry.billed_ms,
            entry.cold
        ),
        ("ok", 1_500, 2, true)
    );
}

#[test]
fn an_async_event_is_one_entry_whatever_its_retries() {
    let (_dir, recordings) = recordings();
    recordings.start(spec("m", &["hello"], &[])).unwrap();
    let mut origin = Origin {
        door: Door::S3,
        asynchronous: true,
        received_ms: Some(42),
        attempt: 1,
        replay: None,
    };
    let failed = Ok(InvokeResult {
        function_error: Some("Handled"),
        payload: br#"{"errorType":"Boom","errorMessage":"no"}"#.to_vec(),
        ..ok("").unwrap()
    });
    let capture = recordings
        .begin("hello", None, &origin, "r1", b"{}")
        .unwrap();
    recordings.finish(capture, &failed, stats());
    origin.attempt = 2;
    let capture = recordings
        .begin("hello", None, &origin, "r1", b"{}")
        .unwrap();
    assert!(capture.new.is_empty());
    recordings.finish(capture, &ok("{}"), stats());
    let entries = recordings.entries("000000000000", "m", 0, 10).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (
            entries[0].status.as_str(),
            entries[0].attempts,
            entries[0].at_ms
        ),
        ("ok", 2, 42)
    );
    // The bytes are the entry's as it is now, not its attempts' sum.
    assert_eq!(
        recordings.get("000000000000", "m").unwrap().bytes,
        entries[0].size()
    );
}

#[test]
fn a_full_recording_stops_itself() {
    let (_dir, recordings) = recordings();
    recordings
        .start(Spec {
            max_events: 2,
            ..spec("m", &["hello"], &[])
        })
        .unwrap();
    let origin = Origin::sync(Door::Invoke);
    for n in 0..3 {
        if let Some(capture) = recordings.begin("hello", None, &origin, &format!("r{n}"), b"{}") {
            recordings.finish(capture, &ok("{}"), stats());
        }
    }
    let record = recordings.get("000000000000", "m").unwrap();
    assert_eq!((record.state.as_str(), record.events), ("full", 2));
    assert!(
        recordings
            .begin("hello", None, &origin, "r9", b"{}")
            .is_none()
    );
}

#[test]
fn refusals_name_what_was_wrong() {
    let (_dir, recordings) = recordings();
    let err = recordings
        .start(spec("a b", &[], &[]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("InvalidParameterValueException: recording name \"a b\""),
        "{err}"
    );
    let err = recordings
        .start(spec("m", &[], &["ftp"]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("trigger \"ftp\" is invalid"), "{err}");
    recordings.start(spec("m", &[], &[])).unwrap();
    let err = recordings
        .start(spec("m", &[], &[]))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("ResourceConflictException"), "{err}");
    let err = recordings
        .delete("000000000000", "nope")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("ResourceNotFoundException"), "{err}");
    let err = recordings.get("111111111111", "m").unwrap_err().to_string();
    assert!(err.starts_with("ResourceNotFoundException"), "{err}");
}
