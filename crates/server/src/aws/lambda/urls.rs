//! Function URLs: Create/Get/Update/DeleteFunctionUrlConfig,
//! ListFunctionUrlConfigs (`/2021-10-31/functions/{name}/url[s]`).

use funnel_proto::json;
use funnel_proto::v1 as pb;
use funnel_proto::v1::function_urls_server::FunctionUrls as _;
use funnel_runtime::HttpBody;
use serde::Deserialize;

use super::{AwsError, Call, created, no_content, ok};

type Answer = Result<hyper::Response<HttpBody>, AwsError>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct Cors {
    allow_credentials: bool,
    allow_headers: Vec<String>,
    allow_methods: Vec<String>,
    allow_origins: Vec<String>,
    expose_headers: Vec<String>,
    max_age: i32,
}

impl From<Cors> for pb::Cors {
    fn from(c: Cors) -> Self {
        pb::Cors {
            allow_credentials: c.allow_credentials,
            allow_headers: c.allow_headers,
            allow_methods: c.allow_methods,
            allow_origins: c.allow_origins,
            expose_headers: c.expose_headers,
            max_age: c.max_age,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct UrlConfig {
    auth_type: String,
    cors: Option<Cors>,
    invoke_mode: String,
}

pub async fn create(call: &Call<'_>, function_name: String) -> Answer {
    let body: UrlConfig = call.body(&[])?;
    let message = pb::CreateFunctionUrlConfigRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
        auth_type: body.auth_type,
        cors: body.cors.map(Into::into),
        invoke_mode: body.invoke_mode,
    };
    let urls = &call.services().urls;
    let config = call
        .grpc(
            "/funnel.v1.FunctionUrls/CreateFunctionUrlConfig",
            message,
            |r| urls.create_function_url_config(r),
        )
        .await?;
    Ok(created(&json::url_config(&config)))
}

pub async fn update(call: &Call<'_>, function_name: String) -> Answer {
    let body: UrlConfig = call.body(&[])?;
    let message = pb::UpdateFunctionUrlConfigRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
        auth_type: body.auth_type,
        cors: body.cors.map(Into::into),
        invoke_mode: body.invoke_mode,
    };
    let urls = &call.services().urls;
    let config = call
        .grpc(
            "/funnel.v1.FunctionUrls/UpdateFunctionUrlConfig",
            message,
            |r| urls.update_function_url_config(r),
        )
        .await?;
    Ok(ok(&json::url_config(&config)))
}

pub async fn get(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::GetFunctionUrlConfigRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let urls = &call.services().urls;
    let config = call
        .grpc(
            "/funnel.v1.FunctionUrls/GetFunctionUrlConfig",
            message,
            |r| urls.get_function_url_config(r),
        )
        .await?;
    Ok(ok(&json::url_config(&config)))
}

pub async fn delete(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::GetFunctionUrlConfigRequest {
        function_name,
        qualifier: call.query_or_empty("Qualifier"),
    };
    let urls = &call.services().urls;
    call.grpc(
        "/funnel.v1.FunctionUrls/DeleteFunctionUrlConfig",
        message,
        |r| urls.delete_function_url_config(r),
    )
    .await?;
    Ok(no_content())
}

pub async fn list(call: &Call<'_>, function_name: String) -> Answer {
    let message = pb::ListFunctionUrlConfigsRequest {
        function_name,
        marker: call.query_or_empty("Marker"),
        max_items: call.query_number("MaxItems")?,
    };
    let urls = &call.services().urls;
    let page = call
        .grpc(
            "/funnel.v1.FunctionUrls/ListFunctionUrlConfigs",
            message,
            |r| urls.list_function_url_configs(r),
        )
        .await?;
    Ok(ok(&json::url_configs(&page)))
}
