//! Lambda's JSON shapes of funnel's messages, field for field as the
//! Lambda API writes them (what `aws lambda get-function` prints).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::v1;

/// A `FunctionConfiguration`.
pub fn configuration(c: &v1::FunctionConfiguration) -> Value {
    let variables: BTreeMap<_, _> = c
        .environment
        .as_ref()
        .map(|e| e.variables.iter().collect())
        .unwrap_or_default();
    json!({
        "FunctionName": c.function_name,
        "FunctionArn": c.function_arn,
        "Description": c.description,
        "Runtime": c.runtime,
        "Handler": c.handler,
        "MemorySize": c.memory_size,
        "Timeout": c.timeout,
        "EphemeralStorage": {"Size": c.ephemeral_storage.as_ref().map(|e| e.size)},
        "Environment": {"Variables": variables},
        "CodeSha256": c.code_sha256,
        "CodeSize": c.code_size,
        "LastModified": c.last_modified,
        "Version": c.version,
        "State": c.state,
        "PackageType": c.package_type,
        "RevisionId": c.revision_id,
        "Layers": c
            .layers
            .iter()
            .map(|l| json!({"Arn": l.arn, "CodeSize": l.code_size}))
            .collect::<Vec<_>>(),
        "BucketAccess": c.bucket_access.as_ref().map(|a| &a.buckets),
        "TopicAccess": c.topic_access.as_ref().map(|a| &a.topics),
    })
}
