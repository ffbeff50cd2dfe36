//! Lifecycle hooks that never finish when asked to: with `SPIN_INIT` set,
//! `init` loops forever; with `SPIN_SHUTDOWN` set, `shutdown` does. funnel
//! must bound both (10 s and about 500 ms).
use funnel_function::{Context, Error, Value};

fn spin_forever() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn setup() -> Result<(), Error> {
    if std::env::var("SPIN_INIT").is_ok() {
        spin_forever();
    }
    Ok(())
}

fn handle(event: Value, _ctx: Context) -> Result<Value, Error> {
    Ok(event)
}

fn teardown() {
    if std::env::var("SPIN_SHUTDOWN").is_ok() {
        println!("slow-hooks: shutdown starts spinning");
        spin_forever();
    }
}

funnel_function::handler!(handle, init = setup, shutdown = teardown);
