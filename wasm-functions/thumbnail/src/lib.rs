//! The image pipeline's `thumbnail` function (`examples/image-pipeline`).
//! For each record of an S3 event:
//!
//! - `ObjectCreated:*`: reads `/buckets/<bucket>/<key>`, writes its small,
//!   medium and large thumbnails (`pipeline-thumbnails`) to
//!   `/buckets/$THUMBNAILS_BUCKET/<size>/<key>` (default `thumbnails`),
//!   publishes `{"key", "sizes": {size: [w, h]}, "bytes": {size: n}}` to
//!   topic `$IMAGES_TOPIC` (default `images`) and logs one line
//!   `thumbnail <key> -> small WxH, medium WxH, large WxH in N ms`;
//! - `ObjectRemoved:*`: deletes the key's thumbnails (those that exist) and
//!   logs `removed thumbnails of <key>`.
//!
//! Returns `{"processed": [keys], "removed": [keys]}`. An image that cannot
//! be made into thumbnails is a handled error named for why:
//! `InvalidImage`, `ImageTooLarge`, or `NoSuchKey` when the upload was
//! deleted before its event ran; the log says `failed: <type>: <message>`.
use std::fs::File;
use std::io::{BufReader, ErrorKind};
use std::time::Instant;

use aws_lambda_events::event::s3::S3Event;
use funnel_function::topics::Message;
use funnel_function::{Context, Error, Value};
use pipeline_thumbnails::{SIZES, Thumbnail, ThumbnailError};
use serde_json::json;

fn handle(event: Value, _ctx: Context) -> Result<Value, Error> {
    // Parsed here rather than by the SDK so a malformed event is this
    // function's handled `InvalidEvent`, not a runtime unmarshal error.
    let event: S3Event = serde_json::from_value(event)
        .map_err(|e| Error::new("InvalidEvent", format!("not an S3 event: {e}")))?;
    let thumbnails_bucket = env_or("THUMBNAILS_BUCKET", "thumbnails");
    let topic = env_or("IMAGES_TOPIC", "images");
    let (mut processed, mut removed) = (Vec::new(), Vec::new());
    for (index, record) in event.records.into_iter().enumerate() {
        let missing = |field: &str| {
            Error::new(
                "InvalidEvent",
                format!("Records[{index}].{field} is missing"),
            )
        };
        let event_name = record.event_name.ok_or_else(|| missing("eventName"))?;
        let bucket = record
            .s3
            .bucket
            .name
            .ok_or_else(|| missing("s3.bucket.name"))?;
        let raw_key = record
            .s3
            .object
            .key
            .ok_or_else(|| missing("s3.object.key"))?;
        let key = funnel_function::s3::decode_key(&raw_key).map_err(|e| {
            Error::new(
                "InvalidEvent",
                format!(
                    "Records[{index}].s3.object.key {raw_key:?} is not UTF-8 once decoded: {e}"
                ),
            )
        })?;
        if event_name.starts_with("ObjectCreated:") {
            // Logged here too: the error also goes to the OnFailure
            // destination, but the function's own log should say why.
            make(&bucket, &key, &thumbnails_bucket, &topic)
                .inspect_err(|e| println!("failed: {e}"))?;
            processed.push(key);
        } else if event_name.starts_with("ObjectRemoved:") {
            remove(&key, &thumbnails_bucket)?;
            removed.push(key);
        } else {
            println!("ignored {event_name} of {key}");
        }
    }
    Ok(json!({ "processed": processed, "removed": removed }))
}

