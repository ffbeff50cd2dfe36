//! `funnel.v1.FunctionUrls`: function URL configs.

use funnel_proto::v1 as pb;
use funnel_proto::v1::function_urls_server::FunctionUrls as FunctionUrlsApi;
use funnel_store::{CorsRecord, FunctionUrlRecord};
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::urls::{FunctionUrls, UrlSettings};

pub struct FunctionUrlsService {
    urls: FunctionUrls,
}

impl FunctionUrlsService {
    pub fn new(urls: FunctionUrls) -> Self {
        FunctionUrlsService { urls }
    }

    fn config(&self, record: FunctionUrlRecord) -> pb::FunctionUrlConfig {
        pb::FunctionUrlConfig {
            function_url: self.urls.url_of(&record.url_id),
            function_arn: self.urls.function_arn(&record),
            cors: record.cors.map(cors_to_proto),
            auth_type: record.auth_type,
            creation_time: record.creation_time,
            last_modified_time: record.last_modified_time,
            invoke_mode: record.invoke_mode,
        }
    }
}

fn cors_to_proto(cors: CorsRecord) -> pb::Cors {
    pb::Cors {
        allow_credentials: cors.allow_credentials,
        allow_headers: cors.allow_headers,
        allow_methods: cors.allow_methods,
        allow_origins: cors.allow_origins,
        expose_headers: cors.expose_headers,
        max_age: cors.max_age as i32,
    }
}

/// An empty `Cors` message means "no CORS".
fn cors_from_proto(cors: pb::Cors) -> Result<Option<CorsRecord>, Error> {
    if cors == pb::Cors::default() {
        return Ok(None);
    }
    let max_age = u32::try_from(cors.max_age).map_err(|_| {
        Error::InvalidParameterValue(format!(
            "Cors.MaxAge {} is out of range: it must be between 0 and 86400",
            cors.max_age
        ))
    })?;
    Ok(Some(CorsRecord {
        allow_credentials: cors.allow_credentials,
        allow_headers: cors.allow_headers,
        allow_methods: cors.allow_methods,
        allow_origins: cors.allow_origins,
        expose_headers: cors.expose_headers,
        max_age,
    }))
}

fn settings(
    auth_type: String,
    cors: Option<pb::Cors>,
    invoke_mode: String,
) -> Result<UrlSettings, Error> {
    Ok(UrlSettings {
        auth_type: Some(auth_type),
        cors: cors.map(cors_from_proto).transpose()?,
        invoke_mode: Some(invoke_mode),
    })
}

#[tonic::async_trait]
impl FunctionUrlsApi for FunctionUrlsService {
    async fn create_function_url_config(
        &self,
        request: Request<pb::CreateFunctionUrlConfigRequest>,
    ) -> Result<Response<pb::FunctionUrlConfig>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let function = caller.function(&req.function_name)?;
        let settings = settings(req.auth_type, req.cors, req.invoke_mode)?;
        let record = self
            .urls
            .create(&function, &req.qualifier, settings)
            .await?;
        Ok(Response::new(self.config(record)))
    }

    async fn get_function_url_config(
        &self,
        request: Request<pb::GetFunctionUrlConfigRequest>,
    ) -> Result<Response<pb::FunctionUrlConfig>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let function = caller.function(&req.function_name)?;
        let record = self.urls.get(&function, &req.qualifier)?;
        Ok(Response::new(self.config(record)))
    }

    async fn update_function_url_config(
        &self,
        request: Request<pb::UpdateFunctionUrlConfigRequest>,
    ) -> Result<Response<pb::FunctionUrlConfig>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let function = caller.function(&req.function_name)?;
        let settings = settings(req.auth_type, req.cors, req.invoke_mode)?;
        let record = self
            .urls
            .update(&function, &req.qualifier, settings)
            .await?;
        Ok(Response::new(self.config(record)))
    }

    async fn delete_function_url_config(
        &self,
        request: Request<pb::GetFunctionUrlConfigRequest>,
    ) -> Result<Response<pb::DeleteFunctionUrlConfigResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let function = caller.function(&req.function_name)?;
        self.urls.delete(&function, &req.qualifier).await?;
        Ok(Response::new(pb::DeleteFunctionUrlConfigResponse {}))
    }

    async fn list_function_url_configs(
        &self,
        request: Request<pb::ListFunctionUrlConfigsRequest>,
    ) -> Result<Response<pb::ListFunctionUrlConfigsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let function = caller.function(&req.function_name)?;
        let (page, next) = self.urls.list(&function, &req.marker, req.max_items)?;
        Ok(Response::new(pb::ListFunctionUrlConfigsResponse {
            function_url_configs: page.into_iter().map(|r| self.config(r)).collect(),
            next_marker: next.unwrap_or_default(),
        }))
    }
}
