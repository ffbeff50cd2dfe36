//! An HTTP JSON handler for tests: answers with the response its request
//! body holds (JSON, e.g. `{"statusCode": 201, "body": "made"}`), or, when
//! the body is empty or not JSON, with its event unchanged (so a test sees
//! exactly what it was sent). A payload format 1.0 event, which needs a
//! `statusCode` in the answer, comes back as the body of a 200.
use funnel_function::{Context, Error, Value};
use serde_json::json;

fn answer(event: Value, _ctx: Context) -> Result<Value, Error> {
    let asked = event
        .get("body")
        .and_then(Value::as_str)
        .and_then(|body| serde_json::from_str::<Value>(body).ok());
    Ok(match asked {
        Some(asked) => asked,
        None if event["version"] == "1.0" => json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": event.to_string(),
        }),
        None => event,
    })
}

funnel_function::handler!(answer);
