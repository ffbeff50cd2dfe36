//! The image pipeline (`examples/image-pipeline`) as a user runs it: `funnel
//! up --stack` deploys it, images dropped into its `uploads` folder come out
//! as thumbnails (decoded here to check their sizes), the catalog and the
//! HTTP routes see them, a bad upload reaches `image-failures`, a delete
//! removes thumbnails, and the memory limit and the decoder's limits hold.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pipeline_thumbnails::samples;

use crate::common::{Up, funnel, ok, repo_root};

/// A copy of the example in `dir`, its guest workspace pointed back at the
/// repository's (so the test's uploads never touch the checkout).
fn copy_example(dir: &Path) -> PathBuf {
    let example = repo_root().join("examples/image-pipeline");
    let stack = std::fs::read_to_string(example.join("funnel.toml")).expect("the example stack");
    let workspace = r#"workspace = "../../wasm-functions""#;
    assert!(stack.contains(workspace), "the example names its workspace");
    let stack = stack.replace(
        workspace,
        &format!(
            "workspace = {:?}",
            repo_root().join("wasm-functions").display().to_string()
        ),
    );
    std::fs::write(dir.join("funnel.toml"), stack).expect("write the stack");
    std::fs::create_dir(dir.join("catalog")).expect("catalog folder");
    std::fs::copy(
        example.join("catalog/catalog.py"),
        dir.join("catalog/catalog.py"),
    )
    .expect("copy catalog.py");
    dir.join("funnel.toml")
}

/// Polls `probe` until it gives a value; panics naming `what` after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < deadline, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Drops `bytes` into the bucket folder as `key`, whole at once (written
/// next to it, then renamed in, as a finished upload appears).
fn drop_file(bucket: &Path, key: &str, bytes: &[u8]) {
    let staging = bucket.parent().unwrap().join(format!(".staging-{key}"));
    std::fs::write(&staging, bytes).expect("write the upload");
    std::fs::rename(&staging, bucket.join(key)).expect("move the upload in");
}

/// The dimensions of the image in `path`, once it is whole.
fn dimensions(path: &Path) -> Option<(u32, u32)> {
    let bytes = std::fs::read(path).ok()?;
    let image = image::load_from_memory(&bytes).ok()?;
    Some((image.width(), image.height()))
}

/// The three thumbnails of `key`, waited for and decoded.
fn thumbnails(root: &Path, key: &str) -> [(u32, u32); 3] {
    ["small", "medium", "large"].map(|size| {
        let path = root.join(size).join(key);
        wait_for(
            &format!("{}", path.display()),
            Duration::from_secs(120),
            || dimensions(&path),
        )
    })
}

/// `funnel logs tail FUNCTION` once its output contains every needle.
fn logs_with(endpoint: &str, function: &str, needles: &[&str]) -> String {
    wait_for(
        &format!("{needles:?} in the logs of {function}"),
        Duration::from_secs(120),
        || {
            let logs = ok(&funnel(endpoint, &["logs", "tail", function]));
            needles.iter().all(|n| logs.contains(n)).then_some(logs)
        },
    )
}

fn get(addr: &str, path: &str) -> funnel_tests::HttpResponse {
    let addr = addr.parse().expect("the HTTP address");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(funnel_tests::http_request(addr, "GET", path, &[], b""))
}

