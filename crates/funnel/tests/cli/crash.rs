//! Crash safety of the async queue, for real: the `funnel` binary is
//! killed with SIGKILL while it accepts and delivers events, restarted, and
//! every event it had accepted (answered 202) must be delivered at least
//! once. Deliveries are counted from the server's own debug line, which it
//! writes before an event leaves the queue.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use funnel_client::{Client, proto};

use crate::common::{operator, repo_root};

/// A `funnel serve` child and every stderr line it wrote.
pub(crate) struct Served {
    child: Child,
    pub(crate) endpoint: String,
    pub(crate) lines: Arc<Mutex<Vec<String>>>,
}

impl Served {
    fn start(data_dir: &Path) -> Served {
        Served::start_with(data_dir, &[])
    }

    /// `funnel serve` on `data_dir` with `flags` besides, logging every
    /// queued and delivered event (dispatch, topics, buckets, schedules).
    pub(crate) fn start_with(data_dir: &Path, flags: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_funnel"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--http-listen",
                "off",
                "--aws-listen",
                "off",
                "--data-dir",
            ])
            .arg(data_dir)
            .args(flags)
            .env(
                "FUNNEL_LOG",
                "info,funnel_server::dispatch=debug,funnel_server::topics=debug,\
                 funnel_server::buckets=debug,funnel_server::schedules=debug",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start funnel serve");
        let stderr = child.stderr.take().expect("stderr");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready) = std::sync::mpsc::channel();
        std::thread::spawn({
            let lines = lines.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("funnel is up at ").nth(1) {
                        let endpoint = rest.split_whitespace().next().unwrap_or("").to_string();
                        let _ = ready_tx.send(endpoint);
                    }
                    lines.lock().unwrap().push(line);
                }
            }
        });
        let endpoint = ready
            .recv_timeout(Duration::from_secs(120))
            .expect("funnel serve said where it is up");
        Served {
            child,
            endpoint,
            lines,
        }
    }

    /// `(message_id, request_id)` of every topic fan-out the server queued.
    pub(crate) fn fanned_out(&self) -> Vec<(String, String)> {
        let field = |line: &str, name: &str| {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(name))
                .map(str::to_string)
        };
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains("topic message queued"))
            .filter_map(|line| Some((field(line, "message_id=")?, field(line, "request_id=")?)))
            .collect()
    }

    /// Request ids the server says it delivered, with how many times.
    pub(crate) fn delivered(&self) -> BTreeMap<String, usize> {
        let mut seen = BTreeMap::new();
        for line in self.lines.lock().unwrap().iter() {
            if !line.contains("delivered async event") {
                continue;
            }
            if let Some(id) = line
                .split_whitespace()
                .find_map(|field| field.strip_prefix("request_id="))
            {
                *seen.entry(id.to_string()).or_insert(0) += 1;
            }
        }
        seen
    }

    pub(crate) fn kill_9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The recorder guest's component, built (once per run) for the binary.
pub(crate) async fn recorder_code() -> Vec<u8> {
    let built = tokio::task::spawn_blocking(|| {
        let root = repo_root();
        funnel_build::rust::build(
            &root.join("wasm-functions"),
            &root.join("target/wasm-functions"),
            &["recorder"],
        )
    })
    .await
    .expect("build task")
    .expect("build the recorder guest");
    std::fs::read(&built["recorder"]).expect("read guest")
}

