//! Renaming a component's top-level exports.
//!
//! componentize-py links the guest against wasi-libc's shared library,
//! which exports the socket function `shutdown`; a world that also exports
//! `shutdown` makes its linker fail on the duplicate. So funnel builds
//! Python guests against a copy of the world whose export is named
//! otherwise, then gives the component's export its real name here. Only
//! the outer component's export section changes; every other byte is
//! copied as it is.

use anyhow::{Context as _, bail, ensure};
use wasm_encoder::Encode as _;
use wasmparser::{BinaryReader, ComponentExportSectionReader, ComponentExternalKind};

/// The component binary format's export section id.
const EXPORT_SECTION: u8 = 11;

/// `component` with each top-level export named `from` renamed `to`.
pub fn rename_exports(component: &[u8], renames: &[(&str, &str)]) -> anyhow::Result<Vec<u8>> {
    ensure!(
        component.len() >= 8 && component.starts_with(b"\0asm") && component[6..8] == [1, 0],
        "not a WebAssembly component"
    );
    let mut out = component[..8].to_vec();
    let mut pos = 8;
    while pos < component.len() {
        let id = component[pos];
        let mut reader = BinaryReader::new(&component[pos + 1..], pos + 1);
        let size = reader.read_var_u32().context("a section's size")? as usize;
        let start = reader.original_position();
        let end = start
            .checked_add(size)
            .filter(|end| *end <= component.len())
            .context("a section runs past the end of the component")?;
        if id == EXPORT_SECTION {
            out.push(EXPORT_SECTION);
            renamed(&component[start..end], start, renames)?.encode(&mut out);
        } else {
            out.extend_from_slice(&component[pos..end]);
        }
        pos = end;
    }
    Ok(out)
}

fn renamed(
    section: &[u8],
    offset: usize,
    renames: &[(&str, &str)],
) -> anyhow::Result<wasm_encoder::ComponentExportSection> {
    use wasm_encoder::ComponentExportKind as Kind;
    let mut out = wasm_encoder::ComponentExportSection::new();
    for export in ComponentExportSectionReader::new(BinaryReader::new(section, offset))? {
        let export = export?;
        let name = renames
            .iter()
            .find(|(from, _)| *from == export.name.name)
            .map_or(export.name.name, |(_, to)| to);
        let kind = match export.kind {
            ComponentExternalKind::Module => Kind::Module,
            ComponentExternalKind::Func => Kind::Func,
            ComponentExternalKind::Value => Kind::Value,
            ComponentExternalKind::Type => Kind::Type,
            ComponentExternalKind::Instance => Kind::Instance,
            ComponentExternalKind::Component => Kind::Component,
        };
        let ty = export.ty.map(type_ref).transpose()?;
        let mut extern_name = wasm_encoder::ComponentExternName::from(name);
        extern_name.implements = export.name.implements.map(Into::into);
        extern_name.version_suffix = export.name.version_suffix.map(Into::into);
        extern_name.external_id = export.name.external_id.map(Into::into);
        out.export(extern_name, kind, export.index, ty);
    }
    Ok(out)
}

fn type_ref(ty: wasmparser::ComponentTypeRef) -> anyhow::Result<wasm_encoder::ComponentTypeRef> {
    use wasm_encoder::ComponentTypeRef as Ref;
    Ok(match ty {
        wasmparser::ComponentTypeRef::Module(i) => Ref::Module(i),
        wasmparser::ComponentTypeRef::Func(i) => Ref::Func(i),
        wasmparser::ComponentTypeRef::Instance(i) => Ref::Instance(i),
        wasmparser::ComponentTypeRef::Component(i) => Ref::Component(i),
        wasmparser::ComponentTypeRef::Type(wasmparser::TypeBounds::Eq(i)) => {
            Ref::Type(wasm_encoder::TypeBounds::Eq(i))
        }
        wasmparser::ComponentTypeRef::Type(wasmparser::TypeBounds::SubResource) => {
            Ref::Type(wasm_encoder::TypeBounds::SubResource)
        }
        wasmparser::ComponentTypeRef::Value(_) => bail!("a value export cannot be renamed"),
    })
}
