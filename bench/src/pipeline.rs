//! The image pipeline rows (issue 20): 2 MP JPEGs dropped into a watched
//! `uploads` folder, made into three thumbnails each by the `thumbnail`
//! guest (256 MB, as in the example stack), against the same resize code
//! (`pipeline-thumbnails`) compiled natively and run in this process on the
//! same images — the physical floor of the design.
//!
//! - throughput: thumbnails per second with 2 uploads in flight (c=2),
//!   against the native code on 2 threads;
//! - latency: one upload at a time, from the file's rename into the folder
//!   to the guest's log line saying all three are written, against the
//!   native time for the same image.

use std::path::Path;
use std::time::{Duration, Instant};

use funnel_client::proto;
use funnel_tests::{TestServer, create_request, guest, guests, start_server_with, test_config};

use crate::{Latency, percentiles};

/// Distinct images, so no cache of any kind helps.
pub const IMAGES: usize = 8;
const WIDTH: u32 = 1632;
const HEIGHT: u32 = 1224;
/// Uploads per throughput run, and latency samples.
const UPLOADS: usize = 48;
const SAMPLES: usize = 30;
const CONCURRENCY: usize = 2;

pub struct Pipeline {
    /// Thumbnails per second through funnel at c=2.
    pub rate: f64,
    /// The same code, natively, on 2 threads.
    pub native_rate: f64,
    /// Upload → three thumbnails written.
    pub latency: Latency,
    /// The native decode + three sizes of one image.
    pub native: Latency,
    pub megapixels: f64,
    pub jpeg_kib: usize,
}

fn images() -> Vec<Vec<u8>> {
    (0..IMAGES)
        .map(|i| pipeline_thumbnails::samples::photo_jpeg_seeded(WIDTH, HEIGHT, 1, i as u32))
        .collect()
}

fn native_once(image: &[u8]) {
    let made = pipeline_thumbnails::thumbnails(std::io::Cursor::new(image))
        .expect("the native code makes thumbnails");
    assert_eq!(made.len(), 3);
}

/// Native thumbnails per second on `threads` threads.
fn native_rate(images: &[Vec<u8>], threads: usize) -> f64 {
    let started = Instant::now();
    let per_thread = UPLOADS / threads;
    std::thread::scope(|scope| {
        for t in 0..threads {
            scope.spawn(move || {
                for i in 0..per_thread {
                    native_once(&images[(t + i * threads) % images.len()]);
                }
            });
        }
    });
    (per_thread * threads * 3) as f64 / started.elapsed().as_secs_f64()
}

/// How many uploads the guest has logged as done ("thumbnail KEY ...").
async fn done(server: &TestServer) -> usize {
    server
        .log_messages("thumbnail")
        .await
        .iter()
        .filter(|e| e.message.starts_with("thumbnail "))
        .count()
}

