//! Lambda's JSON shapes of funnel's messages, field for field as the
//! Lambda API writes them (what `aws lambda get-function` prints), and
//! CloudWatch Logs' of its listings (what `aws logs describe-log-groups`
//! prints).

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
    let mut out = json!({
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
        // A change is done when its call answers, so the last one succeeded
        // (the SDKs' `function_updated` waiters read this).
        "LastUpdateStatus": "Successful",
        "PackageType": c.package_type,
        "RevisionId": c.revision_id,
        "Layers": c
            .layers
            .iter()
            .map(|l| json!({"Arn": l.arn, "CodeSize": l.code_size}))
            .collect::<Vec<_>>(),
        "BucketAccess": c.bucket_access.as_ref().map(|a| &a.buckets),
        "TopicAccess": c.topic_access.as_ref().map(|a| &a.topics),
        "SecretAccess": c.secret_access.as_ref().map(|a| &a.names),
    });
    // Left out by the server for a caller not allowed to read variables:
    // not "no variables".
    if c.environment.is_none()
        && let Some(fields) = out.as_object_mut()
    {
        fields.remove("Environment");
    }
    out
}

/// `GetFunction`'s answer: the configuration and where the code is.
pub fn function(f: &v1::GetFunctionResponse) -> Value {
    let mut out = json!({});
    if let Some(config) = &f.configuration {
        out["Configuration"] = configuration(config);
    }
    if let Some(code) = &f.code {
        out["Code"] = json!({"RepositoryType": code.repository_type, "Location": code.location});
    }
    out
}

/// One page of `ListFunctions`.
pub fn functions(page: &v1::ListFunctionsResponse) -> Value {
    with_marker(
        json!({"Functions": page.functions.iter().map(configuration).collect::<Vec<_>>()}),
        &page.next_marker,
    )
}

/// One page of `ListVersionsByFunction`.
pub fn versions(page: &v1::ListVersionsByFunctionResponse) -> Value {
    with_marker(
        json!({"Versions": page.versions.iter().map(configuration).collect::<Vec<_>>()}),
        &page.next_marker,
    )
}

/// An `AliasConfiguration`.
pub fn alias(a: &v1::AliasConfiguration) -> Value {
    let weights: BTreeMap<_, _> = a
        .routing_config
        .as_ref()
        .map(|r| r.additional_version_weights.iter().collect())
        .unwrap_or_default();
    let mut out = json!({
        "AliasArn": a.alias_arn,
        "Name": a.name,
        "FunctionVersion": a.function_version,
        "Description": a.description,
        "RevisionId": a.revision_id,
    });
    // Lambda leaves RoutingConfig out of an alias that routes nowhere else.
    if !weights.is_empty() {
        out["RoutingConfig"] = json!({"AdditionalVersionWeights": weights});
    }
    out
}

/// One page of `ListAliases`.
pub fn aliases(page: &v1::ListAliasesResponse) -> Value {
    with_marker(
        json!({"Aliases": page.aliases.iter().map(alias).collect::<Vec<_>>()}),
        &page.next_marker,
    )
}

/// `GetPolicy`'s answer: the policy document as a JSON *string*, as Lambda
/// sends it.
pub fn policy(p: &v1::GetPolicyResponse) -> Value {
    json!({"Policy": p.policy, "RevisionId": p.revision_id})
}

/// A function's reserved concurrency: `{}` when it has none.
pub fn concurrency(c: &v1::Concurrency) -> Value {
    match c.reserved_concurrent_executions {
        Some(n) => json!({"ReservedConcurrentExecutions": n}),
        None => json!({}),
    }
}

/// A `ProvisionedConcurrencyConfig`.
pub fn provisioned_concurrency(c: &v1::ProvisionedConcurrencyConfig) -> Value {
    json!({
        "RequestedProvisionedConcurrentExecutions": c.requested_provisioned_concurrent_executions,
        "AvailableProvisionedConcurrentExecutions": c.available_provisioned_concurrent_executions,
        "AllocatedProvisionedConcurrentExecutions": c.allocated_provisioned_concurrent_executions,
        "Status": c.status,
        "StatusReason": c.status_reason,
        "LastModified": c.last_modified,
    })
}

/// `GetAccountSettings`'s answer (the limits funnel keeps).
pub fn account_settings(s: &v1::GetAccountSettingsResponse) -> Value {
    let limit = s.account_limit.unwrap_or_default();
    let usage = s.account_usage.unwrap_or_default();
    json!({
        "AccountLimit": {
            "ConcurrentExecutions": limit.concurrent_executions,
            "UnreservedConcurrentExecutions": limit.unreserved_concurrent_executions,
        },
        "AccountUsage": {"FunctionCount": usage.function_count},
    })
}

/// A `FunctionEventInvokeConfig`. `LastModified` is funnel's ISO 8601 text
/// (what `aws` prints); on the wire Lambda sends epoch seconds, which the
/// AWS endpoint puts in its place.
pub fn event_invoke_config(c: &v1::FunctionEventInvokeConfig) -> Value {
    let destinations = c.destination_config.clone().unwrap_or_default();
    json!({
        "LastModified": c.last_modified,
        "FunctionArn": c.function_arn,
        "MaximumRetryAttempts": c.maximum_retry_attempts,
        "MaximumEventAgeInSeconds": c.maximum_event_age_in_seconds,
        "DestinationConfig": {
            "OnSuccess": destinations.on_success.map(|d| json!({"Destination": d.destination})),
            "OnFailure": destinations.on_failure.map(|d| json!({"Destination": d.destination})),
        },
    })
}

