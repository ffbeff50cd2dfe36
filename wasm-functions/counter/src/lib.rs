//! Counts its calls in a global: warm calls of one environment see the count
//! grow. `init` records that it ran (and fails if `FAIL_INIT` is set), so
//! tests can see the Init phase run once per environment.
use std::sync::atomic::{AtomicU64, Ordering};

use funnel_function::{Context, Error, Value};
use serde_json::json;

static CALLS: AtomicU64 = AtomicU64::new(0);
static INITS: AtomicU64 = AtomicU64::new(0);

fn setup() -> Result<(), Error> {
    if std::env::var("FAIL_INIT").is_ok() {
        return Err(Error::new("InitFailed", "FAIL_INIT is set"));
    }
    INITS.fetch_add(1, Ordering::SeqCst);
    println!("counter: init");
    Ok(())
}

fn count(_event: Value, _ctx: Context) -> Result<Value, Error> {
    let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    Ok(json!({ "calls": calls, "inits": INITS.load(Ordering::SeqCst) }))
}

fn goodbye() {
    println!("counter: shutdown after {} calls", CALLS.load(Ordering::SeqCst));
}

funnel_function::handler!(count, init = setup, shutdown = goodbye);
