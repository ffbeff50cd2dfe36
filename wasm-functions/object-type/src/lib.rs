//! The AWS Lambda S3 tutorial function: for each record of an S3 event, reads
//! the object from `/buckets/<bucket>/<key>`, detects its content type from
//! its bytes, logs `CONTENT TYPE: <type>` and returns
//! `{"types": [{"bucket", "key", "contentType"}, ...]}` in record order.
use aws_lambda_events::event::s3::S3Event;
use funnel_function::{Context, Error, Value};
use serde::Serialize;

#[derive(Serialize)]
struct Types {
    types: Vec<ObjectType>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectType {
    bucket: String,
    key: String,
    content_type: &'static str,
}

fn object_type(event: Value, _ctx: Context) -> Result<Types, Error> {
    // Parsed here rather than by the SDK so a malformed event is this
    // function's handled `InvalidEvent`, not a runtime unmarshal error.
    let event: S3Event = serde_json::from_value(event)
        .map_err(|e| Error::new("InvalidEvent", format!("not an S3 event: {e}")))?;
    let mut types = Vec::with_capacity(event.records.len());
    for (index, record) in event.records.into_iter().enumerate() {
        let bucket = record.s3.bucket.name.ok_or_else(|| {
            Error::new(
                "InvalidEvent",
                format!("Records[{index}].s3.bucket.name is missing"),
            )
        })?;
        let raw_key = record.s3.object.key.ok_or_else(|| {
            Error::new(
                "InvalidEvent",
                format!("Records[{index}].s3.object.key is missing"),
            )
        })?;
        let key = funnel_function::s3::decode_key(&raw_key).map_err(|e| {
            Error::new(
                "InvalidEvent",
                format!(
                    "Records[{index}].s3.object.key {raw_key:?} is not UTF-8 once decoded: {e}"
                ),
            )
        })?;
        // Concatenated, not `Path::join`, so a key starting with '/' stays
        // inside the bucket's directory.
        let path = format!("/buckets/{bucket}/{key}");
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::new(
                "ObjectNotReadable",
                format!(
                    "cannot read {key} from /buckets/{bucket} \
                     (is the bucket granted to this function?): {e}"
                ),
            )
        })?;
        let content_type = content_type(&bytes);
        println!("CONTENT TYPE: {content_type}");
        types.push(ObjectType {
            bucket,
            key,
            content_type,
        });
    }
    Ok(Types { types })
}


/// The MIME type the bytes' magic number names; otherwise text if they look
/// like text, else opaque bytes.
fn content_type(bytes: &[u8]) -> &'static str {
    if let Some(kind) = infer::get(bytes) {
        return kind.mime_type();
    }
    if !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok() {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

funnel_function::handler!(object_type);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_comes_from_magic_numbers_then_text_then_bytes() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(content_type(png), "image/png");
        assert_eq!(content_type(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(content_type(b"hello, world\n"), "text/plain");
        assert_eq!(content_type(b"hello\0world"), "application/octet-stream");
        assert_eq!(
            content_type(&[0xff, 0xfe, 0x00, 0x41]),
            "application/octet-stream"
        );
    }

    #[test]
    fn a_non_s3_event_is_invalid() {
        let err = serde_json::from_value::<S3Event>(serde_json::json!({"hello": 1}));
        assert!(err.is_err());
    }
}
