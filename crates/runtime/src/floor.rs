//! The floor the runtime is measured against (for the benchmark, behind
//! the `floor` feature): bare wasmtime, same engine settings, a fresh store
//! and instance per call from an `InstancePre`, no environments, limits or
//! logs. It lives here because only this crate may use wasmtime.

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

wasmtime::component::bindgen!({
    world: "handler",
    path: "../../proto/wit",
    exports: { default: async },
});

pub struct Bare {
    engine: Engine,
    pre: HandlerPre<State>,
}

pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl Bare {
    pub fn new(code: &[u8]) -> anyhow::Result<Bare> {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(64)
            .total_core_instances(64 * 16)
            .total_memories(128)
            .total_tables(64 * 16)
            .total_stacks(64)
            .max_memory_size(1 << 30);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let component = Component::new(&engine, code).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| anyhow::anyhow!("{e:#}"))?;
        let pre = HandlerPre::new(pre).map_err(|e| anyhow::anyhow!("{e:#}"))?;
        Ok(Bare { engine, pre })
    }

    /// Store + instantiate + `handle` + drop.
    pub async fn call(&self, payload: &[u8]) {
        let state = State {
            wasi: WasiCtxBuilder::new().build(),
            table: ResourceTable::new(),
        };
        let mut store = Store::new(&self.engine, state);
        let handler = self
            .pre
            .instantiate_async(&mut store)
            .await
            .expect("instantiate");
        let context = funnel::function::types::Context {
            request_id: "bare".into(),
            function_name: "echo".into(),
            function_version: "$LATEST".into(),
            invoked_function_arn: "arn".into(),
            memory_limit_in_mb: 128,
            deadline_ms: 0,
            trace_id: None,
            client_context: None,
        };
        let out = handler
            .call_handle(&mut store, &context, payload)
            .await
            .expect("call");
        assert!(out.is_ok());
    }
}
