//! Writes a constant for every guest crate in `wasm-functions/` (its
//! workspace members), so a test that names a guest that does not exist
//! fails to compile instead of failing at run time.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs (cargo sets it then), not baked in when it
    // was compiled: a compiled build script may be reused for a checkout
    // elsewhere.
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let manifest = Path::new(&dir).join("../wasm-functions/Cargo.toml");
    println!("cargo::rerun-if-changed={}", manifest.display());
    let text = std::fs::read_to_string(&manifest).expect("reading wasm-functions/Cargo.toml");
    let doc: toml::Table = text.parse().expect("parsing wasm-functions/Cargo.toml");
    let members = doc["workspace"]["members"]
        .as_array()
        .expect("wasm-functions has workspace.members");
    let mut out = String::new();
    for member in members {
        let name = member.as_str().expect("a member is a path");
        let constant = name.to_uppercase().replace('-', "_");
        writeln!(out, "/// `wasm-functions/{name}`.").unwrap();
        writeln!(out, "pub const {constant}: Guest = Guest(\"{name}\");").unwrap();
    }
    let all: Vec<String> = members
        .iter()
        .filter_map(|m| m.as_str())
        .map(|name| name.to_uppercase().replace('-', "_"))
        .collect();
    writeln!(out, "/// Every guest, in the workspace's order.").unwrap();
    writeln!(out, "pub const ALL: &[Guest] = &[{}];", all.join(", ")).unwrap();
    let path = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("guests.rs");
    std::fs::write(&path, out).expect("writing guests.rs");
}
