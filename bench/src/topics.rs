//! The topic rows: durable publishes at c=32 to a topic with 10 matching
//! subscribers (each publish queues 10 invocations in one write), against
//! the async Invoke accept rate of this run; and how fast those
//! invocations are delivered, against the async dispatch rate.

use funnel_tests::guests;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use funnel_client::proto;
use funnel_tests::topics::{allow_sns, subscribe};
use funnel_tests::{TestServer, test_config};

use crate::{CONCURRENCY, CONNECTIONS, THROUGHPUT_SECS};

pub const SUBSCRIBERS: usize = 10;

pub struct TopicRows {
    pub publish_rate: f64,
    pub published: u64,
    /// Publishes per group-committed flush.
    pub per_flush: f64,
    /// How long a flush took, on average.
    pub flush_ms: f64,
    pub delivery_rate: f64,
}

async fn wire(server: &TestServer) -> anyhow::Result<String> {
    let topic_arn = server.client.create_topic("bench").await?;
    for i in 0..SUBSCRIBERS {
        let name = format!("sub{i}");
        server.create(&name, guests::ECHO).await;
        allow_sns(server, &name, &topic_arn).await;
        subscribe(server, &topic_arn, &name, Some(r#"{"kind":["order"]}"#)).await;
    }
    Ok(topic_arn)
}

fn message(topic_arn: &str) -> proto::PublishRequest {
    proto::PublishRequest {
        topic_arn: topic_arn.into(),
        message: r#"{"order":1}"#.into(),
        subject: None,
        message_attributes: [(
            "kind".to_string(),
            proto::MessageAttributeValue {
                data_type: "String".into(),
                string_value: Some("order".into()),
                binary_value: None,
            },
        )]
        .into(),
    }
}

pub async fn measure() -> anyhow::Result<TopicRows> {
    let dir = tempfile::tempdir()?;
    let mut config = test_config(dir.path());
    config.runtime.max_instances = 64;
    config.queue.workers = Some(0);
    let server = crate::start_server(config).await;
    let topic_arn = wire(&server).await?;
    let clients = crate::member_clients(&server).await?;
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(THROUGHPUT_SECS);
    let started = Instant::now();
    let publishers: Vec<_> = (0..CONCURRENCY)
        .map(|w| {
            let (client, done, topic_arn) = (
                clients[w % CONNECTIONS].clone(),
                done.clone(),
                topic_arn.clone(),
            );
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    client.publish(message(&topic_arn)).await.expect("publish");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await?;
    }
    let published = done.load(Ordering::Relaxed);
    let publish_rate = published as f64 / started.elapsed().as_secs_f64();
    let stats = server.queue.stats();
    let queued = stats.depth;
    let per_flush = published as f64 / stats.flushes.max(1) as f64;
    let flush_ms = stats.flush_micros as f64 / 1000.0 / stats.flushes.max(1) as f64;
    anyhow::ensure!(
        queued == published * SUBSCRIBERS as u64,
        "{published} publishes queued {queued} invocations"
    );
    server.stop().await;

    // The same data dir with deliveries on.
    let delivery_rate = crate::queue::drain_rate(dir.path(), queued).await?;
    Ok(TopicRows {
        publish_rate,
        published,
        per_flush,
        flush_ms,
        delivery_rate,
    })
}
