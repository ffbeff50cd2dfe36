//! Functions, their code and versions: CreateFunction, GetFunction,
//! GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
//! UpdateFunctionConfiguration, DeleteFunction, Invoke, PublishVersion,
//! ListVersionsByFunction.

use std::collections::HashMap;
use std::io::Read as _;

use funnel_proto::json;
use funnel_proto::v1 as pb;
use funnel_proto::v1::functions_server::Functions as _;
use funnel_runtime::HttpBody;
use http::StatusCode;
use serde::Deserialize;

use super::{AwsError, Call, blob, created, invalid, no_content, ok, unsupported};

type Answer = Result<hyper::Response<HttpBody>, AwsError>;

/// Members of CreateFunction and UpdateFunctionConfiguration that funnel
/// cannot honour and must not drop.
const REFUSED_CONFIGURATION: &[(&str, &str)] = &[
    ("VpcConfig", "functions do not run in a VPC"),
    (
        "DeadLetterConfig",
        "failed events go to funnel's dead-letter store (or an OnFailure destination)",
    ),
    ("FileSystemConfigs", "there is no EFS to mount"),
    (
        "ImageConfig",
        "code is a WebAssembly component, not an image",
    ),
    ("CapacityProviderConfig", "there are no capacity providers"),
    ("DurableConfig", "there are no durable functions"),
];

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Environment {
    variables: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EphemeralStorage {
    size: i32,
}

/// Where code comes from other than `ZipFile`: refused, funnel keeps no
/// S3 or image registry to fetch from.
const REFUSED_CODE: &[(&str, &str)] = &[
    ("S3Bucket", CODE_IS_A_ZIP_FILE),
    ("S3Key", CODE_IS_A_ZIP_FILE),
    ("S3ObjectVersion", CODE_IS_A_ZIP_FILE),
    ("ImageUri", CODE_IS_A_ZIP_FILE),
];
const CODE_IS_A_ZIP_FILE: &str = "code is uploaded as ZipFile (a component, or a zip of one)";

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateFunction {
    function_name: String,
    runtime: String,
    handler: String,
    code: serde_json::Value,
    description: String,
    timeout: Option<i32>,
    memory_size: Option<i32>,
    publish: bool,
    environment: Option<Environment>,
    layers: Vec<String>,
    ephemeral_storage: Option<EphemeralStorage>,
    package_type: Option<String>,
}

pub async fn create(call: &Call<'_>) -> Answer {
    let mut refused = REFUSED_CONFIGURATION.to_vec();
    refused.extend([
        ("CodeSigningConfigArn", "code signing is not checked"),
        ("TenancyConfig", "there is no tenant isolation mode"),
        ("PublishTo", "versions are published with Publish"),
    ]);
    let body: CreateFunction = call.body(&refused)?;
    if body.package_type.as_deref().is_some_and(|p| p != "Zip") {
        return Err(unsupported(
            "PackageType",
            "code is a WebAssembly component (PackageType Zip)",
        ));
    }
    for (name, why) in REFUSED_CODE {
        if body.code.get(name).is_some_and(|v| !super::is_empty(v)) {
            return Err(unsupported(&format!("Code.{name}"), why));
        }
    }
    let zip_file = component(body.code.get("ZipFile").and_then(|z| z.as_str()))?;
    let message = pb::CreateFunctionRequest {
        function_name: body.function_name,
        code: Some(pb::FunctionCode { zip_file }),
        description: body.description,
        memory_size: body.memory_size,
        timeout: body.timeout,
        environment: body.environment.map(|e| pb::Environment {
            variables: e.variables,
        }),
        ephemeral_storage: body
            .ephemeral_storage
            .map(|e| pb::EphemeralStorage { size: e.size }),
        layers: body.layers,
        runtime: body.runtime,
        handler: body.handler,
        ..Default::default()
    };
    let functions = &call.services().functions;
    let mut config = call
        .grpc("/funnel.v1.Functions/CreateFunction", message, |r| {
            functions.create_function(r)
        })
        .await?;
    if body.publish {
        config = publish_just_made(call, config).await?;
    }
    Ok(created(&json::configuration(&config)))
}

/// The component a `ZipFile` carries: the bytes themselves when they are
/// WebAssembly, else the one `.wasm` file of a zip archive.
fn component(zip_file: Option<&str>) -> Result<Vec<u8>, AwsError> {
    let Some(text) = zip_file.filter(|t| !t.is_empty()) else {
        return Err(invalid(
            "Code.ZipFile is required: a WebAssembly component, or a zip archive holding one"
                .into(),
        ));
    };
    let bytes = blob("ZipFile", text)?;
    if !bytes.starts_with(b"PK") {
        // A component (or not): the handler's validation names what it is.
        return Ok(bytes);
    }
    unzip_component(&bytes)
}

/// The single `.wasm` file of a zip archive, at most Lambda's unzipped
/// limit. Other files are refused: a component cannot read them, and
/// dropping them silently would hide that.
fn unzip_component(zip: &[u8]) -> Result<Vec<u8>, AwsError> {
    let limit = crate::layers::archive::MAX_UNZIPPED_BYTES;
    let refuse = |why: String| invalid(format!("ZipFile is a zip archive that {why}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .map_err(|e| refuse(format!("cannot be read: {e}")))?;
    let mut found = None;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| refuse(format!("has an unreadable entry {index}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if !name.ends_with(".wasm") {
            return Err(refuse(format!(
                "holds {name:?}; it must hold exactly one .wasm component and nothing else \
                 (build the function with `funnel function create --runtime` to turn source \
                 into a component)"
            )));
        }
        if let Some(first) = found.replace((index, name.clone())) {
            return Err(refuse(format!(
                "holds two components ({:?} and {name:?}); it must hold exactly one",
                first.1
            )));
        }
    }
    let Some((index, name)) = found else {
        return Err(refuse("holds no .wasm component".into()));
    };
    let entry = archive
        .by_index(index)
        .map_err(|e| refuse(format!("cannot open {name:?}: {e}")))?;
    if entry.size() > limit {
        return Err(refuse(format!(
            "holds {name:?} of {} bytes unzipped; at most {limit} are allowed",
            entry.size()
        )));
    }
    let mut component = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut component)
        .map_err(|e| refuse(format!("cannot unpack {name:?}: {e}")))?;
    if component.len() as u64 > limit {
        return Err(refuse(format!(
            "holds {name:?} of more than {limit} bytes unzipped"
        )));
    }
    Ok(component)
}

async fn get_function(
    call: &Call<'_>,
    function_name: String,
) -> Result<pb::GetFunctionResponse, AwsError> {
    let message = pb::GetFunctionRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let functions = &call.services().functions;
    call.grpc("/funnel.v1.Functions/GetFunction", message, |r| {
        functions.get_function(r)
    })
    .await
}

pub async fn get(call: &Call<'_>, function_name: String) -> Answer {
    let out = get_function(call, function_name).await?;
    Ok(ok(&json::function(&out)))
}

pub async fn get_configuration(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::GetFunctionRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let functions = &call.services().functions;
    let config = call
        .grpc(
            "/funnel.v1.Functions/GetFunctionConfiguration",
            message,
            |r| functions.get_function_configuration(r),
        )
        .await?;
    Ok(ok(&json::configuration(&config)))
}

pub async fn list(call: &Call<'_>) -> Answer {
    let message = pb::ListFunctionsRequest {
        marker: call.query_or_empty("Marker"),
        max_items: call.query_number("MaxItems")?,
    };
    let functions = &call.services().functions;
    let out = call
        .grpc("/funnel.v1.Functions/ListFunctions", message, |r| {
            functions.list_functions(r)
        })
        .await?;
    Ok(ok(&json::functions(&out)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UpdateCode {
    zip_file: Option<String>,
    publish: bool,
    revision_id: String,
}

pub async fn update_code(call: &Call<'_>, function_name: String) -> Answer {
    let mut refused = REFUSED_CODE.to_vec();
    refused.extend([
        ("DryRun", "the code would be replaced"),
        ("PublishTo", "versions are published with Publish"),
    ]);
    let body: UpdateCode = call.body(&refused)?;
    let message = pb::UpdateFunctionCodeRequest {
        function_name,
        zip_file: component(body.zip_file.as_deref())?,
        revision_id: body.revision_id,
    };
    let functions = &call.services().functions;
    let mut config = call
        .grpc("/funnel.v1.Functions/UpdateFunctionCode", message, |r| {
            functions.update_function_code(r)
        })
        .await?;
    if body.publish {
        config = publish_just_made(call, config).await?;
    }
    Ok(ok(&json::configuration(&config)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UpdateConfiguration {
    description: Option<String>,
    timeout: Option<i32>,
    memory_size: Option<i32>,
    environment: Option<Environment>,
    runtime: Option<String>,
    handler: Option<String>,
    revision_id: String,
    layers: Option<Vec<String>>,
    ephemeral_storage: Option<EphemeralStorage>,
}

pub async fn update_configuration(call: &Call<'_>, function_name: String) -> Answer {
    let body: UpdateConfiguration = call.body(REFUSED_CONFIGURATION)?;
    let message = pb::UpdateFunctionConfigurationRequest {
        function_name,
        description: body.description,
        memory_size: body.memory_size,
        timeout: body.timeout,
        environment: body.environment.map(|e| pb::Environment {
            variables: e.variables,
        }),
        ephemeral_storage: body
            .ephemeral_storage
            .map(|e| pb::EphemeralStorage { size: e.size }),
        revision_id: body.revision_id,
        layers: body.layers.map(|arns| pb::LayerArns { arns }),
        runtime: body.runtime,
        handler: body.handler,
        ..Default::default()
    };
    let functions = &call.services().functions;
    let config = call
        .grpc(
            "/funnel.v1.Functions/UpdateFunctionConfiguration",
            message,
            |r| functions.update_function_configuration(r),
        )
        .await?;
    Ok(ok(&json::configuration(&config)))
}

pub async fn delete(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::DeleteFunctionRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let functions = &call.services().functions;
    call.grpc("/funnel.v1.Functions/DeleteFunction", message, |r| {
        functions.delete_function(r)
    })
    .await?;
    Ok(no_content())
}

pub async fn invoke(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::InvokeRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
        invocation_type: call.header("x-amz-invocation-type"),
        log_type: call.header("x-amz-log-type"),
        client_context: call.header("x-amz-client-context"),
        payload: call.body.to_vec(),
    };
    let functions = &call.services().functions;
    let out = call
        .grpc("/funnel.v1.Functions/Invoke", message, |r| {
            functions.invoke(r)
        })
        .await?;
    let status = u16::try_from(out.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut headers = vec![
        ("content-type", "application/json".to_string()),
        ("x-amz-executed-version", out.executed_version),
    ];
    if !out.function_error.is_empty() {
        headers.push(("x-amz-function-error", out.function_error));
    }
    if !out.log_result.is_empty() {
        headers.push(("x-amz-log-result", out.log_result));
    }
    Ok(super::respond(status, &headers, out.payload))
}

/// `Publish: true`: the version of exactly what the call just made (its
/// RevisionId), so a change in between fails rather than being published.
async fn publish_just_made(
    call: &Call<'_>,
    config: pb::FunctionConfiguration,
) -> Result<pb::FunctionConfiguration, AwsError> {
    publish(
        call,
        config.function_arn,
        String::new(),
        String::new(),
        config.revision_id,
    )
    .await
}

async fn publish(
    call: &Call<'_>,
    function_name: String,
    description: String,
    code_sha256: String,
    revision_id: String,
) -> Result<pb::FunctionConfiguration, AwsError> {
    let message = pb::PublishVersionRequest {
        function_name,
        description,
        code_sha256,
        revision_id,
    };
    let functions = &call.services().functions;
    call.grpc("/funnel.v1.Functions/PublishVersion", message, |r| {
        functions.publish_version(r)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct PublishVersion {
    code_sha256: String,
    description: String,
    revision_id: String,
}

pub async fn publish_version(call: &Call<'_>, function_name: String) -> Answer {
    let body: PublishVersion =
        call.body(&[("PublishTo", "a version is published from $LATEST")])?;
    let config = publish(
        call,
        function_name,
        body.description,
        body.code_sha256,
        body.revision_id,
    )
    .await?;
    Ok(created(&json::configuration(&config)))
}

pub async fn list_versions(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::ListVersionsByFunctionRequest {
        function_name,
        marker: call.query_or_empty("Marker"),
        max_items: call.query_number("MaxItems")?,
    };
    let functions = &call.services().functions;
    let out = call
        .grpc(
            "/funnel.v1.Functions/ListVersionsByFunction",
            message,
            |r| functions.list_versions_by_function(r),
        )
        .await?;
    Ok(ok(&json::versions(&out)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn zip_of(files: &[(&str, &[u8])]) -> String {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in files {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(bytes).unwrap();
        }
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(zip.finish().unwrap().into_inner())
    }

    #[test]
    fn a_zip_gives_its_one_component() {
        let wasm = b"\0asm\x0d\0\x01\0rest";
        let got = component(Some(&zip_of(&[("f/function.wasm", wasm)]))).unwrap();
        assert_eq!(got, wasm);
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD.encode(wasm);
        assert_eq!(component(Some(&raw)).unwrap(), wasm);
    }

    #[test]
    fn a_zip_without_exactly_one_component_is_refused() {
        let none = component(Some(&zip_of(&[]))).unwrap_err();
        assert!(none.message.contains("no .wasm"), "{}", none.message);
        let two =
            component(Some(&zip_of(&[("a.wasm", b"\0asm"), ("b.wasm", b"\0asm")]))).unwrap_err();
        assert!(two.message.contains("two components"), "{}", two.message);
        let source = component(Some(&zip_of(&[(
            "lambda_function.py",
            b"def lambda_handler(e, c): pass",
        )])))
        .unwrap_err();
        assert_eq!(source.code, "InvalidParameterValueException");
        assert!(
            source.message.contains("lambda_function.py"),
            "{}",
            source.message
        );
        let missing = component(None).unwrap_err();
        assert!(missing.message.contains("Code.ZipFile is required"));
    }
}
