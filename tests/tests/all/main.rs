//! funnel's end-to-end tests, in one test binary (wasmtime's
//! `tests/all/main.rs` pattern: one module per feature, linked once): a real
//! server on `127.0.0.1:0`, the real client, real wasm from
//! `wasm-functions/`. The helpers are the `funnel-tests` library.

mod aliases;
mod async_invoke;
mod backup;
mod bucket_access;
mod buckets;
mod compile_bomb;
mod concurrency;
mod confinement;
mod corruption;
mod disk_full;
mod environments;
mod faults;
mod function_urls;
mod functions;
mod grpc;
mod host_memory;
mod http_components;
mod invoke;
mod layers;
mod limits;
mod logs;
mod metrics;
mod multipart;
mod nodejs;
mod object_attributes;
mod objects;
mod parameters;
mod permissions;
mod provisioned;
mod python;
mod python_client;
mod queue_caps;
mod recordings;
mod restart;
mod revisions;
mod routes;
mod schedules;
mod secret_access;
mod secrets;
mod security;
mod shutdown;
mod tenancy;
mod topic_publishing;
mod topics;
mod tracing;
mod tracing_otlp;
mod tracing_triggers;
mod transport;
mod upgrade;
mod versions;
