//! # funnel-build — building guests
//!
//! `funnel build`: packaging a source folder as a component of the
//! `funnel:function/handler` world, for each runtime funnel supports. Used
//! by the CLI, stack deploys, the tests and the bench; needs no daemon.
//!
//! # Layout
//!
//! - [`python`]: a Lambda-style `handler(event, context)` module, with
//!   funnel's adapter (`sdk/python/`), through componentize-py.
//! - [`nodejs`]: an ES module exporting `handler`, with funnel's adapter
//!   (`sdk/js/`), through componentize-js.
//! - [`rust`]: a crate using `funnel-function` (or a cargo workspace such as
//!   `wasm-functions/`), built with cargo for `wasm32-wasip2`.
//! - `rename`: renaming a component's top-level exports (the Python build's
//!   workaround for componentize-py's linker).
//!
//! The packagers come from their registries, pinned to the versions the
//! project tests, installed on first use into a tools folder funnel
//! manages (`$FUNNEL_TOOLS_DIR`, else `$XDG_CACHE_HOME/funnel/tools`, else
//! `~/.cache/funnel/tools`) and reused afterwards.

pub mod nodejs;
pub mod python;
mod rename;
pub mod rust;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

pub use rename::rename_exports;

/// What a function's code is written in: Lambda's `Runtime` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Nodejs,
    Rust,
}

impl Language {
    pub fn parse(runtime: &str) -> anyhow::Result<Language> {
        match runtime {
            "python" => Ok(Language::Python),
            r if r.starts_with("python3") => Ok(Language::Python),
            "nodejs" | "node" => Ok(Language::Nodejs),
            r if r.starts_with("nodejs") => Ok(Language::Nodejs),
            "rust" | "provided" => Ok(Language::Rust),
            other => bail!("runtime {other:?} is not one funnel builds: python, nodejs or rust"),
        }
    }

    /// Lambda's default handler names for its tutorials.
    pub fn default_handler(self) -> &'static str {
        match self {
            Language::Python => "lambda_function.lambda_handler",
            Language::Nodejs => "index.handler",
            Language::Rust => "",
        }
    }
}

/// A packager funnel installs from `registry`, pinned to `version`, into
/// its own folder of the tools folder.
struct Tool {
    name: &'static str,
    version: &'static str,
    registry: &'static str,
}

impl Tool {
    /// The tool's program (`exe`, a path inside its folder), installed
    /// once: at once when an earlier install finished; else after `ready`
    /// (which checks what the install needs) and `install` (into the
    /// emptied folder). A finished install leaves a marker, so an
    /// interrupted one is redone.
    fn installed(
        &self,
        exe: &[&str],
        ready: impl FnOnce() -> anyhow::Result<()>,
        install: impl FnOnce(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<PathBuf> {
        let dir = tools_dir().join(format!("{}-{}", self.name, self.version));
        let program = exe.iter().fold(dir.clone(), |path, part| path.join(part));
        let marker = dir.join(".installed");
        if program.is_file() && marker.is_file() {
            return Ok(program);
        }
        ready()?;
        eprintln!(
            "funnel: installing {} {} from {} into {} (once; later builds reuse it)",
            self.name,
            self.version,
            self.registry,
            dir.display()
        );
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("removing a partial install at {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        install(&dir)?;
        anyhow::ensure!(
            program.is_file(),
            "installing {} {} left no {}",
            self.name,
            self.version,
            program.display()
        );
        std::fs::write(&marker, self.version)?;
        Ok(program)
    }
}

/// Where funnel keeps the packagers it installs.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FUNNEL_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("funnel").join("tools")
}

/// python, nodejs or rust, from what a source folder holds.
pub fn guess_runtime(folder: &Path) -> anyhow::Result<&'static str> {
    let has = |name: &str| folder.join(name).is_file();
    if has("Cargo.toml") {
        return Ok("rust");
    }
    if has("index.mjs") || has("index.js") || has("package.json") {
        return Ok("nodejs");
    }
    if has("lambda_function.py") {
        return Ok("python");
    }
    bail!(
        "{} is a folder: say what it holds with --runtime python|nodejs|rust (and --handler MODULE.FUNCTION)",
        folder.display()
    )
}

/// [`build`] into `cache_dir`, reusing the component built from the same
/// sources, runtime, handler and packager: the packagers do not build the
/// same bytes twice, and an unchanged stack must deploy nothing.
pub fn build_cached(
    source: &Path,
    language: Language,
    handler: &str,
    cache_dir: &Path,
) -> anyhow::Result<PathBuf> {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    hash.update(format!(
        "{language:?}\0{handler}\0{}\0{}\0",
        python::COMPONENTIZE_PY,
        nodejs::COMPONENTIZE_JS
    ));
    hash.update(env!("CARGO_PKG_VERSION"));
    hash_folder(source, source, &mut hash)?;
    let out = cache_dir.join(format!("{}.wasm", hex::encode(hash.finalize())));
    if out.is_file() {
        return Ok(out);
    }
    std::fs::create_dir_all(cache_dir)
        .with_context(|| format!("creating {}", cache_dir.display()))?;
    let partial = out.with_extension("partial");
    build(source, language, handler, &partial)?;
    std::fs::rename(&partial, &out)?;
    Ok(out)
}

/// Every file under `dir` (its path and bytes, in name order), skipping
/// what builds and caches leave behind.
fn hash_folder(root: &Path, dir: &Path, hash: &mut sha2::Sha256) -> anyhow::Result<()> {
    use sha2::Digest as _;
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if [".git", "target", "__pycache__", ".cache"].contains(&name.to_string_lossy().as_ref()) {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            hash_folder(root, &path, hash)?;
        } else {
            let relative = path.strip_prefix(root).unwrap_or(&path);
            hash.update(relative.to_string_lossy().as_bytes());
            hash.update([0]);
            hash.update(std::fs::read(&path)?);
        }
    }
    Ok(())
}

/// Packages `source` (a folder) as a component at `out`. `handler` is
/// `MODULE.FUNCTION` for Python and Node.js; Rust needs none.
pub fn build(source: &Path, language: Language, handler: &str, out: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        source.is_dir(),
        "{} is not a folder of source code",
        source.display()
    );
    match language {
        Language::Python => python::build(source, handler, out),
        Language::Nodejs => nodejs::build(source, handler, out),
        Language::Rust => {
            let source = std::path::absolute(source)?;
            let manifest = source.join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest).with_context(|| {
                format!("a Rust function is a crate: no {}", manifest.display())
            })?;
            let package: toml::Table = text
                .parse()
                .with_context(|| format!("parsing {}", manifest.display()))?;
            let name = package
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .with_context(|| format!("{} has no [package] name", manifest.display()))?;
            // Shared by every Rust function built here, next to the tools.
            let target_dir = tools_dir().with_file_name("rust-target");
            let built = crate::rust::build(&source, &target_dir, &[name])?;
            let (_, component) = built
                .into_iter()
                .next()
                .with_context(|| format!("{} built no component", source.display()))?;
            std::fs::copy(&component, out)
                .with_context(|| format!("copying {} to {}", component.display(), out.display()))?;
            Ok(())
        }
    }
}
