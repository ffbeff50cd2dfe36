//! What one environment's store holds: its WASI context (env vars, its own
//! /tmp, captured stdout/stderr, nothing else granted), its resource limits,
//! and the deadline of whatever it is running.

use std::path::Path;
use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::output::GuestOutput;

/// What the guest's `funnel:function` imports reach: the topics it may
/// publish to, the secrets it may read.
pub struct Imports {
    pub publishing: super::publish::Publishing,
    pub secrets: super::secrets::Secrets,
}

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
    pub tmp: TmpQuota,
    /// What the guest's publishes need.
    pub publishing: super::publish::Publishing,
    /// The guest's way to its secrets, and what it has read of them.
    pub secrets: super::secrets::Secrets,
    /// The current call's [`super::Call::chain_depth`].
    pub chain_depth: u32,
    /// The current call's [`super::Call::trace_id`].
    pub trace_id: Option<String>,
    /// `wasi:http`'s state, for components of the `wasi:http/proxy` world.
    http: wasmtime_wasi_http::WasiHttpCtx,
    http_hooks: crate::http::NoOutgoingRequests,
}

/// The environment's /tmp and its size cap (`EphemeralStorage`). Once the
/// guest has taken its preopened directories (before that it cannot reach
/// /tmp), the size is checked while the guest runs (every few epoch ticks)
/// and after each call; past the cap the call fails and the environment is
/// retired. A guest can overshoot by what it writes between two checks.
pub struct TmpQuota {
    /// Where a folder comes from when the guest first needs one.
    folders: crate::tmp_folders::TmpFolders,
    /// The folder, made when the guest first takes its preopened
    /// directories: until then it cannot have touched /tmp, and /tmp is
    /// not measured.
    folder: Option<crate::tmp_folders::TmpFolder>,
    /// Its path (empty until then).
    pub path: std::path::PathBuf,
    /// Bytes.
    pub limit: u64,
    /// Files and folders.
    pub max_entries: u64,
    pub exceeded: bool,
    ticks: u32,
    /// What the measurements made off the guest's thread found.
    probe: std::sync::Arc<TmpProbe>,
}

/// A measurement of /tmp running on a blocking thread, and what it found.
#[derive(Default)]
struct TmpProbe {
    running: std::sync::atomic::AtomicBool,
    over: std::sync::atomic::AtomicBool,
}

/// Measure /tmp every this many epoch ticks while the guest runs.
const TMP_CHECK_TICKS: u32 = 5;

impl TmpQuota {
    pub fn new(folders: crate::tmp_folders::TmpFolders, limit: u64, max_entries: u64) -> TmpQuota {
        TmpQuota {
            folders,
            folder: None,
            path: std::path::PathBuf::new(),
            limit,
            max_entries,
            exceeded: false,
            ticks: 0,
            probe: Default::default(),
        }
    }

    /// Called on every epoch tick; true once /tmp is over its cap. The
    /// walk runs on a blocking thread, never on the guest's: a tick starts
    /// one (if none is running) and reads what the last one found.
    pub fn tick(&mut self) -> bool {
        use std::sync::atomic::Ordering;
        self.ticks += 1;
        if self.probe.over.load(Ordering::Relaxed) {
            self.exceeded = true;
        }
        if !self.exceeded
            && self.folder.is_some()
            && self.ticks.is_multiple_of(TMP_CHECK_TICKS)
            && !self.probe.running.swap(true, Ordering::AcqRel)
        {
            let (probe, path) = (self.probe.clone(), self.path.clone());
            let (limit, max_entries) = (self.limit, self.max_entries);
            let measure = move || {
                let (bytes, entries) = tree_size(&path, max_entries);
                if bytes > limit || entries > max_entries {
                    probe.over.store(true, Ordering::Relaxed);
                }
                probe.running.store(false, Ordering::Release);
            };
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(measure)),
                Err(_) => measure(),
            }
        }
        self.exceeded
    }

    /// A handle on /tmp for the guest: its folder, made the first time.
    pub fn open(&mut self) -> wasmtime::Result<wasmtime_wasi::filesystem::Dir> {
        use wasmtime_wasi::filesystem::{Dir, OpenMode};
        if self.folder.is_none() {
            let folder = self.folders.take().map_err(|e| {
                wasmtime::Error::msg(format!("creating /tmp for an environment: {e}"))
            })?;
            self.path = folder.path().to_path_buf();
            self.folder = Some(folder);
        }
        let dir = std::fs::File::open(&self.path).map_err(|e| {
            wasmtime::Error::msg(format!("opening {} as /tmp: {e}", self.path.display()))
        })?;
        Ok(Dir::new(
            dir,
            FsPerms::ReadWrite,
            OpenMode::READ | OpenMode::WRITE,
            false,
        ))
    }

    /// Measures /tmp now (after a call, so what it wrote last counts too);
    /// true if it is over its cap.
    pub fn check(&mut self) -> bool {
        if !self.exceeded && self.folder.is_some() {
            let (bytes, entries) = tree_size(&self.path, self.max_entries);
            self.exceeded = bytes > self.limit
                || entries > self.max_entries
                || self.probe.over.load(std::sync::atomic::Ordering::Relaxed);
        }
        self.exceeded
    }
}

