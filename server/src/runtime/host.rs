//! What one environment's store holds: its WASI context (env vars, its own
//! /tmp, captured stdout/stderr, nothing else granted), its resource limits,
//! and the deadline of whatever it is running.

use std::path::Path;
use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::output::GuestOutput;

/// Guest tables may not grow past this many elements.
const MAX_TABLE_ELEMENTS: usize = 1_000_000;

pub struct Host {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limits: Limits,
    /// When the current phase (init, a call, shutdown) must stop.
    pub deadline: Instant,
    /// Set by the epoch callback when the deadline passed.
    pub timed_out: bool,
}

impl Host {
    /// A host whose guest sees `environment`, writes to `output`, may use
    /// `memory_bytes` of linear memory, and has `tmp` as its `/tmp`.
    pub fn new(
        environment: &[(String, String)],
        output: GuestOutput,
        memory_bytes: usize,
        tmp: &Path,
    ) -> anyhow::Result<Self> {
        // Only /tmp is preopened and no network is granted: the guest gets
        // clocks, random, its env vars, its /tmp and its captured output.
        let mut wasi = WasiCtxBuilder::new();
        wasi.envs(environment)
            .stdout(output.clone())
            .stderr(output)
            .preopened_dir(tmp, "/tmp", FsPerms::ReadWrite)
            .map_err(|e| anyhow::anyhow!("opening {} as /tmp: {e:#}", tmp.display()))?;
        Ok(Host {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limits: Limits {
                limit: memory_bytes,
                peak: 0,
                denied: false,
            },
            deadline: Instant::now(),
            timed_out: false,
        })
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

/// Caps the guest's linear memory at the function's `MemorySize` and
/// remembers the peak (Lambda's "Max Memory Used") and whether a growth was
/// refused (which the guest usually reports as a bare `unreachable` trap).
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
