//! Loops forever unless stopped: the server must end it at its timeout.
use funnel_function::{Context, Error, Value};

fn spin(_event: Value, _ctx: Context) -> Result<Value, Error> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

funnel_function::handler!(spin);
