//! # funnel-function — write a funnel function in a few lines
//!
//! A funnel function is a WebAssembly component (built for `wasm32-wasip2`)
//! that exports the `funnel:function/handler` world. This crate does the WIT
//! export and the JSON: you write a handler that takes a typed event and a
//! [`Context`] and returns `Result<impl Serialize, E>`.
//!
//! ```ignore
//! use funnel_function::{Context, Error};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Hello { name: String }
//!
//! fn hello(event: Hello, ctx: Context) -> Result<String, Error> {
//!     println!("greeting {} in {}", event.name, ctx.request_id);
//!     Ok(format!("Hello, {}!", event.name))
//! }
//!
//! funnel_function::handler!(hello);
//! ```
//!
//! The event type is anything `serde` can deserialize: your own struct,
//! [`serde_json::Value`], or an `aws_lambda_events` type such as `S3Event`.
//! Returning `Err` gives the caller Lambda's handled error
//! (`FunctionError: "Handled"`, `{"errorType": ..., "errorMessage": ...}`);
//! a panic traps and is reported as `Unhandled`. `println!`/`eprintln!` go to
//! the function's log.
//!
//! A function publishes to the topics it is granted (`TopicAccess`) with
//! [`topics::publish`] or a [`topics::Message`] (subject, attributes); the
//! call returns the MessageId once the message is durable.
//!
//! A function reads the secrets and parameters it is granted
//! (`SecretAccess`) with [`secrets::get`], [`secrets::get_stage`],
//! [`secrets::parameter`] and [`secrets::parameters_by_path`]; what it
//! reads is cached in its execution environment for a while.
//!
//! Behind a function URL or a route, a handler takes [`http::HttpRequest`]
//! (Lambda's payload format 2.0; [`http::ProxyRequest`] for 1.0) and
//! returns [`http::HttpResponse`] (or [`http::ProxyResponse`]).
//!
//! The crate builds for `wasm32-wasip2` and has no host-only dependencies.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use serde_json::Value;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "handler",
        path: "../../proto/wit",
        pub_export_macro: true,
        export_macro_name: "__funnel_export",
        default_bindings_module: "::funnel_function::bindings",
    });
}

use bindings::funnel::function::types as wit;

pub mod http;
pub mod s3;
pub mod secrets;
pub mod topics;

/// What Lambda's context object carries, for one invocation.
#[derive(Debug, Clone)]
pub struct Context {
    pub request_id: String,
    pub function_name: String,
    /// `$LATEST` or a published version number.
    pub function_version: String,
    pub invoked_function_arn: String,
    pub memory_limit_in_mb: u32,
    /// When this invocation times out.
    pub deadline: SystemTime,
    pub trace_id: Option<String>,
    /// The caller's client context (JSON), if it passed one.
    pub client_context: Option<String>,
}

impl Context {
    /// Time left before the invocation times out (zero once it has passed).
    pub fn remaining_time(&self) -> Duration {
        self.deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }
}

impl From<wit::Context> for Context {
    fn from(ctx: wit::Context) -> Self {
        Context {
            request_id: ctx.request_id,
            function_name: ctx.function_name,
            function_version: ctx.function_version,
            invoked_function_arn: ctx.invoked_function_arn,
            memory_limit_in_mb: ctx.memory_limit_in_mb,
            deadline: UNIX_EPOCH + Duration::from_millis(ctx.deadline_ms),
            trace_id: ctx.trace_id,
            client_context: ctx.client_context,
        }
    }
}

/// A handled error: what the caller sees as `{"errorType": ..., "errorMessage": ...}`.
///
/// Any `std::error::Error` converts into it with `?`; its `errorType` is the
/// error's Rust type name, as Lambda's Rust runtime reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub error_type: String,
    pub error_message: String,
}

impl Error {
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Error {
            error_type: error_type.into(),
            error_message: error_message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type, self.error_message)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(err: E) -> Self {
        let full = std::any::type_name::<E>();
        let short = full.rsplit("::").next().unwrap_or(full);
        Error::new(short, err.to_string())
    }
}

