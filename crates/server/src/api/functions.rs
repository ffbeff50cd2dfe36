//! `funnel.v1.Functions`: proto messages in, domain calls, proto messages out.

use funnel_proto::v1 as pb;
use funnel_proto::v1::functions_server::Functions as FunctionsApi;
use tonic::{Request, Response, Status};

use crate::dispatch::Dispatcher;
use crate::function::LATEST;
use crate::invocation::Invocation;
use crate::registry::AliasChange;
use crate::registry::{ConfigChanges, NewFunction, Registry};
use funnel_store::{AliasRecord, FunctionRecord};

pub struct FunctionsService {
    functions: Registry,
    dispatcher: Dispatcher,
    quotas: crate::quotas::Quotas,
}

impl FunctionsService {
    pub fn new(functions: Registry, dispatcher: Dispatcher, quotas: crate::quotas::Quotas) -> Self {
        FunctionsService {
            functions,
            dispatcher,
            quotas,
        }
    }

    /// A record as `caller` may see it: its variables only when `caller`
    /// may take `lambda:GetFunctionConfiguration` on it (they may hold
    /// references to secrets, or worse, secrets pasted in).
    fn configuration(
        &self,
        caller: &crate::iam::Caller,
        record: FunctionRecord,
    ) -> pb::FunctionConfiguration {
        let mut configuration = self.full_configuration(record);
        let reads_variables = crate::iam::authorize_also(
            caller,
            "lambda:GetFunctionConfiguration",
            &pb::GetFunctionRequest {
                function_name: configuration.function_arn.clone(),
                qualifier: String::new(),
            },
        );
        if reads_variables.is_err() {
            configuration.environment = None;
        }
        configuration
    }

    fn full_configuration(&self, record: FunctionRecord) -> pb::FunctionConfiguration {
        pb::FunctionConfiguration {
            // A published version's ARN carries its number, as in Lambda.
            function_arn: self.functions.naming().function_arn(
                &record.name,
                (record.version != LATEST).then_some(record.version.as_str()),
            ),
            code_sha256: Registry::code_sha256_base64(&record),
            function_name: crate::tenancy::name(&record.name).to_string(),
            description: record.description,
            memory_size: record.memory_size as i32,
            timeout: record.timeout as i32,
            environment: Some(pb::Environment {
                variables: record.environment.into_iter().collect(),
            }),
            code_size: record.code_size as i64,
            last_modified: record.last_modified,
            version: record.version.clone(),
            state: "Active".into(),
            state_reason: String::new(),
            state_reason_code: String::new(),
            package_type: "Zip".into(),
            ephemeral_storage: Some(pb::EphemeralStorage {
                size: record.ephemeral_storage as i32,
            }),
            revision_id: record.revision_id,
            layers: record
                .layers
                .into_iter()
                .map(|layer| pb::Layer {
                    arn: layer.arn,
                    code_size: layer.code_size as i64,
                })
                .collect(),
            bucket_access: Some(pb::BucketAccess {
                buckets: record.bucket_access.into_iter().collect(),
            }),
            runtime: record.runtime,
            handler: record.handler,
            topic_access: Some(pb::TopicAccess {
                topics: record.topic_access,
            }),
            secret_access: Some(pb::SecretAccess {
                names: record.secret_access,
            }),
        }
    }
}

impl FunctionsService {
    fn provisioned(
        &self,
        function_name: &str,
        qualifier: &str,
        view: crate::dispatch::ProvisionedView,
    ) -> pb::ProvisionedConcurrencyConfig {
        // Available: provisioned environments idle now, of the version the
        // qualifier runs.
        let available = self
            .functions
            .lookup(function_name, qualifier)
            .map(|(target, record)| {
                self.dispatcher
                    .provisioned_idle(&target.name, &record.version)
            })
            .unwrap_or(0);
        pb::ProvisionedConcurrencyConfig {
            requested_provisioned_concurrent_executions: view.requested as i32,
            available_provisioned_concurrent_executions: available as i32,
            allocated_provisioned_concurrent_executions: view.allocated as i32,
            status: view.status.into(),
            status_reason: view.status_reason,
            last_modified: view.last_modified,
        }
    }

    fn alias(&self, alias: AliasRecord) -> pb::AliasConfiguration {
        pb::AliasConfiguration {
            alias_arn: self.functions.alias_arn(&alias),
            name: alias.name,
            function_version: alias.function_version,
            description: alias.description,
            routing_config: alias.additional_version.map(|(version, weight)| {
                pb::AliasRoutingConfiguration {
                    additional_version_weights: [(version, weight)].into(),
                }
            }),
            revision_id: alias.revision_id,
        }
    }
}

