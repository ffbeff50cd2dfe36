//! funnel's contracts.
//!
//! - [`v1`]: the gRPC API generated from `funnel/v1/*.proto` (messages, and
//!   the clients and servers of every service: `Functions`,
//!   `FunctionUrls`, `Apis`, `Layers`, `AsyncInvocation`, `Permissions`, `Buckets`,
//!   `Topics`, `Events`, `Clock`, `Logs`, `Metrics`, `Iam`, `Sts`, `Admin`,
//!   `SecretsManager`, `Ssm`, `Faults`, `Recordings`).
//!   `SecretsManager`, `Ssm`, `Faults`, `Traces`).
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, served by reflection so
//!   any gRPC tool can discover the API from a running server.
//! - [`log_group`]: the log group name of a function.
//! - [`json`]: Lambda's JSON shapes of the messages (what the CLI prints and
//!   the AWS-compatible endpoint answers).
//! - `wit/`: the `funnel:function` world that guests export; [`WIT_DIR`] is its
//!   path for hosts and build tools that read it.

/// The gRPC API, version 1. Field names are Lambda's; prost turns
/// `FunctionName` into `function_name`.
#[allow(clippy::large_enum_variant, clippy::doc_lazy_continuation)]
pub mod v1 {
    tonic::include_proto!("funnel.v1");
}

pub mod json;

/// Encoded `FileDescriptorSet` of every funnel proto.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/funnel_descriptor.bin"));

/// Absolute path of the WIT package that defines the `funnel:function` world.
pub const WIT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/wit");

/// A function's log group, as Lambda names it: `/aws/lambda/<name>`.
pub fn log_group(function_name: &str) -> String {
    format!("/aws/lambda/{function_name}")
}
