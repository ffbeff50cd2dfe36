//! Node.js handlers: `funnel build --runtime nodejs --handler
//! index.handler`.
//!
//! The component holds a copy of the user's folder, funnel's adapter
//! (`sdk/js/funnel_adapter.mjs`, which implements the world's exports and
//! calls the handler as Lambda does) and a generated `funnel_handler.mjs`
//! that re-exports the handler. componentize-js (StarlingMonkey) evaluates
//! the modules at build time and freezes the result into the component.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail, ensure};

/// The componentize-js release funnel is tested with.
pub const COMPONENTIZE_JS: &str = "0.23.0";
const PACKAGE: &str = "@bytecodealliance/componentize-js";

const ADAPTER: &str = include_str!("../../../sdk/js/funnel_adapter.mjs");
const WORLD: &str = include_str!("../../../proto/wit/function.wit");
/// StarlingMonkey has no `process` and no `fs`: the adapter builds
/// `process.env` from WASI's environment, and `funnel_fs.mjs` gives Node's
/// `fs` over WASI's filesystem. A JS component can import WASI only if the
/// world it is built against does, so the build's copy of the world adds
/// those imports (with WASI's WIT, vendored in `sdk/js/wit`). The host
/// provides every WASI interface, so the component still fits funnel's
/// world.
const TOPICS_IMPORT: &str = "    import topics;\n";
const WASI_IMPORTS: &str =
    "    import wasi:cli/environment@0.2.12;\n    import wasi:filesystem/preopens@0.2.12;\n";
const WASI_WIT: &[(&str, &str)] = &[
    ("cli", include_str!("../../../sdk/js/wit/deps/cli/cli.wit")),
    (
        "clocks",
        include_str!("../../../sdk/js/wit/deps/clocks/clocks.wit"),
    ),
    (
        "filesystem",
        include_str!("../../../sdk/js/wit/deps/filesystem/filesystem.wit"),
    ),
    ("io", include_str!("../../../sdk/js/wit/deps/io/io.wit")),
];
const FS: &str = include_str!("../../../sdk/js/funnel_fs.mjs");
const FS_PROMISES: &str = include_str!("../../../sdk/js/funnel_fs_promises.mjs");
/// `import { get } from "funnel/secrets"`: the function's secrets and
/// parameters.
const SECRETS: &str = include_str!("../../../sdk/js/funnel_secrets.mjs");
/// The module specifiers that name Node's `fs` (and funnel's own
/// modules), and the file each becomes.
const FS_IMPORTS: &[(&str, &str)] = &[
    ("node:fs/promises", "funnel_fs_promises.mjs"),
    ("fs/promises", "funnel_fs_promises.mjs"),
    ("node:fs", "funnel_fs.mjs"),
    ("fs", "funnel_fs.mjs"),
    ("funnel/secrets", "funnel_secrets.mjs"),
];

