//! Chaos: a real `funnel serve` under mixed load — sync invokes, async
//! invokes, publishes to a topic with two subscribers, files dropped into
//! a bucket, a `rate(1 minute)` rule on a virtual clock moved forward a
//! minute at a time (at each start: moving it waits for everything due to
//! run, which a flood never lets happen) — killed with SIGKILL at a random
//! moment, restarted, again, for `FUNNEL_CHAOS_ROUNDS` rounds (5 by
//! default). After one last
//! start, every acknowledged async event, publish (both subscribers) and
//! dropped file must have run at least once; the duplicates are counted
//! and printed. Deliveries are read from the server's own debug lines
//! (written before an event leaves the queue), as the crash test does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use funnel_client::{Client, proto};

use crate::common::operator;
use crate::crash::{Served, create, recorder_code};

/// What the test was told was accepted, across every round.
#[derive(Default)]
struct Acknowledged {
    /// Async invokes answered 202: their request ids.
    events: BTreeSet<String>,
    /// Publishes answered with a message id.
    publishes: BTreeSet<String>,
    /// Files written whole into the bucket's folder: their keys.
    files: BTreeSet<String>,
    /// Sync invokes answered, and rule minutes the clock was moved over.
    sync_answers: usize,
    minutes_advanced: usize,
}

/// A small deterministic generator (the seed is printed, and can be given
/// back with FUNNEL_CHAOS_SEED).
struct Dice(u64);

