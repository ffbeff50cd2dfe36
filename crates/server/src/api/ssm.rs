//! `funnel.v1.Ssm`: Parameter Store's parameters. Each is authorized on
//! its ARN (`arn:funnel:ssm:<region>:<account>:parameter/app/x`); names
//! resolve in the caller's account, an ARN names its own.

use funnel_proto::v1 as pb;
use funnel_proto::v1::ssm_server::Ssm as SsmApi;
use funnel_store::{ParameterRecord, TagRecord};
use tonic::{Request, Response, Status};

use crate::error::{Error, Result};
use crate::iam::{self, Caller};
use crate::secrets::{ParameterFilter, ParameterValue, PutParameter, Vault};

/// GetParametersByPath's page, at most and by default.
const PATH_PAGE: usize = 10;
/// DescribeParameters' page, at most and by default.
const DESCRIBE_PAGE: usize = 50;
/// GetParameters' names, at most.
const MAX_NAMES: usize = 10;

pub struct SsmService {
    vault: Vault,
}

impl SsmService {
    pub fn new(vault: Vault) -> Self {
        SsmService { vault }
    }
}

/// The account a name is in: an ARN's, else the caller's.
fn account_of<'a>(caller: &'a Caller, name: &'a str) -> &'a str {
    crate::tenancy::arn_account(name).unwrap_or(&caller.principal.account_id)
}

fn page_size(given: Option<i32>, max: usize) -> Result<usize> {
    match given {
        None => Ok(max),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(n) => Err(Error::Validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy \
             constraint: Member must have value between 1 and {max}"
        ))),
    }
}

fn parameter(given: &str, value: ParameterValue, record: &ParameterRecord) -> pb::Parameter {
    pb::Parameter {
        selector: given
            .rsplit_once(':')
            .filter(|(_, v)| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .map(|(_, v)| format!(":{v}"))
            .unwrap_or_default(),
        name: value.name,
        r#type: value.kind,
        value: value.value,
        version: value.version,
        last_modified_date: record.last_modified_ms,
        arn: value.arn,
        data_type: record.data_type.clone(),
    }
}

#[tonic::async_trait]
impl SsmApi for SsmService {
    async fn put_parameter(
        &self,
        request: Request<pb::PutParameterRequest>,
    ) -> Result<Response<pb::PutParameterResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.into_inner();
        let (version, tier) = self
            .vault
            .put_parameter(
                &caller.principal.account_id,
                PutParameter {
                    name: req.name,
                    value: req.value,
                    kind: (!req.r#type.is_empty()).then_some(req.r#type),
                    description: (!req.description.is_empty()).then_some(req.description),
                    overwrite: req.overwrite,
                    tier: req.tier,
                    data_type: req.data_type,
                    tags: req
                        .tags
                        .into_iter()
                        .map(|t| TagRecord {
                            key: t.key,
                            value: t.value,
                        })
                        .collect(),
                    user_arn: caller.principal.arn.clone(),
                },
            )
            .await?;
        Ok(Response::new(pb::PutParameterResponse {
            version: version as i64,
            tier,
        }))
    }

    async fn get_parameter(
        &self,
        request: Request<pb::GetParameterRequest>,
    ) -> Result<Response<pb::GetParameterResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.into_inner();
        let (value, record) = self.vault.get_parameter(
            account_of(&caller, &req.name),
            &req.name,
            req.with_decryption,
        )?;
        Ok(Response::new(pb::GetParameterResponse {
            parameter: Some(parameter(&req.name, value, &record)),
        }))
    }

    async fn get_parameters(
        &self,
        request: Request<pb::GetParametersRequest>,
    ) -> Result<Response<pb::GetParametersResponse>, Status> {
        let caller = iam::caller_of(request.extensions())?;
        let req = request.into_inner();
        if req.names.is_empty() || req.names.len() > MAX_NAMES {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value at 'names' failed to satisfy constraint: \
                 Member must have length between 1 and {MAX_NAMES}"
            ))
            .into());
        }
        // Every name, or the call is refused.
        for name in &req.names {
            iam::authorize(&caller, &caller.scope().parameter(name))?;
        }
        let mut found = Vec::new();
        let mut invalid = Vec::new();
        for name in req.names {
            match self
                .vault
                .get_parameter(account_of(&caller, &name), &name, req.with_decryption)
            {
                Ok((value, record)) => found.push(parameter(&name, value, &record)),
                Err(Error::ParameterNotFound(_) | Error::ParameterVersionNotFound(_)) => {
                    invalid.push(name)
                }
                Err(err) => return Err(err.into()),
            }
        }
        Ok(Response::new(pb::GetParametersResponse {
            parameters: found,
            invalid_parameters: invalid,
        }))
    }

    async fn get_parameters_by_path(
        &self,
        request: Request<pb::GetParametersByPathRequest>,
    ) -> Result<Response<pb::GetParametersByPathResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.max_results, PATH_PAGE)?;
        // One more than the page says whether there is a next one.
        let mut found = self.vault.get_parameters_by_path(
            &caller.principal.account_id,
            &req.path,
            req.recursive,
            req.with_decryption,
            &req.next_token,
            limit + 1,
        )?;
        let next_token = if found.len() > limit {
            found.truncate(limit);
            found
                .last()
                .map(|(v, _)| v.name.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::GetParametersByPathResponse {
            parameters: found
                .into_iter()
                .map(|(value, record)| parameter("", value, &record))
                .collect(),
            next_token,
        }))
    }

    async fn delete_parameter(
        &self,
        request: Request<pb::DeleteParameterRequest>,
    ) -> Result<Response<pb::DeleteParameterResponse>, Status> {
        let caller = iam::check(&request)?;
        let name = request.into_inner().name;
        self.vault
            .delete_parameter(&caller.principal.account_id, &name)
            .await?;
        Ok(Response::new(pb::DeleteParameterResponse {}))
    }

    async fn describe_parameters(
        &self,
        request: Request<pb::DescribeParametersRequest>,
    ) -> Result<Response<pb::DescribeParametersResponse>, Status> {
        let caller = iam::check(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.max_results, DESCRIBE_PAGE)?;
        let filters: Vec<ParameterFilter> = req
            .parameter_filters
            .into_iter()
            .map(|f| ParameterFilter {
                key: f.key,
                option: f.option,
                values: f.values,
            })
            .collect();
        let account = &caller.principal.account_id;
        let mut records =
            self.vault
                .describe_parameters(account, &filters, &req.next_token, limit + 1)?;
        let next_token = if records.len() > limit {
            records.truncate(limit);
            records.last().map(|r| r.name.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::DescribeParametersResponse {
            parameters: records
                .into_iter()
                .map(|r| pb::ParameterMetadata {
                    arn: self.vault.parameter_arn(account, &r.name),
                    key_id: if r.kind == crate::secrets::SECURE_STRING {
                        "alias/aws/ssm".into()
                    } else {
                        String::new()
                    },
                    name: r.name,
                    r#type: r.kind,
                    last_modified_date: r.last_modified_ms,
                    last_modified_user: r.last_modified_user,
                    description: r.description,
                    version: r.version as i64,
                    tier: r.tier,
                    data_type: r.data_type,
                })
                .collect(),
            next_token,
        }))
    }
}
