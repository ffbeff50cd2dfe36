//! Python handlers: `funnel build --runtime python --handler
//! lambda_function.lambda_handler`.
//!
//! The component holds the user's folder, funnel's adapter
//! (`sdk/python/funnel_adapter.py`, which implements the world's exports
//! and calls the handler as Lambda does) and a generated `funnel_handler`
//! module that imports the handler. componentize-py runs the modules'
//! top-level code at build time and freezes the result into the component.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail, ensure};

/// The componentize-py release funnel is tested with.
pub const COMPONENTIZE_PY: &str = "0.25.1";

const ADAPTER: &str = include_str!("../../../sdk/python/funnel_adapter.py");
/// `import funnel_secrets`: the function's secrets and parameters.
const SECRETS: &str = include_str!("../../../sdk/python/funnel_secrets.py");
const WORLD: &str = include_str!("../../../proto/wit/function.wit");
/// The world's `shutdown` export, and its name while componentize-py
/// builds (see [`super::rename`]).
const SHUTDOWN: &str = "export shutdown: func();";
const SHUTDOWN_WHILE_BUILDING: &str = "export funnel-shutdown: func();";

/// Builds the Python handler `handler` (`MODULE.FUNCTION`) in `source`
/// into a component at `out`.
pub fn build(source: &Path, handler: &str, out: &Path) -> anyhow::Result<()> {
    let (module, function) = parse_handler(handler)?;
    let module_file = source.join(module.replace('.', "/"));
    ensure!(
        module_file.with_extension("py").is_file() || module_file.join("__init__.py").is_file(),
        "the handler's module {module} is not in {} (expected {}.py)",
        source.display(),
        module.replace('.', "/")
    );
    let componentize = componentize_py()?;
    let work = tempfile::tempdir().context("a build folder")?;
    let wit = work.path().join("wit");
    let app = work.path().join("app");
    std::fs::create_dir_all(&wit)?;
    std::fs::create_dir_all(&app)?;
    ensure!(
        WORLD.contains(SHUTDOWN),
        "the world has no `{SHUTDOWN}` export"
    );
    std::fs::write(
        wit.join("function.wit"),
        WORLD.replace(SHUTDOWN, SHUTDOWN_WHILE_BUILDING),
    )?;
    std::fs::write(app.join("funnel_adapter.py"), ADAPTER)?;
    std::fs::write(app.join("funnel_secrets.py"), SECRETS)?;
    std::fs::write(
        app.join("funnel_handler.py"),
        format!("import {module} as module\n\nhandler = module.{function}\n"),
    )?;
    let built = work.path().join("component.wasm");
    eprintln!(
        "funnel: building {} with componentize-py {COMPONENTIZE_PY}",
        source.display()
    );
    let status = Command::new(&componentize)
        .arg("-d")
        .arg(&wit)
        .args(["-w", "handler", "componentize", "funnel_adapter", "-p"])
        .arg(&app)
        .arg("-p")
        .arg(source)
        .arg("-o")
        .arg(&built)
        .status()
        .with_context(|| format!("running {}", componentize.display()))?;
    ensure!(
        status.success(),
        "componentize-py could not build {} ({status}); its output above says why",
        source.display()
    );
    let component = std::fs::read(&built)?;
    let component = super::rename_exports(&component, &[("funnel-shutdown", "shutdown")])?;
    std::fs::write(out, component).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// `MODULE.FUNCTION` (the module may be dotted: `pkg.app.handler`).
fn parse_handler(handler: &str) -> anyhow::Result<(&str, &str)> {
    let Some((module, function)) = handler.rsplit_once('.') else {
        bail!("--handler {handler:?} must be MODULE.FUNCTION, e.g. lambda_function.lambda_handler");
    };
    let identifier = |s: &str| {
        !s.is_empty()
            && !s.starts_with(|c: char| c.is_ascii_digit())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    ensure!(
        module.split('.').all(identifier) && identifier(function),
        "--handler {handler:?} must be MODULE.FUNCTION of Python identifiers"
    );
    Ok((module, function))
}

/// componentize-py, installed from PyPI into a virtual environment funnel
/// manages on first use, and reused afterwards.
pub fn componentize_py() -> anyhow::Result<PathBuf> {
    let python = std::env::var_os("FUNNEL_PYTHON").unwrap_or_else(|| "python3".into());
    let tool = super::Tool {
        name: "componentize-py",
        version: COMPONENTIZE_PY,
        registry: "PyPI",
    };
    let ready = || {
        let version = Command::new(&python).arg("--version").output();
        if !version.as_ref().is_ok_and(|v| v.status.success()) {
            bail!(
                "building Python functions needs Python 3.9 or newer with venv (python3 on PATH, or \
                 FUNNEL_PYTHON): install it, e.g. `apt install python3 python3-venv`"
            );
        }
        Ok(())
    };
    let install = |venv: &Path| {
        let status = Command::new(&python)
            .args(["-m", "venv"])
            .arg(venv)
            .status()
            .context("creating a Python virtual environment")?;
        ensure!(
            status.success(),
            "python3 -m venv failed ({status}): install Python's venv module (e.g. `apt install python3-venv`)"
        );
        let status = Command::new(venv.join("bin").join("pip"))
            .args([
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "on",
            ])
            .arg(format!("componentize-py=={COMPONENTIZE_PY}"))
            .status()
            .context("running pip")?;
        ensure!(
            status.success(),
            "installing componentize-py {COMPONENTIZE_PY} from PyPI failed ({status}): is PyPI reachable?"
        );
        Ok(())
    };
    tool.installed(&["bin", "componentize-py"], ready, install)
}
