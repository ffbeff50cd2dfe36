//! Panics, so the component traps (`FunctionError: "Unhandled"`).
use funnel_function::{Context, Error, Value};

fn boom(_event: Value, _ctx: Context) -> Result<Value, Error> {
    panic!("something went badly wrong");
}

funnel_function::handler!(boom);
