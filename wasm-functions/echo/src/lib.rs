//! Returns its event unchanged.
use funnel_function::{Context, Error, Value};

fn echo(event: Value, _ctx: Context) -> Result<Value, Error> {
    Ok(event)
}

funnel_function::handler!(echo);
