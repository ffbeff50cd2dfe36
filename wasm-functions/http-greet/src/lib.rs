//! An HTTP JSON handler for a route like `GET /hello/{name}`: greets
//! `pathParameters.name` (either payload format has it) in plain text.
use funnel_function::{Context, Error, Value};
use serde_json::json;

fn greet(event: Value, _ctx: Context) -> Result<Value, Error> {
    let name = event
        .get("pathParameters")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("world");
    Ok(json!({
        "statusCode": 200,
        "headers": {"content-type": "text/plain"},
        "body": format!("Hello, {name}!"),
    }))
}

funnel_function::handler!(greet);