/// Builds the Node.js handler `handler` (`MODULE.FUNCTION`, the module a
/// `.mjs` or `.js` file) in `source` into a component at `out`.
pub fn build(source: &Path, handler: &str, out: &Path) -> anyhow::Result<()> {
    let (module, function) = handler.rsplit_once('.').with_context(|| {
        format!("--handler {handler:?} must be MODULE.FUNCTION, e.g. index.handler")
    })?;
    let identifier = |s: &str| {
        !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    ensure!(
        identifier(function) && !module.is_empty() && !module.contains(".."),
        "--handler {handler:?} must be MODULE.FUNCTION, e.g. index.handler"
    );
    let file = ["mjs", "js"]
        .iter()
        .map(|ext| format!("{module}.{ext}"))
        .find(|file| source.join(file).is_file())
        .with_context(|| {
            format!(
                "the handler's module {module} is not in {} (expected {module}.mjs or {module}.js)",
                source.display()
            )
        })?;
    let componentize = componentize_js()?;
    let work = tempfile::tempdir().context("a build folder")?;
    copy_dir(source, &work.path().join("user"))?;
    let wit = work.path().join("wit");
    ensure!(
        WORLD.contains(TOPICS_IMPORT),
        "the world has no `import topics;`"
    );
    std::fs::create_dir_all(&wit)?;
    std::fs::write(
        wit.join("function.wit"),
        WORLD.replace(TOPICS_IMPORT, &format!("{TOPICS_IMPORT}{WASI_IMPORTS}")),
    )?;
    for (package, text) in WASI_WIT {
        let dir = wit.join("deps").join(package);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{package}.wit")), text)?;
    }
    std::fs::write(work.path().join("funnel_fs.mjs"), FS)?;
    std::fs::write(work.path().join("funnel_fs_promises.mjs"), FS_PROMISES)?;
    std::fs::write(work.path().join("funnel_secrets.mjs"), SECRETS)?;
    point_fs_imports(&work.path().join("user"), 1)?;
    std::fs::write(work.path().join("funnel_adapter.mjs"), ADAPTER)?;
    std::fs::write(
        work.path().join("funnel_handler.mjs"),
        format!(
            "export {{ {function} as handler }} from \"./user/{file}\";\n\
             export * from \"./user/{file}\";\n"
        ),
    )?;
    let built = work.path().join("component.wasm");
    eprintln!(
        "funnel: building {} with componentize-js {COMPONENTIZE_JS}",
        source.display()
    );
    let status = Command::new(&componentize)
        .current_dir(work.path())
        .args(["funnel_adapter.mjs", "-w", "wit", "-n", "handler"])
        // Our world has no wasi:http; without these the component imports it.
        .args(["-d", "http", "fetch-event", "-o"])
        .arg(&built)
        .status()
        .with_context(|| format!("running {}", componentize.display()))?;
    ensure!(
        status.success() && built.is_file(),
        "componentize-js could not build {} ({status}); its output above says why",
        source.display()
    );
    std::fs::copy(&built, out).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// Points the imports of Node's `fs` in every module under `dir` (at
/// `depth` folders below the build folder) at funnel's shims.
fn point_fs_imports(dir: &Path, depth: usize) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "node_modules" {
                point_fs_imports(&path, depth + 1)?;
            }
            continue;
        }
        let is_module = path
            .extension()
            .is_some_and(|ext| ext == "mjs" || ext == "js");
        if !is_module {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut changed = text.clone();
        for (specifier, shim) in FS_IMPORTS {
            let target = format!("{}{shim}", "../".repeat(depth));
            for quote in ['"', '\''] {
                changed = changed.replace(
                    &format!("from {quote}{specifier}{quote}"),
                    &format!("from {quote}{target}{quote}"),
                );
            }
        }
        if changed != text {
            std::fs::write(&path, changed)?;
        }
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// componentize-js, installed from npm into a folder funnel manages on
/// first use, and reused afterwards.
pub fn componentize_js() -> anyhow::Result<PathBuf> {
    let tool = super::Tool {
        name: "componentize-js",
        version: COMPONENTIZE_JS,
        registry: "npm",
    };
    let ready = || {
        let node = Command::new("node").arg("--version").output();
        let major = node
            .as_ref()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| {
                let text = String::from_utf8_lossy(&o.stdout);
                text.trim()
                    .trim_start_matches('v')
                    .split('.')
                    .next()?
                    .parse::<u32>()
                    .ok()
            });
        match major {
            Some(major) if major >= 20 => Ok(()),
            Some(major) => bail!(
                "building Node.js functions needs Node.js 20 or newer (node on PATH is {major}): \
                 install a newer one, e.g. from nodejs.org"
            ),
            None => bail!(
                "building Node.js functions needs Node.js 20 or newer with npm (node on PATH): \
                 install it, e.g. `apt install nodejs npm`"
            ),
        }
    };
    let install = |prefix: &Path| {
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(prefix)
            .arg(format!("{PACKAGE}@{COMPONENTIZE_JS}"))
            .status()
            .context("running npm (it comes with Node.js)")?;
        ensure!(
            status.success(),
            "installing componentize-js {COMPONENTIZE_JS} from npm failed ({status}): is the npm registry reachable?"
        );
        Ok(())
    };
    tool.installed(&["node_modules", ".bin", "componentize-js"], ready, install)
}