#[test]
fn the_image_pipeline_makes_catalogues_serves_and_removes_thumbnails() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let project = tempfile::tempdir().expect("temp dir");
    let stack = copy_example(project.path());
    let mut up = Up::start_with(
        data_dir.path(),
        &["--stack", stack.to_str().expect("a UTF-8 path")],
    );
    let endpoint = up.endpoint();
    let addr = up.http_addr();
    let last_deployed = "route GET /thumbnails/{size}/{key+}";
    if !up.seen.iter().any(|l| l.contains(last_deployed)) {
        up.wait_for(last_deployed);
    }
    let uploads = project.path().join("uploads");
    let thumbs = project.path().join("thumbnails");

    // A 1600x1200 photo taken with the camera turned (EXIF orientation 6:
    // shown rotated, 1200x1600), a small PNG, and a text file named .jpg.
    drop_file(&uploads, "photo.jpg", &samples::photo_jpeg(1600, 1200, 6));
    drop_file(&uploads, "diagram.png", &samples::png(300, 200));
    drop_file(&uploads, "notes.jpg", b"not a picture, just notes\n");

    assert_eq!(
        thumbnails(&thumbs, "photo.jpg"),
        [(96, 128), (384, 512), (768, 1024)]
    );
    // Never upscaled: 300x200 is smaller than medium and large.
    assert_eq!(
        thumbnails(&thumbs, "diagram.png"),
        [(128, 85), (300, 200), (300, 200)]
    );
    // JPEG stays JPEG; anything else becomes PNG.
    let small = std::fs::read(thumbs.join("small/photo.jpg")).unwrap();
    assert!(small.starts_with(b"\xff\xd8\xff"), "a JPEG thumbnail");
    let small = std::fs::read(thumbs.join("small/diagram.png")).unwrap();
    assert!(small.starts_with(b"\x89PNG"), "a PNG thumbnail");

    // The catalog: a line per image, from the topic.
    let catalog = thumbs.join("catalog.jsonl");
    let lines = wait_for("two catalog lines", Duration::from_secs(120), || {
        let text = std::fs::read_to_string(&catalog).ok()?;
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        (lines.len() == 2).then_some(lines)
    });
    let photo = lines
        .iter()
        .find(|l| l["key"] == "photo.jpg")
        .expect("photo.jpg catalogued");
    assert_eq!(photo["sizes"]["large"], serde_json::json!([768, 1024]));
    assert_eq!(photo["sizes"]["small"], serde_json::json!([96, 128]));
    let small_bytes = std::fs::metadata(thumbs.join("small/photo.jpg"))
        .unwrap()
        .len();
    assert_eq!(photo["bytes"]["small"], small_bytes);
    assert!(lines.iter().any(|l| l["key"] == "diagram.png"));

    // The bad upload went to the OnFailure topic, whose logger logged it.
    let failures = logs_with(&endpoint, "topic-logger", &["notes.jpg", "InvalidImage"]);
    assert!(failures.contains("image-failures"), "{failures}");
    assert!(!thumbs.join("small/notes.jpg").exists());
    let logs = ok(&funnel(&endpoint, &["logs", "tail", "thumbnail"]));
    assert!(logs.contains("photo.jpg"), "{logs}");
    assert!(
        logs.contains("failed: InvalidImage: notes.jpg: not an image"),
        "{logs}"
    );
    assert!(logs.contains("REPORT RequestId:"), "{logs}");

    // HTTP: the listing and a thumbnail's bytes.
    let listing = get(&addr, "/images");
    assert_eq!(listing.status, 200, "{}", listing.text());
    let listing = listing.json();
    assert_eq!(listing["count"], 2, "{listing}");
    let served = get(&addr, "/thumbnails/medium/photo.jpg");
    assert_eq!(served.status, 200, "{}", served.text());
    assert_eq!(served.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        served.body,
        std::fs::read(thumbs.join("medium/photo.jpg")).unwrap()
    );
    assert_eq!(get(&addr, "/thumbnails/huge/photo.jpg").status, 400);
    assert_eq!(get(&addr, "/thumbnails/small/nothing.jpg").status, 404);

    // A deleted upload takes its thumbnails with it.
    std::fs::remove_file(uploads.join("photo.jpg")).unwrap();
    wait_for(
        "photo.jpg's thumbnails removed",
        Duration::from_secs(60),
        || {
            ["small", "medium", "large"]
                .iter()
                .all(|size| !thumbs.join(size).join("photo.jpg").exists())
                .then_some(())
        },
    );
    let listing = get(&addr, "/images").json();
    assert_eq!(listing["count"], 1, "{listing}");
    assert_eq!(listing["images"][0]["key"], "diagram.png");

    // A decompression bomb (a tiny file declaring 60000x60000) is refused by
    // the decoder's limits: a handled error, not an out-of-memory trap.
    drop_file(&uploads, "bomb.png", &samples::bomb_png(60_000, 60_000));
    logs_with(&endpoint, "topic-logger", &["bomb.png", "ImageTooLarge"]);

    // 40 megapixels of 16-bit RGBA decode to 320 MB: more than the 256 MB
    // the function has, so it runs out of memory...
    let huge = samples::png16(8000, 5000);
    drop_file(&uploads, "huge.png", &huge);
    logs_with(
        &endpoint,
        "topic-logger",
        &["huge.png", "Runtime.OutOfMemory"],
    );
    assert!(!thumbs.join("large/huge.png").exists());
    // ...and at 1,024 MB it is made into thumbnails.
    ok(&funnel(
        &endpoint,
        &["function", "update-config", "thumbnail", "--memory", "1024"],
    ));
    drop_file(&uploads, "huge-again.png", &huge);
    assert_eq!(
        thumbnails(&thumbs, "huge-again.png"),
        [(128, 80), (512, 320), (1024, 640)]
    );

    // Deploying the stack again puts the memory back and changes nothing else.
    let out = funnel(&endpoint, &["deploy", stack.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("thumbnail: updated configuration"), "{said}");
    assert!(said.contains("catalog: unchanged"), "{said}");
    assert!(
        said.contains("event invoke config thumbnail: unchanged"),
        "{said}"
    );
    let config = ok(&funnel(
        &endpoint,
        &["function", "get-event-invoke-config", "thumbnail"],
    ));
    assert!(config.contains("image-failures"), "{config}");
    assert!(config.contains(r#""MaximumRetryAttempts":0"#), "{config}");
}
