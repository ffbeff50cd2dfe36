//! The image pipeline rows (issue 20): 2 MP JPEGs dropped into a watched
//! `uploads` folder, made into three thumbnails each by the `thumbnail`
//! guest (256 MB, as in the example stack), against the same resize code
//! (`pipeline-thumbnails`) compiled natively and run in this process on the
//! same images — the physical floor of the design.
//!
//! - throughput: thumbnails per second with 2 uploads in flight (c=2),
//!   against the native code on 2 threads;
//! - latency: one upload at a time, from the file's rename into the folder
//!   to its last thumbnail (`large`) written whole, against the native time
//!   for the same images.

use std::path::Path;
use std::time::{Duration, Instant};

use funnel_client::proto;
use funnel_tests::{TestServer, create_request, guest, guests, test_config};

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

/// Whether `key`'s thumbnails are all written: the guest writes `large`
/// last, and a JPEG is whole once it ends with its EOI marker. (A stat and
/// a 2-byte read: polling this costs the machine next to nothing, unlike
/// reading the function's logs.)
fn written(thumbnails: &Path, key: &str) -> bool {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let Ok(mut file) = std::fs::File::open(thumbnails.join("large").join(key)) else {
        return false;
    };
    let mut end = [0u8; 2];
    file.seek(SeekFrom::End(-2)).is_ok() && file.read_exact(&mut end).is_ok() && end == [0xFF, 0xD9]
}

async fn wait_written(thumbnails: &Path, key: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !written(thumbnails, key) {
        anyhow::ensure!(Instant::now() < deadline, "{key} was not made");
        tokio::time::sleep(Duration::from_millis(1)).await;
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
    let server = crate::start_server(config).await;
    wire(&server, root.path()).await?;
    let uploads = root.path().join("uploads");
    let thumbnails = root.path().join("thumbnails");

    // Warm up: the first environments start.
    for (i, image) in images.iter().take(CONCURRENCY).enumerate() {
        upload(&uploads, &format!("warm{i}.jpg"), image)?;
    }
    for i in 0..CONCURRENCY {
        wait_written(&thumbnails, &format!("warm{i}.jpg")).await?;
    }

    // Latency: one at a time.
    let mut samples = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let key = format!("one{i}.jpg");
        let started = Instant::now();
        upload(&uploads, &key, &images[i % IMAGES])?;
        wait_written(&thumbnails, &key).await?;
        samples.push(started.elapsed());
    }
    let latency = percentiles(samples);

    // Throughput: CONCURRENCY uploads in flight, a new one as each is done.
    let started = Instant::now();
    let key = |n: usize| format!("tp{n}.jpg");
    let mut in_flight: Vec<usize> = (0..CONCURRENCY).collect();
    for &n in &in_flight {
        upload(&uploads, &key(n), &images[n % IMAGES])?;
    }
    let (mut sent, mut finished) = (CONCURRENCY, 0);
    while finished < UPLOADS {
        let before = in_flight.len();
        in_flight.retain(|&n| !written(&thumbnails, &key(n)));
        finished += before - in_flight.len();
        while sent < UPLOADS && in_flight.len() < CONCURRENCY {
            upload(&uploads, &key(sent), &images[sent % IMAGES])?;
            in_flight.push(sent);
            sent += 1;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "throughput run stuck at {finished} of {UPLOADS}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
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
