//! What an untrusted component may ask of the compiler. Cranelift's time
//! and memory grow faster than linearly in what a function asks of it
//! (most of all in its locals times its branches: every merge point of
//! the SSA construction considers every local), and a compile cannot be
//! stopped once it runs: so the code is measured before it is compiled
//! (each function's body, locals and merge work; the functions and work
//! in all), and a component past a bound is refused as a compile bomb.
//! The compile itself runs against a deadline (`runtime.compile_timeout`).
//!
//! The bounds sit well above what real toolchains emit: measured here
//! (`funnel build` of examples/hello-py and hello-js), CPython's
//! componentize-py component has 13,357 functions, the largest 427 KB,
//! at most 271 locals; StarlingMonkey's 12,843, the largest 172 KB; its
//! weval build at most 483 locals.

use std::time::Duration;

use wasmparser::{Parser, Payload};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::CodeError;

/// The largest function body: ~5x the largest seen.
pub const MAX_FUNCTION_BYTES: usize = 2 * 1024 * 1024;
/// The most locals one function may declare: ~20x the most seen (483).
pub const MAX_LOCALS: u64 = 10_000;
/// The most functions (with bodies) in all of a component's modules:
/// ~15x the most seen (13,357).
pub const MAX_FUNCTIONS: usize = 200_000;
/// The most merge work (locals × branches and block ends) one function
/// may take: ~16x the most seen (629,530). Measured here, a function of
/// 1,000 locals and 15,000,000 of it compiles in 1.8 s and 186 MB; one of
/// 5,000 locals and 500,000,000, in 70 s and 3.7 GB.
pub const MAX_FUNCTION_MERGE_WORK: u64 = 10_000_000;
/// The most merge work of all functions together: ~19x the most seen
/// (10,681,950).
pub const MAX_MERGE_WORK: u64 = 200_000_000;

/// What the compiler would be given.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    pub functions: usize,
    pub largest_function: usize,
    pub most_locals: u64,
    /// The largest product, in one function, of its locals and its
    /// branches and block ends: what SSA construction's work grows with.
    pub most_merge_work: u64,
    /// The sum of that product over every function.
    pub merge_work: u64,
    pub code_bytes: usize,
}

/// Measures every function body of `code` (a component, and the modules
/// it nests), refusing one past a bound.
pub fn check(code: &[u8]) -> Result<Measure, CodeError> {
    let mut measure = Measure::default();
    let bomb = |what: String| {
        CodeError::Invalid(format!(
            "the component is refused as a compile bomb: {what}"
        ))
    };
    for payload in Parser::new(0).parse_all(code) {
        // A malformed component is the compiler's to report.
        let Ok(payload) = payload else {
            break;
        };
        let Payload::CodeSectionEntry(body) = payload else {
            continue;
        };
        let size = body.range().len();
        measure.functions += 1;
        measure.code_bytes += size;
        measure.largest_function = measure.largest_function.max(size);
        if size > MAX_FUNCTION_BYTES {
            return Err(bomb(format!(
                "a function of {size} bytes (at most {MAX_FUNCTION_BYTES})"
            )));
        }
        let mut locals = 0u64;
        if let Ok(reader) = body.get_locals_reader() {
            for local in reader.into_iter().flatten() {
                locals += u64::from(local.0);
            }
        }
        measure.most_locals = measure.most_locals.max(locals);
        let mut merges = 0u64;
        if let Ok(reader) = body.get_operators_reader() {
            for op in reader.into_iter() {
                let Ok(op) = op else {
                    break;
                };
                use wasmparser::Operator as O;
                merges += match op {
                    O::Block { .. } | O::Loop { .. } | O::If { .. } | O::Else | O::End => 1,
                    O::Br { .. } | O::BrIf { .. } => 1,
                    O::BrTable { targets } => u64::from(targets.len()) + 1,
                    _ => 0,
                };
            }
        }
        let work = locals.saturating_mul(merges);
        measure.most_merge_work = measure.most_merge_work.max(work);
        measure.merge_work = measure.merge_work.saturating_add(work);
        if work > MAX_FUNCTION_MERGE_WORK {
            return Err(bomb(format!(
                "a function whose {locals} locals meet {merges} branches and block ends \
                 (their product, {work}, is at most {MAX_FUNCTION_MERGE_WORK})"
            )));
        }
        if measure.merge_work > MAX_MERGE_WORK {
            return Err(bomb(format!(
                "its functions' locals meet more branches and block ends than \
                 {MAX_MERGE_WORK} in all"
            )));
        }
        if locals > MAX_LOCALS {
            return Err(bomb(format!(
                "a function with {locals} locals (at most {MAX_LOCALS})"
            )));
        }
        if measure.functions > MAX_FUNCTIONS {
            return Err(bomb(format!("more than {MAX_FUNCTIONS} functions")));
        }
    }
    Ok(measure)
}

/// Compiles `code` on a thread of its own, waiting up to `timeout`. A
/// compile cannot be stopped: one past its deadline is left to finish
/// (its result dropped) and the upload is refused.
pub fn compile(engine: &Engine, code: &[u8], timeout: Duration) -> Result<Component, CodeError> {
    let (done, result) = std::sync::mpsc::sync_channel(1);
    let (engine, code) = (engine.clone(), code.to_vec());
    std::thread::Builder::new()
        .name("funnel-compile".into())
        .spawn(move || {
            let _ = done.send(Component::new(&engine, &code));
        })
        .map_err(|e| CodeError::Internal(format!("starting a compile thread: {e}")))?;
    match result.recv_timeout(timeout) {
        Ok(compiled) => compiled
            .map_err(|e| CodeError::Invalid(format!("the code is not a valid component: {e:#}"))),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(CodeError::Invalid(format!(
            "the component is refused as a compile bomb: compiling it took longer than {} s \
             (runtime.compile_timeout)",
            timeout.as_secs_f64()
        ))),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Err(CodeError::Internal("the compile thread failed".into()))
        }
    }
}
