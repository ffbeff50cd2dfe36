//! `funnel build`: packaging a source folder as a component of the
//! `funnel:function/handler` world, for each runtime funnel supports.
//!
//! - Python ([`python`]): a Lambda-style `handler(event, context)` module,
//!   with funnel's adapter (`sdk/python/`), through componentize-py.
//! - Node.js ([`nodejs`]): an ES module exporting `handler`, with funnel's
//!   adapter (`sdk/js/`), through componentize-js.
//! - Rust: a crate using `funnel-function`, built with cargo for
//!   `wasm32-wasip2` ([`crate::guest_build`]).
//!
//! The packagers come from their registries, pinned to the versions the
//! project tests, installed on first use into a tools folder funnel
//! manages (`$FUNNEL_TOOLS_DIR`, else `$XDG_CACHE_HOME/funnel/tools`, else
//! `~/.cache/funnel/tools`) and reused afterwards.

pub mod nodejs;
pub mod python;
mod rename;

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
            let target_dir = source.join("target");
            let built = crate::guest_build::build(source, &target_dir, &[])?;
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