/// Makes, writes and announces the thumbnails of `bucket`'s `key`.
fn make(bucket: &str, key: &str, thumbnails_bucket: &str, topic: &str) -> Result<(), Error> {
    let started = Instant::now();
    // Concatenated, not `Path::join`, so a key starting with '/' stays
    // inside the bucket's directory.
    let file = File::open(format!("/buckets/{bucket}/{key}")).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            Error::new(
                "NoSuchKey",
                format!("{key} is no longer in {bucket} (deleted before this event ran?)"),
            )
        } else {
            not_readable(bucket, key, e)
        }
    })?;
    let thumbnails =
        pipeline_thumbnails::thumbnails(BufReader::new(file)).map_err(|e| match e {
            ThumbnailError::InvalidImage(m) => Error::new("InvalidImage", format!("{key}: {m}")),
            ThumbnailError::ImageTooLarge(m) => Error::new("ImageTooLarge", format!("{key}: {m}")),
            ThumbnailError::Read(e) => not_readable(bucket, key, e),
            e @ ThumbnailError::Encode { .. } => {
                Error::new("ThumbnailFailed", format!("{key}: {e}"))
            }
        })?;
    for thumbnail in &thumbnails {
        let path = format!("/buckets/{thumbnails_bucket}/{}/{key}", thumbnail.size);
        write(&path, &thumbnail.bytes).map_err(|e| {
            Error::new(
                "ThumbnailNotWritten",
                format!("cannot write {path} (is {thumbnails_bucket} granted read-write?): {e}"),
            )
        })?;
    }
    Message::new(topic, announcement(key, &thumbnails).to_string())
        .subject("thumbnails")
        .publish()?;
    let sizes: Vec<String> = thumbnails
        .iter()
        .map(|t| format!("{} {}x{}", t.size, t.width, t.height))
        .collect();
    println!(
        "thumbnail {key} -> {} in {} ms",
        sizes.join(", "),
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Deletes the thumbnails of `key`; one that is already gone is fine.
fn remove(key: &str, thumbnails_bucket: &str) -> Result<(), Error> {
    let mut deleted = 0;
    for (size, _) in SIZES {
        let path = format!("/buckets/{thumbnails_bucket}/{size}/{key}");
        match std::fs::remove_file(&path) {
            Ok(()) => deleted += 1,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::new(
                    "ThumbnailNotRemoved",
                    format!("cannot delete {path}: {e}"),
                ));
            }
        }
    }
    println!("removed thumbnails of {key} ({deleted} of {})", SIZES.len());
    Ok(())
}

/// What the images topic is told: each size's dimensions and byte count.
fn announcement(key: &str, thumbnails: &[Thumbnail]) -> Value {
    let sizes: serde_json::Map<String, Value> = thumbnails
        .iter()
        .map(|t| (t.size.to_string(), json!([t.width, t.height])))
        .collect();
    let bytes: serde_json::Map<String, Value> = thumbnails
        .iter()
        .map(|t| (t.size.to_string(), json!(t.bytes.len())))
        .collect();
    json!({ "key": key, "sizes": sizes, "bytes": bytes })
}

fn write(path: &str, bytes: &[u8]) -> std::io::Result<()> {
    if let Some((dir, _)) = path.rsplit_once('/') {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)
}

fn not_readable(bucket: &str, key: &str, e: std::io::Error) -> Error {
    Error::new(
        "ObjectNotReadable",
        format!(
            "cannot read {key} from /buckets/{bucket} (is the bucket granted to this function?): {e}"
        ),
    )
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}


funnel_function::handler!(handle);

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline_thumbnails::Format;

    #[test]
    fn the_announcement_names_each_size() {
        let thumbnail = |size, width, height, n| Thumbnail {
            size,
            width,
            height,
            format: Format::Jpeg,
            bytes: vec![0; n],
        };
        let made = [
            thumbnail("small", 96, 128, 3),
            thumbnail("medium", 384, 512, 20),
            thumbnail("large", 768, 1024, 70),
        ];
        assert_eq!(
            announcement("photo.jpg", &made),
            json!({
                "key": "photo.jpg",
                "sizes": {"small": [96, 128], "medium": [384, 512], "large": [768, 1024]},
                "bytes": {"small": 3, "medium": 20, "large": 70},
            })
        );
    }
}