#[tonic::async_trait]
impl FunctionsApi for FunctionsService {
    async fn create_function(
        &self,
        request: Request<pb::CreateFunctionRequest>,
    ) -> Result<Response<pb::FunctionConfiguration>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let named = caller.naming().parse_function(&req.function_name)?;
        self.quotas.function(&caller)?;
        if named.qualifier.is_some() {
            return Err(crate::error::Error::InvalidParameterValue(format!(
                "FunctionName {:?} is invalid: a new function has no qualifier",
                req.function_name
            ))
            .into());
        }
        let record = self
            .functions
            .create(NewFunction {
                name: named.name,
                code: req.code.map(|c| c.zip_file).unwrap_or_default(),
                description: req.description,
                memory_size: req.memory_size,
                timeout: req.timeout,
                ephemeral_storage: req.ephemeral_storage.map(|e| e.size),
                environment: req
                    .environment
                    .map(|e| e.variables.into_iter().collect())
                    .unwrap_or_default(),
                layers: req.layers,
                bucket_access: req
                    .bucket_access
                    .map(|a| a.buckets.into_iter().collect())
                    .unwrap_or_default(),
                topic_access: req.topic_access.map(|a| a.topics).unwrap_or_default(),
                secret_access: req.secret_access.map(|a| a.names).unwrap_or_default(),
                runtime: req.runtime,
                handler: req.handler,
            })
            .await?;
        Ok(Response::new(self.configuration(&caller, record)))
    }

    async fn get_function(
        &self,
        request: Request<pb::GetFunctionRequest>,
    ) -> Result<Response<pb::GetFunctionResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let record = self.functions.get(&req.function_name, &req.qualifier)?;
        Ok(Response::new(pb::GetFunctionResponse {
            code: Some(pb::FunctionCodeLocation {
                repository_type: "funnel".into(),
                location: format!("sha256:{}", record.code_sha256),
            }),
            configuration: Some(self.configuration(&caller, record)),
        }))
    }

    async fn get_function_configuration(
        &self,
        request: Request<pb::GetFunctionRequest>,
    ) -> Result<Response<pb::FunctionConfiguration>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let record = self.functions.get(&req.function_name, &req.qualifier)?;
        Ok(Response::new(self.configuration(&caller, record)))
    }

    async fn list_functions(
        &self,
        request: Request<pb::ListFunctionsRequest>,
    ) -> Result<Response<pb::ListFunctionsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let (page, next) = self
            .functions
            .list(&req.marker, req.max_items, |key| caller.owns(key))?;
        Ok(Response::new(pb::ListFunctionsResponse {
            functions: page
                .into_iter()
                .map(|r| self.configuration(&caller, r))
                .collect(),
            next_marker: next.unwrap_or_default(),
        }))
    }

    async fn update_function_code(
        &self,
        request: Request<pb::UpdateFunctionCodeRequest>,
    ) -> Result<Response<pb::FunctionConfiguration>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let record = self
            .functions
            .update_code(
                &req.function_name,
                req.zip_file,
                non_empty(&req.revision_id),
            )
            .await?;
        Ok(Response::new(self.configuration(&caller, record)))
    }

    async fn update_function_configuration(
        &self,
        request: Request<pb::UpdateFunctionConfigurationRequest>,
    ) -> Result<Response<pb::FunctionConfiguration>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let changes = ConfigChanges {
            description: req.description,
            memory_size: req.memory_size,
            timeout: req.timeout,
            ephemeral_storage: req.ephemeral_storage.map(|e| e.size),
            environment: req.environment.map(|e| e.variables.into_iter().collect()),
            layers: req.layers.map(|l| l.arns),
            bucket_access: req.bucket_access.map(|a| a.buckets.into_iter().collect()),
            topic_access: req.topic_access.map(|a| a.topics),
            secret_access: req.secret_access.map(|a| a.names),
            runtime: req.runtime,
            handler: req.handler,
            revision_id: non_empty(&req.revision_id).map(str::to_string),
        };
        let record = self
            .functions
            .update_configuration(&req.function_name, changes)
            .await?;
        Ok(Response::new(self.configuration(&caller, record)))
    }

    async fn delete_function(
        &self,
        request: Request<pb::DeleteFunctionRequest>,
    ) -> Result<Response<pb::DeleteFunctionResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        self.functions
            .delete(&req.function_name, &req.qualifier)
            .await?;
        Ok(Response::new(pb::DeleteFunctionResponse {}))
    }

    async fn publish_version(
        &self,
        request: Request<pb::PublishVersionRequest>,
    ) -> Result<Response<pb::FunctionConfiguration>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let version = self
            .functions
            .publish_version(
                &req.function_name,
                &req.description,
                &req.code_sha256,
                non_empty(&req.revision_id),
            )
            .await?;
        Ok(Response::new(self.configuration(&caller, version)))
    }

    async fn list_versions_by_function(
        &self,
        request: Request<pb::ListVersionsByFunctionRequest>,
    ) -> Result<Response<pb::ListVersionsByFunctionResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let (page, next) =
            self.functions
                .list_versions(&req.function_name, &req.marker, req.max_items)?;
        Ok(Response::new(pb::ListVersionsByFunctionResponse {
            versions: page
                .into_iter()
                .map(|r| self.configuration(&caller, r))
                .collect(),
            next_marker: next.unwrap_or_default(),
        }))
    }

    async fn create_alias(
        &self,
        request: Request<pb::CreateAliasRequest>,
    ) -> Result<Response<pb::AliasConfiguration>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let change = AliasChange {
            function_version: Some(req.function_version),
            description: Some(req.description),
            routing: req
                .routing_config
                .map(|r| r.additional_version_weights.into_iter().collect()),
            revision_id: None,
        };
        let alias = self
            .functions
            .create_alias(&req.function_name, &req.name, change)
            .await?;
        Ok(Response::new(self.alias(alias)))
    }

    async fn get_alias(
        &self,
        request: Request<pb::GetAliasRequest>,
    ) -> Result<Response<pb::AliasConfiguration>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let alias = self.functions.get_alias(&req.function_name, &req.name)?;
        Ok(Response::new(self.alias(alias)))
    }

    async fn update_alias(
        &self,
        request: Request<pb::UpdateAliasRequest>,
    ) -> Result<Response<pb::AliasConfiguration>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let change = AliasChange {
            function_version: req.function_version,
            description: req.description,
            routing: req
                .routing_config
                .map(|r| r.additional_version_weights.into_iter().collect()),
            revision_id: non_empty(&req.revision_id).map(str::to_string),
        };
        let alias = self
            .functions
            .update_alias(&req.function_name, &req.name, change)
            .await?;
        Ok(Response::new(self.alias(alias)))
    }

    async fn delete_alias(
        &self,
        request: Request<pb::DeleteAliasRequest>,
    ) -> Result<Response<pb::DeleteAliasResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        self.functions
            .delete_alias(&req.function_name, &req.name)
            .await?;
        Ok(Response::new(pb::DeleteAliasResponse {}))
    }

    async fn list_aliases(
        &self,
        request: Request<pb::ListAliasesRequest>,
    ) -> Result<Response<pb::ListAliasesResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let (page, next) = self.functions.list_aliases(
            &req.function_name,
            &req.function_version,
            &req.marker,
            req.max_items,
        )?;
        Ok(Response::new(pb::ListAliasesResponse {
            aliases: page.into_iter().map(|a| self.alias(a)).collect(),
            next_marker: next.unwrap_or_default(),
        }))
    }

    async fn put_function_concurrency(
        &self,
        request: Request<pb::PutFunctionConcurrencyRequest>,
    ) -> Result<Response<pb::Concurrency>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let reserved = self
            .functions
            .put_function_concurrency(&req.function_name, req.reserved_concurrent_executions)
            .await?;
        Ok(Response::new(pb::Concurrency {
            reserved_concurrent_executions: Some(reserved as i32),
        }))
    }

    async fn get_function_concurrency(
        &self,
        request: Request<pb::GetFunctionConcurrencyRequest>,
    ) -> Result<Response<pb::Concurrency>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let reserved = self
            .functions
            .get_function_concurrency(&req.function_name)?;
        Ok(Response::new(pb::Concurrency {
            reserved_concurrent_executions: reserved.map(|n| n as i32),
        }))
    }

    async fn delete_function_concurrency(
        &self,
        request: Request<pb::GetFunctionConcurrencyRequest>,
    ) -> Result<Response<pb::DeleteFunctionConcurrencyResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        self.functions
            .delete_function_concurrency(&req.function_name)
            .await?;
        Ok(Response::new(pb::DeleteFunctionConcurrencyResponse {}))
    }

    async fn put_provisioned_concurrency_config(
        &self,
        request: Request<pb::PutProvisionedConcurrencyConfigRequest>,
    ) -> Result<Response<pb::ProvisionedConcurrencyConfig>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let view = self
            .dispatcher
            .put_provisioned_concurrency(
                &req.function_name,
                &req.qualifier,
                req.provisioned_concurrent_executions,
            )
            .await?;
        Ok(Response::new(self.provisioned(
            &req.function_name,
            &req.qualifier,
            view,
        )))
    }

    async fn get_provisioned_concurrency_config(
        &self,
        request: Request<pb::GetProvisionedConcurrencyConfigRequest>,
    ) -> Result<Response<pb::ProvisionedConcurrencyConfig>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let view = self
            .dispatcher
            .get_provisioned_concurrency(&req.function_name, &req.qualifier)?;
        Ok(Response::new(self.provisioned(
            &req.function_name,
            &req.qualifier,
            view,
        )))
    }

    async fn delete_provisioned_concurrency_config(
        &self,
        request: Request<pb::GetProvisionedConcurrencyConfigRequest>,
    ) -> Result<Response<pb::DeleteProvisionedConcurrencyConfigResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        self.dispatcher
            .delete_provisioned_concurrency(&req.function_name, &req.qualifier)
            .await?;
        Ok(Response::new(
            pb::DeleteProvisionedConcurrencyConfigResponse {},
        ))
    }

    async fn get_account_settings(
        &self,
        request: Request<pb::GetAccountSettingsRequest>,
    ) -> Result<Response<pb::GetAccountSettingsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let usage = self.functions.account_usage();
        let functions = self.functions.count(|key| caller.owns(key))?;
        Ok(Response::new(pb::GetAccountSettingsResponse {
            account_limit: Some(pb::AccountLimit {
                concurrent_executions: usage.account_limit as i32,
                unreserved_concurrent_executions: usage.unreserved_limit as i32,
            }),
            account_usage: Some(pb::AccountUsage {
                function_count: functions as i32,
            }),
        }))
    }

    async fn invoke(
        &self,
        request: Request<pb::InvokeRequest>,
    ) -> Result<Response<pb::InvokeResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let tracer = self.dispatcher.tracer();
        let begun =
            tracer.begin_told(|| crate::traces::Incoming::from_metadata(request.metadata()));
        let trace = begun.trace;
        // The caller that sent its trace is told it back.
        let told = trace.filter(|_| begun.from_caller);
        let tracestate = told
            .and_then(|_| request.metadata().get("tracestate"))
            .cloned();
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let mut span = tracer.span(trace.as_ref(), "grpc Invoke", "");
        let result = self
            .dispatcher
            .invoke(Invocation {
                function_name: req.function_name,
                qualifier: req.qualifier,
                invocation_type: req.invocation_type,
                log_type: req.log_type,
                client_context: req.client_context,
                payload: req.payload,
                trace: span.as_ref().map(|s| s.context()).or(trace),
            })
            .await;
        if let Some(mut span) = span.take() {
            span.set_account(&caller.naming().account_id);
            if let Err(err) = &result {
                span.fail(err.aws_name());
            }
            tracer.end(span);
        }
        let result = result?;
        let mut response = Response::new(pb::InvokeResponse {
            status_code: result.status_code,
            function_error: result.function_error.unwrap_or_default().into(),
            log_result: result.log_result.unwrap_or_default(),
            payload: result.payload,
            executed_version: result.executed_version,
            request_id: result.request_id,
        });
        if let Some(trace) = &told {
            crate::traces::context::answer_metadata(trace, response.metadata_mut());
        }
        if let Some(tracestate) = tracestate {
            response.metadata_mut().insert("tracestate", tracestate);
        }
        Ok(response)
    }

    async fn restart_environments(
        &self,
        request: Request<pb::RestartEnvironmentsRequest>,
    ) -> Result<Response<pb::RestartEnvironmentsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let mut req = request.into_inner();
        req.function_name = caller.function(&req.function_name)?;
        let retired = self
            .functions
            .restart_environments(&req.function_name)
            .await?;
        Ok(Response::new(pb::RestartEnvironmentsResponse {
            retired: i32::try_from(retired).unwrap_or(i32::MAX),
        }))
    }
}

/// Proto3 strings are never absent: empty means "not given".
fn non_empty(value: &str) -> Option<&str> {
    (!value.is_empty()).then_some(value)
}
