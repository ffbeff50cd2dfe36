//! Routes: the account's API, whose routes send HTTP requests to functions.

use crate::{Client, Result, proto};

impl Client {
    /// Adds a route to the caller's API (`ApiId` may be left empty).
    pub async fn create_route(&self, request: proto::CreateRouteRequest) -> Result<proto::Route> {
        Ok(self.apis.clone().create_route(request).await?.into_inner())
    }

    /// Every route of the caller's API, by route key (all pages).
    pub async fn get_routes(&self) -> Result<Vec<proto::Route>> {
        let mut routes = Vec::new();
        let mut next_token = String::new();
        loop {
            let page = self
                .apis
                .clone()
                .get_routes(proto::GetRoutesRequest {
                    next_token,
                    ..Default::default()
                })
                .await?
                .into_inner();
            routes.extend(page.items);
            if page.next_token.is_empty() {
                return Ok(routes);
            }
            next_token = page.next_token;
        }
    }

    /// Removes the route whose key is `route_key`.
    pub async fn delete_route(&self, route_key: &str) -> Result<()> {
        self.apis
            .clone()
            .delete_route(proto::DeleteRouteRequest {
                route_key: route_key.into(),
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    /// The caller's API: its id and `ApiEndpoint`.
    pub async fn get_api(&self) -> Result<proto::Api> {
        Ok(self
            .apis
            .clone()
            .get_api(proto::GetApiRequest::default())
            .await?
            .into_inner())
    }
}