async fn wait_done(server: &TestServer, n: usize) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while done(server).await < n {
        anyhow::ensure!(Instant::now() < deadline, "upload {n} was not made");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

/// Drops `bytes` into `folder` as `key`, whole (renamed in).
fn upload(folder: &Path, key: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let staging = folder.parent().expect("a parent").join(format!(".{key}"));
    std::fs::write(&staging, bytes)?;
    std::fs::rename(&staging, folder.join(key))?;
    Ok(())
}

async fn wire(server: &TestServer, root: &Path) -> anyhow::Result<()> {
    for name in ["uploads", "thumbnails"] {
        let path = root.join(name);
        std::fs::create_dir(&path)?;
        server
            .client
            .create_bucket(name, Some(&path.to_string_lossy()))
            .await?;
    }
    server.client.create_topic("images").await?;
    let mut request = create_request("thumbnail", guest(guests::THUMBNAIL));
    request.memory_size = Some(256);
    request.timeout = Some(30);
    request.bucket_access = Some(proto::BucketAccess {
        buckets: [
            ("uploads".to_string(), "read".to_string()),
            ("thumbnails".to_string(), "read-write".to_string()),
        ]
        .into(),
    });
    request.topic_access = Some(proto::TopicAccess {
        topics: vec!["images".into()],
    });
    server.client.create_function(request).await?;
    server
        .allow("thumbnail", "s3", "s3.amazonaws.com", "")
        .await;
    server
        .client
        .put_bucket_notification_configuration(
            "uploads",
            proto::NotificationConfiguration {
                lambda_function_configurations: vec![proto::LambdaFunctionConfiguration {
                    id: "jpegs".into(),
                    lambda_function_arn: "arn:funnel:lambda:local:000000000000:function:thumbnail"
                        .into(),
                    events: vec!["s3:ObjectCreated:*".into()],
                    filter: None,
                }],
            },
        )
        .await?;
    Ok(())
}

pub async fn measure() -> anyhow::Result<Pipeline> {
    let images = images();
    // Native first: the floor, in this process, on the same images.
    for image in &images {
        native_once(image);
    }
    let native = percentiles(
        (0..SAMPLES)
            .map(|i| {
                let started = Instant::now();
                native_once(&images[i % IMAGES]);
                started.elapsed()
            })
            .collect(),
    );
    let native_rate = native_rate(&images, CONCURRENCY);

    let data = tempfile::tempdir()?;
    let root = tempfile::tempdir()?;
    let mut config = test_config(data.path());
    config.buckets.roots.push(root.path().to_path_buf());
    let server = start_server_with(config).await;
    wire(&server, root.path()).await?;
    let uploads = root.path().join("uploads");

    // Warm up: the first environments start.
    let mut made = 0;
    for i in 0..CONCURRENCY {
        upload(&uploads, &format!("warm{i}.jpg"), &images[i])?;
    }
    made += CONCURRENCY;
    wait_done(&server, made).await?;

    // Latency: one at a time.
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let started = Instant::now();
        upload(&uploads, &format!("one{i}.jpg"), &images[i % IMAGES])?;
        made += 1;
        wait_done(&server, made).await?;
        samples.push(started.elapsed());
    }
    let latency = percentiles(samples);

    // Throughput: CONCURRENCY uploads in flight, a new one as each is done.
    let started = Instant::now();
    let mut sent = 0;
    while sent < CONCURRENCY {
        upload(&uploads, &format!("tp{sent}.jpg"), &images[sent % IMAGES])?;
        sent += 1;
    }
    let base = made;
    loop {
        let finished = done(&server).await - base;
        if finished >= UPLOADS {
            break;
        }
        while sent < UPLOADS && sent < finished + CONCURRENCY {
            upload(&uploads, &format!("tp{sent}.jpg"), &images[sent % IMAGES])?;
            sent += 1;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "throughput run stuck at {finished} of {UPLOADS}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let rate = (UPLOADS * 3) as f64 / started.elapsed().as_secs_f64();
    server.stop().await;
    Ok(Pipeline {
        rate,
        native_rate,
        latency,
        native,
        megapixels: (WIDTH * HEIGHT) as f64 / 1e6,
        jpeg_kib: images[0].len() / 1024,
    })
}

pub(crate) fn rows(p: &Pipeline) -> Vec<crate::Row> {
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    vec![
        crate::Row {
            name: "image pipeline: thumbnails/s (3 per upload, 2 MP JPEGs), c=2",
            value: format!("{:.1}/s", p.rate),
            baseline_name: "same code natively, 2 threads",
            baseline: format!("{:.1}/s", p.native_rate),
            ratio: p.rate / p.native_rate,
            target: "≥ 0.5×",
        },
        crate::Row {
            name: "image pipeline: upload → 3 thumbnails written, p50",
            value: ms(p.latency.p50),
            baseline_name: "native decode + 3 sizes p50",
            baseline: ms(p.native.p50),
            ratio: p.latency.p50.as_secs_f64() / p.native.p50.as_secs_f64(),
            target: "≤ 3×",
        },
        crate::Row {
            name: "image pipeline: upload → 3 thumbnails written, p99",
            value: ms(p.latency.p99),
            baseline_name: "native decode + 3 sizes p99",
            baseline: ms(p.native.p99),
            ratio: p.latency.p99.as_secs_f64() / p.native.p99.as_secs_f64(),
            target: "",
        },
    ]
}
