//! An HTTP JSON handler for tests: answers with the response its request
//! body holds (JSON, e.g. `{"statusCode": 201, "body": "made"}`), or, when
//! the body is empty or not JSON, with its event unchanged (so a test sees
//! exactly what it was sent).
use funnel_function::{Context, Error, Value};

fn answer(event: Value, _ctx: Context) -> Result<Value, Error> {
    let asked = event
        .get("body")
        .and_then(Value::as_str)
        .and_then(|body| serde_json::from_str::<Value>(body).ok());
    Ok(asked.unwrap_or(event))
}

funnel_function::handler!(answer);
