//! The one wasmtime `Engine`: component model, epoch interruption and the
//! pooling allocator sized from the config, plus the thread that ticks the
//! epoch.

use std::time::Duration;

use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::config::RuntimeConfig;

/// How often the engine's epoch ticks: the granularity of timeouts and of
/// a running guest yielding to other tasks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

pub fn build_engine(config: &RuntimeConfig) -> anyhow::Result<Engine> {
    let instances = config.max_instances;
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
