//! `--code` on `funnel function create|update-code`: a component file as
//! it is, or a source folder built here first (Python, Node.js, Rust) with
//! `--runtime` and `--handler`, exactly as `funnel build` does.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use funnel_build::Language;

#[derive(Debug, Args, Default, Clone)]
pub struct SourceArgs {
    /// What a source folder given as --code is written in: python
    /// (python3.x), nodejs (nodejs20.x ...) or rust; guessed from the
    /// folder when left out. Recorded as the function's Runtime.
    #[arg(long)]
    pub runtime: Option<String>,
    /// MODULE.FUNCTION of the handler in a source folder:
    /// lambda_function.lambda_handler (Python) and index.handler (Node.js)
    /// by default. Recorded as the function's Handler.
    #[arg(long)]
    pub handler: Option<String>,
}

/// A function's code, ready to send, with the Runtime and Handler to
/// record.
pub struct Code {
    pub component: Vec<u8>,
    pub runtime: String,
    pub handler: String,
}

/// Reads `--code`: a component file, or a folder built for its runtime.
pub async fn load(code: &Path, source: &SourceArgs) -> anyhow::Result<Code> {
    if !code.is_dir() {
        let component =
            std::fs::read(code).with_context(|| format!("reading {}", code.display()))?;
        return Ok(Code {
            component,
            runtime: source.runtime.clone().unwrap_or_default(),
            handler: source.handler.clone().unwrap_or_default(),
        });
    }
    let runtime = match &source.runtime {
        Some(runtime) => runtime.clone(),
        None => funnel_build::guess_runtime(code)?.to_string(),
    };
    let language = Language::parse(&runtime)?;
    let handler = source
        .handler
        .clone()
        .unwrap_or_else(|| language.default_handler().to_string());
    let folder = code.to_path_buf();
    let out = tempfile::Builder::new()
        .suffix(".wasm")
        .tempfile()
        .context("a file for the built component")?;
    let out_path: PathBuf = out.path().to_path_buf();
    let build_handler = handler.clone();
    tokio::task::spawn_blocking(move || {
        funnel_build::build(&folder, language, &build_handler, &out_path)
    })
    .await??;
    let component = std::fs::read(out.path())?;
    eprintln!(
        "funnel: sending {:.1} MB; the server compiles it once now, so calls start in milliseconds \
         (a big component takes some seconds)",
        component.len() as f64 / 1e6
    );
    Ok(Code {
        component,
        runtime,
        handler,
    })
}
