//! Builds guest crates (a cargo workspace such as `wasm-functions/`) for
//! `wasm32-wasip2`, installing the target with rustup when it is missing.
//!
//! The inner cargo gets its own target dir and a clean environment: the
//! host build's flags, target and wrappers break wasm builds, and sharing
//! the host's target dir deadlocks on its lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use sha2::{Digest as _, Sha256};

pub const TARGET: &str = "wasm32-wasip2";

/// Variables of an outer cargo that must not reach the guest build.
const HOST_ONLY_ENV: &[&str] = &[
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_TARGET_DIR",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_MAKEFLAGS",
];

/// Builds `packages` of the cargo workspace at `workspace` (all of its
/// members when `packages` is empty) in release mode into `target_dir`;
/// returns each named package's component path.
pub fn build(
    workspace: &Path,
    target_dir: &Path,
    packages: &[&str],
) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    ensure_target(workspace)?;
    let manifest = workspace.join("Cargo.toml");
    anyhow::ensure!(
        manifest.is_file(),
        "no guest workspace at {} (expected a Cargo.toml)",
        workspace.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    for package in packages {
        command.args(["-p", package]);
    }
    for var in HOST_ONLY_ENV {
        command.env_remove(var);
    }
    let status = command
        .status()
        .with_context(|| format!("running cargo to build guests in {}", workspace.display()))?;
    if !status.success() {
        bail!(
            "building guests in {} failed ({status})",
            workspace.display()
        );
    }
    packages
        .iter()
        .map(|package| {
            let path = artifact(target_dir, package);
            anyhow::ensure!(
                path.is_file(),
                "cargo built {package} but {} is missing: is it a cdylib crate?",
                path.display()
            );
            Ok((package.to_string(), path))
        })
        .collect()
}

/// Where the component of `package` lands.
pub fn artifact(target_dir: &Path, package: &str) -> PathBuf {
    target_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")))
}

/// Installs the wasm32-wasip2 target for the toolchain that builds in
/// `workspace`, if it is missing.
///
/// Builds run side by side (tests, several `funnel up`s) and two `rustup
/// target add` at once fail on each other's files, while a half-installed
/// target already looks present: the check and the install happen under
/// an exclusive lock on a file named after the toolchain.
pub fn ensure_target(workspace: &Path) -> anyhow::Result<()> {
    let sysroot = Command::new("rustc")
        .current_dir(workspace)
        .args(["--print", "sysroot"])
        .output()
        .context("running rustc --print sysroot (is Rust installed?)")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    let installed = sysroot.join("lib/rustlib").join(TARGET);
    let lock_path = std::env::temp_dir().join(format!(
        "funnel-{TARGET}-{}.lock",
        &hex::encode(Sha256::digest(sysroot.as_os_str().as_encoded_bytes()))[..16]
    ));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    if installed.is_dir() {
        return Ok(());
    }
    eprintln!("funnel: the {TARGET} target is missing; installing it with rustup");
    let status = Command::new("rustup")
        .current_dir(workspace)
        .args(["target", "add", TARGET])
        .status();
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => bail!(
            "`rustup target add {TARGET}` failed ({status}); functions are built for {TARGET}: \
             install that target for your toolchain and try again"
        ),
        Err(err) => bail!(
            "the {TARGET} target is missing and rustup could not be run ({err}); \
             install the target for your Rust toolchain and try again"
        ),
    }
}