/// Bytes of all files under `dir` (apparent sizes; symlinks not followed)
/// and how many files and folders there are; the walk stops once there
/// are more than `max_entries`, so its cost is bounded too.
fn tree_size(dir: &Path, max_entries: u64) -> (u64, u64) {
    let (mut bytes, mut count) = (0, 0u64);
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            count += 1;
            if count > max_entries {
                return (bytes, count);
            }
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => pending.push(entry.path()),
                Ok(meta) => bytes += meta.len(),
                Err(_) => {}
            }
        }
    }
    (bytes, count)
}

impl Host {
    /// A host for an environment of `config` whose guest sees `environment`,
    /// writes to `output`, and has `tmp` as its `/tmp`.
    pub fn new(
        config: &super::EnvironmentConfig,
        environment: &[(String, String)],
        output: GuestOutput,
        tmp_folders: crate::tmp_folders::TmpFolders,
        imports: Imports,
        tmp_max_entries: u64,
        max_handles: usize,
    ) -> anyhow::Result<Self> {
        let memory_bytes = config.memory_mb as usize * 1024 * 1024;
        let tmp_limit = u64::from(config.ephemeral_storage_mb) * 1024 * 1024;
        // Only /tmp (made when the guest first takes its preopened
        // directories: see `wasi`), /opt (read-only, when the function has
        // layers) and the buckets granted to it are preopened, and no
        // network is granted: the guest gets clocks, random, its env vars,
        // its files and its captured output.
        let mut wasi = WasiCtxBuilder::new();
        wasi.envs(environment).stdout(output.clone()).stderr(output);
        if let Some(opt) = &config.opt_dir {
            wasi.preopened_dir(opt, "/opt", FsPerms::ReadOnly)
                .map_err(|e| anyhow::anyhow!("opening {} as /opt: {e:#}", opt.display()))?;
        }
        for bucket in &config.buckets {
            let perms = if bucket.writable {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            let guest = crate::bucket_guest_path(&bucket.name);
            wasi.preopened_dir(&bucket.path, &guest, perms)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "opening bucket folder {} as {guest}: {e:#}",
                        bucket.path.display()
                    )
                })?;
        }
        Ok(Host {
            wasi: wasi.build(),
            table: {
                let mut table = ResourceTable::new();
                table.set_max_capacity(max_handles);
                table
            },
            limits: Limits {
                limit: memory_bytes,
                total: 0,
                peak: 0,
                denied: false,
            },
            deadline: Instant::now(),
            timed_out: false,
            tmp: TmpQuota::new(tmp_folders, tmp_limit, tmp_max_entries),
            publishing: imports.publishing,
            secrets: imports.secrets,
            chain_depth: 0,
            trace_id: None,
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            http_hooks: crate::http::NoOutgoingRequests,
        })
    }
}

impl wasmtime_wasi_http::WasiHttpView for Host {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            hooks: &mut self.http_hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

impl crate::wasi::HasPreopens for Host {
    fn preopens(&mut self) -> crate::wasi::PreopensView<'_> {
        crate::wasi::PreopensView {
            fs: wasmtime_wasi::filesystem::WasiFilesystemCtxView {
                ctx: self.wasi.filesystem(),
                table: &mut self.table,
            },
            tmp: &mut self.tmp,
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

/// Caps the guest's linear memories, all of them together, at the
/// function's `MemorySize` (a component may define several: each is
/// counted), and remembers the peak of their sum (Lambda's "Max Memory
/// Used") and whether a growth was refused (which the guest usually
/// reports as a bare `unreachable` trap).
pub struct Limits {
    pub limit: usize,
    /// The bytes of every memory of the instance, now.
    pub total: usize,
    pub peak: usize,
    pub denied: bool,
}

impl ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A new memory is a growth from 0.
        let total = (self.total - current.min(self.total)).saturating_add(desired);
        if total > self.limit {
            self.denied = true;
            return Ok(false);
        }
        self.total = total;
        self.peak = self.peak.max(total);
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
