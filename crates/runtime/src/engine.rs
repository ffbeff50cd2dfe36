//! The one wasmtime `Engine`: component model, epoch interruption and the
//! pooling allocator sized from the config, plus the thread that ticks the
//! epoch.

use std::time::Duration;

use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::RuntimeConfig;

/// How often the engine's epoch ticks: the granularity of timeouts and of
/// a running guest yielding to other tasks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Memory mappings the pool takes per instance slot (its fiber stack and
/// guard page, made with the pool) and per live environment (a linear
/// memory split into its stack, copy-on-write image, heap and reservation).
const MAPS_PER_SLOT: u64 = 2;
const MAPS_PER_ENVIRONMENT: u64 = 4;

/// The kernel's limit on a process's memory mappings.
fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Says so when a full pool would need more memory mappings than the
/// kernel allows a process: environments past that would fail to start.
fn check_map_count(instances: u32) {
    let Some(limit) = max_map_count() else {
        return;
    };
    // What the rest of the process takes (threads, sled, libraries).
    const BASELINE: u64 = 2_000;
    let needed = BASELINE + u64::from(instances) * (MAPS_PER_SLOT + MAPS_PER_ENVIRONMENT);
    if needed > limit {
        let fits = limit.saturating_sub(BASELINE + u64::from(instances) * MAPS_PER_SLOT)
            / MAPS_PER_ENVIRONMENT;
        tracing::warn!(
            max_instances = instances,
            vm_max_map_count = limit,
            "runtime.max_instances = {instances} needs up to {needed} memory mappings with every              environment alive, more than the kernel's vm.max_map_count ({limit}): about {fits}              environments can be alive at once. Raise it (sysctl -w vm.max_map_count={}) or lower              runtime.max_instances",
            needed.next_power_of_two()
        );
    }
}

pub fn build_engine(config: &RuntimeConfig) -> anyhow::Result<Engine> {
    let instances = config.max_instances;
    check_map_count(instances);
    let max_memory = config.max_memory_mb as usize * 1024 * 1024;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(16))
        .max_core_instances_per_component(64)
        .total_memories(instances.saturating_mul(2))
        .max_memories_per_component(4)
        .total_tables(instances.saturating_mul(16))
        .max_tables_per_component(64)
        .total_stacks(instances)
        .max_memory_size(max_memory);

    // Reserve at least 4 GiB per memory so bounds checks compile away, and
    // enough for the largest MemorySize allowed.
    let reservation = (max_memory as u64).max(4 << 30);
    let mut wasm = wasmtime::Config::new();
    wasm.wasm_component_model(true)
        .epoch_interruption(true)
        .memory_reservation(reservation)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&wasm).map_err(|e| {
        anyhow::anyhow!(
            "starting the wasm engine with a pool of {instances} instances of up to {} MB each \
             (lower runtime.max_instances or runtime.max_memory_mb if the system refused the \
             address-space reservation): {e:#}",
            config.max_memory_mb
        )
    })
}

/// Ticks the engine's epoch until the engine is dropped. Without it no
/// guest could be interrupted, so failing to start it fails the runtime.
pub fn spawn_epoch_ticker(engine: &Engine) -> anyhow::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("funnel-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map_err(|e| anyhow::anyhow!("starting the epoch ticker thread: {e}"))?;
    Ok(())
}
