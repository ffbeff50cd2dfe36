//! The request shape of the direct door, gRPC `Invoke` (sync or async).
//! The trigger doors (buckets, topics, schedules) do not build it: they go
//! through the router, which checks the resource policy and queues a
//! `funnel_store::QueuedEvent`.

use crate::error::{Error, Result};

/// A request to run a function once.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// A name, `name:qualifier`, or a function ARN.
    pub function_name: String,
    pub qualifier: String,
    /// `RequestResponse` (default when empty), `Event` or `DryRun`.
    pub invocation_type: String,
    /// `None` (default when empty) or `Tail`.
    pub log_type: String,
    /// Base64 JSON, or empty.
    pub client_context: String,
    /// JSON bytes; empty means `{}`.
    pub payload: Vec<u8>,
    /// The trace the request runs in (`None`: not traced).
    pub trace: Option<crate::traces::TraceContext>,
}

/// Lambda's `InvocationType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    RequestResponse,
    Event,
    DryRun,
}

impl InvocationType {
    pub fn parse(value: &str) -> Result<Self> {
        match value {
            "" | "RequestResponse" => Ok(InvocationType::RequestResponse),
            "Event" => Ok(InvocationType::Event),
            "DryRun" => Ok(InvocationType::DryRun),
            other => Err(Error::InvalidParameterValue(format!(
                "InvocationType {other:?} is invalid: it must be RequestResponse, Event or DryRun"
            ))),
        }
    }
}

/// Lambda's `LogType`: whether to return the log's tail.
pub fn parse_log_type(value: &str) -> Result<bool> {
    match value {
        "" | "None" => Ok(false),
        "Tail" => Ok(true),
        other => Err(Error::InvalidParameterValue(format!(
            "LogType {other:?} is invalid: it must be None or Tail"
        ))),
    }
}