/// A `LayerVersion` (`PublishLayerVersion`, `GetLayerVersion`);
/// `Content.UnpackedSize` is funnel's addition.
pub fn layer_version(l: &v1::LayerVersion) -> Value {
    json!({
        "Content": l.content.as_ref().map(|c| json!({
            "Location": c.location,
            "CodeSha256": c.code_sha256,
            "CodeSize": c.code_size,
            "UnpackedSize": c.unpacked_size,
        })),
        "LayerArn": l.layer_arn,
        "LayerVersionArn": l.layer_version_arn,
        "Description": l.description,
        "CreatedDate": l.created_date,
        "Version": l.version,
        "CompatibleRuntimes": l.compatible_runtimes,
        "LicenseInfo": l.license_info,
    })
}

/// `AddLayerVersionPermission`'s answer: the statement (JSON text) and
/// the policy's revision.
pub fn layer_statement(added: &v1::AddLayerVersionPermissionResponse) -> Value {
    json!({"Statement": added.statement, "RevisionId": added.revision_id})
}

/// `GetLayerVersionPolicy`'s answer: the document as JSON text.
pub fn layer_policy(p: &v1::GetLayerVersionPolicyResponse) -> Value {
    json!({"Policy": p.policy, "RevisionId": p.revision_id})
}

/// A `LayerVersionsListItem`.
pub fn layer_versions_item(l: &v1::LayerVersionsListItem) -> Value {
    json!({
        "LayerVersionArn": l.layer_version_arn,
        "Version": l.version,
        "Description": l.description,
        "CreatedDate": l.created_date,
        "CompatibleRuntimes": l.compatible_runtimes,
        "LicenseInfo": l.license_info,
    })
}

/// A `LayersListItem`.
pub fn layers_item(l: &v1::LayersListItem) -> Value {
    json!({
        "LayerName": l.layer_name,
        "LayerArn": l.layer_arn,
        "LatestMatchingVersion": l.latest_matching_version.as_ref().map(layer_versions_item),
    })
}

/// One page of `ListLayers`.
pub fn layers(page: &v1::ListLayersResponse) -> Value {
    with_marker(
        json!({"Layers": page.layers.iter().map(layers_item).collect::<Vec<_>>()}),
        &page.next_marker,
    )
}

/// One page of `ListLayerVersions`.
pub fn layer_versions(page: &v1::ListLayerVersionsResponse) -> Value {
    with_marker(
        json!({"LayerVersions": page.layer_versions.iter().map(layer_versions_item).collect::<Vec<_>>()}),
        &page.next_marker,
    )
}

/// A `FunctionUrlConfig` (`Cors` only when it has one).
pub fn url_config(config: &v1::FunctionUrlConfig) -> Value {
    let mut out = json!({
        "FunctionUrl": config.function_url,
        "FunctionArn": config.function_arn,
        "AuthType": config.auth_type,
        "CreationTime": config.creation_time,
        "LastModifiedTime": config.last_modified_time,
        "InvokeMode": config.invoke_mode,
    });
    if let Some(cors) = &config.cors {
        out["Cors"] = json!({
            "AllowCredentials": cors.allow_credentials,
            "AllowHeaders": cors.allow_headers,
            "AllowMethods": cors.allow_methods,
            "AllowOrigins": cors.allow_origins,
            "ExposeHeaders": cors.expose_headers,
            "MaxAge": cors.max_age,
        });
    }
    out
}

/// One page of `ListFunctionUrlConfigs`.
pub fn url_configs(page: &v1::ListFunctionUrlConfigsResponse) -> Value {
    with_marker(
        json!({"FunctionUrlConfigs": page.function_url_configs.iter().map(url_config).collect::<Vec<_>>()}),
        &page.next_marker,
    )
}

/// A CloudWatch Logs `LogGroup`.
pub fn log_group(g: &v1::LogGroup) -> Value {
    let mut out = json!({
        "logGroupName": g.log_group_name,
        "creationTime": g.creation_time,
        "metricFilterCount": 0,
        "arn": g.arn,
        "storedBytes": g.stored_bytes,
        "logGroupClass": "STANDARD",
        "logGroupArn": g.log_group_arn,
    });
    if let Some(days) = g.retention_in_days {
        out["retentionInDays"] = json!(days);
    }
    out
}

/// One page of `DescribeLogGroups`.
pub fn log_groups(page: &v1::DescribeLogGroupsResponse) -> Value {
    with_token(
        json!({"logGroups": page.log_groups.iter().map(log_group).collect::<Vec<_>>()}),
        &page.next_token,
    )
}

/// A CloudWatch Logs `LogStream`.
pub fn log_stream(s: &v1::LogStream) -> Value {
    json!({
        "logStreamName": s.log_stream_name,
        "creationTime": s.creation_time,
        "firstEventTimestamp": s.first_event_timestamp,
        "lastEventTimestamp": s.last_event_timestamp,
        "lastIngestionTime": s.last_ingestion_time,
        "arn": s.arn,
        "storedBytes": s.stored_bytes,
    })
}

/// One page of `DescribeLogStreams`.
pub fn log_streams(page: &v1::DescribeLogStreamsResponse) -> Value {
    with_token(
        json!({"logStreams": page.log_streams.iter().map(log_stream).collect::<Vec<_>>()}),
        &page.next_token,
    )
}

/// `page` with CloudWatch's `nextToken` when there is a next page.
fn with_token(mut page: Value, next_token: &str) -> Value {
    if !next_token.is_empty() {
        page["nextToken"] = json!(next_token);
    }
    page
}

/// `page` with `NextMarker` when there is a next page.
fn with_marker(mut page: Value, next_marker: &str) -> Value {
    if !next_marker.is_empty() {
        page["NextMarker"] = json!(next_marker);
    }
    page
}
