//! What one instance's store holds: its WASI context (env vars, captured
//! stdout/stderr, nothing else granted) and its resource limits.

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::output::GuestOutput;

/// Guest tables may not grow past this many elements.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

pub struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limits: Limits,
    /// Set by the epoch callback when the deadline passed.
    pub timed_out: bool,
}

impl Host {
    pub fn new(environment: &[(String, String)], output: GuestOutput, memory_bytes: usize) -> Self {
        // No preopened directories and no network: the guest gets clocks,
        // random, its env vars and its captured output.
        let wasi = WasiCtxBuilder::new()
            .envs(environment)
            .stdout(output.clone())
            .stderr(output)
            .build();
        Host {
            wasi,
            table: ResourceTable::new(),
            limits: Limits {
                limit: memory_bytes,
                peak: 0,
                denied: false,
            },
            timed_out: false,
        }
    }
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps each linear memory at the function's `MemorySize` and remembers
/// the peak (Lambda's "Max Memory Used") and whether a growth was refused
/// (which the guest usually reports as a bare `unreachable` trap).
pub struct Limits {
    pub limit: usize,
    pub peak: usize,
    pub denied: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.denied = true;
            return Ok(false);
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
