//! `funnel.v1.Apis`: routes on the caller's account's API.

use funnel_proto::v1 as pb;
use funnel_proto::v1::apis_server::Apis as ApisApi;
use funnel_store::RouteRecord;
use tonic::{Request, Response, Status};

use crate::apis::{Apis, RouteSettings, api_id};

pub struct ApisService {
    apis: Apis,
}

impl ApisService {
    pub fn new(apis: Apis) -> Self {
        ApisService { apis }
    }

    fn route(&self, record: RouteRecord) -> pb::Route {
        pb::Route {
            api_id: api_id(&record.account),
            target: self.apis.target_arn(&record),
            route_id: record.route_id,
            route_key: record.route_key,
            qualifier: record.qualifier,
            payload_format_version: record.payload_format_version,
            created_date: record.created_date,
        }
    }
}

#[tonic::async_trait]
impl ApisApi for ApisService {
    async fn create_route(
        &self,
        request: Request<pb::CreateRouteRequest>,
    ) -> Result<Response<pb::Route>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        self.apis.own_api(caller.naming(), &req.api_id)?;
        let settings = RouteSettings {
            route_key: req.route_key,
            target: caller.function(&req.target)?,
            qualifier: req.qualifier,
            payload_format_version: req.payload_format_version,
        };
        let record = self.apis.create(caller.naming(), settings).await?;
        Ok(Response::new(self.route(record)))
    }

    async fn get_routes(
        &self,
        request: Request<pb::GetRoutesRequest>,
    ) -> Result<Response<pb::GetRoutesResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        self.apis.own_api(caller.naming(), &req.api_id)?;
        let (page, next) = self
            .apis
            .list(caller.naming(), &req.next_token, req.max_results)?;
        Ok(Response::new(pb::GetRoutesResponse {
            items: page.into_iter().map(|r| self.route(r)).collect(),
            next_token: next.unwrap_or_default(),
        }))
    }

    async fn delete_route(
        &self,
        request: Request<pb::DeleteRouteRequest>,
    ) -> Result<Response<pb::DeleteRouteResponse>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        self.apis.own_api(caller.naming(), &req.api_id)?;
        self.apis
            .delete(caller.naming(), &req.route_id, &req.route_key)
            .await?;
        Ok(Response::new(pb::DeleteRouteResponse {}))
    }

    async fn get_api(
        &self,
        request: Request<pb::GetApiRequest>,
    ) -> Result<Response<pb::Api>, Status> {
        let caller = crate::iam::check(&request)?;
        let req = request.into_inner();
        let naming = caller.naming();
        let api_id = self.apis.own_api(naming, &req.api_id)?;
        Ok(Response::new(pb::Api {
            api_id,
            api_endpoint: self.apis.endpoint(&naming.account_id),
            name: naming.account_id.clone(),
            protocol_type: "HTTP".into(),
            route_selection_expression: "${request.method} ${request.path}".into(),
        }))
    }
}