impl Dice {
    fn roll(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// `name=value` of a debug line, unquoted.
fn field(line: &str, name: &str) -> Option<String> {
    let at = line.find(&format!(" {name}="))? + name.len() + 2;
    let rest = &line[at..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => rest.split_whitespace().next()?,
    };
    Some(value.to_string())
}

const FUNCTION: &str = "arn:funnel:lambda:local:000000000000:function";

/// The first round's setup: functions, topic and subscriptions, bucket and
/// its notification, the rule. Returns the topic ARN and the bucket's
/// folder.
async fn set_up(client: &Client, code: &[u8]) -> (String, PathBuf) {
    let topic = client.create_topic("orders").await.expect("topic");
    for name in ["rec", "sub1", "sub2", "files", "ticks"] {
        create(client, name, code).await;
    }
    let allow = |function: &'static str, principal: &'static str, source: String| {
        let client = client.clone();
        async move {
            client
                .add_permission(proto::AddPermissionRequest {
                    function_name: function.into(),
                    statement_id: "chaos".into(),
                    action: "lambda:InvokeFunction".into(),
                    principal: principal.into(),
                    source_arn: source,
                    ..Default::default()
                })
                .await
                .expect("permission");
        }
    };
    for name in ["sub1", "sub2"] {
        allow(name, "sns.amazonaws.com", topic.clone()).await;
        client
            .subscribe(proto::SubscribeRequest {
                topic_arn: topic.clone(),
                protocol: "lambda".into(),
                endpoint: format!("{FUNCTION}:{name}"),
                ..Default::default()
            })
            .await
            .expect("subscribe");
    }
    let bucket = client.create_bucket("drops", None).await.expect("bucket");
    allow("files", "s3.amazonaws.com", "arn:funnel:s3:::drops".into()).await;
    client
        .put_bucket_notification_configuration(
            "drops",
            proto::NotificationConfiguration {
                lambda_function_configurations: vec![proto::LambdaFunctionConfiguration {
                    id: "drops".into(),
                    lambda_function_arn: format!("{FUNCTION}:files"),
                    events: vec!["s3:ObjectCreated:*".into()],
                    filter: None,
                }],
            },
        )
        .await
        .expect("notification");
    let rule = client
        .put_schedule("every-minute", "rate(1 minute)")
        .await
        .expect("rule");
    allow("ticks", "events.amazonaws.com", rule).await;
    client
        .put_targets(
            "every-minute",
            vec![funnel_client::Target {
                id: "ticks".into(),
                function: "ticks".into(),
                input: None,
            }],
        )
        .await
        .expect("target");
    (topic, PathBuf::from(bucket.path))
}

/// Runs the mixed load against `client` until the server stops answering.
async fn load(
    client: Client,
    topic: String,
    folder: PathBuf,
    round: usize,
    acked: Arc<Mutex<Acknowledged>>,
) {
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let (client, acked) = (client.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let sent = client
                    .invoke(proto::InvokeRequest {
                        function_name: "rec".into(),
                        invocation_type: "Event".into(),
                        payload: format!(
                            r#"{{"round":{round},"worker":{worker},"n":{n},"sleep_ms":20}}"#
                        )
                        .into_bytes(),
                        ..Default::default()
                    })
                    .await;
                match sent {
                    Ok(out) if out.status_code == 202 => {
                        acked.lock().unwrap().events.insert(out.request_id);
                    }
                    _ => return,
                }
            }
        }));
    }
    for worker in 0..2 {
        let (client, acked, topic) = (client.clone(), acked.clone(), topic.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let sent = client
                    .publish(proto::PublishRequest {
                        topic_arn: topic.clone(),
                        message: format!(r#"{{"round":{round},"worker":{worker},"n":{n}}}"#),
                        ..Default::default()
                    })
                    .await;
                match sent {
                    Ok(id) => {
                        acked.lock().unwrap().publishes.insert(id);
                    }
                    Err(_) => return,
                }
            }
        }));
    }
    {
        let (client, acked) = (client.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let answered = client
                    .invoke(proto::InvokeRequest {
                        function_name: "rec".into(),
                        payload: br#"{"sync":true}"#.to_vec(),
                        ..Default::default()
                    })
                    .await;
                match answered {
                    Ok(_) => acked.lock().unwrap().sync_answers += 1,
                    Err(_) => return,
                }
            }
        }));
    }
    {
        // Files are the test's to write: they are written whole (to a
        // hidden name, then renamed) whatever the server is doing, and
        // every one must have its event once the server runs again.
        let acked = acked.clone();
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let key = format!("drop-{round}-{n}.txt");
                let hidden = folder.join(format!(".{key}.part"));
                std::fs::write(&hidden, format!("round {round} file {n}")).expect("write");
                std::fs::rename(&hidden, folder.join(&key)).expect("rename");
                acked.lock().unwrap().files.insert(key);
                tokio::time::sleep(Duration::from_millis(20)).await;
                if client.get_clock().await.is_err() {
                    return;
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// Every line of every run.
fn all_lines(runs: &[Served]) -> Vec<String> {
    runs.iter()
        .flat_map(|run| run.lines.lock().unwrap().clone())
        .collect()
}

/// What the runs say was delivered (request id → times).
fn delivered(runs: &[Served]) -> BTreeMap<String, usize> {
    let mut all = BTreeMap::new();
    for run in runs {
        for (id, n) in run.delivered() {
            *all.entry(id).or_insert(0) += n;
        }
    }
    all
}

/// What is still owed: acknowledged things none of whose invocations was
/// delivered.
fn missing(acked: &Acknowledged, runs: &[Served]) -> Vec<String> {
    let lines = all_lines(runs);
    let done = delivered(runs);
    let mut owed = Vec::new();
    for id in &acked.events {
        if !done.contains_key(id) {
            owed.push(format!("async event {id}"));
        }
    }
    // A publish owes one invocation per subscriber.
    let mut fanned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for run in runs {
        for (message, request) in run.fanned_out() {
            fanned.entry(message).or_default().push(request);
        }
    }
    for message in &acked.publishes {
        let requests = fanned.get(message).cloned().unwrap_or_default();
        let ran = requests.iter().filter(|r| done.contains_key(*r)).count();
        if requests.len() < 2 || ran < 2 {
            owed.push(format!("publish {message} ({ran} of 2 subscribers ran)"));
        }
    }
    // A file's event may be queued more than once (a kill between its
    // queueing and the index's update): any one delivered will do.
    let mut queued: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in lines.iter().filter(|l| l.contains("bucket event queued")) {
        if let (Some(key), Some(request)) = (field(line, "key"), field(line, "request_id")) {
            queued.entry(key).or_default().push(request);
        }
    }
    for key in &acked.files {
        let ran = queued
            .get(key)
            .is_some_and(|ids| ids.iter().any(|id| done.contains_key(id)));
        if !ran {
            owed.push(format!("file {key}"));
        }
    }
    owed
}

fn start(data_dir: &Path, clock_ms: i64) -> Served {
    let start = chrono::DateTime::from_timestamp_millis(clock_ms)
        .expect("a time")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Served::start_with(data_dir, &["--clock", &format!("virtual={start}")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_mixed_load_loses_nothing_acknowledged() {
    let rounds: usize = std::env::var("FUNNEL_CHAOS_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let seed: u64 = std::env::var("FUNNEL_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("chaos: {rounds} rounds, FUNNEL_CHAOS_SEED={seed}");
    let mut dice = Dice(seed);
    let code = recorder_code().await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    // The virtual clock starts each run where the last one was left (a
    // day apart at most), so rule fires and retries move forward.
    let mut clock_ms = chrono::Utc::now().timestamp_millis();
    let mut runs: Vec<Served> = Vec::new();
    let mut wired: Option<(String, PathBuf)> = None;

    for round in 0..rounds {
        let mut run = start(data_dir.path(), clock_ms);
        let client = Client::connect_with(&run.endpoint, Some(operator(data_dir.path())))
            .await
            .expect("connect");
        let (topic, folder) = match &wired {
            Some(wired) => wired.clone(),
            None => {
                let set = set_up(&client, &code).await;
                wired = Some(set.clone());
                set
            }
        };
        // The rule's minutes: moving the clock waits for everything due
        // (what the last kill left queued too) to run, so it goes first.
        for _ in 0..2 {
            tokio::time::timeout(
                Duration::from_secs(60),
                client.advance_clock(Duration::from_secs(60)),
            )
            .await
            .expect("the clock moves within a minute")
            .expect("the clock moves");
            acked.lock().unwrap().minutes_advanced += 1;
        }
        let loading = tokio::spawn(load(client.clone(), topic, folder, round, acked.clone()));
        // Kill at a random moment once the load is running.
        let wait = Duration::from_millis(300 + dice.roll(1500));
        tokio::time::sleep(wait).await;
        if let Ok(now) = client.get_clock().await {
            clock_ms = chrono::DateTime::parse_from_rfc3339(&now.time)
                .map_or(clock_ms, |t| t.timestamp_millis());
        }
        run.kill_9();
        loading.await.expect("the load ends with the server");
        clock_ms += 60_000;
        runs.push(run);
    }

    // The last start owes everything acknowledged: wait for it.
    let last = start(data_dir.path(), clock_ms + 60_000);
    runs.push(last);
    let acked = acked.lock().unwrap();
    let started = Instant::now();
    let owed = loop {
        let owed = missing(&acked, &runs);
        if owed.is_empty() || started.elapsed() > Duration::from_secs(120) {
            break owed;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let done = delivered(&runs);
    let deliveries: usize = done.values().sum();
    let ticks = all_lines(&runs)
        .iter()
        .filter(|l| l.contains("rule fired"))
        .count();
    eprintln!(
        "chaos: {rounds} rounds; acknowledged {} async events, {} publishes (x2 subscribers), \
         {} files; {} sync answers; {} rule fires over {} minutes advanced; {} deliveries of {} \
         invocations ({} duplicates); {} missing",
        acked.events.len(),
        acked.publishes.len(),
        acked.files.len(),
        acked.sync_answers,
        ticks,
        acked.minutes_advanced,
        deliveries,
        done.len(),
        deliveries - done.len(),
        owed.len()
    );
    assert!(
        !acked.events.is_empty() && !acked.publishes.is_empty() && !acked.files.is_empty(),
        "the load ran"
    );
    assert!(
        owed.is_empty(),
        "acknowledged but never run: {:?}",
        &owed[..owed.len().min(20)]
    );
}
