//! `{"mb": N}` allocates and touches N MB (filled with 1s); without `mb` it
//! allocates until something stops it. `{"check_zero_mb": N}` grows linear
//! memory by N MB (pages the guest has never written) and reports how many
//! of their bytes are not zero: they must all be zero, whatever ran in this
//! instance slot before.
use funnel_function::{Context, Error, Value};
use serde_json::json;

const MB: usize = 1024 * 1024;

const PAGE: usize = 64 * 1024;

fn count_nonzero(mb: usize) -> usize {
    let pages = mb * MB / PAGE;
    let old = core::arch::wasm32::memory_grow(0, pages);
    assert_ne!(old, usize::MAX, "memory.grow failed");
    let start = old * PAGE;
    // SAFETY: these pages were just added to linear memory by memory.grow;
    // nothing (not even the allocator) owns them yet, and only reads happen.
    (start..start + pages * PAGE)
        .filter(|&addr| unsafe { std::ptr::read_volatile(addr as *const u8) } != 0)
        .count()
}

fn hog(event: Value, _ctx: Context) -> Result<Value, Error> {
    if let Some(mb) = event.get("check_zero_mb").and_then(Value::as_u64) {
        return Ok(json!({ "nonzero_bytes": count_nonzero(mb as usize) }));
    }
    let mut held: Vec<Vec<u8>> = Vec::new();
    let limit = event.get("mb").and_then(Value::as_u64);
    loop {
        if limit.is_some_and(|mb| held.len() as u64 >= mb) {
            return Ok(json!({ "allocated_mb": held.len() }));
        }
        held.push(vec![1u8; MB]);
    }
}

funnel_function::handler!(hog);
