//! Always returns a handled error (`FunctionError: "Handled"`).
use funnel_function::{Context, Error, Value};

fn fail(_event: Value, _ctx: Context) -> Result<Value, Error> {
    eprintln!("fail: refusing on purpose");
    Err(Error::new("ValidationError", "the order has no items"))
}

funnel_function::handler!(fail);
