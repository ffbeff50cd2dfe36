//! `funnel.v1.Faults`: faults injected on purpose (`funnel fault put`).
//! A fault names a function of the caller's account; list and delete see
//! only the caller's account's faults.

use std::time::Duration;

use funnel_proto::v1 as pb;
use funnel_proto::v1::faults_server::Faults as FaultsApi;
use tonic::{Request, Response, Status};

use crate::faults::{Faults, Spec};
use crate::registry::Registry;

pub struct FaultsService {
    faults: Faults,
    functions: Registry,
}

impl FaultsService {
    pub fn new(faults: Faults, functions: Registry) -> Self {
        FaultsService { faults, functions }
    }

    fn view(&self, record: funnel_store::FaultRecord) -> pb::Fault {
        let until = if record.until_ms == 0 {
            String::new()
        } else {
            crate::schedules::ms_to_time(record.until_ms)
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string()
        };
        pb::Fault {
            expired: self.faults.expired(&record),
            id: record.id,
            function_name: crate::tenancy::name(&record.function).to_string(),
            qualifier: record.qualifier,
            kind: record.kind,
            rate: record.rate,
            error_type: record.error_type,
            latency_ms: record.latency_ms,
            until,
            seed: record.seed,
        }
    }
}

#[tonic::async_trait]
impl FaultsApi for FaultsService {
    async fn put_fault(
        &self,
        request: Request<pb::PutFaultRequest>,
    ) -> Result<Response<pb::Fault>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let arn = caller.function(&req.function_name)?;
        if arn.is_empty() {
            return Err(crate::error::Error::InvalidParameterValue(
                "FunctionName is required".into(),
            )
            .into());
        }
        // The function (and the qualifier, when one is given) must exist.
        let (target, record) = self.functions.lookup(&arn, &req.qualifier)?;
        let qualifier = target.qualifier.unwrap_or_default();
        let record = self.faults.put(Spec {
            account: caller.naming().account_id.clone(),
            function: record.name.clone(),
            qualifier,
            kind: req.kind,
            rate: req.rate,
            error_type: req.error_type,
            latency_ms: req.latency_ms,
            until: (req.until_milliseconds > 0)
                .then(|| Duration::from_millis(req.until_milliseconds)),
            seed: req.seed,
        })?;
        Ok(Response::new(self.view(record)))
    }

    async fn list_faults(
        &self,
        request: Request<pb::ListFaultsRequest>,
    ) -> Result<Response<pb::ListFaultsResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let faults = self
            .faults
            .list(&caller.naming().account_id)
            .into_iter()
            .map(|record| self.view(record))
            .collect();
        Ok(Response::new(pb::ListFaultsResponse { faults }))
    }

    async fn delete_fault(
        &self,
        request: Request<pb::DeleteFaultRequest>,
    ) -> Result<Response<pb::DeleteFaultResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let id = request.into_inner().id;
        self.faults.delete(&caller.naming().account_id, &id)?;
        Ok(Response::new(pb::DeleteFaultResponse {}))
    }
}