/// Creates function `name` from `code`.
pub(crate) async fn create(client: &Client, name: &str, code: &[u8]) {
    client
        .create_function(proto::CreateFunctionRequest {
            function_name: name.into(),
            code: Some(proto::FunctionCode {
                zip_file: code.to_vec(),
            }),
            ..Default::default()
        })
        .await
        .expect("create");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_accept_and_mid_delivery_loses_no_accepted_event() {
    let code = recorder_code().await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut first = Served::start(data_dir.path());
    let client = Client::connect_with(&first.endpoint, Some(operator(data_dir.path())))
        .await
        .expect("connect");
    create(&client, "recorder", &code).await;

    // 16 publishers send events until the server dies under them. Each event
    // holds its environment 50 ms, so delivery trails acceptance and the kill
    // always finds events still queued.
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut publishers = Vec::new();
    for publisher in 0..16 {
        let (client, accepted, refused) = (client.clone(), accepted.clone(), refused.clone());
        publishers.push(tokio::spawn(async move {
            for n in 0.. {
                let payload = format!(r#"{{"publisher":{publisher},"n":{n},"sleep_ms":50}}"#);
                let sent = client
                    .invoke(proto::InvokeRequest {
                        function_name: "recorder".into(),
                        invocation_type: "Event".into(),
                        payload: payload.into_bytes(),
                        ..Default::default()
                    })
                    .await;
                match sent {
                    Ok(out) if out.status_code == 202 => {
                        accepted.lock().unwrap().push(out.request_id)
                    }
                    _ => {
                        refused.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        }));
    }
    // Kill once deliveries are under way and accepts are still coming.
    let start = Instant::now();
    while first.delivered().len() < 100 || accepted.lock().unwrap().len() < 300 {
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill_9();
    for publisher in publishers {
        publisher.await.expect("publisher");
    }
    let accepted: HashSet<String> = accepted.lock().unwrap().iter().cloned().collect();
    let before = first.delivered();
    assert!(
        before.len() < accepted.len(),
        "the kill should come before every event was delivered ({} of {})",
        before.len(),
        accepted.len()
    );

    // The next start delivers the rest.
    let second = Served::start(data_dir.path());
    let start = Instant::now();
    let missing = loop {
        let after = second.delivered();
        let missing: Vec<&String> = accepted
            .iter()
            .filter(|id| !before.contains_key(*id) && !after.contains_key(*id))
            .collect();
        if missing.is_empty() || start.elapsed() > Duration::from_secs(60) {
            break missing.len();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let after = second.delivered();
    let deliveries: usize = before.values().chain(after.values()).sum();
    let unique: HashSet<&String> = before.keys().chain(after.keys()).collect();
    eprintln!(
        "crash test: {} accepted, {} refused by the dying server, {} delivered before the kill, \
         {} after the restart, {} duplicate deliveries, {} missing",
        accepted.len(),
        refused.load(Ordering::Relaxed),
        before.len(),
        after.len(),
        deliveries - unique.len(),
        missing
    );
    assert_eq!(missing, 0, "accepted events were lost");
    // Within one run nothing is delivered twice: only a crash (an ack not
    // yet durable) may repeat a delivery, in the next run.
    for (run, delivered) in [("first", &before), ("second", &after)] {
        let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "delivered twice in the {run} run: {twice:?}"
        );
    }
    // Every delivery was of an accepted event or of one whose answer the
    // kill cut off (accepted by the server, never confirmed to the client).
    assert!(unique.len() >= accepted.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_loses_no_acknowledged_publish() {
    let code = recorder_code().await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut first = Served::start(data_dir.path());
    let client = Client::connect_with(&first.endpoint, Some(operator(data_dir.path())))
        .await
        .expect("connect");
    let topic_arn = client.create_topic("orders").await.expect("topic");
    for name in ["rec1", "rec2"] {
        create(&client, name, &code).await;
        client
            .add_permission(proto::AddPermissionRequest {
                function_name: name.into(),
                statement_id: "sns".into(),
                action: "lambda:InvokeFunction".into(),
                principal: "sns.amazonaws.com".into(),
                source_arn: topic_arn.clone(),
                ..Default::default()
            })
            .await
            .expect("permission");
        client
            .subscribe(proto::SubscribeRequest {
                topic_arn: topic_arn.clone(),
                protocol: "lambda".into(),
                endpoint: format!("arn:funnel:lambda:local:000000000000:function:{name}"),
                ..Default::default()
            })
            .await
            .expect("subscribe");
    }

    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut publishers = Vec::new();
    for publisher in 0..8 {
        let (client, acked, topic_arn) = (client.clone(), acked.clone(), topic_arn.clone());
        publishers.push(tokio::spawn(async move {
            for n in 0.. {
                let sent = client
                    .publish(proto::PublishRequest {
                        topic_arn: topic_arn.clone(),
                        message: format!(r#"{{"publisher":{publisher},"n":{n},"sleep_ms":200}}"#),
                        ..Default::default()
                    })
                    .await;
                match sent {
                    Ok(message_id) => acked.lock().unwrap().push(message_id),
                    Err(_) => return,
                }
            }
        }));
    }
    let start = Instant::now();
    while first.delivered().len() < 50 || acked.lock().unwrap().len() < 150 {
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill_9();
    for publisher in publishers {
        publisher.await.expect("publisher");
    }
    let acked: HashSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let fanned = first.fanned_out();
    // Every acknowledged publish was queued for both subscribers.
    for id in &acked {
        let copies = fanned.iter().filter(|(m, _)| m == id).count();
        assert_eq!(copies, 2, "message {id} was queued {copies} times");
    }
    let wanted: HashSet<&String> = fanned
        .iter()
        .filter(|(m, _)| acked.contains(m))
        .map(|(_, r)| r)
        .collect();
    let before = first.delivered();
    assert!(
        wanted.iter().any(|r| !before.contains_key(*r)),
        "the kill should come before every delivery"
    );

    let second = Served::start(data_dir.path());
    let start = Instant::now();
    let missing = loop {
        let after = second.delivered();
        let missing = wanted
            .iter()
            .filter(|r| !before.contains_key(**r) && !after.contains_key(**r))
            .count();
        if missing == 0 || start.elapsed() > Duration::from_secs(60) {
            break missing;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    eprintln!(
        "topic crash test: {} publishes acknowledged, {} invocations owed, {} delivered before the kill, {} missing",
        acked.len(),
        wanted.len(),
        wanted.iter().filter(|r| before.contains_key(**r)).count(),
        missing
    );
    assert_eq!(missing, 0, "acknowledged publishes were lost");
}
