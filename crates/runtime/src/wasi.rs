//! The WASI 0.2 a guest gets: every interface but `wasi:sockets`, which is
//! not linked at all (no guest has network until a grant says so), and
//! `wasi:http` for components of its `proxy` world (whose outgoing
//! requests are refused, for the same reason).
//!
//! wasmtime-wasi links sockets with everything else, so the interfaces are
//! linked here one by one. A component that imports `wasi:sockets` anyway
//! (Python's and Node.js's runtimes do, and Rust's `std::net`) is linked
//! with stubs that trap if called: it runs, and a call that would open a
//! socket fails its invocation.

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasData, Linker, ResourceTable, ResourceType};
use wasmtime_wasi::WasiView;
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{
    Descriptor, WasiFilesystem, WasiFilesystemCtxView, WasiFilesystemView,
};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
use wasmtime_wasi_io::bindings::wasi::io;

/// The interfaces a guest may import (besides `wasi:sockets`, stubbed).
const PROVIDED: &[&str] = &[
    "wasi:io/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:random/",
    "wasi:cli/",
    "wasi:http/",
    "funnel:function/",
];

const SOCKETS: &str = "wasi:sockets/";

/// The resources `wasi:sockets` defines.
const SOCKET_RESOURCES: &[&str] = &[
    "network",
    "tcp-socket",
    "udp-socket",
    "incoming-datagram-stream",
    "outgoing-datagram-stream",
    "resolve-address-stream",
];

struct Io;

/// `wasi:filesystem/preopens` as the guest reaches it: the filesystem's
/// own (`/opt`, buckets) and `/tmp`, whose folder is made only now. Until
/// it asks, a guest holds no descriptor at all (WASI 0.2 has no other way
/// to one), so it has no `/tmp` to make, measure or delete; most guests
/// never ask.
pub struct PreopensView<'a> {
    pub fs: WasiFilesystemCtxView<'a>,
    pub tmp: &'a mut crate::host::TmpQuota,
}

/// A store's data that can lend a [`PreopensView`].
pub trait HasPreopens: WasiView {
    fn preopens(&mut self) -> PreopensView<'_>;
}

struct Preopens;

impl HasData for Preopens {
    type Data<'a> = PreopensView<'a>;
}

impl filesystem::preopens::Host for PreopensView<'_> {
    fn get_directories(
        &mut self,
    ) -> wasmtime::Result<Vec<(wasmtime::component::Resource<Descriptor>, String)>> {
        let tmp = self.tmp.open()?;
        let tmp = self.fs.table.push(Descriptor::Dir(tmp))?;
        let mut directories = vec![(tmp, "/tmp".to_string())];
        directories.extend(filesystem::preopens::Host::get_directories(&mut self.fs)?);
        Ok(directories)
    }
}

impl HasData for Io {
    type Data<'a> = &'a mut ResourceTable;
}

/// Links WASI 0.2 without `wasi:sockets`, with `wasi:http`'s types and
/// an outgoing handler that refuses every request.
pub fn add_to_linker<T: HasPreopens + wasmtime_wasi_http::WasiHttpView>(
    l: &mut Linker<T>,
) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(l)?;
    io::error::add_to_linker::<T, Io>(l, |t| t.ctx().table)?;
    io::poll::add_to_linker::<T, Io>(l, |t| t.ctx().table)?;
    io::streams::add_to_linker::<T, Io>(l, |t| t.ctx().table)?;
    clocks::wall_clock::add_to_linker::<T, WasiClocks>(l, |t| t.clocks())?;
    clocks::monotonic_clock::add_to_linker::<T, WasiClocks>(l, |t| t.clocks())?;
    filesystem::types::add_to_linker::<T, WasiFilesystem>(l, |t| t.filesystem())?;
    filesystem::preopens::add_to_linker::<T, Preopens>(l, |t| t.preopens())?;
    random::random::add_to_linker::<T, WasiRandom>(l, |t| t.random())?;
    random::insecure::add_to_linker::<T, WasiRandom>(l, |t| t.random())?;
    random::insecure_seed::add_to_linker::<T, WasiRandom>(l, |t| t.random())?;
    cli::exit::add_to_linker::<T, WasiCli>(l, |t| t.cli())?;
    cli::environment::add_to_linker::<T, WasiCli>(l, |t| t.cli())?;
    cli::stdin::add_to_linker::<T, WasiCli>(l, |t| t.cli())?;
    cli::stdout::add_to_linker::<T, WasiCli>(l, |t| t.cli())?;
    cli::stderr::add_to_linker::<T, WasiCli>(l, |t| t.cli())?;
    cli::terminal_input::add_to_linker::<T, WasiCli>(l, |t| t.cli())?;
    cli::terminal_output::add_to_linker::<T, WasiCli>(l, |t| t.cli())?;
    cli::terminal_stdin::add_to_linker::<T, WasiCli>(l, |t| t.cli())?;
    cli::terminal_stdout::add_to_linker::<T, WasiCli>(l, |t| t.cli())?;
    cli::terminal_stderr::add_to_linker::<T, WasiCli>(l, |t| t.cli())?;
    Ok(())
}

/// Defines every `wasi:sockets` function `component` imports as one that
/// traps (and its resources as types nothing can make).
pub fn stub_sockets<T: 'static>(
    linker: &mut Linker<T>,
    component: &Component,
) -> wasmtime::Result<()> {
    let engine = component.engine();
    for (name, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        if !name.starts_with(SOCKETS) {
            continue;
        }
        let mut stubs = linker.instance(name)?;
        for (export, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(_) => {
                    let called = format!("{name}#{export}");
                    stubs.func_new(export, move |_, _, _, _| {
                        wasmtime::bail!(
                            "{called}: wasi:sockets is not available to functions (funnel grants no network)"
                        )
                    })?;
                }
                // Its own resources; others (pollable, streams) are wasi:io's.
                ComponentItem::Resource(_) if SOCKET_RESOURCES.contains(&export) => {
                    stubs.resource(export, ResourceType::host::<NoSocket>(), |_, _| Ok(()))?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// The host type of every stubbed socket resource: none is ever made.
struct NoSocket;

/// Whether `component` imports `wasi:sockets`, and nothing else that
/// funnel does not provide: then it is linked with trapping stubs.
pub fn wants_socket_stubs(component: &Component) -> bool {
    let engine = component.engine();
    let mut sockets = false;
    for (name, _) in component.component_type().imports(engine) {
        if name.starts_with(SOCKETS) {
            sockets = true;
        } else if !PROVIDED.iter().any(|p| name.starts_with(p)) {
            return false;
        }
    }
    sockets
}