/// Runs `handler` on one raw invocation: decodes the event, encodes the
/// response. Called by the code [`handler!`] generates.
#[doc(hidden)]
pub fn run<E, R, Err, F>(
    ctx: wit::Context,
    event: Vec<u8>,
    handler: F,
) -> Result<Vec<u8>, wit::FunctionError>
where
    E: DeserializeOwned,
    R: Serialize,
    Err: Into<Error>,
    F: FnOnce(E, Context) -> Result<R, Err>,
{
    let event: E = serde_json::from_slice(&event)
        .map_err(|err| to_wit(Error::new("Runtime.UnmarshalError", err.to_string())))?;
    // As Lambda's runtimes do: the trace header in the environment for the
    // duration of the call (X-Ray's SDKs read it there).
    set_trace_variable(ctx.trace_id.as_deref());
    let response = handler(event, ctx.into());
    set_trace_variable(None);
    let response = response.map_err(|err| to_wit(err.into()))?;
    serde_json::to_vec(&response)
        .map_err(|err| to_wit(Error::new("Runtime.MarshalError", err.to_string())))
}

/// Sets (or, with `None`, removes) `_X_AMZN_TRACE_ID`. A removal when
/// nothing set it is skipped: it would scan the environment twice a call
/// for a variable that is not there.
fn set_trace_variable(value: Option<&str>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    const NAME: &str = "_X_AMZN_TRACE_ID";
    /// The variable is set (by this function: Lambda reserves the name).
    static SET: AtomicBool = AtomicBool::new(false);
    // SAFETY: a component runs one call at a time on its one thread
    // (wasm32-wasip2 has no threads): nothing reads the environment while
    // it is written.
    unsafe {
        match value {
            Some(value) => {
                std::env::set_var(NAME, value);
                SET.store(true, Ordering::Relaxed);
            }
            None if SET.swap(false, Ordering::Relaxed) => std::env::remove_var(NAME),
            None => {}
        }
    }
}

/// The default Init phase: nothing to do.
pub fn no_init() -> Result<(), Error> {
    Ok(())
}

/// The default Shutdown phase: nothing to do.
pub fn no_shutdown() {}

fn to_wit(err: Error) -> wit::FunctionError {
    wit::FunctionError {
        error_type: err.error_type,
        error_message: err.error_message,
    }
}

/// Runs an `init` hook, turning its error into the world's.
#[doc(hidden)]
pub fn run_init<Err: Into<Error>>(
    init: impl FnOnce() -> Result<(), Err>,
) -> Result<(), wit::FunctionError> {
    init().map_err(|err| to_wit(err.into()))
}

/// Exports `handler` (a `fn(Event, Context) -> Result<impl Serialize, E>`) as
/// this component's `funnel:function/handler` world. Use it once per crate.
///
/// Lambda's Init and Shutdown phases are optional:
/// `handler!(handle, init = setup, shutdown = flush)` with
/// `fn setup() -> Result<(), E>` (run once per execution environment, before
/// its first event) and `fn flush()` (run when the environment is retired).
#[macro_export]
macro_rules! handler {
    ($handler:path) => {
        $crate::handler!($handler, init = $crate::no_init, shutdown = $crate::no_shutdown);
    };
    ($handler:path, init = $init:path) => {
        $crate::handler!($handler, init = $init, shutdown = $crate::no_shutdown);
    };
    ($handler:path, shutdown = $shutdown:path) => {
        $crate::handler!($handler, init = $crate::no_init, shutdown = $shutdown);
    };
    ($handler:path, init = $init:path, shutdown = $shutdown:path) => {
        struct __FunnelHandler;

        impl $crate::bindings::Guest for __FunnelHandler {
            fn init() -> ::std::result::Result<(), $crate::bindings::funnel::function::types::FunctionError> {
                $crate::run_init($init)
            }

            fn shutdown() {
                $shutdown()
            }

            fn handle(
                ctx: $crate::bindings::funnel::function::types::Context,
                event: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<
                ::std::vec::Vec<u8>,
                $crate::bindings::funnel::function::types::FunctionError,
            > {
                $crate::run(ctx, event, $handler)
            }
        }

        $crate::bindings::__funnel_export!(__FunnelHandler with_types_in $crate::bindings);
    };
}
