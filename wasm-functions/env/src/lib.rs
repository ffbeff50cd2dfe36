//! Returns its whole environment as a JSON object.
use funnel_function::{Context, Error, Value};

fn env(_event: Value, _ctx: Context) -> Result<Value, Error> {
    Ok(Value::Object(std::env::vars().map(|(k, v)| (k, Value::String(v))).collect()))
}

funnel_function::handler!(env);
